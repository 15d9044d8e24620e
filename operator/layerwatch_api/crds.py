"""CustomResourceDefinitions generated from the pydantic models: one source of truth.

`layerwatch crds` prints them; crds/ and the chart's crds/ hold the output, and a test fails when
either drifts from the models. Pydantic's JSON Schema is turned into a *structural* OpenAPI v3
schema as Kubernetes requires: $refs inlined, Optional as `nullable`, no `title`s, free-form
maps as x-kubernetes-preserve-unknown-fields.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from .imagescan import GROUP, IMAGESCAN_PLURAL, VERSION, ImageScanSpec, ImageScanStatus
from .notification import NOTIFICATIONTARGET_PLURAL, NotificationTargetSpec, NotificationTargetStatus
from .policy import VULNERABILITYPOLICY_PLURAL, VulnerabilityPolicySpec, VulnerabilityPolicyStatus

_DROP = {"title", "$defs"}


def structural(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return structural(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        out = structural(options[0], defs) if len(options) == 1 else {"x-kubernetes-preserve-unknown-fields": True}
        if len(options) < len(schema["anyOf"]):
            out["nullable"] = True
        if "description" in schema:
            out["description"] = schema["description"]
        return out
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP:
            continue
        if key == "properties":
            out["properties"] = {name: structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out["items"] = structural(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, dict) and value:
                out["additionalProperties"] = structural(value, defs)
            elif value is True and "properties" not in schema:
                out["x-kubernetes-preserve-unknown-fields"] = True
        elif key == "default" and (isinstance(value, dict | list) or value is None):
            continue  # object defaults would have to be valid against pruning; leave them to the code
        else:
            out[key] = value
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    return out


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema()
    return structural(raw, raw.get("$defs", {}))


def _crd(kind: str, plural: str, short: str, spec: type[BaseModel], status: type[BaseModel],
         columns: list[dict], description: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"app.kubernetes.io/name": "layerwatch"}},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                      "shortNames": [short], "categories": ["layerwatch"]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object", "description": description,
                    "properties": {"spec": _schema(spec), "status": _schema(status)},
                    "required": ["spec"],
                }},
            }],
        },
    }


def _col(name: str, path: str, type_: str = "integer", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "jsonPath": path, **extra}


def imagescan_crd() -> dict[str, Any]:
    columns = [_col("Image", ".spec.image", "string"),
               *[_col(s, f".status.summary.{s.lower()}") for s in ("Critical", "High", "Medium", "Low", "Fixable")],
               _col("Phase", ".status.phase", "string"),
               _col("Digest", ".spec.digest", "string", priority=1),
               _col("Age", ".metadata.creationTimestamp", "date")]
    return _crd("ImageScan", IMAGESCAN_PLURAL, "isc", ImageScanSpec, ImageScanStatus, columns,
                "The vulnerabilities of one image digest running in the cluster, kept current by layerwatch.")


def vulnerabilitypolicy_crd() -> dict[str, Any]:
    columns = [_col("Action", ".spec.action", "string"), _col("Max Severity", ".spec.maxSeverity", "string"),
               _col("Unscanned", ".spec.unscanned", "string"),
               _col("Denied 24h", ".status.deniedLast24h"), _col("Age", ".metadata.creationTimestamp", "date")]
    return _crd("VulnerabilityPolicy", VULNERABILITYPOLICY_PLURAL, "vpol", VulnerabilityPolicySpec,
                VulnerabilityPolicyStatus, columns,
                "Which images may run where: severity thresholds, exceptions with expiry, warn or audit modes.")


def notificationtarget_crd() -> dict[str, Any]:
    columns = [_col("Format", ".spec.format", "string"), _col("Pending", ".status.pending"),
               _col("Sent", ".status.sent"), _col("Last Success", ".status.lastSuccess", "date"),
               _col("Last Error", ".status.lastError", "string", priority=1),
               _col("Age", ".metadata.creationTimestamp", "date")]
    return _crd("NotificationTarget", NOTIFICATIONTARGET_PLURAL, "ntgt", NotificationTargetSpec,
                NotificationTargetStatus, columns,
                "Where layerwatch sends new and resolved findings of running images: URL, format, filter, signing.")


def all_crds() -> dict[str, dict[str, Any]]:
    """file name -> CRD"""
    return {"imagescans.yaml": imagescan_crd(), "vulnerabilitypolicies.yaml": vulnerabilitypolicy_crd(),
            "notificationtargets.yaml": notificationtarget_crd()}


def render(crd: dict[str, Any]) -> str:
    return "# Generated by `layerwatch crds` from layerwatch_api; do not edit.\n" + yaml.safe_dump(
        crd, sort_keys=False, width=120)
