"""The Helm chart, rendered by the real helm binary and checked object by object."""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.chart.helm_support import ALL_FEATURES, CHART, render, run_helm

# Kinds that belong to CRDs (prometheus-operator, cert-manager, ours): not in Kubernetes' own schemas.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer", "VulnerabilityPolicy"}
K8S_VERSION = "1.35.0"


def by_kind(manifests: list[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: list[dict], kind: str, name_part: str = "") -> dict:
    found = [m for m in by_kind(manifests, kind) if name_part in m["metadata"]["name"]]
    assert len(found) == 1, f"expected one {kind} named *{name_part}*, got {[m['metadata']['name'] for m in found]}"
    return found[0]


def pod_specs(manifests: list[dict]) -> list[tuple[str, dict]]:
    specs = [(m["metadata"]["name"], m["spec"]["template"]["spec"]) for m in by_kind(manifests, "Deployment")]
    specs += [(m["metadata"]["name"], m["spec"]) for m in by_kind(manifests, "Pod")]
    specs += [(m["metadata"]["name"], m["spec"]["jobTemplate"]["spec"]["template"]["spec"])
              for m in by_kind(manifests, "CronJob")]
    return specs


@pytest.mark.parametrize("features", [[], ALL_FEATURES], ids=["defaults", "all-features"])
def test_helm_lint(helm: str, features: list[str]) -> None:
    args = ["lint", str(CHART), "--strict"]
    for f in features:
        args += ["--set", f]
    run_helm(helm, *args)


@pytest.mark.parametrize("fixture", ["default_manifests", "full_manifests"])
def test_rendered_manifests_validate_against_kubernetes(fixture: str, request: pytest.FixtureRequest) -> None:
    manifests = request.getfixturevalue(fixture)
    checked = 0
    for m in manifests:
        if m["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(m, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 15


def test_optional_features_render_only_when_enabled(default_manifests, full_manifests) -> None:
    default_kinds = {m["kind"] for m in default_manifests}
    assert not default_kinds & {"ServiceMonitor", "PrometheusRule", "Certificate", "NetworkPolicy",
                                "VulnerabilityPolicy", "ConfigMap"}
    full_kinds = {m["kind"] for m in full_manifests}
    assert {"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer", "NetworkPolicy",
            "VulnerabilityPolicy", "ConfigMap"} <= full_kinds


def test_every_container_runs_non_root_and_read_only(full_manifests) -> None:
    specs = pod_specs(full_manifests)
    assert len(specs) == 4  # operator, webhook, helm test pod, database builder
    for name, spec in specs:
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name


def test_deployments_have_probes_and_resources(default_manifests) -> None:
    for d in by_kind(default_manifests, "Deployment"):
        for c in d["spec"]["template"]["spec"]["containers"]:
            assert c["livenessProbe"] and c["readinessProbe"], d["metadata"]["name"]
            assert c["resources"]["requests"]["memory"], d["metadata"]["name"]
    operator = one(default_manifests, "Deployment", "operator")
    assert operator["spec"]["replicas"] == 1 and operator["spec"]["strategy"]["type"] == "Recreate"
    webhook = one(default_manifests, "Deployment", "webhook")
    assert webhook["spec"]["replicas"] == 2
    assert webhook["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]


def test_selectors_match_pods(full_manifests) -> None:
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for d in by_kind(full_manifests, "Deployment")}

    def selects(selector: dict) -> list[str]:
        return [n for n, labels in pods.items() if all(labels.get(k) == v for k, v in selector.items())]

    for d in by_kind(full_manifests, "Deployment"):
        assert selects(d["spec"]["selector"]["matchLabels"]) == [d["metadata"]["name"]]
    for svc in by_kind(full_manifests, "Service"):
        assert len(selects(svc["spec"]["selector"])) == 1, svc["metadata"]["name"]
    pdb = one(full_manifests, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"]) == ["lw-layerwatch-webhook"]
    for np in by_kind(full_manifests, "NetworkPolicy"):
        assert len(selects(np["spec"]["podSelector"]["matchLabels"])) == 1


def _rules(manifests: list[dict], kind: str, name_part: str) -> list[dict]:
    return one(manifests, kind, name_part)["rules"]


def test_rbac_is_least_privilege(default_manifests) -> None:
    for kind in ("ClusterRole", "Role"):
        for role in by_kind(default_manifests, kind):
            for rule in role["rules"]:
                assert "*" not in rule["verbs"] and "*" not in rule["resources"], role["metadata"]["name"]
                assert "*" not in rule.get("apiGroups", []), role["metadata"]["name"]
    operator = _rules(default_manifests, "ClusterRole", "operator")
    secret_rules = [r for r in operator if "secrets" in r["resources"]]
    assert [r["verbs"] for r in secret_rules] == [["get"]]  # pull secrets by name, never list/watch
    writes = {res for r in operator if {"create", "delete"} & set(r["verbs"]) for res in r["resources"]}
    assert writes == {"imagescans", "events"}

    webhook = _rules(default_manifests, "ClusterRole", "webhook")
    assert not any("secrets" in r["resources"] for r in webhook)
    vwc = [r for r in webhook if "validatingwebhookconfigurations" in r["resources"]]
    assert vwc and vwc[0]["resourceNames"] == ["lw-layerwatch.layerwatch.dev", "lw-layerwatch-enforce.layerwatch.dev"]
    scans = [r for r in webhook if "imagescans" in r["resources"]][0]
    assert set(scans["verbs"]) == {"get", "list", "watch", "create"}
    role = _rules(default_manifests, "Role", "webhook")
    assert role == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["lw-layerwatch-webhook-tls"],
                     "verbs": ["get", "update", "patch"]}]


def test_webhook_configuration(helm: str, default_manifests) -> None:
    """Fail closed only where enforcement was asked for: the chart's `workloads` webhook fails
    open; the enforce configuration ships empty (the webhook fills in the enforced namespaces)."""
    configs = {c["metadata"]["name"]: c for c in by_kind(default_manifests, "ValidatingWebhookConfiguration")}
    assert set(configs) == {"lw-layerwatch.layerwatch.dev", "lw-layerwatch-enforce.layerwatch.dev"}
    assert configs["lw-layerwatch-enforce.layerwatch.dev"]["webhooks"] == []
    [hook] = configs["lw-layerwatch.layerwatch.dev"]["webhooks"]
    assert hook["name"] == "workloads.layerwatch.dev" and hook["failurePolicy"] == "Ignore"
    assert hook["timeoutSeconds"] == 5 and hook["clientConfig"]["service"]["path"] == "/validate"
    resources = {r for rule in hook["rules"] for r in rule["resources"]}
    assert {"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"} <= resources
    assert all(set(rule["operations"]) == {"CREATE", "UPDATE"} for rule in hook["rules"])
    excluded = hook["namespaceSelector"]["matchExpressions"][0]
    assert excluded["operator"] == "NotIn" and set(excluded["values"]) == {"kube-system", "layerwatch"}
    env = {e["name"]: e.get("value") for e in one(default_manifests, "Deployment", "webhook")["spec"]["template"]
           ["spec"]["containers"][0]["env"]}
    assert env["LAYERWATCH_WEBHOOK_ENFORCE_CONFIG_NAME"] == "lw-layerwatch-enforce.layerwatch.dev"
    assert env["LAYERWATCH_WEBHOOK_ENFORCE_FAILURE_POLICY"] == "Fail"

    tuned = render(helm, "webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=3", namespace="sec")
    env = {e["name"]: e.get("value") for e in one(tuned, "Deployment", "webhook")["spec"]["template"]
           ["spec"]["containers"][0]["env"]}
    assert env["LAYERWATCH_WEBHOOK_ENFORCE_FAILURE_POLICY"] == "Ignore"
    [hook] = [c for c in by_kind(tuned, "ValidatingWebhookConfiguration") if c["webhooks"]][0]["webhooks"]
    assert hook["timeoutSeconds"] == 3 and "sec" in hook["namespaceSelector"]["matchExpressions"][0]["values"]


def test_values_schema_rejects_bad_values(helm: str) -> None:
    for bad in ("webhook.timeoutSeconds=60", "webhook.failurePolicy=Sometimes", "operator.retention=forever",
                "defaultPolicy.action=Block"):
        result = run_helm(helm, "template", "lw", str(CHART), "--set", bad, check=False)
        assert result.returncode != 0, bad
        assert "values don't meet the specifications of the schema" in result.stderr, result.stderr


def test_operator_settings_reach_the_container(helm: str) -> None:
    manifests = render(helm, "operator.concurrency=4", "operator.namespaces={shop,pay}",
                       "operator.feedUrls.osv-pypi=https://mirror.example/pypi.zip")
    env = {e["name"]: e.get("value") for e in
           one(manifests, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["LAYERWATCH_SCAN_CONCURRENCY"] == "4"
    assert env["LAYERWATCH_NAMESPACES"] == "shop,pay"
    assert env["LAYERWATCH_FEED_URL_OSV_PYPI"] == "https://mirror.example/pypi.zip"


def test_database_from_a_registry_and_its_builder(helm: str, full_manifests) -> None:
    operator = one(full_manifests, "Deployment", "operator")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in operator["containers"][0]["env"]}
    assert env["LAYERWATCH_DB_REPOSITORY"] == "registry.example.com/layerwatch/vulndb:3"
    assert env["DOCKER_CONFIG"] == "/etc/layerwatch/registry"
    assert {"name": "registry-auth", "secret": {"secretName": "vulndb-pull", "items": [
        {"key": ".dockerconfigjson", "path": "config.json"}]}} in operator["volumes"]
    [builder] = by_kind(full_manifests, "CronJob")
    job = builder["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job["automountServiceAccountToken"] is False  # it never talks to the API server
    script = job["containers"][0]["args"][0]
    assert "layerwatch db update" in script and 'layerwatch db push "$LAYERWATCH_DB_REPOSITORY"' in script
    assert {"name": "registry-auth", "secret": {"secretName": "vulndb-push", "items": [
        {"key": ".dockerconfigjson", "path": "config.json"}]}} in job["volumes"]
    alone = run_helm(helm, "template", "lw", str(CHART), "--set", "operator.vulndb.builder.enabled=true", check=False)
    assert alone.returncode != 0 and "needs operator.vulndb.repository" in alone.stderr
    bad = run_helm(helm, "template", "lw", str(CHART), "--set", "operator.vulndb.repository=not a ref", check=False)
    assert bad.returncode != 0 and "schema" in bad.stderr


def test_prometheus_rule_and_dashboard_ship_the_files(full_manifests) -> None:
    import json

    rule = one(full_manifests, "PrometheusRule")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert len(alerts) == 9 and {"LayerwatchAdvisoryDataMissing", "LayerwatchNotificationsFailing"} <= alerts
    dashboard = json.loads(one(full_manifests, "ConfigMap", "dashboard")["data"]["layerwatch.json"])
    assert dashboard["uid"] == "layerwatch" and len(dashboard["panels"]) == 14
    assert any("Incomplete" in t["expr"] for p in dashboard["panels"] for t in p["targets"])


def test_notes_tell_the_user_what_next(helm: str) -> None:
    out = run_helm(helm, "install", "lw", str(CHART), "-n", "layerwatch", "--dry-run=client").stdout
    assert "kubectl get imagescans" in out and "helm test lw" in out


def test_chart_environment_matches_the_settings_the_code_reads(full_manifests) -> None:
    from layerwatch_operator.settings import OperatorSettings
    from layerwatch_webhook.settings import PREFIX, WebhookSettings

    operator_vars = {f"LAYERWATCH_{name.upper()}" for name in OperatorSettings.model_fields}
    webhook_vars = {f"{PREFIX}{name.upper()}" for name in WebhookSettings.model_fields}
    for deployment in by_kind(full_manifests, "Deployment"):
        known = webhook_vars if "webhook" in deployment["metadata"]["name"] else operator_vars
        for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            name = env["name"]
            if name in ("HOME", "DOCKER_CONFIG") or name.startswith("LAYERWATCH_FEED_URL_"):
                continue
            assert name in known, f"{deployment['metadata']['name']}: {name} is not a setting the code reads"


def test_scan_on_push_renders_only_when_enabled(default_manifests, full_manifests) -> None:
    assert not [m for m in default_manifests if "push" in m["metadata"]["name"]]
    operator = one(default_manifests, "Deployment", "operator")["spec"]["template"]["spec"]["containers"][0]
    assert not [e for e in operator["env"] if e["name"].startswith("LAYERWATCH_PUSH")]
    service = one(full_manifests, "Service", "operator-push")
    assert service["spec"]["ports"] == [{"name": "push", "port": 8443, "targetPort": "push", "protocol": "TCP"}]
    token = one(full_manifests, "Secret", "operator-push")
    assert len(token["data"]["token"]) >= 40 and token["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    pod = one(full_manifests, "Deployment", "operator")["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["LAYERWATCH_PUSH_PORT"] == "8443" and env["LAYERWATCH_PUSH_TOKEN_FILE"] == "/etc/layerwatch/push/token"
    assert env["LAYERWATCH_PUSH_TLS_CERT"] == "/etc/layerwatch/push-tls/tls.crt"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["push-tls"]["secret"]["secretName"] == one(full_manifests, "Certificate", "push")["spec"]["secretName"]
    policy = one(full_manifests, "NetworkPolicy", "operator")
    assert {"port": 8443, "protocol": "TCP"} in policy["spec"]["ingress"][0]["ports"]
