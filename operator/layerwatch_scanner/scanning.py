"""The one entry point the CLI and the operator use: scan an image, or re-match what is cached."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .inventory import build_inventory
from .layers.cache import LayerCache
from .match.findings import Finding
from .match.matcher import match_inventory
from .match.remediation import LayerAdvice, remediate
from .model import Inventory
from .sources import open_source
from .sources.options import SourceOptions
from .vulndb.store import DBMetadata, VulnDB


@dataclass
class ScanResult:
    inventory: Inventory
    findings: list[Finding]
    remediation: list[LayerAdvice]
    database: DBMetadata
    suppressed: list[Finding] = field(default_factory=list)  # by VEX


def match(inventory: Inventory, db: VulnDB, cache: LayerCache | None = None) -> ScanResult:
    findings = match_inventory(inventory, db)
    if cache is not None:
        cache.store_match(inventory.digest, [f.to_dict() for f in findings])
    return ScanResult(inventory, findings, remediate(inventory, findings), db.metadata())


def scan_image(spec: str, db_path: Path | str, options: SourceOptions | None = None,
               cache: LayerCache | None = None, progress=None) -> ScanResult:  # noqa: ANN001
    db = VulnDB.open(db_path)  # fail fast, before any download, when there is no database
    try:
        source = open_source(spec, options)
        try:
            inventory = build_inventory(source, cache=cache, progress=progress)
        finally:
            source.close()
        return match(inventory, db, cache)
    finally:
        db.close()


@dataclass
class ImageDiff:
    image: str
    digest: str
    added: list[Finding]
    removed: list[Finding]


def rematch(cache: LayerCache, db: VulnDB) -> list[ImageDiff]:
    """Re-match every stored inventory against `db` — no registry traffic — and diff each
    against its previous match (which is then replaced)."""
    diffs = []
    for inventory in cache.iter_inventories():
        previous = [Finding.from_dict(f) for f in cache.load_match(inventory.digest) or []]
        before = {f.key: f for f in previous}
        findings = match_inventory(inventory, db)
        after = {f.key: f for f in findings}
        added = [f for k, f in after.items() if k not in before]
        removed = [f for k, f in before.items() if k not in after]
        cache.store_match(inventory.digest, [f.to_dict() for f in findings])
        if added or removed:
            diffs.append(ImageDiff(inventory.image, inventory.digest, added, removed))
    return diffs
