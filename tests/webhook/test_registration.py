"""Which namespaces fail closed: exactly those an Enforce policy selects."""

from __future__ import annotations

from layerwatch_api.policy import VulnerabilityPolicy
from layerwatch_webhook.registration import (
    ENFORCE,
    ENFORCE_PATH,
    OBSERVE,
    ca_patch,
    desired_enforce_webhooks,
    enforced_namespaces,
)


def policy(action: str, selector: dict) -> VulnerabilityPolicy:
    return VulnerabilityPolicy.model_validate({"metadata": {"name": action.lower()},
                                               "spec": {"action": action, "namespaceSelector": selector}})


NAMESPACES = {"shop": {"tier": "prod"}, "pay": {"tier": "prod"}, "dev": {}, "kube-system": {}, "layerwatch": {}}


def test_only_enforce_policies_make_a_namespace_fail_closed() -> None:
    policies = [policy("Enforce", {"matchLabels": {"tier": "prod"}}), policy("Warn", {})]
    assert enforced_namespaces(policies, NAMESPACES, ["kube-system", "layerwatch"]) == ["pay", "shop"]
    assert enforced_namespaces([policy("Warn", {}), policy("Audit", {})], NAMESPACES, []) == []
    # an Enforce policy for every namespace still never covers the control plane or layerwatch
    assert enforced_namespaces([policy("Enforce", {})], NAMESPACES, ["kube-system", "layerwatch"]) == [
        "dev", "pay", "shop"]
    by_name = policy("Enforce", {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                                       "values": ["dev"]}]})
    assert enforced_namespaces([by_name], NAMESPACES, []) == ["dev"]


CHART = {"metadata": {"name": "lw-layerwatch.layerwatch.dev"}, "webhooks": [{
    "name": OBSERVE, "failurePolicy": "Ignore", "timeoutSeconds": 7, "sideEffects": "NoneOnDryRun",
    "admissionReviewVersions": ["v1"], "rules": [{"apiGroups": ["apps"], "resources": ["deployments"]}],
    "clientConfig": {"service": {"name": "lw-layerwatch-webhook", "namespace": "layerwatch", "path": "/validate",
                                 "port": 443}, "caBundle": "Q0E="},
    "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                                                "values": ["kube-system", "layerwatch"]}]}}]}


def test_the_enforce_entry_copies_the_charts_webhook_and_fails_closed_only_in_enforced_namespaces() -> None:
    [entry] = desired_enforce_webhooks(CHART, ["pay", "shop"], "Fail")
    assert entry["name"] == ENFORCE and entry["failurePolicy"] == "Fail"
    assert entry["namespaceSelector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["pay", "shop"]}]
    assert entry["clientConfig"]["service"]["path"] == ENFORCE_PATH and entry["clientConfig"]["caBundle"] == "Q0E="
    assert entry["timeoutSeconds"] == 7 and entry["rules"] == CHART["webhooks"][0]["rules"]  # upgrades carry over
    assert CHART["webhooks"][0]["failurePolicy"] == "Ignore"  # the chart's entry is not modified
    assert desired_enforce_webhooks(CHART, [], "Fail") == []  # nothing enforced: nothing can fail closed


def test_ca_bundle_patch_only_when_it_differs() -> None:
    assert ca_patch(CHART, b"CA") == []
    assert ca_patch(CHART, b"NEW") == [{"op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": "TkVX"}]
