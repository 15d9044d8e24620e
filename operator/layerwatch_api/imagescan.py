"""The ImageScan custom resource (group layerwatch.dev, v1alpha1): one per image digest."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .severity import Severity

GROUP = "layerwatch.dev"
VERSION = "v1alpha1"
IMAGESCAN_PLURAL = "imagescans"

# Incomplete: scanned, but the vulnerability database cannot vouch for part of the image (a feed
# missing or stale, a distribution no feed covers). Never shown or treated as clean: the webhook
# applies the policy's `unscanned` action, and the AdvisoryDataMissing condition says what is missing.
Phase = Literal["Pending", "Scanning", "Scanned", "Incomplete", "Failed"]


class _Model(BaseModel):
    # camelCase on the wire, snake_case in Python; unknown fields from newer versions are kept.
    model_config = ConfigDict(populate_by_name=True, extra="allow", alias_generator=None)


class ImageScanSpec(_Model):
    image: str = Field(description="Image reference as workloads use it, e.g. docker.io/library/nginx:1.25")
    digest: str = Field(default="", pattern=r"^(sha256:[0-9a-f]{64})?$",
                        description="Manifest digest this scan is for; empty until the operator resolves a tag")
    platform: str = Field(default="linux/amd64", description="os/arch[/variant] of the scanned manifest")


class Condition(_Model):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    lastTransitionTime: str = ""


class OSStatus(_Model):
    id: str = ""
    version: str = ""


class Summary(_Model):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    negligible: int = 0
    unknown: int = 0
    total: int = 0
    fixable: int = 0


class VulnerabilityEntry(_Model):
    id: str
    severity: Severity
    package: str
    version: str
    fixedVersion: str = ""
    layer: str = ""
    aliases: list[str] = Field(default_factory=list)
    advice: Literal["rebuild-base", "upgrade", "remove", ""] = Field(
        default="", description="Where the fix lives: rebuild on a newer base, upgrade in the Dockerfile, "
                                "or remove a build-time tool from the final image")


class UsedBy(_Model):
    namespaces: int = 0
    pods: int = 0
    workloads: list[str] = Field(default_factory=list, description="namespace/Kind/name, capped")


class DatabaseStatus(_Model):
    builtAt: str = ""
    sources: dict[str, str] = Field(default_factory=dict)


class CoverageGap(_Model):
    kind: str = Field(description="missing-source, missing-release, unsupported-distribution, "
                                  "unknown-distribution or stale")
    ecosystem: str = Field(description="What is not covered: debian:12, PyPI, or the distribution")
    packages: int = 0
    message: str = ""


class CoverageStatus(_Model):
    complete: bool = True
    gaps: list[CoverageGap] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="A relative's data used, nothing cataloged, ...")


class BaseImage(_Model):
    name: str = ""
    digest: str = ""
    layers: int = 1
    from_: str = Field(default="first-layer", alias="from",
                       description="annotation (OCI base annotations, layers counted) or first-layer")


class AdviceEntry(_Model):
    findings: int = 0
    fixable: int = 0
    packages: list[str] = Field(default_factory=list, description="capped at 20")
    advice: str = ""
    base: BaseImage | None = None


class AdviceStatus(_Model):
    """Where the fixes live, summarised: rebuild the base, upgrade in the Dockerfile, remove."""

    rebuildBase: AdviceEntry | None = None
    upgrade: AdviceEntry | None = None
    remove: AdviceEntry | None = None


class ImageScanStatus(_Model):
    phase: Phase = "Pending"
    conditions: list[Condition] = Field(default_factory=list)
    os: OSStatus | None = None
    summary: Summary = Field(default_factory=Summary)
    vulnerabilities: list[VulnerabilityEntry] = Field(default_factory=list)
    truncated: bool = False
    packages: int = 0
    usedBy: UsedBy = Field(default_factory=UsedBy)
    database: DatabaseStatus | None = None
    coverage: CoverageStatus | None = None
    advice: AdviceStatus | None = None
    scannedAt: str = ""
    matchedAt: str = ""
    scannerVersion: str = Field(default="", description="layerwatch version that scanned it: a new one rescans")
    resolvedTags: list[str] = Field(
        default_factory=list, description="Tag references the operator resolved to this digest"
    )


class ImageScan(_Model):
    apiVersion: str = f"{GROUP}/{VERSION}"
    kind: str = "ImageScan"
    metadata: dict = Field(default_factory=dict)
    spec: ImageScanSpec
    status: ImageScanStatus | None = None
