"""End to end on a real kube-apiserver: the CRDs' validation and printer columns, the webhook
called by the API server over TLS, and the chart's RBAC checked by the API server itself."""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.chart.helm_support import render
from tests.support.k8s import ControlPlane, kubectl

pytestmark = pytest.mark.e2e
API = "/apis/layerwatch.dev/v1alpha1"
DIGEST = "sha256:" + "d" * 64


def scan_object(name: str, digest: str, status: dict | None = None,
                image: str = "docker.io/library/nginx:1.25") -> dict:
    doc = {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "ImageScan", "metadata": {"name": name},
           "spec": {"image": image, "digest": digest}}
    return doc | ({"status": status} if status else {})


def test_crds_validate_objects_and_print_columns(cluster: ControlPlane) -> None:
    with cluster.http() as client:
        created = client.post(f"{API}/imagescans", json=scan_object("nginx-1-25-dddddddddd", DIGEST))
        assert created.status_code == 201, created.text
        status = {"phase": "Scanned", "summary": {"critical": 2, "high": 1, "medium": 0, "low": 3, "fixable": 2},
                  "vulnerabilities": [{"id": "CVE-2024-0001", "severity": "Critical", "package": "openssl",
                                       "version": "3.0.11-1~deb12u1", "fixedVersion": "3.0.13-1~deb12u1"}]}
        obj = created.json() | {"status": status}
        patched = client.put(f"{API}/imagescans/nginx-1-25-dddddddddd/status", json=obj)
        assert patched.status_code == 200, patched.text
        table = client.get(f"{API}/imagescans", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
        columns = [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0]
        assert columns == ["Name", "Image", "Critical", "High", "Medium", "Low", "Fixable", "Phase", "Age"]
        row = table["rows"][0]["cells"]
        assert row[1:8] == ["docker.io/library/nginx:1.25", 2, 1, 0, 3, 2, "Scanned"]
        bad_digest = client.post(f"{API}/imagescans", json=scan_object("bad", "md5:abc"))
        assert bad_digest.status_code == 422 and "spec.digest" in bad_digest.text
        bad_severity = client.put(f"{API}/imagescans/nginx-1-25-dddddddddd/status", json=client.get(
            f"{API}/imagescans/nginx-1-25-dddddddddd").json() | {"status": {
                "vulnerabilities": [{"id": "x", "severity": "Catastrophic", "package": "p", "version": "1"}]}})
        assert bad_severity.status_code == 422 and "severity" in bad_severity.text
        policy = {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                  "metadata": {"name": "bad"}, "spec": {"action": "Block"}}
        refused = client.post(f"{API}/vulnerabilitypolicies", json=policy)
        assert refused.status_code == 422 and "spec.action" in refused.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook_process(cluster: ControlPlane, tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "LAYERWATCH_WEBHOOK_KUBECONFIG": str(cluster.kubeconfig),
           "LAYERWATCH_WEBHOOK_TLS_MODE": "files", "LAYERWATCH_WEBHOOK_CERT_DIR": str(tmp_path / "tls"),
           "LAYERWATCH_WEBHOOK_PORT": str(port), "LAYERWATCH_WEBHOOK_HOST": "127.0.0.1",
           "LAYERWATCH_WEBHOOK_CONFIG_NAME": "layerwatch-e2e",
           "LAYERWATCH_WEBHOOK_ENFORCE_CONFIG_NAME": "layerwatch-e2e-enforce"}
    proc = subprocess.Popen([sys.executable, "-m", "layerwatch_scanner", "webhook"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ca = tmp_path / "tls/ca.crt"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stdout.read().decode()
        if ca.exists():
            try:
                with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as c:
                    if c.get(f"https://127.0.0.1:{port}/readyz").status_code == 200:
                        break
            except httpx.HTTPError:
                pass
        assert time.monotonic() < deadline, "webhook not ready"
        time.sleep(0.1)
    yield port, ca, proc
    proc.terminate()
    proc.wait(timeout=10)


def test_api_server_calls_the_webhook_and_kubectl_shows_the_denial(cluster: ControlPlane, webhook_process,
                                                                    tmp_path: Path) -> None:
    port, ca, proc = webhook_process
    scan = cluster.apply(scan_object("nginx-1-25-eeeeeeeeee", "sha256:" + "e" * 64))
    scan["status"] = {"phase": "Scanned", "resolvedTags": ["docker.io/library/nginx:1.25"], "vulnerabilities": [
        {"id": "CVE-2024-0001", "severity": "Critical", "package": "openssl", "version": "3.0.11-1~deb12u1",
         "fixedVersion": "3.0.13-1~deb12u1"}]}
    with cluster.http() as client:
        assert client.put(f"{API}/imagescans/nginx-1-25-eeeeeeeeee/status", json=scan).status_code == 200
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "prod"}}})
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    cluster.apply({"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                   "metadata": {"name": "prod-no-critical"},
                   "spec": {"namespaceSelector": {"matchLabels": {"tier": "prod"}}, "action": "Enforce",
                            "maxSeverity": "High", "unscanned": "Allow"}})
    for config in chart_webhook_configurations(port, ca):
        cluster.apply(config)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                      "metadata": {"labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}}
    with cluster.http() as client:
        path = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/layerwatch-e2e-enforce"

        def scope() -> dict:
            return {h["name"]: (h["failurePolicy"], h["namespaceSelector"]["matchExpressions"][0]["values"])
                    for h in client.get(path).json().get("webhooks") or []}

        # the webhook, once it has listed policies and namespaces, fails closed in the enforced namespace only
        deadline = time.monotonic() + 30
        while scope().get("enforce.layerwatch.dev") != ("Fail", ["shop"]):
            assert time.monotonic() < deadline, scope()
            time.sleep(0.2)
        denied = client.post("/apis/apps/v1/namespaces/shop/deployments", json=deployment)
        assert denied.status_code == 403, denied.text
        message = denied.json()["message"]
        assert 'admission webhook "enforce.layerwatch.dev" denied the request' in message
        assert "CVE-2024-0001 Critical in openssl 3.0.11-1~deb12u1, fixed in 3.0.13-1~deb12u1" in message
        clean = json.loads(json.dumps(deployment).replace("nginx:1.25", "registry.example.com/unseen:1"))
        clean["metadata"]["name"] = "fine"
        assert client.post("/apis/apps/v1/namespaces/shop/deployments", json=clean).status_code == 201
        # an image the database cannot vouch for (Incomplete) is unscanned, never clean: a policy
        # with unscanned: Deny refuses it, naming what is missing
        uncovered = cluster.apply(scan_object("amzn-app-1-ffffffffff", "sha256:" + "f" * 64,
                                              image="registry.example.com/amzn/app:1"))
        uncovered["status"] = {"phase": "Incomplete", "resolvedTags": ["registry.example.com/amzn/app:1"],
                               "coverage": {"complete": False, "gaps": [
                                   {"kind": "unsupported-distribution", "ecosystem": "amzn 2023", "packages": 90,
                                    "message": "amzn 2023: no advisory feed of layerwatch covers this distribution"}]}}
        assert client.put(f"{API}/imagescans/amzn-app-1-ffffffffff/status", json=uncovered).status_code == 200
        cluster.apply({"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                       "metadata": {"name": "prod-known-only"},
                       "spec": {"namespaceSelector": {"matchLabels": {"tier": "prod"}}, "action": "Enforce",
                                "maxSeverity": "Critical", "unscanned": "Deny"}})
        amzn = json.loads(json.dumps(deployment).replace("nginx:1.25", "registry.example.com/amzn/app:1"))
        amzn["metadata"]["name"] = "amzn"
        refused = None
        for _ in range(50):  # the webhook's watch delivers the new policy and scan status
            refused = client.post("/apis/apps/v1/namespaces/shop/deployments", json=amzn)
            if refused.status_code == 403:
                break
            client.delete("/apis/apps/v1/namespaces/shop/deployments/amzn")
            time.sleep(0.2)
        assert refused.status_code == 403 and "cannot be vouched for" in refused.json()["message"], refused.text
        assert "amzn 2023: unsupported-distribution" in refused.json()["message"]
        client.delete(f"{API}/vulnerabilitypolicies/prod-known-only")
        binary = kubectl()
        if binary:  # kubectl prints exactly what the webhook said
            manifest = tmp_path / "web.yaml"
            manifest.write_text(yaml.safe_dump(deployment))
            out = subprocess.run([binary, "--kubeconfig", str(cluster.kubeconfig), "apply", "-f", str(manifest)],
                                 capture_output=True, text=True)
            assert out.returncode != 0 and "CVE-2024-0001 Critical in openssl" in out.stderr

        # layerwatch down: only the namespace under Enforce refuses workloads; the rest of the
        # cluster deploys as if layerwatch were not installed
        proc.terminate()
        proc.wait(timeout=10)
        dev = json.loads(json.dumps(deployment).replace('"shop"', '"dev"'))
        assert client.post("/apis/apps/v1/namespaces/dev/deployments", json=dev).status_code == 201
        other = json.loads(json.dumps(clean).replace('"fine"', '"other"'))
        refused = client.post("/apis/apps/v1/namespaces/shop/deployments", json=other)
        assert refused.status_code >= 500 and "failed calling webhook" in refused.text, refused.text
    for name in ("layerwatch-e2e", "layerwatch-e2e-enforce"):
        cluster.apply({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                       "metadata": {"name": name}, "webhooks": []})


def chart_webhook_configurations(port: int, ca: Path) -> list[dict]:
    """The chart's two ValidatingWebhookConfigurations (rendered by helm), pointed at the local webhook."""
    from tests.chart.helm_support import find_tool, render

    configs = [d for d in render(find_tool("helm")) if d["kind"] == "ValidatingWebhookConfiguration"]
    for config in configs:
        enforce = "-enforce" in config["metadata"]["name"]
        config["metadata"] = {"name": "layerwatch-e2e-enforce" if enforce else "layerwatch-e2e"}
        for hook in config["webhooks"]:
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}/validate",
                                    "caBundle": base64.b64encode(ca.read_bytes()).decode()}
            hook["timeoutSeconds"] = 5
    return configs


def _can(cluster: ControlPlane, user: str, verb: str, resource: str, group: str = "", namespace: str = "",
         name: str = "", subresource: str = "") -> bool:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": user, "groups": ["system:serviceaccounts"],
        "resourceAttributes": {"verb": verb, "resource": resource, "group": group, "namespace": namespace,
                               "name": name, "subresource": subresource}}}
    with cluster.http() as client:
        answer = client.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert answer.status_code == 201, answer.text
        return bool(answer.json()["status"].get("allowed"))


def test_chart_rbac_is_enforced_by_the_api_server(cluster: ControlPlane) -> None:
    from tests.chart.helm_support import find_tool

    manifests = render(find_tool("helm"), namespace="layerwatch")
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "layerwatch"}})
    for doc in manifests:
        if doc["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            cluster.apply(doc)
    operator = "system:serviceaccount:layerwatch:lw-layerwatch-operator"
    webhook = "system:serviceaccount:layerwatch:lw-layerwatch-webhook"
    assert _can(cluster, operator, "get", "secrets", namespace="shop")  # pull secrets, by name
    assert not _can(cluster, operator, "list", "secrets", namespace="shop")
    assert _can(cluster, operator, "watch", "pods")
    assert not _can(cluster, operator, "delete", "pods", namespace="shop")
    assert _can(cluster, operator, "patch", "imagescans", "layerwatch.dev")
    assert _can(cluster, operator, "patch", "imagescans", "layerwatch.dev", subresource="status")
    assert not _can(cluster, webhook, "patch", "imagescans", "layerwatch.dev", subresource="status")
    assert _can(cluster, webhook, "create", "imagescans", "layerwatch.dev")
    assert not _can(cluster, webhook, "delete", "imagescans", "layerwatch.dev")
    assert _can(cluster, webhook, "patch", "validatingwebhookconfigurations", "admissionregistration.k8s.io",
                name="lw-layerwatch.layerwatch.dev")
    assert not _can(cluster, webhook, "patch", "validatingwebhookconfigurations", "admissionregistration.k8s.io",
                    name="someone-elses")
    assert _can(cluster, webhook, "update", "secrets", namespace="layerwatch", name="lw-layerwatch-webhook-tls")
    assert not _can(cluster, webhook, "get", "secrets", namespace="layerwatch", name="other")
