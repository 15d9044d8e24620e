"""The VulnerabilityPolicy custom resource (cluster-scoped, short name vpol)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .severity import Severity

VULNERABILITYPOLICY_PLURAL = "vulnerabilitypolicies"
BREAK_GLASS_ANNOTATION = "layerwatch.dev/break-glass"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class LabelSelectorRequirement(_Model):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = Field(default_factory=list)


class LabelSelector(_Model):
    """The standard Kubernetes LabelSelector; empty selects every namespace."""

    matchLabels: dict[str, str] = Field(default_factory=dict)
    matchExpressions: list[LabelSelectorRequirement] = Field(default_factory=list)

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.matchLabels.items()):
            return False
        for req in self.matchExpressions:
            present = req.key in labels
            if req.operator == "In" and (not present or labels[req.key] not in req.values):
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
        return True


class MaxCounts(_Model):
    critical: int | None = Field(default=None, ge=0)
    high: int | None = Field(default=None, ge=0)
    medium: int | None = Field(default=None, ge=0)
    low: int | None = Field(default=None, ge=0)


class PolicyException(_Model):
    id: str = Field(description="Vulnerability id (CVE-…, GHSA-…) or an alias of it")
    images: list[str] = Field(default_factory=list, description="Image globs; empty means every image")
    namespaces: list[str] = Field(default_factory=list, description="Namespaces; empty means every namespace")
    expires: dt.date | None = Field(default=None, description="Last day the exception applies")
    reason: str = Field(min_length=1, description="Why the risk is accepted (kept for audit)")

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires


class VulnerabilityPolicySpec(_Model):
    namespaceSelector: LabelSelector = Field(default_factory=LabelSelector)
    action: Literal["Enforce", "Warn", "Audit"] = "Enforce"
    maxSeverity: Severity = Field(default=Severity.HIGH, description="Deny when a finding is above this")
    ignoreUnfixed: bool = False
    maxCounts: MaxCounts = Field(default_factory=MaxCounts)
    unscanned: Literal["Allow", "Warn", "Deny"] = "Allow"
    exemptImages: list[str] = Field(default_factory=list)
    exceptions: list[PolicyException] = Field(default_factory=list)


class VulnerabilityPolicyStatus(_Model):
    conditions: list[dict] = Field(default_factory=list)
    expiredExceptions: list[str] = Field(default_factory=list)
    deniedLast24h: int = 0


class VulnerabilityPolicy(_Model):
    apiVersion: str = "layerwatch.dev/v1alpha1"
    kind: str = "VulnerabilityPolicy"
    metadata: dict = Field(default_factory=dict)
    spec: VulnerabilityPolicySpec = Field(default_factory=VulnerabilityPolicySpec)
    status: VulnerabilityPolicyStatus | None = None

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    def expired_exceptions(self, today: dt.date) -> list[str]:
        return [f"{e.id} (expired {e.expires})" for e in self.spec.exceptions if not e.active(today)]
