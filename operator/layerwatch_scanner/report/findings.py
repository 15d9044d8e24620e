"""Vulnerability reports: table, json, sarif (2.1.0), cyclonedx-json (with vulnerabilities)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__
from ..model import describe_os
from . import cyclonedx, dump_json
from .text import table

if TYPE_CHECKING:
    from ..scanning import ScanResult

_FIX_WORDS = {"rebuild-base": "new base", "upgrade": "upgrade", "remove": "remove"}
_SARIF_LEVEL = {"Critical": "error", "High": "error", "Medium": "warning", "Low": "note", "Negligible": "note",
                "Unknown": "note"}


def render_table(result: ScanResult) -> str:
    inv = result.inventory
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items()) or "no vulnerabilities"
    if not result.coverage.complete:
        summary += " in the covered parts (coverage incomplete: see NOT COVERED below)"
    elif not inv.packages:
        summary += " (nothing was cataloged)"
    out = [f"{inv.image} ({describe_os(inv.os)}) — {len(inv.packages)} packages, {summary}\n"]
    if result.findings:
        # grouped by package, packages ordered by their worst finding (findings are sorted worst first)
        order: dict[tuple[str, str], int] = {}
        for i, f in enumerate(result.findings):
            order.setdefault((f.package, f.version), i)
        rows = ((f.package, f.version, f.fixed_version or "—", f.id + (" (KEV)" if f.kev else ""), f.severity,
                 f.layer.split(":")[-1][:12], _FIX_WORDS.get(f.advice, ""))
                for f in sorted(result.findings, key=lambda f: (order[(f.package, f.version)], -f.rank, f.id)))
        out.append(table(("PACKAGE", "INSTALLED", "FIXED IN", "VULNERABILITY", "SEVERITY", "LAYER", "FIX"), rows))
    base = result.inventory.base
    for advice in result.remediation:
        where = f"layer {advice.layer.split(':')[-1][:12]}"
        if advice.action == "rebuild-base" and base.get("name"):
            where += f" (base {base['name']})"
        if advice.action == "remove":
            out.append(f"{where}: {advice.advice}: " + ", ".join(sorted({u.package for u in advice.upgrades})) + "\n")
            continue
        fixable = [u for u in advice.upgrades if u.fixed_version]
        if fixable:
            out.append(f"{where}: {advice.advice}: "
                       + ", ".join(f"{u.package} {u.version} -> {u.fixed_version}" for u in fixable) + "\n")
    if result.suppressed:
        out.append(f"{len(result.suppressed)} findings suppressed by VEX (not_affected)\n")
    # Uncovered parts belong in the report (they qualify every line above); other warnings go
    # to stderr only, so a report on stdout stays clean to parse.
    for gap in result.coverage.gaps:
        out.append(f"NOT COVERED ({gap.kind}): {gap.message}\n")
    return "".join(out)


def render_json(result: ScanResult) -> str:
    doc = {
        "image": result.inventory.image, "digest": result.inventory.digest, "platform": result.inventory.platform,
        "os": result.inventory.os.to_dict() if result.inventory.os else None,
        "packages": len(result.inventory.packages),
        "findings": [f.to_dict() for f in result.findings],
        "suppressed": [f.to_dict() for f in result.suppressed],
        "remediation": [{"layer": a.layer, "action": a.action, "advice": a.advice,
                         "upgrades": [u.__dict__ for u in a.upgrades]} for a in result.remediation],
        "base": result.inventory.base or None,
        "database": {"built_at": result.database.built_at,
                     "sources": {n: s.last_success for n, s in result.database.sources.items()}},
        "coverage": result.coverage.to_dict(),
        "warnings": result.warnings,
        "tool": {"name": "layerwatch", "version": __version__},
    }
    return dump_json(doc)


def render_sarif(result: ScanResult) -> str:
    rules, results, seen = [], [], set()
    for f in result.findings:
        if f.id not in seen:
            seen.add(f.id)
            rules.append({"id": f.id, "shortDescription": {"text": f"{f.id} ({f.severity})"},
                          "properties": {"security-severity": str(f.cvss_score or _score(f.severity)),
                                         "tags": ["security", "vulnerability"]}})
        fix = f"fixed in {f.fixed_version}" if f.fixed_version else "no fix available"
        results.append({
            "ruleId": f.id, "level": _SARIF_LEVEL.get(f.severity, "note"),
            "message": {"text": f"{f.id} {f.severity} in {f.package} {f.version} ({fix}), layer {f.layer}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.path.lstrip("/") or "image"}},
                           "logicalLocations": [{"name": f.purl or f.package, "kind": "package"}]}],
        })
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "layerwatch", "version": __version__,
                                         "informationUri": "https://github.com/layerwatch/layerwatch", "rules": rules}},
                     "results": results, "properties": {"coverage": result.coverage.to_dict()}}]}
    return dump_json(doc)


def _score(severity: str) -> float:
    return {"Critical": 9.5, "High": 8.0, "Medium": 5.5, "Low": 2.0}.get(severity, 0.0)


def render_cyclonedx(result: ScanResult) -> str:
    return cyclonedx.render(result.inventory, result.findings)


RENDERERS = {"table": render_table, "json": render_json, "sarif": render_sarif, "cyclonedx-json": render_cyclonedx}
