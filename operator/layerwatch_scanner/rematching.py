"""Re-match the stored images after a database update, without touching a registry.

Clair's promise: when an advisory changes, know at once which images it affects. The database
keeps a digest per (ecosystem, package) of what matching reads; the layer cache keeps which
images hold which packages, and the digests its matches were made with (`key_state`). A
re-match compares the two and re-decides only the changed packages of the images holding
them; every other stored match just moves to the new build. Without a usable state (first
run, another scanner version) every image is matched, each distinct (ecosystem, package,
version) decided once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .match.findings import Finding, sort_findings
from .match.matcher import KEY_SEP, Matcher, PackageKey, extras_of, match_image, package_key
from .scanning import match_key

if TYPE_CHECKING:
    from .layers.cache import LayerCache
    from .model import Inventory
    from .vulndb.store import VulnDB

@dataclass
class ImageDiff:
    image: str
    digest: str
    added: list[Finding]
    removed: list[Finding]
    modified: list[Finding] = field(default_factory=list)  # same id and package, other fix or severity

    @property
    def advisories(self) -> list[str]:
        """The ids that made this image's findings change."""
        return sorted({f.id for f in (*self.added, *self.removed, *self.modified)})


@dataclass
class RematchReport:
    diffs: list[ImageDiff]
    mode: str  # "delta" or "full"
    images: int = 0  # stored images
    rematched: int = 0  # images whose packages were re-decided
    changed_packages: int = 0  # (ecosystem, package) pairs whose advisories changed (delta)
    seconds: float = 0.0


def _partial_match(matcher: Matcher, inventory: Inventory, previous: list[Finding], extras: dict,
                   changed: set[PackageKey]) -> tuple[list[Finding], dict]:
    dirty = [pkg for pkg in inventory.packages if package_key(pkg, inventory) in changed]
    dirty_ids = {(p.type, p.name, p.version, p.path) for p in dirty}
    kept = [f for f in previous if (f.package_type, f.package, f.version, f.path) not in dirty_ids]
    changed_names = {KEY_SEP.join(k) for k in changed}
    old_keys = extras.get("problem_keys") or []
    problems = [p for p, k in zip(extras.get("problems", []), old_keys, strict=False) if k not in changed_names]
    problem_keys = [k for k in old_keys if k not in changed_names]
    fresh: list[Finding] = []
    for pkg in dirty:
        found: list[str] = []
        fresh.extend(matcher.package(pkg, inventory, found))
        problems += found
        problem_keys += [KEY_SEP.join(package_key(pkg, inventory))] * len(found)  # type: ignore[arg-type]
    findings = sort_findings(kept + matcher.enrich(fresh))
    return findings, extras_of(inventory, findings, problems, problem_keys)


def _diff(inventory: Inventory, before: list[Finding], after: list[Finding]) -> ImageDiff | None:
    old = {f.key: f for f in before}
    new = {f.key: f for f in after}
    added = [f for k, f in new.items() if k not in old]
    removed = [f for k, f in old.items() if k not in new]
    modified = [f for k, f in new.items() if k in old and f.to_dict() != old[k].to_dict()]
    if added or removed or modified:
        return ImageDiff(inventory.image, inventory.digest, added, removed, modified)
    return None


def rematch(cache: LayerCache, db: VulnDB, full: bool = False) -> RematchReport:
    """Bring every stored match up to `db`; the diffs name what each image gained or lost."""
    started = time.monotonic()
    build = match_key(db)
    matcher = Matcher(db)
    state = cache.rematch_build()
    builds = cache.builds()
    # a state made by another scanner or catalogers version cannot be trusted: match everything
    delta = bool(state) and not full and state.partition("|")[2] == build.partition("|")[2]
    changed: set[PackageKey] = set()
    partial: set[str] = set()
    if delta:
        known = cache.key_state()
        now = db.package_digests(list(known))
        changed = {k for k, d in known.items() if now.get(k) != d}
        holding = cache.images_holding(sorted(changed)) if changed else set()
        partial = {d for d in holding if builds.get(d) == state}
        whole = [d for d, b in builds.items() if b not in (state, build)]
        current = [d for d, b in builds.items() if b == build and b != state]  # matched since: keep
    else:
        whole, current = list(builds), []
    report = RematchReport([], "delta" if delta else "full", images=len(builds), changed_packages=len(changed))
    new_keys: set[PackageKey] = set()
    for digest in sorted(partial) + whole:
        inventory = cache.load_inventory(digest)
        if inventory is None:
            continue
        stored = cache.cached_match(digest, builds.get(digest, "")) if builds.get(digest) else None
        previous = [Finding.from_dict(f) for f in (stored[0] if stored else cache.load_match(digest) or [])]
        keys = None
        if digest in partial and stored is not None:
            findings, extras = _partial_match(matcher, inventory, previous, stored[1], changed)
        else:
            findings, extras, keys = match_image(matcher, inventory)
            new_keys.update(keys)
        cache.store_match(digest, [f.to_dict() for f in findings], build, extras, keys=keys)
        report.rematched += 1
        diff = _diff(inventory, previous, findings)
        if diff:
            report.diffs.append(diff)
    if delta:
        new_keys |= cache.keys_of(current)
        wanted = sorted(changed | new_keys)
        cache.save_rematch_state(build, {k: d for k, d in zip(wanted, _digests(db, wanted), strict=True)},
                                 replace=False)
    else:
        wanted = cache.all_keys()
        cache.save_rematch_state(build, dict(zip(wanted, _digests(db, wanted), strict=True)), replace=True)
    report.seconds = time.monotonic() - started
    return report


def _digests(db: VulnDB, keys: list[PackageKey]) -> list[str | None]:
    found = db.package_digests(keys)
    return [found.get(k) for k in keys]
