"""The chart as users install it, on a real node (../shared/k8s/node): the image built from the
Dockerfile, `helm install` with only the image, registry and feed-mirror values an air-gapped
cluster sets, then what users rely on — pods Ready, a running workload scanned, a denial through
API server → Service → webhook pod, a warning, `helm test`, no lockout with the webhook gone,
upgrade, rollback and a clean uninstall. Runs in order on one install (the node is slow to make)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support import node as nd

pytestmark = pytest.mark.node
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def cluster():
    node = nd.start()
    started = time.monotonic()
    image = nd.build_image(node)
    TIMINGS["image build"] = time.monotonic() - started
    mirror = nd.serve_feeds(node)
    workload = nd.push_workload_image()
    try:
        yield node, image, workload
    finally:
        mirror.terminate()
        print("\nnode suite timings: " + ", ".join(f"{k} {v:.0f}s" for k, v in TIMINGS.items()))
        nd.stop(reset=True)


def pods_ready(node: nd.Node) -> bool:
    pods = node.json("-n", nd.NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/instance=" + nd.RELEASE)["items"]
    running = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return bool(running) and all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions", []))
        for p in running)


def configs(node: nd.Node) -> list[dict]:
    return node.json("get", "validatingwebhookconfigurations", "-l",
                     f"app.kubernetes.io/instance={nd.RELEASE}")["items"]


def enforced_namespaces(node: nd.Node) -> list[str]:
    hooks = [h for c in configs(node) for h in c.get("webhooks") or [] if h["name"] == "enforce.layerwatch.dev"]
    return hooks[0]["namespaceSelector"]["matchExpressions"][0]["values"] if hooks else []


def timeouts(node: nd.Node) -> set[int]:
    return {h["timeoutSeconds"] for c in configs(node) for h in c.get("webhooks") or []}


def deployment(name: str, namespace: str, image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "command": ["/bin/busybox", "sleep", "3600"]}]}}}}


@pytest.fixture(scope="module")
def release(cluster):
    node, image, workload = cluster
    node.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    started = time.monotonic()
    node.helm("install", nd.RELEASE, nd.ROOT / "charts/layerwatch", "-n", nd.NAMESPACE, "--create-namespace",
              *nd.image_values(image), *nd.FEED_VALUES)
    node.apply(deployment("app", "team-a", workload))
    nd.wait("the webhook to be Ready", lambda: node.kubectl(
        "-n", nd.NAMESPACE, "rollout", "status", f"deploy/{nd.RELEASE}-layerwatch-webhook", "--timeout=5s",
        check=False).returncode == 0, timeout=300)
    TIMINGS["install to webhook Ready"] = time.monotonic() - started

    def first_scan() -> dict | None:
        for scan in node.json("get", "imagescans")["items"]:
            if scan["spec"]["image"] == workload and (scan.get("status") or {}).get("phase") == "Scanned":
                return scan
        return None

    scan = nd.wait("the first ImageScan Scanned", first_scan, timeout=300)
    TIMINGS["install to first ImageScan Scanned"] = time.monotonic() - started
    yield node, image, workload, scan


def test_all_pods_ready_and_the_install_is_fast(release) -> None:
    node, *_ = release
    nd.wait("every layerwatch pod Ready", lambda: pods_ready(node), timeout=120)
    assert TIMINGS["install to first ImageScan Scanned"] <= 90, TIMINGS


def test_pods_run_as_non_root_on_a_read_only_root_filesystem(release) -> None:
    """The chart's security context for real: every write the code does goes to a mounted volume."""
    node, *_ = release
    for component in ("operator", "webhook"):
        deploy = f"deploy/{nd.RELEASE}-layerwatch-{component}"
        probe = ("import os, pathlib; print(os.getuid());"
                 "\ntry:\n open('/probe', 'w')\nexcept OSError as e:\n print('root fs:', e.strerror)")
        out = node.kubectl("-n", nd.NAMESPACE, "exec", deploy, "--", "python", "-c", probe).stdout
        assert out.splitlines()[0] == "10001" and "Read-only file system" in out, out
    listing = node.kubectl("-n", nd.NAMESPACE, "exec", f"deploy/{nd.RELEASE}-layerwatch-operator", "--",
                           "ls", "/var/cache/layerwatch").stdout.split()
    assert "vulndb.sqlite" in listing and "layers.sqlite" in listing


def test_a_running_workload_is_scanned_with_its_findings(release) -> None:
    node, _, workload, scan = release
    name = scan["metadata"]["name"]

    def with_usage() -> dict | None:  # labels and usedBy are patched in batches, right after the scan
        current = node.json("get", "imagescan", name)
        used = (current.get("status") or {}).get("usedBy") or {}
        return current if used.get("pods") and "ns.layerwatch.dev/team-a" in current["metadata"].get("labels", {}) \
            else None

    scan = nd.wait("namespace label and usedBy", with_usage, timeout=60)
    status = scan["status"]
    assert status["os"] == {"id": "ubuntu", "version": "18.04"} and status["packages"] > 50
    tar = next(v for v in status["vulnerabilities"] if v["id"] == "CVE-2022-48303")
    assert (tar["package"], tar["fixedVersion"]) == ("tar", "1.29b-2ubuntu0.4")
    assert "ns.layerwatch.dev/team-a" in scan["metadata"]["labels"]
    assert status["usedBy"]["workloads"] == ["team-a/Deployment/app"]
    assert next(c for c in status["conditions"] if c["type"] == "AdvisoryDataMissing")["status"] == "False"


def test_enforce_denies_through_the_service_and_warn_warns(release) -> None:
    node, _, workload, _ = release
    node.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "prod"}}},
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    node.apply({"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                "metadata": {"name": "prod-enforce"},
                "spec": {"namespaceSelector": {"matchLabels": {"tier": "prod"}}, "action": "Enforce",
                         "maxSeverity": "Negligible", "unscanned": "Deny"}},
               {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                "metadata": {"name": "dev-warn"},
                "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dev"}},
                         "action": "Warn", "maxSeverity": "Negligible"}})

    nd.wait("the webhook to enforce namespace shop", lambda: enforced_namespaces(node) == ["shop"], timeout=60)
    denied = node.apply(deployment("web", "shop", workload))
    assert denied.returncode != 0, denied.stdout
    message = denied.stderr
    assert 'admission webhook "enforce.layerwatch.dev" denied the request' in message
    assert "VulnerabilityPolicy 'prod-enforce'" in message and "CVE-" in message and "fixed in" in message
    warned = node.apply(deployment("web", "dev", workload))
    assert warned.returncode == 0 and "Warning:" in warned.stderr and "dev-warn" in warned.stderr


def test_helm_test_passes(release) -> None:
    node, *_ = release
    result = node.helm("test", nd.RELEASE, "-n", nd.NAMESPACE, "--timeout", "3m")
    assert "Phase:          Succeeded" in result.stdout or "Succeeded" in result.stdout


def test_no_lockout_when_the_webhook_is_gone(release) -> None:
    node, _, workload, _ = release
    name = f"deploy/{nd.RELEASE}-layerwatch-webhook"
    started = time.monotonic()
    node.kubectl("-n", nd.NAMESPACE, "scale", name, "--replicas=0")
    nd.wait("webhook pods gone", lambda: not node.json("-n", nd.NAMESPACE, "get", "pods", "-l",
                                                         "app.kubernetes.io/component=webhook")["items"], timeout=120)
    try:
        ok = node.apply({**deployment("during-outage", "team-a", workload)})
        assert ok.returncode == 0, ok.stderr  # not enforced: deploys as if layerwatch were not there
        node.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "brand-new"}})
        assert node.kubectl("-n", "brand-new", "create", "deployment", "x", "--image", workload,
                            check=False).returncode == 0
        refused = node.apply(deployment("during-outage", "shop", workload))
        assert refused.returncode != 0 and "failed calling webhook" in refused.stderr  # enforcement never lapses
    finally:
        node.kubectl("-n", nd.NAMESPACE, "scale", name, "--replicas=2")
        nd.wait("the webhook back", lambda: node.kubectl("-n", nd.NAMESPACE, "rollout", "status", name,
                                                         "--timeout=5s", check=False).returncode == 0, timeout=180)
    TIMINGS["webhook outage round trip"] = time.monotonic() - started


def test_the_webhook_keeps_working_across_an_operator_restart(release) -> None:
    node, _, workload, _ = release
    node.kubectl("-n", nd.NAMESPACE, "rollout", "restart", f"deploy/{nd.RELEASE}-layerwatch-operator")
    node.kubectl("-n", nd.NAMESPACE, "rollout", "status", f"deploy/{nd.RELEASE}-layerwatch-operator",
                 "--timeout=180s")
    denied = node.apply(deployment("again", "shop", workload))
    assert denied.returncode != 0 and "prod-enforce" in denied.stderr


def test_upgrade_and_rollback(release) -> None:
    node, image, *_ = release
    values = [*nd.image_values(image), *nd.FEED_VALUES]
    node.helm("upgrade", nd.RELEASE, nd.ROOT / "charts/layerwatch", "-n", nd.NAMESPACE, *values,
              "--set", "webhook.timeoutSeconds=7", "--wait", "--timeout", "5m")
    # the enforce entry the webhook wrote survives the upgrade and follows the chart's new timeout
    nd.wait("the enforce webhook to follow the upgrade", lambda: timeouts(node) == {7}
            and enforced_namespaces(node) == ["shop"], timeout=90)
    node.helm("rollback", nd.RELEASE, "1", "-n", nd.NAMESPACE, "--wait", "--timeout", "5m")

    nd.wait("the enforce webhook to follow the rollback", lambda: enforced_namespaces(node) == ["shop"]
            and timeouts(node) == {5}, timeout=90)
    nd.wait("every layerwatch pod Ready", lambda: pods_ready(node), timeout=180)


def test_the_webhook_follows_a_token_rotation(release) -> None:
    """The kubelet swaps a mounted token file atomically (a symlinked directory); the webhook must
    use the new token from then on. Projected tokens live at least 10 minutes, so the swap is made
    with a Secret volume at the service-account path, updated by the kubelet the same way, and the
    old token is revoked: only a webhook that re-reads the file keeps reaching the API server."""
    node, *_ = release
    sa = f"{nd.RELEASE}-layerwatch-webhook"

    def token_secret(name: str) -> dict:
        node.apply({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                    "metadata": {"name": name, "namespace": nd.NAMESPACE,
                                 "annotations": {"kubernetes.io/service-account.name": sa}}})
        return nd.wait(f"token in {name}", lambda: (node.json("-n", nd.NAMESPACE, "get", "secret", name)
                                                     .get("data") or {}).get("token") and
                       node.json("-n", nd.NAMESPACE, "get", "secret", name)["data"], timeout=60)

    first = token_secret("rotation-token-a")
    mounted = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "rotation-sa", "namespace": nd.NAMESPACE},
               "data": {"token": first["token"], "ca.crt": first["ca.crt"], "namespace": first["namespace"]}}
    node.apply(mounted)
    patch = {"spec": {"template": {"spec": {
        "automountServiceAccountToken": False,
        "volumes": [{"name": "rotation-sa", "secret": {"secretName": "rotation-sa"}}],
        "containers": [{"name": "webhook", "volumeMounts": [
            {"name": "rotation-sa", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}]}]}}}}
    node.kubectl("-n", nd.NAMESPACE, "patch", f"deploy/{sa}", "--type=strategic", "-p", json.dumps(patch))
    node.kubectl("-n", nd.NAMESPACE, "rollout", "status", f"deploy/{sa}", "--timeout=180s")

    def webhook_pods() -> list[str]:
        return sorted(p["metadata"]["name"] for p in node.json("-n", nd.NAMESPACE, "get", "pods", "-l",
                                                                "app.kubernetes.io/component=webhook")["items"]
                      if not p["metadata"].get("deletionTimestamp"))

    nd.wait("the old webhook pods gone", lambda: len(webhook_pods()) == 2, timeout=120)
    pods = webhook_pods()
    second = token_secret("rotation-token-b")
    old, new = (base64.b64decode(t["token"]).decode() for t in (first, second))
    node.apply({**mounted, "data": {**mounted["data"], "token": second["token"]}})
    node.kubectl("-n", nd.NAMESPACE, "delete", "secret", "rotation-token-a")  # token A is revoked
    started = time.monotonic()

    def mounted_tokens() -> set[str]:
        return {node.kubectl("-n", nd.NAMESPACE, "exec", pod, "--", "cat",
                             "/var/run/secrets/kubernetes.io/serviceaccount/token").stdout for pod in pods}

    # the kubelet swaps the files in the running pods; the API server stops accepting token A
    nd.wait("the kubelet to swap the token files", lambda: mounted_tokens() == {new}, timeout=180, interval=2)
    nd.wait("token A to be refused", lambda: nd.api_status(old) == 401, timeout=60)
    assert nd.api_status(new) == 200  # token B is the webhook's (it may list namespaces)
    # only now does the webhook need the API server: it must be reading token B from the file
    node.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-two", "labels": {"tier": "prod"}}})
    nd.wait("the webhook to enforce the new namespace with the rotated token",
            lambda: enforced_namespaces(node) == ["shop", "shop-two"], timeout=120, interval=1)
    TIMINGS["token rotation picked up"] = time.monotonic() - started
    assert webhook_pods() == pods  # the same processes: nothing restarted to read the new token
    logs = node.kubectl("-n", nd.NAMESPACE, "logs", f"deploy/{sa}", "--tail=200").stdout
    assert "Traceback" not in logs
    node.kubectl("-n", nd.NAMESPACE, "delete", "secret", "rotation-token-b", "rotation-sa")


def test_uninstall_leaves_no_webhook_configuration_deployments_or_rbac(release) -> None:
    node, *_ = release
    node.helm("uninstall", nd.RELEASE, "-n", nd.NAMESPACE, "--wait", "--timeout", "5m")
    label = f"app.kubernetes.io/instance={nd.RELEASE}"
    assert not node.json("get", "validatingwebhookconfigurations", "-l", label)["items"]
    assert not node.json("get", "clusterroles,clusterrolebindings", "-l", label)["items"]
    assert not node.json("-n", nd.NAMESPACE, "get", "deployments,services,serviceaccounts,roles,rolebindings",
                         "-l", label)["items"]
    assert not node.json("-n", nd.NAMESPACE, "get", "secrets", "-l", label)["items"]  # a reinstall starts clean
    crds = {c["metadata"]["name"] for c in node.json("get", "crds")["items"]}
    assert {"imagescans.layerwatch.dev", "vulnerabilitypolicies.layerwatch.dev"} <= crds  # kept, as documented
    # with layerwatch gone, every namespace deploys again
    assert node.kubectl("-n", "shop", "create", "deployment", "after", "--image", "x", check=False).returncode == 0
    print(json.dumps(TIMINGS))
