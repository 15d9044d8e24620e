"""The webhook as users run it: a real uvicorn process over real TLS (certificates made by the
webhook's own code), watching ImageScans and policies served by kmock, answering AdmissionReviews
as the API server sends them."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import TESTDATA

API = "/apis/layerwatch.dev/v1alpha1"
NGINX = "sha256:" + "a" * 64
BASE = "sha256:" + "b" * 64
EXCEPTED = "sha256:" + "c" * 64
DEPLOYMENT = json.loads((TESTDATA / "admission/deployment-create.json").read_text())


def imagescan(name: str, image: str, digest: str, vulns: list[tuple[str, str, str]]) -> dict:
    return {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "ImageScan", "metadata": {"name": name},
            "spec": {"image": image, "digest": digest},
            "status": {"phase": "Scanned", "resolvedTags": [image], "vulnerabilities": [
                {"id": i, "severity": s, "package": "openssl", "version": "3.0.11-1~deb12u1", "fixedVersion": f}
                for i, s, f in vulns]}}


UNCOVERED = "sha256:" + "d" * 64


def incomplete_scan() -> dict:
    """Scanned, but the database has no data for its distribution: phase Incomplete, zero findings."""
    doc = imagescan("amzn-app-1", "registry.example.com/amzn/app:1", UNCOVERED, [])
    doc["status"]["phase"] = "Incomplete"
    doc["status"]["coverage"] = {"complete": False, "gaps": [{
        "kind": "unsupported-distribution", "ecosystem": "amzn 2023", "packages": 120,
        "message": "amzn 2023: no advisory feed of layerwatch covers this distribution"}]}
    doc["status"]["conditions"] = [{"type": "AdvisoryDataMissing", "status": "True", "reason": "AdvisoryDataMissing",
                                    "message": "1 uncovered: amzn 2023: no advisory feed covers this distribution"}]
    return doc


def policy(name: str, namespaces: list[str] | None, **spec) -> dict:
    selector = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": namespaces}]} \
        if namespaces else {}
    return {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy", "metadata": {"name": name},
            "spec": {"namespaceSelector": selector, **spec}}


OBJECTS = {
    f"{API}/imagescans": [
        imagescan("nginx-1-25", "docker.io/library/nginx:1.25", NGINX,
                  [("CVE-2024-0001", "Critical", "3.0.13-1~deb12u1"), ("CVE-2024-0008", "High", "")]),
        imagescan("base-app-1", "registry.example.com/base/app:1", BASE, []),
        imagescan("excepted-1", "registry.example.com/excepted:1", EXCEPTED, [("CVE-2024-0009", "Critical", "2")]),
        incomplete_scan(),
    ],
    f"{API}/vulnerabilitypolicies": [
        policy("shop-enforce", ["shop"], action="Enforce", maxSeverity="Medium", unscanned="Deny",
               exceptions=[{"id": "CVE-2024-0009", "expires": "2099-12-31", "reason": "vendor says n/a"},
                           {"id": "CVE-2024-0008", "expires": "2020-01-01", "reason": "expired"}]),
        policy("dev-warn", ["dev"], action="Warn", maxSeverity="High", unscanned="Warn"),
        policy("zz-audit-everything", None, action="Audit", maxSeverity="Low"),
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def webhook(kmock, tmp_path: Path):
    async with httpx.AsyncClient(base_url=str(kmock.url)) as api:
        for path, objects in OBJECTS.items():
            for obj in objects:
                (await api.post(path, json=obj)).raise_for_status()
    port = free_port()
    env = {**os.environ, "LAYERWATCH_WEBHOOK_KUBE_URL": str(kmock.url).rstrip("/"),
           "LAYERWATCH_WEBHOOK_TLS_MODE": "files", "LAYERWATCH_WEBHOOK_CERT_DIR": str(tmp_path / "tls"),
           "LAYERWATCH_WEBHOOK_PORT": str(port), "LAYERWATCH_WEBHOOK_HOST": "127.0.0.1",
           "LAYERWATCH_WEBHOOK_NAMESPACE": "layerwatch", "LAYERWATCH_WEBHOOK_WATCH_NAMESPACES": "false",
           "LAYERWATCH_WEBHOOK_MANAGE_SCOPE": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "layerwatch_scanner", "webhook"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"https://127.0.0.1:{port}"
    client = None
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read().decode())
            if (tmp_path / "tls/ca.crt").exists():
                if client is None:
                    client = httpx.AsyncClient(base_url=base, verify=ssl.create_default_context(
                        cafile=str(tmp_path / "tls/ca.crt")), timeout=10)
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("webhook did not become ready")
        yield client, kmock
    finally:
        if client:
            await client.aclose()
        proc.terminate()
        proc.wait(timeout=10)


def review(kind: str = "Deployment", namespace: str = "shop", images: tuple[str, ...] = ("nginx:1.25",),
           operation: str = "CREATE", old_images: tuple[str, ...] | None = None, annotations: dict | None = None) -> dict:
    doc = copy.deepcopy(DEPLOYMENT)
    req = doc["request"]
    req["namespace"], req["operation"] = namespace, operation
    template = req["object"]["spec"]["template"]
    template["spec"]["initContainers"] = []
    template["spec"]["containers"] = [{"name": f"c{i}", "image": im} for i, im in enumerate(images)]
    if annotations:
        req["object"]["metadata"]["annotations"] = annotations
    if old_images is not None:
        req["oldObject"] = copy.deepcopy(req["object"])
        req["oldObject"]["spec"]["template"]["spec"]["containers"] = [{"name": "c", "image": im} for im in old_images]
    if kind != "Deployment":
        pod_spec = template["spec"]
        group = {"Pod": ("", "pods"), "StatefulSet": ("apps", "statefulsets"), "DaemonSet": ("apps", "daemonsets"),
                 "ReplicaSet": ("apps", "replicasets"), "Job": ("batch", "jobs"), "CronJob": ("batch", "cronjobs")}[kind]
        req["kind"] = {"group": group[0], "version": "v1", "kind": kind}
        req["resource"] = {"group": group[0], "version": "v1", "resource": group[1]}
        meta = {"name": "x", "namespace": namespace, "annotations": annotations or {}}
        if kind == "Pod":
            req["object"] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}
        elif kind == "CronJob":
            req["object"] = {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": {
                "schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}
        else:
            req["object"] = {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                             "spec": {"template": {"spec": pod_spec}}}
    return doc


async def admit(client: httpx.AsyncClient, doc: dict) -> dict:
    r = await client.post("/validate", json=doc)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["response"]["uid"] == doc["request"]["uid"]
    return answer["response"]


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"])
async def test_every_kind_is_denied_with_the_fix_in_the_message(webhook, kind: str) -> None:
    client, _ = webhook
    response = await admit(client, review(kind))
    assert response["allowed"] is False and response["status"]["code"] == 403
    message = response["status"]["message"]
    assert "'shop-enforce'" in message and "image nginx:1.25" in message
    assert "CVE-2024-0001 Critical in openssl 3.0.11-1~deb12u1, fixed in 3.0.13-1~deb12u1" in message
    assert "CVE-2024-0008 High" in message  # its exception expired
    assert "kubectl edit vpol shop-enforce" in message


async def test_warn_audit_exceptions_and_clean_images(webhook) -> None:
    client, _ = webhook
    warned = await admit(client, review(namespace="dev"))
    assert warned["allowed"] and "dev-warn" in warned["warnings"][0] and "CVE-2024-0001" in warned["warnings"][0]
    audited = await admit(client, review(namespace="billing"))
    assert audited["allowed"] and "layerwatch.dev/zz-audit-everything" in audited["auditAnnotations"]
    assert (await admit(client, review(images=("registry.example.com/base/app:1",))))["allowed"]
    excepted = await admit(client, review(images=("registry.example.com/excepted:1",)))
    assert excepted["allowed"]  # its only finding has a valid exception in shop-enforce
    by_digest = await admit(client, review(images=(f"docker.io/library/nginx@{NGINX}",)))
    assert not by_digest["allowed"]


async def test_unscanned_images_are_denied_and_queued_for_scanning(webhook) -> None:
    client, kmock = webhook
    response = await admit(client, review(images=("ghcr.io/acme/new:2",)))
    assert not response["allowed"] and "has not been scanned yet" in response["status"]["message"]
    for _ in range(100):
        created = [o for o in kmock.objects if o[0].plural == "imagescans" and o[2].startswith("new-2-")]
        if created:
            break
        await asyncio.sleep(0.05)
    assert created, "the webhook should create an ImageScan for the operator to scan"
    warned = await admit(client, review(namespace="dev", images=("ghcr.io/acme/other:1",)))
    assert warned["allowed"] and "not been scanned" in warned["warnings"][0]


async def test_an_image_without_advisory_data_is_treated_as_unscanned(webhook) -> None:
    """Zero findings on an Incomplete scan are not "clean": Enforce + unscanned=Deny denies,
    Warn + unscanned=Warn warns, and neither asks for a new scan (it was scanned)."""
    client, kmock = webhook
    denied = await admit(client, review(images=("registry.example.com/amzn/app:1",)))
    assert denied["allowed"] is False
    message = denied["status"]["message"]
    assert "cannot be vouched for" in message and "amzn 2023: unsupported-distribution" in message
    warned = await admit(client, review(namespace="dev", images=("registry.example.com/amzn/app:1",)))
    assert warned["allowed"] is True and "advisory data missing" in warned["warnings"][0]


async def test_break_glass_exempt_namespaces_and_updates(webhook) -> None:
    client, kmock = webhook
    glass = await admit(client, review(annotations={"layerwatch.dev/break-glass": "INC-1234 outage"}))
    assert glass["allowed"] and glass["auditAnnotations"]["layerwatch.dev/break-glass"] == "INC-1234 outage"
    assert any("break-glass" in w for w in glass["warnings"])
    for _ in range(100):
        events = [o for o in kmock.objects if o[0].plural == "events"]
        if events:
            break
        await asyncio.sleep(0.05)
    assert events and events[0][1] == "shop", "break-glass must be recorded as an Event"
    for namespace in ("kube-system", "layerwatch"):
        assert (await admit(client, review(namespace=namespace)))["allowed"]
    same = await admit(client, review(operation="UPDATE", old_images=("nginx:1.25",)))
    assert same["allowed"] and "warnings" not in same  # scaling a deployment is not re-judged
    changed = await admit(client, review(operation="UPDATE", old_images=("registry.example.com/base/app:1",)))
    assert not changed["allowed"]
    metrics = (await client.get("/metrics")).text
    assert 'layerwatch_admission_requests_total{decision="deny",kind="Deployment",policy="shop-enforce"}' in metrics
    assert 'layerwatch_break_glass_total{namespace="shop"} 1.0' in metrics
    assert "layerwatch_admission_duration_seconds_bucket" in metrics and "layerwatch_webhook_watch_age_seconds" in metrics


async def test_policy_changes_arrive_through_the_watch(webhook) -> None:
    client, kmock = webhook
    async with httpx.AsyncClient(base_url=str(kmock.url)) as api:
        r = await api.patch(f"{API}/vulnerabilitypolicies/shop-enforce", json={"spec": {"action": "Warn"}},
                            headers={"Content-Type": "application/merge-patch+json"})
        r.raise_for_status()
    for _ in range(100):
        response = await admit(client, review())
        if response["allowed"]:
            break
        await asyncio.sleep(0.05)
    assert response["allowed"] and "shop-enforce" in response["warnings"][0]


@pytest.mark.parametrize(("body", "message"), [
    (b"{not json", "not JSON"),
    (b"[]", "not an AdmissionReview"),
    (json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1", "request": {}}).encode(),
     "admission.k8s.io/v1"),
    (json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}).encode(), "no request"),
    (json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
                 "request": {"uid": 5, "kind": {"kind": "Pod"}}}).encode(), "uid"),
    (json.dumps({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
                 "request": {"uid": "u", "kind": {"kind": "Pod"}, "object": "x"}}).encode(), "object"),
    (b'{"kind": "AdmissionReview", "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}', "exceeds"),
])
async def test_hostile_reviews_get_400_not_500(webhook, body: bytes, message: str) -> None:
    client, _ = webhook
    r = await client.post("/validate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and message in r.json()["error"] and "Traceback" not in r.text


async def test_objects_it_does_not_understand_are_allowed_with_a_warning(webhook) -> None:
    client, _ = webhook
    doc = review()
    doc["request"]["kind"]["kind"] = "ConfigMap"
    response = await admit(client, doc)
    assert response["allowed"] and "did not evaluate" in response["warnings"][0]
    doc = review()
    doc["request"]["object"]["spec"]["template"]["spec"]["containers"] = [{"name": "no-image"}]
    assert (await admit(client, doc))["allowed"]
