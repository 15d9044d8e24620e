"""The message of one image's change, as layerwatch's versioned JSON payload (docs/notifications.md).

One image per message, its findings paged (Clair's notifier pages affected manifests likewise):
a page holds at most MAX_FINDINGS findings, so a message stays far below MAX_BODY. Each page has
a dedupe key, the same for the same (target, image digest, advisory set, page) however often it
is made or sent, so a receiver can drop a repeat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from layerwatch_api.severity import Severity

API_VERSION = "layerwatch.dev/notification/v1"
MAX_FINDINGS = 50  # per page
MAX_BODY = 256 * 1024  # bytes, whatever the format
KINDS = ("FindingsChanged", "ImageScanned")


@dataclass
class FindingFilter:
    """Which findings a target hears of."""

    min_severity: Severity = Severity.HIGH
    only_fixable: bool = False

    def wants(self, finding: dict) -> bool:
        if Severity.parse(finding.get("severity")).rank < self.min_severity.rank:
            return False
        return not self.only_fixable or bool(finding.get("fixedVersion"))


@dataclass
class ImageChange:
    """What changed for one image: findings added and resolved, and the advisories that did it."""

    image: str
    digest: str
    kind: str = "FindingsChanged"  # or ImageScanned (a new scan above the threshold)
    added: list[dict] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    advisories: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)


def finding_dict(finding) -> dict:  # noqa: ANN001 - a match.findings.Finding
    entry = {"id": finding.id, "severity": finding.severity, "package": finding.package,
             "packageType": finding.package_type, "version": finding.version,
             "fixedVersion": finding.fixed_version or None, "layer": finding.layer}
    if finding.aliases:
        entry["aliases"] = list(finding.aliases)[:10]
    return entry


def _key(target: str, change: ImageChange, page: int) -> str:
    ids = sorted({f["id"] for f in (*change.added, *change.resolved)} | set(change.advisories))
    raw = json.dumps([target, change.kind, change.digest, ids, page], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def pages(target: str, change: ImageChange, wanted: FindingFilter, now: dt.datetime | None = None) -> list[dict]:
    """The payloads to send `target` for `change`: none when no finding passes its filter."""
    added = [f for f in change.added if wanted.wants(f)]
    resolved = [f for f in change.resolved if wanted.wants(f)]
    if not added and not resolved:
        return []
    rows = [("added", f) for f in added] + [("resolved", f) for f in resolved]
    chunks = [rows[i:i + MAX_FINDINGS] for i in range(0, len(rows), MAX_FINDINGS)]
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    out = []
    for number, chunk in enumerate(chunks, 1):
        payload = {
            "apiVersion": API_VERSION, "kind": change.kind, "id": _key(target, change, number), "time": stamp,
            "target": target,
            "image": {"name": change.image, "digest": change.digest, "namespaces": sorted(change.namespaces)[:50]},
            "advisories": sorted(change.advisories)[:200],
            "added": [f for which, f in chunk if which == "added"],
            "resolved": [f for which, f in chunk if which == "resolved"],
            "page": {"number": number, "of": len(chunks)},
        }
        out.append(payload)
    return out


def summary_counts(findings: Iterable[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return counts
