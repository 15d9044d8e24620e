"""ImageScan status from a scan result: counts, the most severe findings (capped), and a hard
size limit so the object stays far below etcd's 1.5 MiB whatever the image holds."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from layerwatch_api.severity import Severity
from layerwatch_scanner.match.remediation import summary as advice_summary

MAX_STATUS_BYTES = 256 * 1024 - 16 * 1024  # room for metadata and spec inside the 256 KiB budget


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def condition(type_: str, ok: bool, reason: str, message: str) -> dict[str, str]:
    return {"type": type_, "status": "True" if ok else "False", "reason": reason, "message": message[:1000],
            "lastTransitionTime": now()}


def summary(findings: list[Any]) -> dict[str, int]:
    counts = {s.value.lower(): 0 for s in Severity}
    for f in findings:
        counts[Severity.parse(f.severity).value.lower()] += 1
    counts["total"] = len(findings)
    counts["fixable"] = sum(1 for f in findings if f.fixed_version)
    return counts


def _entry(f: Any) -> dict[str, Any]:
    entry = {"id": f.id, "severity": f.severity, "package": f.package, "version": f.version,
             "fixedVersion": f.fixed_version, "layer": f.layer}
    if f.aliases:
        entry["aliases"] = f.aliases[:5]
    if getattr(f, "advice", ""):
        entry["advice"] = f.advice
    return entry


MAX_GAPS = 20
MAX_NOTES = 10


def phase_for(coverage: Any) -> str:
    """Scanned only when the database vouches for the whole image (None: not checked)."""
    return "Scanned" if coverage is None or coverage.complete else "Incomplete"


def coverage_status(coverage: Any) -> dict[str, Any]:
    return {"complete": coverage.complete,
            "gaps": [{"kind": g.kind, "ecosystem": g.ecosystem, "packages": g.packages, "message": g.message[:300]}
                     for g in coverage.gaps[:MAX_GAPS]],
            "notes": [n[:300] for n in coverage.notes[:MAX_NOTES]]}


def coverage_condition(coverage: Any) -> dict[str, str]:
    """AdvisoryDataMissing=True names what the database cannot vouch for; False when covered."""
    if coverage.complete:
        return condition("AdvisoryDataMissing", False, "Covered",
                         "the database covers every distribution and ecosystem found in the image")
    gaps = coverage.blocking
    return condition("AdvisoryDataMissing", True, "AdvisoryDataMissing",
                     f"{len(gaps)} uncovered: " + "; ".join(g.message for g in gaps))


def scanned_status(inventory: Any, findings: list[Any], database: Any, max_findings: int,
                   scanned_at: str | None = None, scanner_version: str = "", coverage: Any = None) -> dict[str, Any]:
    """The status of a finished scan (findings are sorted worst first). An image the database
    cannot fully vouch for is `Incomplete`, never `Scanned`: its zero findings mean nothing."""
    entries = [_entry(f) for f in findings[:max_findings]]
    conditions = [condition("Scanned", True, "ScanSucceeded",
                            f"{len(inventory.packages)} packages, {len(findings)} vulnerabilities")]
    if coverage is not None:
        conditions.append(coverage_condition(coverage))
    status: dict[str, Any] = {
        "phase": phase_for(coverage),
        "conditions": conditions,
        "os": {"id": inventory.os.id, "version": inventory.os.version_id} if inventory.os else None,
        "summary": summary(findings),
        "vulnerabilities": entries,
        "truncated": len(findings) > len(entries),
        "packages": len(inventory.packages),
        "database": {"builtAt": database.built_at,
                     "sources": {name: src.last_success for name, src in database.sources.items()}},
        "coverage": coverage_status(coverage) if coverage is not None else None,
        "advice": advice_summary(inventory, findings),
        "scannedAt": scanned_at or now(),
        "matchedAt": now(),
        "scannerVersion": scanner_version,
    }
    return cap_size(status)


def cap_size(status: dict[str, Any]) -> dict[str, Any]:
    """Drop the least severe findings until the status fits (marked truncated)."""
    while len(json.dumps(status, separators=(",", ":"))) > MAX_STATUS_BYTES and status["vulnerabilities"]:
        keep = len(status["vulnerabilities"]) // 2
        status["vulnerabilities"] = status["vulnerabilities"][:keep]
        status["truncated"] = True
    return status


FAILURE_REASONS = {
    "AuthError": "AuthFailed",
    "BlockedHostError": "RegistryBlocked",
    "UnsupportedManifestError": "UnsupportedManifest",
    "RegistryError": "RegistryUnreachable",
    "DigestMismatchError": "DigestMismatch",
    "VulnDBError": "DatabaseUnavailable",
    "LayerError": "LayerUnreadable",
    "SourceError": "ImageUnavailable",
}


def failure_reason(exc: BaseException) -> str:
    for cls in type(exc).__mro__:
        if cls.__name__ in FAILURE_REASONS:
            return FAILURE_REASONS[cls.__name__]
    return "ScanFailed"


def failed_status(exc: BaseException, attempts: int, retry_in: float) -> dict[str, Any]:
    reason = failure_reason(exc)
    message = f"{exc} (attempt {attempts}; retrying in {int(retry_in)}s)"
    return {"phase": "Failed", "conditions": [condition("Scanned", False, reason, message)]}
