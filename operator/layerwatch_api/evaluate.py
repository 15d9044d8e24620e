"""The policy decision, shared by the webhook (admission) and the operator (audit).

`evaluate()` is a pure function of the policies, the ImageScans, the pod spec and the
namespace: no I/O, no clock other than the `today` argument, so it is tested exhaustively.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field

from .admission import container_images
from .images import normalize, split_digest
from .imagescan import ImageScan, VulnerabilityEntry
from .policy import BREAK_GLASS_ANNOTATION, VulnerabilityPolicy
from .severity import Severity

DECISIONS = ("allow", "audit", "warn", "deny")  # least to most strict
ACTION_DECISION = {"Enforce": "deny", "Warn": "warn", "Audit": "audit"}
UNSCANNED_DECISION = {"Deny": "deny", "Warn": "warn", "Allow": "allow"}
SHOWN_FINDINGS = 3  # worst findings spelled out in a message (Kubernetes shows it in one line)
MAX_MESSAGE = 1000


@dataclass
class ImageOutcome:
    image: str
    decision: str
    reason: str
    findings: list[VulnerabilityEntry] = field(default_factory=list)
    more: int = 0


@dataclass
class PolicyOutcome:
    policy: str
    decision: str
    images: list[ImageOutcome] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return DECISIONS.index(self.decision)


@dataclass
class Verdict:
    allowed: bool
    decision: str  # allow / audit / warn / deny (after break-glass)
    policy: str = ""  # the policy whose outcome decided
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    audit: dict[str, str] = field(default_factory=dict)
    unscanned: list[str] = field(default_factory=list)  # images with no finished ImageScan
    break_glass: str = ""  # the reason given, when break-glass let a denied workload through
    outcomes: list[PolicyOutcome] = field(default_factory=list)


class ScanIndex:
    """ImageScans by digest and by normalised reference: O(1) lookups on the admission path."""

    def __init__(self, scans: list[ImageScan] | None = None):
        self.by_digest: dict[str, ImageScan] = {}
        self.by_ref: dict[str, ImageScan] = {}
        for scan in scans or []:
            self.add(scan)

    def add(self, scan: ImageScan) -> None:
        if scan.spec.digest:
            self.by_digest[scan.spec.digest] = scan
        for ref in [scan.spec.image, *(scan.status.resolvedTags if scan.status else [])]:
            current = self.by_ref.get(normalize(ref))
            # a tag may have been scanned at several digests: prefer the finished scan
            if current is None or (scan.status and scan.status.phase == "Scanned"):
                self.by_ref[normalize(ref)] = scan

    def find(self, image: str) -> ImageScan | None:
        """By digest when the reference pins one, otherwise by (normalised) reference or resolved tag."""
        _, digest = split_digest(image)
        if digest:
            return self.by_digest.get(digest)
        return self.by_ref.get(normalize(image))


def find_scan(image: str, scans: list[ImageScan] | ScanIndex) -> ImageScan | None:
    index = scans if isinstance(scans, ScanIndex) else ScanIndex(scans)
    return index.find(image)


def _excepted(finding: VulnerabilityEntry, image: str, namespace: str, policy: VulnerabilityPolicy,
              today: dt.date) -> bool:
    ids = {finding.id, *finding.aliases}
    for exc in policy.spec.exceptions:
        if exc.id not in ids or not exc.active(today):
            continue
        if exc.namespaces and namespace not in exc.namespaces:
            continue
        if exc.images and not any(fnmatch.fnmatchcase(image, g) or fnmatch.fnmatchcase(normalize(image), g)
                                  for g in exc.images):
            continue
        return True
    return False


def _judge_image(image: str, scan: ImageScan | None, policy: VulnerabilityPolicy, namespace: str,
                 today: dt.date) -> ImageOutcome:
    spec = policy.spec
    if any(fnmatch.fnmatchcase(image, g) or fnmatch.fnmatchcase(normalize(image), g) for g in spec.exemptImages):
        return ImageOutcome(image, "allow", "exempt")
    if scan is None or scan.status is None or scan.status.phase not in ("Scanned", "Incomplete"):
        return ImageOutcome(image, UNSCANNED_DECISION[spec.unscanned], "not scanned yet")
    judged = _judge_findings(image, scan, policy, namespace, today)
    if scan.status.phase == "Scanned":
        return judged
    # Incomplete: zero findings prove nothing. The `unscanned` action applies, or the known
    # findings' verdict when that is stricter.
    missing = _missing_data(scan)
    unscanned = UNSCANNED_DECISION[spec.unscanned]
    if DECISIONS.index(judged.decision) > DECISIONS.index(unscanned):
        judged.reason = f"{judged.reason}; advisory data missing ({missing})"
        return judged
    return ImageOutcome(image, unscanned, f"advisory data missing ({missing})")


def _missing_data(scan: ImageScan) -> str:
    coverage = scan.status.coverage if scan.status else None
    if coverage and coverage.gaps:
        return ", ".join(f"{g.ecosystem}: {g.kind}" for g in coverage.gaps[:3]) + (
            f" and {len(coverage.gaps) - 3} more" if len(coverage.gaps) > 3 else "")
    return "see the ImageScan's AdvisoryDataMissing condition"


def _judge_findings(image: str, scan: ImageScan, policy: VulnerabilityPolicy, namespace: str,
                    today: dt.date) -> ImageOutcome:
    spec = policy.spec
    assert scan.status is not None
    findings = [f for f in scan.status.vulnerabilities
                if not (spec.ignoreUnfixed and not f.fixedVersion) and not _excepted(f, image, namespace, policy, today)]
    over = [f for f in findings if Severity(f.severity).rank > spec.maxSeverity.rank]
    reasons = []
    if over:
        reasons.append(f"findings above {spec.maxSeverity.value}")
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.severity.lower()] = counts.get(f.severity.lower(), 0) + 1
    for sev, limit in spec.maxCounts.model_dump(exclude_none=True).items():
        if counts.get(sev, 0) > limit:
            reasons.append(f"{counts[sev]} {sev} (max {limit})")
            over.extend(f for f in findings if f.severity.lower() == sev and f not in over)
    if not reasons:
        return ImageOutcome(image, "allow", "within policy")
    over.sort(key=lambda f: (-Severity(f.severity).rank, f.fixedVersion == "", f.id))
    return ImageOutcome(image, ACTION_DECISION[spec.action], ", ".join(reasons), over[:SHOWN_FINDINGS],
                        max(0, len(over) - SHOWN_FINDINGS))


def _describe(f: VulnerabilityEntry) -> str:
    fix = f"fixed in {f.fixedVersion}" if f.fixedVersion else "no fix yet"
    return f"{f.id} {f.severity.value if hasattr(f.severity, 'value') else f.severity} in {f.package} {f.version}, {fix}"


def _message(outcome: PolicyOutcome) -> str:
    parts = []
    for img in outcome.images:
        if img.decision != outcome.decision or img.decision == "allow":
            continue
        if img.reason == "not scanned yet":
            parts.append(f"image {img.image} has not been scanned yet")
            continue
        if img.reason.startswith("advisory data missing") and not img.findings:
            parts.append(f"image {img.image} cannot be vouched for: {img.reason} (treated as unscanned)")
            continue
        listed = "; ".join(_describe(f) for f in img.findings)
        more = f"; and {img.more} more" if img.more else ""
        parts.append(f"image {img.image} ({img.reason}): {listed}{more}")
    text = (f"VulnerabilityPolicy {outcome.policy!r}: " + " | ".join(parts)
            + f". To accept a risk, add an exception (id, images, expires, reason) to the policy: "
              f"kubectl edit vpol {outcome.policy}")
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def evaluate(policies: list[VulnerabilityPolicy], scans: list[ImageScan] | ScanIndex, pod_spec: dict, namespace: str,
             namespace_labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
             today: dt.date | None = None) -> Verdict:
    today = today or dt.date.today()
    labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
    images = list(dict.fromkeys(c.image for c in container_images(pod_spec)))
    index = scans if isinstance(scans, ScanIndex) else ScanIndex(scans)
    scan_of = {image: index.find(image) for image in images}
    unscanned = [i for i, s in scan_of.items() if s is None]
    outcomes = []
    for policy in sorted(policies, key=lambda p: p.name):
        if not policy.spec.namespaceSelector.matches(labels):
            continue
        judged = [_judge_image(i, scan_of[i], policy, namespace, today) for i in images]
        decision = max((j.decision for j in judged), key=DECISIONS.index, default="allow")
        outcomes.append(PolicyOutcome(policy.name, decision, judged))
    if not outcomes:
        return Verdict(True, "allow", unscanned=unscanned)
    worst = max(outcomes, key=lambda o: o.rank)  # first (by name) among equally strict ones
    verdict = Verdict(allowed=worst.decision != "deny", decision=worst.decision, policy=worst.policy,
                      unscanned=unscanned, outcomes=outcomes)
    if worst.decision == "allow":
        return verdict
    verdict.message = _message(worst)
    if worst.decision == "warn":
        verdict.warnings.append(verdict.message)
    # every policy that audits records its outcome, whatever decided
    for o in outcomes:
        if o.decision == "audit":
            verdict.audit[f"layerwatch.dev/{o.policy}"] = _message(o)
    reason = (annotations or {}).get(BREAK_GLASS_ANNOTATION, "").strip()
    if worst.decision == "deny" and reason:
        verdict.allowed, verdict.decision, verdict.break_glass = True, "warn", reason
        verdict.warnings.append(f"break-glass ({reason}) admitted a workload this policy denies: {verdict.message}")
        verdict.audit["layerwatch.dev/break-glass"] = reason
    return verdict
