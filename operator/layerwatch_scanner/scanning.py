"""The one entry point the CLI and the operator use: scan an image, or re-match what is cached."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .catalog import catalogers_version
from .inventory import build_inventory
from .match.coverage import DEFAULT_MAX_AGE, Coverage, coverage_of, needs_of
from .match.findings import Finding
from .match.remediation import LayerAdvice
from .sources import open_source
from .vulndb.store import DBMetadata, VulnDB

if TYPE_CHECKING:
    from .layers.cache import LayerCache
    from .match.matcher import Matcher
    from .model import Inventory
    from .sources.options import SourceOptions

# The matcher (and the version schemes it loads) is imported only when a match is not cached.


@dataclass
class ScanResult:
    """One image scanned: its inventory, findings, advice, the database and what it covers."""
    inventory: Inventory
    findings: list[Finding]
    remediation: list[LayerAdvice]
    database: DBMetadata
    coverage: Coverage = field(default_factory=Coverage)
    problems: list[str] = field(default_factory=list)  # versions that could not be read, per advisory
    suppressed: list[Finding] = field(default_factory=list)  # by VEX

    @property
    def warnings(self) -> list[str]:
        """Everything the user must hear about, besides the findings (stderr, report, conditions)."""
        return [*self.inventory.warnings, *(g.message for g in self.coverage.gaps), *self.coverage.notes,
                *self.problems]


def coverage_for(inventory: Inventory, db: VulnDB, max_age: dt.timedelta | None = DEFAULT_MAX_AGE,
                 meta: DBMetadata | None = None, needs: tuple[dict[str, int], int] | None = None) -> Coverage:
    meta = meta or db.metadata()
    return coverage_of(inventory, db.sources_by_ecosystem(),
                       {name: src.last_success for name, src in meta.sources.items()}, max_age, needs=needs)


def match_key(db: VulnDB) -> str:
    """What a stored match depends on besides the inventory: the database build and the scanner."""
    return f"{db.build_key}|{__version__}|{catalogers_version()}"


def match(inventory: Inventory, db: VulnDB, cache: LayerCache | None = None,
          max_age: dt.timedelta | None = DEFAULT_MAX_AGE, matcher: Matcher | None = None,
          meta: DBMetadata | None = None) -> ScanResult:
    """`matcher` (and `meta`): shared by a pass over many images, so each decision is made once."""
    key = match_key(db)
    cached = cache.cached_match(inventory.digest, key) if cache is not None else None
    needs = None
    if cached is not None:  # neither the inventory nor the database changed: no re-matching
        findings = [Finding.from_dict(f) for f in cached[0]]
        problems = list(cached[1].get("problems", []))
        remediation = [LayerAdvice.from_dict(a) for a in cached[1].get("remediation", [])]
        stored = cached[1].get("needs")
        if isinstance(stored, list) and len(stored) == 2 and isinstance(stored[0], dict):
            needs = (stored[0], int(stored[1]))
    else:
        from .match.ecosystems import package_rows
        from .match.matcher import Matcher, match_image

        matcher = matcher or Matcher(db)
        findings, extras = match_image(matcher, inventory)
        problems = extras["problems"]
        remediation = [LayerAdvice.from_dict(a) for a in extras["remediation"]]
        if cache is not None:
            needs = needs_of(inventory)
            cache.store_match(inventory.digest, [f.to_dict() for f in findings], key, {**extras, "needs": list(needs)})
            # what this image's decisions came out as, for the next re-match to compare with
            decisions = {r[:5] for r in package_rows(inventory.packages, inventory.os)}
            keys = sorted({d[:2] for d in decisions})
            digests = matcher.package_digests(keys)
            cache.note_decisions({d: matcher.outcome(d) for d in decisions}, {k: digests.get(k) for k in keys})
    meta = meta or db.metadata()
    return ScanResult(inventory, findings, remediation, meta, coverage_for(inventory, db, max_age, meta, needs),
                      problems)


def inventory_of(spec: str, options: SourceOptions | None = None, cache: LayerCache | None = None,
                 progress=None) -> Inventory:  # noqa: ANN001
    """The image's inventory alone (what `scan --server` sends to be matched)."""
    source = open_source(spec, options)
    try:
        return build_inventory(source, cache=cache, progress=progress)
    finally:
        source.close()


def scan_image(spec: str, db_path: Path | str, options: SourceOptions | None = None,
               cache: LayerCache | None = None, progress=None,  # noqa: ANN001
               max_age: dt.timedelta | None = DEFAULT_MAX_AGE) -> ScanResult:
    db = VulnDB.open(db_path)  # fail fast, before any download, when there is no database
    try:
        return match(inventory_of(spec, options, cache, progress), db, cache, max_age)
    finally:
        db.close()
