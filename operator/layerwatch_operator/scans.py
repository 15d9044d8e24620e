"""What the operator knows of every ImageScan, kept current by the ImageScan watch: a few
fields each (name, digest, phase, counts), never the objects, so metrics, garbage collection
and re-matching need no listing of thousands of statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from layerwatch_api.severity import Severity


@dataclass(slots=True)
class ScanEntry:
    digest: str
    phase: str
    scanner: str  # the scannerVersion of its status
    unused_since: str | None
    counts: dict[tuple[str, str], int]  # (severity, fixable "true"/"false") -> findings listed
    scanned_at: str = ""


def entry_of(body: dict) -> ScanEntry:
    status = body.get("status") or {}
    counts: dict[tuple[str, str], int] = {}
    for v in status.get("vulnerabilities") or []:
        key = (Severity.parse(v.get("severity")).value, "true" if v.get("fixedVersion") else "false")
        counts[key] = counts.get(key, 0) + 1
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return ScanEntry(digest=(body.get("spec") or {}).get("digest", ""), phase=status.get("phase") or "Pending",
                     scanner=status.get("scannerVersion", ""), unused_since=annotations.get("layerwatch.dev/unused-since"),
                     counts=counts, scanned_at=status.get("scannedAt", ""))


@dataclass
class ScanIndex:
    entries: dict[str, ScanEntry] = field(default_factory=dict)

    def update(self, name: str, body: dict) -> ScanEntry:
        entry = self.entries[name] = entry_of(body)
        return entry

    def remove(self, name: str) -> None:
        self.entries.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def by_digest(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, entry in self.entries.items():
            if entry.digest:
                out.setdefault(entry.digest, []).append(name)
        return out
