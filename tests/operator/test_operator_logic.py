"""The operator's pure parts: pod images, workloads, usage labels, status size, settings, queue."""

from __future__ import annotations

import asyncio
import json

import pytest
from layerwatch_operator.pods import pod_images, workload_of
from layerwatch_operator.queue import ScanQueue
from layerwatch_operator.settings import OperatorSettings, parse_duration
from layerwatch_operator.status import MAX_STATUS_BYTES, failed_status, failure_reason, scanned_status
from layerwatch_operator.usage import UsageIndex, label_patch
from layerwatch_scanner.errors import AuthError, UnsupportedManifestError
from layerwatch_scanner.match.findings import Finding
from layerwatch_scanner.model import Inventory, OSInfo, Package
from layerwatch_scanner.vulndb.store import DBMetadata

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_pod_images_with_and_without_digests() -> None:
    pod = {"spec": {"initContainers": [{"name": "init", "image": "busybox"}],
                    "containers": [{"name": "app", "image": "nginx:1.25"}, {"name": "side", "image": f"envoy@{D2}"}],
                    "ephemeralContainers": [{"name": "debug", "image": "alpine"}]},
           "status": {"containerStatuses": [{"name": "app", "imageID": f"docker-pullable://nginx@{D1}"}]}}
    assert [(i.image, i.digest) for i in pod_images(pod)] == [
        ("busybox", ""), ("nginx:1.25", D1), (f"envoy@{D2}", D2), ("alpine", "")]


def test_workload_resolution_through_owner_references() -> None:
    owners = {("ReplicaSet", "shop", "web-5d4"): {"metadata": {"ownerReferences": [
        {"kind": "Deployment", "name": "web", "controller": True}]}}}
    pod = {"metadata": {"namespace": "shop", "name": "web-5d4-x", "ownerReferences": [
        {"kind": "ReplicaSet", "name": "web-5d4", "controller": True}]}}
    assert workload_of(pod, lambda k, n, m: owners.get((k, n, m))) == "shop/Deployment/web"
    bare = {"metadata": {"namespace": "shop", "name": "solo"}}
    assert workload_of(bare, lambda *a: None) == "shop/Pod/solo"


def test_usage_index_and_namespace_labels() -> None:
    usage = UsageIndex()
    usage.set_pod("u1", "shop", "shop/Deployment/web", {"nginx-a"})
    usage.set_pod("u2", "pay", "pay/Deployment/api", {"nginx-a", "api-b"})
    assert usage.take_dirty() == {"nginx-a", "api-b"}
    assert usage.used_by("nginx-a", 10) == {"namespaces": 2, "pods": 2,
                                            "workloads": ["pay/Deployment/api", "shop/Deployment/web"]}
    usage.remove_pod("u2")
    assert usage.take_dirty() == {"nginx-a", "api-b"} and usage.running() == {"nginx-a"}
    current = {"ns.layerwatch.dev/pay": "", "ns.layerwatch.dev/shop": "", "team": "x"}
    assert label_patch(current, usage.namespaces("nginx-a")) == {"ns.layerwatch.dev/pay": None}
    assert label_patch({}, {"shop"}) == {"ns.layerwatch.dev/shop": ""}


def test_status_of_a_huge_inventory_stays_small() -> None:
    packages = [Package("deb", f"pkg{i}", "1.0", "/var/lib/dpkg/status") for i in range(20000)]
    inventory = Inventory("img", D1, OSInfo("debian", "12"), packages, [D1])
    findings = [Finding(id=f"CVE-2024-{i:05d}", severity=["Critical", "High", "Low"][i % 3], package=f"pkg{i}",
                        package_type="deb", version="1.0", fixed_version="1.1" if i % 2 else "", layer=D1,
                        source="debian", aliases=[f"DSA-{i}"] * 3) for i in range(60000)]
    db = DBMetadata(schema_version=1, built_at="2026-11-25T00:00:00+00:00")
    status = scanned_status(inventory, findings, db, max_findings=1000)
    size = len(json.dumps(status))
    assert size <= MAX_STATUS_BYTES < 256 * 1024
    assert status["truncated"] and status["summary"]["total"] == 60000 and status["summary"]["fixable"] == 30000
    assert status["summary"]["critical"] == 20000 and status["packages"] == 20000
    default = scanned_status(inventory, findings, db, max_findings=100)
    assert len(default["vulnerabilities"]) == 100 and default["vulnerabilities"][0]["id"] == "CVE-2024-00000"


def test_failure_reasons_are_clear() -> None:
    assert failure_reason(AuthError("x")) == "AuthFailed"
    assert failure_reason(UnsupportedManifestError("x")) == "UnsupportedManifest"
    assert failure_reason(RuntimeError("x")) == "ScanFailed"
    status = failed_status(AuthError("registry r refused user 'bob'"), 2, 60)
    assert status["phase"] == "Failed" and "attempt 2; retrying in 60s" in status["conditions"][0]["message"]


def test_settings_from_environment_and_file(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("operator:\n  scan-concurrency: 4\n  retention: 2h\n")
    s = OperatorSettings.load({"LAYERWATCH_CONFIG": str(config), "LAYERWATCH_RETENTION": "90m",
                               "LAYERWATCH_NAMESPACES": "shop, pay", "LAYERWATCH_CACHE_DIR": "/c"})
    assert (s.scan_concurrency, s.retention, s.namespaces) == (4, 5400.0, ["shop", "pay"])
    assert str(s.vulndb) == "/c/vulndb.sqlite"
    assert parse_duration("1h30m") == 5400 and parse_duration("45") == 45
    with pytest.raises(ValueError, match="invalid duration"):
        OperatorSettings.load({"LAYERWATCH_RETENTION": "forever"})


async def test_queue_dedupes_bounds_and_retries() -> None:
    running, peak, calls = 0, 0, []
    failures = {"flaky": 1}

    async def scan(name: str) -> float | None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        calls.append(name)
        await asyncio.sleep(0.05)
        running -= 1
        if failures.get(name):
            failures[name] -= 1
            return 0.05  # retry soon
        return None

    queue = ScanQueue(scan, concurrency=2)
    for name in ["a", "a", "b", "c", "flaky"]:
        queue.submit(name)
    task = asyncio.create_task(queue.run())
    await asyncio.sleep(0.5)
    task.cancel()
    assert sorted(calls) == ["a", "b", "c", "flaky", "flaky"] and peak == 2
    assert queue.backoff("x") == 30.0 and queue.backoff("x") == 60.0 and not queue.due("x")


def test_tag_resolution_is_remembered(tmp_path, monkeypatch) -> None:
    from layerwatch_operator import scanner_port

    calls = []
    monkeypatch.setattr(scanner_port, "resolve", lambda image, options: calls.append(image) or D1)
    port = scanner_port.ScannerPort(OperatorSettings(cache_dir=str(tmp_path)))
    assert port.resolve("nginx:1.25", None) == port.resolve("nginx:1.25", None) == D1
    assert calls == ["nginx:1.25"]
    monkeypatch.setattr(scanner_port, "RESOLVE_TTL", -1.0)
    port.resolve("alpine:3", None)
    port.resolve("alpine:3", None)
    assert calls == ["nginx:1.25", "alpine:3", "alpine:3"]


def test_an_uncovered_image_is_incomplete_with_the_reason() -> None:
    """The status the operator writes for an image its database cannot vouch for."""
    from layerwatch_api.imagescan import ImageScanStatus
    from layerwatch_scanner.match.coverage import coverage_of

    inventory = Inventory(image="photon:4", digest=D1, layers=[D1], os=OSInfo(id="photon-unknown", version_id="4.0"),
                          packages=[Package(type="rpm", name="bash", version="5.0-1.ph4", path="/var/lib/rpm")])
    coverage = coverage_of(inventory, {}, {})
    status = scanned_status(inventory, [], DBMetadata(schema_version=2, built_at="x"), 100, coverage=coverage)
    assert status["phase"] == "Incomplete"
    missing = next(c for c in status["conditions"] if c["type"] == "AdvisoryDataMissing")
    assert missing["status"] == "True" and "photon-unknown 4.0" in missing["message"]
    assert status["coverage"]["gaps"][0]["kind"] == "unsupported-distribution"
    ImageScanStatus.model_validate(status)  # the CRD model accepts what the operator writes
    covered = coverage_of(Inventory(image="scratch", digest=D2, layers=[D2], os=None, packages=[]), {}, {})
    assert scanned_status(inventory, [], DBMetadata(schema_version=2, built_at="x"), 100,
                          coverage=covered)["phase"] == "Scanned"


def test_coverage_fingerprint_moves_with_sources_not_with_advisories(tmp_path) -> None:
    """A refresh that only adds advisories re-evaluates no coverage; a new source does."""
    from layerwatch_operator.scanner_port import ScannerPort
    from layerwatch_scanner.vulndb.records import Affected, Range
    from layerwatch_scanner.vulndb.store import VulnDBWriter

    db = tmp_path / "vulndb.sqlite"

    def add(source: str, vuln_id: str, ecosystem: str = "debian:12") -> None:
        writer = VulnDBWriter(db, in_place=db.exists())
        writer.begin_source(source)
        writer.add_affected(Affected(vuln_id, ecosystem, "openssl", source, ranges=[Range(fixed="3.0.9-1")]))
        writer.end_source(True)
        writer.close()

    add("debian", "CVE-2023-0001")
    port = ScannerPort(OperatorSettings(cache_dir=str(tmp_path), db_path=str(db)))
    before = port.coverage_fingerprint()
    add("debian", "CVE-2023-0002")
    assert port.coverage_fingerprint() == before
    add("osv-debian", "CVE-2023-0003")
    assert port.coverage_fingerprint() != before
