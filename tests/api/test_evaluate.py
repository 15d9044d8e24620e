"""evaluate(): the policy decision, table tests and properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layerwatch_api.admission import UnsupportedObject, container_images, pod_spec, template_annotations
from layerwatch_api.evaluate import evaluate, find_scan
from layerwatch_api.images import normalize
from layerwatch_api.imagescan import ImageScan
from layerwatch_api.policy import LabelSelector, VulnerabilityPolicy

TODAY = dt.date(2026, 11, 25)
DIGEST = "sha256:" + "a" * 64
CLEAN = "sha256:" + "b" * 64


def scan(digest: str, image: str, vulns: list[tuple[str, str, str]], phase: str = "Scanned") -> ImageScan:
    return ImageScan.model_validate({
        "metadata": {"name": image.split("/")[-1].replace(":", "-")},
        "spec": {"image": image, "digest": digest},
        "status": {"phase": phase, "resolvedTags": [image],
                   "vulnerabilities": [{"id": i, "severity": s, "package": "openssl", "version": "3.0.11-1~deb12u1",
                                        "fixedVersion": fix, "aliases": [f"DSA-{i[-4:]}"]} for i, s, fix in vulns]},
    })


SCANS = [
    scan(DIGEST, "docker.io/library/nginx:1.25", [("CVE-2024-0001", "Critical", "3.0.13-1~deb12u1"),
                                                  ("CVE-2024-0002", "High", ""), ("CVE-2024-0003", "Medium", "3.0.13")]),
    scan(CLEAN, "registry.example.com/base/app:1", []),
]


def policy(name: str = "p", **spec) -> VulnerabilityPolicy:
    return VulnerabilityPolicy.model_validate({"metadata": {"name": name}, "spec": spec})


def pod(*images: str, init: tuple[str, ...] = ()) -> dict:
    return {"containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)],
            "initContainers": [{"name": f"i{i}", "image": im} for i, im in enumerate(init)]}


@pytest.mark.parametrize(("spec", "images", "decision", "allowed"), [
    ({"action": "Enforce", "maxSeverity": "High"}, ["nginx:1.25"], "deny", False),
    ({"action": "Warn", "maxSeverity": "High"}, ["nginx:1.25"], "warn", True),
    ({"action": "Audit", "maxSeverity": "High"}, ["nginx:1.25"], "audit", True),
    ({"action": "Enforce", "maxSeverity": "Critical"}, ["nginx:1.25"], "allow", True),
    ({"action": "Enforce", "maxSeverity": "Critical", "maxCounts": {"high": 0}}, ["nginx:1.25"], "deny", False),
    ({"action": "Enforce", "maxSeverity": "Critical", "maxCounts": {"high": 0}, "ignoreUnfixed": True},
     ["nginx:1.25"], "allow", True),
    ({"action": "Enforce", "maxSeverity": "Medium"}, ["registry.example.com/base/app:1"], "allow", True),
    ({"action": "Enforce", "exemptImages": ["docker.io/library/nginx*"]}, ["nginx:1.25"], "allow", True),
    ({"action": "Enforce", "unscanned": "Deny"}, ["busybox:1.36"], "deny", False),
    ({"action": "Enforce", "unscanned": "Warn"}, ["busybox:1.36"], "warn", True),
    ({"action": "Enforce", "unscanned": "Allow"}, ["busybox:1.36"], "allow", True),
    ({"action": "Enforce"}, [f"docker.io/library/nginx@{DIGEST}"], "deny", False),  # by digest
])
def test_decisions(spec: dict, images: list[str], decision: str, allowed: bool) -> None:
    verdict = evaluate([policy(**spec)], SCANS, pod(*images), "shop", today=TODAY)
    assert (verdict.decision, verdict.allowed) == (decision, allowed)


def test_deny_message_names_image_policy_findings_and_fix() -> None:
    verdict = evaluate([policy("no-critical", maxSeverity="Medium")], SCANS, pod("nginx:1.25"), "shop", today=TODAY)
    assert not verdict.allowed and verdict.policy == "no-critical"
    assert "'no-critical'" in verdict.message and "image nginx:1.25" in verdict.message
    assert "CVE-2024-0001 Critical in openssl 3.0.11-1~deb12u1, fixed in 3.0.13-1~deb12u1" in verdict.message
    assert "CVE-2024-0002 High in openssl 3.0.11-1~deb12u1, no fix yet" in verdict.message
    assert "kubectl edit vpol no-critical" in verdict.message and len(verdict.message) <= 1000


def test_init_containers_count_too() -> None:
    verdict = evaluate([policy()], SCANS, pod("registry.example.com/base/app:1", init=("nginx:1.25",)), "shop",
                       today=TODAY)
    assert verdict.decision == "deny"


def test_exceptions_valid_and_expired() -> None:
    exc = {"id": "CVE-2024-0001", "images": ["docker.io/library/nginx:*"], "expires": "2026-12-31", "reason": "r"}
    assert evaluate([policy(exceptions=[exc])], SCANS, pod("nginx:1.25"), "shop", today=TODAY).allowed
    expired = policy(exceptions=[exc | {"expires": "2026-11-24"}])
    assert not evaluate([expired], SCANS, pod("nginx:1.25"), "shop", today=TODAY).allowed
    assert expired.expired_exceptions(TODAY) == ["CVE-2024-0001 (expired 2026-11-24)"]
    by_alias = policy(exceptions=[exc | {"id": "DSA-0001"}])
    assert evaluate([by_alias], SCANS, pod("nginx:1.25"), "shop", today=TODAY).allowed
    other_ns = policy(exceptions=[exc | {"namespaces": ["billing"]}])
    assert not evaluate([other_ns], SCANS, pod("nginx:1.25"), "shop", today=TODAY).allowed


def test_break_glass_lets_one_workload_through_and_says_so() -> None:
    verdict = evaluate([policy()], SCANS, pod("nginx:1.25"), "shop",
                       annotations={"layerwatch.dev/break-glass": "INC-42 hotfix"}, today=TODAY)
    assert verdict.allowed and verdict.break_glass == "INC-42 hotfix"
    assert verdict.audit["layerwatch.dev/break-glass"] == "INC-42 hotfix" and "break-glass" in verdict.warnings[-1]


def test_namespace_selection_and_strictest_policy_wins() -> None:
    shop_only = policy("a-warn", action="Warn", namespaceSelector={"matchLabels": {"team": "shop"}})
    strict = policy("z-enforce", namespaceSelector={"matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod"]}]})
    v = evaluate([shop_only, strict], SCANS, pod("nginx:1.25"), "shop", {"team": "shop", "env": "prod"}, today=TODAY)
    assert v.decision == "deny" and v.policy == "z-enforce"
    v = evaluate([shop_only, strict], SCANS, pod("nginx:1.25"), "shop", {"team": "shop"}, today=TODAY)
    assert v.decision == "warn" and v.policy == "a-warn" and v.warnings
    v = evaluate([shop_only, strict], SCANS, pod("nginx:1.25"), "other", {}, today=TODAY)
    assert v.decision == "allow" and v.outcomes == []


def test_label_selector_operators() -> None:
    sel = LabelSelector.model_validate({"matchExpressions": [
        {"key": "a", "operator": "Exists"}, {"key": "b", "operator": "DoesNotExist"},
        {"key": "c", "operator": "NotIn", "values": ["x"]}]})
    assert sel.matches({"a": "1"}) and sel.matches({"a": "1", "c": "y"})
    assert not sel.matches({"a": "1", "b": "2"}) and not sel.matches({"c": "y"}) and not sel.matches({"a": "", "c": "x"})


def test_find_scan_and_normalize() -> None:
    assert normalize("nginx") == "docker.io/library/nginx:latest"
    assert normalize("ghcr.io/o/a@" + DIGEST) == "ghcr.io/o/a@" + DIGEST
    assert find_scan("docker.io/library/nginx:1.25", SCANS) is SCANS[0]
    assert find_scan("nginx@" + CLEAN, SCANS) is SCANS[1]
    assert find_scan("nginx:1.26", SCANS) is None


def test_workload_kinds_and_bad_objects() -> None:
    template = {"metadata": {"annotations": {"layerwatch.dev/break-glass": "x"}}, "spec": pod("nginx")}
    cron = {"spec": {"jobTemplate": {"spec": {"template": template}}}}
    assert [c.image for c in container_images(pod_spec("CronJob", cron))] == ["nginx"]
    deployment = {"metadata": {"annotations": {"a": "1"}}, "spec": {"template": template}}
    assert template_annotations("Deployment", deployment) == {"a": "1", "layerwatch.dev/break-glass": "x"}
    with pytest.raises(UnsupportedObject, match="ConfigMap"):
        pod_spec("ConfigMap", {})
    with pytest.raises(UnsupportedObject, match="spec.template.spec"):
        pod_spec("Deployment", {"spec": {"template": "nope"}})
    with pytest.raises(UnsupportedObject, match="without an image"):
        container_images({"containers": [{"name": "x"}]})


severities = st.sampled_from(["Critical", "High", "Medium", "Low", "Negligible", "Unknown"])
vulns = st.lists(st.tuples(st.from_regex(r"CVE-20[0-9]{2}-[0-9]{4}", fullmatch=True), severities,
                           st.sampled_from(["", "1.2"])), max_size=8)
specs = st.fixed_dictionaries({"action": st.sampled_from(["Enforce", "Warn", "Audit"]),
                               "maxSeverity": severities, "ignoreUnfixed": st.booleans(),
                               "unscanned": st.sampled_from(["Allow", "Warn", "Deny"])})


@settings(max_examples=150, deadline=None)
@given(found=vulns, first=specs, second=specs)
def test_adding_a_policy_never_relaxes_a_verdict(found, first, second) -> None:
    scans = [scan(DIGEST, "docker.io/library/app:1", found)]
    order = ["allow", "audit", "warn", "deny"]
    alone = evaluate([policy("a", **first)], scans, pod("app:1"), "ns", today=TODAY)
    both = evaluate([policy("a", **first), policy("b", **second)], scans, pod("app:1"), "ns", today=TODAY)
    assert order.index(both.decision) >= order.index(alone.decision)
    assert both.allowed <= alone.allowed


@settings(max_examples=150, deadline=None)
@given(found=vulns, spec=specs)
def test_an_exception_for_every_finding_allows(found, spec) -> None:
    scans = [scan(DIGEST, "docker.io/library/app:1", found)]
    exceptions = [{"id": i, "reason": "accepted"} for i, _, _ in found]
    verdict = evaluate([policy(**spec, exceptions=exceptions)], scans, pod("app:1"), "ns", today=TODAY)
    assert verdict.allowed and verdict.decision == "allow"


UNCOVERED = "sha256:" + "d" * 64


def incomplete(vulns: list[tuple[str, str, str]]) -> ImageScan:
    """An image whose distribution the database did not cover (phase Incomplete)."""
    doc = scan(UNCOVERED, "registry.example.com/amzn/app:1", vulns, phase="Incomplete").model_dump()
    doc["status"]["coverage"] = {"complete": False, "gaps": [
        {"kind": "unsupported-distribution", "ecosystem": "amzn 2023", "packages": 120,
         "message": "amzn 2023: no advisory feed of layerwatch covers this distribution"}]}
    return ImageScan.model_validate(doc)


@pytest.mark.parametrize(("unscanned", "decision"), [("Deny", "deny"), ("Warn", "warn"), ("Allow", "allow")])
def test_an_incomplete_scan_is_unscanned_never_clean(unscanned: str, decision: str) -> None:
    verdict = evaluate([policy(action="Enforce", maxSeverity="Medium", unscanned=unscanned)], [incomplete([])],
                       pod("registry.example.com/amzn/app:1"), "shop", today=TODAY)
    assert verdict.decision == decision
    if decision == "deny":
        assert "cannot be vouched for" in verdict.message and "amzn 2023: unsupported-distribution" in verdict.message


def test_known_findings_of_an_incomplete_scan_still_count() -> None:
    """Missing data never relaxes a verdict: a Critical already found denies even if unscanned=Allow."""
    verdict = evaluate([policy(action="Enforce", maxSeverity="High", unscanned="Allow")],
                       [incomplete([("CVE-2024-0001", "Critical", "1.2")])],
                       pod("registry.example.com/amzn/app:1"), "shop", today=TODAY)
    assert verdict.decision == "deny" and "CVE-2024-0001" in verdict.message
    assert "advisory data missing" in verdict.message
