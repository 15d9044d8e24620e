"""Join an inventory with the vulnerability database: no network, repeatable, fast.

One database query per (ecosystem, package) — cached by VulnDB — and version comparisons
with the ecosystem's own scheme.
"""

from __future__ import annotations

import functools

from layerwatch_api.severity import Severity

from ..model import Inventory, Package
from ..purl import purl_for
from ..vulndb.records import STATUS_FIXED, STATUS_NOT_AFFECTED, Affected
from ..vulndb.store import VulnDB
from .ecosystems import lookup_for
from .findings import Finding, sort_findings
from .versions import compare, is_valid

# When two feeds report the same id for the same package, the distribution's own word wins.
SOURCE_PRIORITY = ["debian", "ubuntu", "alpine", "redhat", "ghsa"]


def affected_fix(version: str, record: Affected, scheme: str) -> tuple[bool, str]:
    """(is the installed version affected?, the fixed version of the range that matched)."""
    if record.status == STATUS_NOT_AFFECTED:
        return False, ""
    cmp = lambda a, b: compare(scheme, a, b)  # noqa: E731
    if not record.ranges and not record.versions:
        return record.status != STATUS_FIXED, ""  # "affected"/"wont-fix": every version, no fix
    if version in record.versions:
        fixes = [r.fixed for r in record.ranges if r.fixed and cmp(version, r.fixed) < 0]
        return True, min(fixes, key=_key(scheme)) if fixes else ""
    for rng in record.ranges:
        if rng.introduced and cmp(version, rng.introduced) < 0:
            continue
        if rng.fixed:
            if cmp(version, rng.fixed) < 0:
                return True, rng.fixed
        elif rng.last_affected:
            if cmp(version, rng.last_affected) <= 0:
                return True, ""
        else:
            return True, ""
    return False, ""


def _key(scheme: str):  # noqa: ANN202 - a sort key built from a comparison
    return functools.cmp_to_key(lambda a, b: compare(scheme, a, b))


def _source_rank(source: str) -> int:
    return SOURCE_PRIORITY.index(source) if source in SOURCE_PRIORITY else len(SOURCE_PRIORITY)


def match_package(pkg: Package, inventory: Inventory, db: VulnDB, problems: list[str] | None = None) -> list[Finding]:
    """Findings for one package. Versions the scheme cannot read are never dropped silently:
    each is described in `problems` (the scan's warnings)."""
    lookup = lookup_for(pkg, inventory.os)
    if lookup is None:
        return []
    ecosystem, name, scheme = lookup
    records = sorted(db.affected(ecosystem, name), key=lambda r: _source_rank(r.source))
    installed_valid = not records or is_valid(scheme, pkg.version)
    undecided = 0
    by_id: dict[str, Finding] = {}
    settled: set[str] = set()  # ids a higher-priority source already decided
    for record in records:
        if record.vuln_id in settled:
            continue
        try:
            hit, fixed = affected_fix(pkg.version, record, scheme)
        except ValueError as exc:
            undecided += 1
            if problems is not None and installed_valid:  # the advisory's version is the unreadable one
                problems.append(f"{record.vuln_id} ({record.source}) for {pkg.type} package {pkg.name} "
                                f"{pkg.version}: not decided, {exc}")
            continue
        if record.module and record.module != pkg.metadata.get("modularitylabel", "").rsplit(":", 2)[0]:
            continue  # a fix for another module stream does not apply
        settled.add(record.vuln_id)
        if not hit:
            continue
        by_id[record.vuln_id] = Finding(
            id=record.vuln_id, severity=record.severity or "", package=pkg.name, package_type=pkg.type,
            version=pkg.version, fixed_version=fixed, layer=pkg.layer, source=record.source,
            aliases=list(record.aliases), vendor_severity=record.severity, status=record.status if not fixed
            else STATUS_FIXED, purl=purl_for(pkg, inventory.os), path=pkg.path, source_package=name,
        )
    if problems is not None and not installed_valid:  # one line per package, not per advisory
        decided = f"{undecided} of {len(records)} advisories could not be decided" if undecided \
            else f"its {len(records)} advisories were compared as {scheme} orders it anyway"
        problems.append(f"{pkg.type} package {pkg.name}: installed version {pkg.version!r} is not a valid {scheme} "
                        f"version; {decided}")
    return list(by_id.values())


def match_inventory(inventory: Inventory, db: VulnDB, problems: list[str] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for pkg in inventory.packages:
        findings.extend(match_package(pkg, inventory, db, problems))
    infos = db.infos([f.id for f in findings])
    for finding in findings:
        info = infos.get(finding.id)
        if info:
            finding.cvss_score, finding.cvss_severity = info.cvss_score, info.cvss_severity
            finding.kev, finding.epss = info.kev, info.epss
            finding.aliases = sorted(set(finding.aliases) | set(info.aliases) - {finding.id})
        # the distribution's own rating first, CVSS otherwise; both are kept on the finding
        finding.severity = (Severity.parse(finding.vendor_severity or finding.cvss_severity).value
                            if (finding.vendor_severity or finding.cvss_severity) else Severity.UNKNOWN.value)
    return sort_findings(findings)
