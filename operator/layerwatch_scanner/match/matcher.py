"""Join an inventory with the vulnerability database: no network, repeatable, fast.

One database query per (ecosystem, package) — cached by VulnDB — and version comparisons
with the ecosystem's own scheme.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from layerwatch_api.severity import Severity

from .. import distros
from ..model import Inventory, Package
from ..purl import purl_for
from ..vulndb.records import STATUS_FIXED, STATUS_NOT_AFFECTED, Affected
from ..vulndb.store import VulnDB
from .ecosystems import Decision, family, lookup_for, module_of
from .findings import Finding, sort_findings
from .remediation import remediate
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


@dataclass(slots=True)
class _Decision:
    """What the advisories of one (ecosystem, package) say about one installed version: the
    same for every image that holds it, so a re-match of many images decides it once."""

    hits: list[tuple[Affected, str]]  # (record, fixed version)
    undecided: list[tuple[Affected, str]]  # (record, why)
    records: int
    installed_valid: bool


class Matcher:
    """Matches packages against one database, remembering each decision and each id's
    enrichment for as long as it lives (one scan, or one re-match of every cached image)."""

    def __init__(self, db: VulnDB):
        self.db = db
        self._decisions: dict[tuple[str, str, str, str, str], _Decision] = {}
        self._infos: dict[str, object] = {}
        self._outcomes: dict[Decision, str] = {}
        self._keys: dict[str, list[str]] = {}
        self.untold: set[str] = set()  # image keys the database could not expand (no mapping)

    def _decide(self, ecosystem: str, name: str, scheme: str, version: str, module: str) -> _Decision:
        memo = (ecosystem, name, version, scheme, module)
        decision = self._decisions.get(memo)
        if decision is not None:
            return decision
        records = sorted(self._records(ecosystem, name), key=lambda r: _source_rank(r.source))
        decision = _Decision([], [], len(records), not records or is_valid(scheme, version))
        settled: set[str] = set()  # ids a higher-priority source already decided
        for record in records:
            if record.vuln_id in settled:
                continue
            try:
                hit, fixed = affected_fix(version, record, scheme)
            except ValueError as exc:
                decision.undecided.append((record, str(exc)))
                continue
            if record.module and record.module != module:
                continue  # a fix for another module stream does not apply
            settled.add(record.vuln_id)
            if hit:
                decision.hits.append((record, fixed))
        self._decisions[memo] = decision
        return decision

    def _records(self, ecosystem: str, name: str) -> list[Affected]:
        keys = self.keys(ecosystem)
        if len(keys) == 1:
            return self.db.affected(keys[0], name)
        # a product stream's word on an id (and module stream) overrides its release's
        records, said = [], set()
        for key in keys:
            found = self.db.affected(key, name)
            records += [r for r in found if (r.vuln_id, r.module) not in said]
            said.update((r.vuln_id, r.module) for r in found)
        return records

    def keys(self, ecosystem: str) -> list[str]:
        """The stored ecosystems an image's key stands for, most specific first (streams.py)."""
        keys = self._keys.get(ecosystem)
        if keys is None:
            distribution = distros.for_family(family(ecosystem)) if "@" in ecosystem else None
            if distribution is not None and distribution.expand is not None:
                keys, told = distribution.expand(ecosystem, self.db)
                if not told:
                    self.untold.add(ecosystem)
            else:
                keys = [ecosystem]
            self._keys[ecosystem] = keys
        return keys

    def package_digests(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """VulnDB.package_digests for image keys: one that stands for several digests them all."""
        stored = {k: self.keys(k[0]) for k in keys}
        found = self.db.package_digests(sorted({(e, p) for (_, p), es in stored.items() for e in es}))
        digests = {}
        for key, ecosystems in stored.items():
            parts = [found.get((e, key[1])) for e in ecosystems]
            if any(parts):  # the expansion is part of it: a new mapping that changes it re-decides
                digests[key] = parts[0] if len(parts) == 1 else \
                    "+".join(f"{e}={d or '-'}" for e, d in zip(ecosystems, parts, strict=True))
        return digests

    def package(self, pkg: Package, inventory: Inventory, problems: list[str] | None = None) -> list[Finding]:
        """Findings for one package (not yet enriched). Versions the scheme cannot read are never
        dropped silently: each is described in `problems` (the scan's warnings)."""
        lookup = lookup_for(pkg, inventory.os)
        if lookup is None:
            return []
        ecosystem, name, scheme = lookup
        decision = self._decide(ecosystem, name, scheme, pkg.version, module_of(pkg))
        if problems is not None:
            if decision.installed_valid:  # the advisory's version is the unreadable one
                problems.extend(f"{record.vuln_id} ({record.source}) for {pkg.type} package {pkg.name} "
                                f"{pkg.version}: not decided, {why}" for record, why in decision.undecided)
            else:  # one line per package, not per advisory
                undecided = len(decision.undecided)
                decided = f"{undecided} of {decision.records} advisories could not be decided" if undecided \
                    else f"its {decision.records} advisories were compared as {scheme} orders it anyway"
                problems.append(f"{pkg.type} package {pkg.name}: installed version {pkg.version!r} is not a valid "
                                f"{scheme} version; {decided}")
        purl = purl_for(pkg, inventory.os) if decision.hits else ""
        return [Finding(id=record.vuln_id, severity=record.severity or "", package=pkg.name, package_type=pkg.type,
                        version=pkg.version, fixed_version=fixed, layer=pkg.layer, source=record.source,
                        aliases=list(record.aliases), vendor_severity=record.severity,
                        status=record.status if not fixed else STATUS_FIXED, purl=purl, path=pkg.path,
                        source_package=name)
                for record, fixed in decision.hits]

    def outcome(self, decision: Decision) -> str:
        """What the advisories say about one decision, as the images holding it would show it
        (ids, severity, fix, status, KEV, aliases; and what could not be decided), as JSON:
        two outcomes are equal exactly when the findings they make are."""
        known = self._outcomes.get(decision)
        if known is not None:
            return known
        ecosystem, name, version, scheme, module = decision
        d = self._decide(ecosystem, name, scheme, version, module)
        self._load_infos([r.vuln_id for r, _ in d.hits])
        hits = []
        for record, fixed in d.hits:
            info = self._infos.get(record.vuln_id)
            cvss = info.cvss_severity if info else ""
            severity = Severity.parse(record.severity or cvss).value if (record.severity or cvss) \
                else Severity.UNKNOWN.value
            aliases = sorted(set(record.aliases) | set(info.aliases if info else ()) - {record.vuln_id})
            hits.append([record.vuln_id, severity, fixed, record.source, STATUS_FIXED if fixed else record.status,
                         bool(info and info.kev), aliases])
        undecided = sorted([r.vuln_id, r.source, why] for r, why in d.undecided)
        outcome = self._outcomes[decision] = json.dumps([sorted(hits), undecided, d.installed_valid],
                                                         separators=(",", ":"))
        return outcome

    def _load_infos(self, ids: list[str]) -> None:
        missing = [i for i in ids if i not in self._infos]
        if missing:
            found = self.db.infos(missing)
            for vuln_id in missing:
                self._infos[vuln_id] = found.get(vuln_id)

    def enrich(self, findings: list[Finding]) -> list[Finding]:
        """CVSS, KEV, EPSS and aliases of each id; the severity shown; worst first."""
        self._load_infos([f.id for f in findings])
        for finding in findings:
            info = self._infos.get(finding.id)
            if info:
                finding.cvss_score, finding.cvss_severity = info.cvss_score, info.cvss_severity
                finding.kev, finding.epss = info.kev, info.epss
                finding.aliases = sorted(set(finding.aliases) | set(info.aliases) - {finding.id})
            # the distribution's own rating first, CVSS otherwise; both are kept on the finding
            finding.severity = (Severity.parse(finding.vendor_severity or finding.cvss_severity).value
                                if (finding.vendor_severity or finding.cvss_severity) else Severity.UNKNOWN.value)
        return sort_findings(findings)

    def inventory(self, inventory: Inventory, problems: list[str] | None = None) -> list[Finding]:
        findings: list[Finding] = []
        for pkg in inventory.packages:
            findings.extend(self.package(pkg, inventory, problems))
        os = inventory.os
        if problems is not None and os is not None and os.content_sets:
            key = next((lookup[0] for pkg in inventory.packages if (lookup := lookup_for(pkg, os))), "")
            if key in self.untold:
                problems.append(f"{os.id} {os.version_id}: none of the image's content sets "
                                f"({', '.join(os.content_sets)}) is in the database's repository-to-cpe mapping "
                                f"(source redhat-repositories): matched against {key.partition('@')[0]} as a "
                                "whole, whose fixes may be newer than its update stream's")
        return self.enrich(findings)


def match_image(matcher: Matcher, inventory: Inventory) -> tuple[list[Finding], dict]:
    """(findings, extras to store: problems and remediation) of one image."""
    problems: list[str] = []
    findings = matcher.inventory(inventory, problems)
    return findings, {"problems": problems, "remediation": [a.to_dict() for a in remediate(inventory, findings)]}


def match_package(pkg: Package, inventory: Inventory, db: VulnDB, problems: list[str] | None = None) -> list[Finding]:
    return Matcher(db).package(pkg, inventory, problems)


def match_inventory(inventory: Inventory, db: VulnDB, problems: list[str] | None = None) -> list[Finding]:
    return Matcher(db).inventory(inventory, problems)
