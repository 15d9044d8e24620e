"""Which namespaces fail closed: exactly those an Enforce policy selects."""

from __future__ import annotations

from layerwatch_api.policy import VulnerabilityPolicy
from layerwatch_webhook.registration import ENFORCE, NO_NAMESPACE, OBSERVE, enforced_namespaces, patch_for


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


def test_patch_moves_enforced_namespaces_between_the_two_webhooks() -> None:
    live = {"metadata": {"resourceVersion": "7"}, "webhooks": [
        {"name": ENFORCE, "failurePolicy": "Fail", "namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": [NO_NAMESPACE]}]}},
        {"name": OBSERVE, "failurePolicy": "Fail", "namespaceSelector": {}}]}
    ops = patch_for(live, ["shop"], ["kube-system", "layerwatch"], b"CA")
    by_path = {op["path"]: op["value"] for op in ops}
    assert by_path["/webhooks/0/namespaceSelector"]["matchExpressions"][0]["values"] == ["shop"]
    assert by_path["/webhooks/1/namespaceSelector"]["matchExpressions"][0] == {
        "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "layerwatch", "shop"]}
    assert by_path["/webhooks/1/failurePolicy"] == "Ignore"  # never Fail outside enforced namespaces
    assert by_path["/webhooks/0/clientConfig/caBundle"] == "Q0E="
    for op in ops:  # applying the patch leaves nothing to do
        index, field = op["path"].split("/")[2], op["path"].split("/")[3:]
        target = live["webhooks"][int(index)]
        for key in field[:-1]:
            target = target.setdefault(key, {})
        target[field[-1]] = op["value"]
    assert patch_for(live, ["shop"], ["kube-system", "layerwatch"], b"CA") == []
    assert patch_for(live, [], ["kube-system", "layerwatch"], b"CA")[0]["value"]["matchExpressions"][0]["values"] == [
        NO_NAMESPACE]
