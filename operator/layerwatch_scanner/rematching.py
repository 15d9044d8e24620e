"""Re-match the stored images after a database update, without touching a registry.

Clair's promise: when an advisory changes, know at once which images it affects. What an
image's findings depend on is a set of *decisions* — (ecosystem, package, version, scheme,
module stream) — that many images share. The layer cache indexes which images hold which
decisions and remembers each decision's outcome; the database keeps a digest per (ecosystem,
package) of everything matching reads. A re-match compares the digests with those it last saw,
re-decides only the decisions of changed packages (every decision, once, when there is no
usable state: first run, another scanner version), and fans the changed outcomes out to the
images holding them. Images whose outcomes did not change are not even read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .match.ecosystems import Decision, package_rows
from .match.findings import Finding
from .match.matcher import Matcher
from .scanning import match_key

if TYPE_CHECKING:
    from .layers.cache import LayerCache
    from .vulndb.store import VulnDB


@dataclass(slots=True)
class _DecisionDiff:
    """How one decision's outcome changed: hits (as stored in an outcome) gained, lost, altered."""

    version: str
    added: list[list]
    removed: list[list]
    modified: list[list]

    @classmethod
    def of(cls, decision: Decision, before: str, after: str) -> _DecisionDiff:
        old = {h[0]: h for h in json.loads(before)[0]}
        new = {h[0]: h for h in json.loads(after)[0]}
        return cls(decision[2], [h for i, h in new.items() if i not in old], [h for i, h in old.items() if i not in new],
                   [h for i, h in new.items() if i in old and h != old[i]])


def _finding(hit: list, type_: str, name: str, version: str, layer: str) -> Finding:
    return Finding(id=hit[0], severity=hit[1], package=name, package_type=type_, version=version,
                   fixed_version=hit[2], layer=layer, source=hit[3], status=hit[4], kev=hit[5], aliases=hit[6])


@dataclass
class ImageDiff:
    """What one image gained, lost or saw altered. Findings are made when asked for, from the
    image's packages read then: a delta that touches every image of a cluster builds ten
    thousand of these."""

    image: str
    digest: str
    _changed: list[int] = field(default_factory=list, repr=False)  # its decisions whose findings changed
    _diffs: dict[int, _DecisionDiff] = field(default_factory=dict, repr=False)
    _cache: LayerCache | None = field(default=None, repr=False)
    _rows: list[list] | None = field(default=None, repr=False)

    def _parts(self) -> list[tuple[_DecisionDiff, str, str, str]]:
        if self._rows is None:
            self._rows = self._cache.held_rows(self.digest) if self._cache is not None else []
        return [(self._diffs[i], type_, name, layer) for i, type_, name, layer in self._rows if i in self._diffs]

    def _made(self, which: str) -> list[Finding]:
        found = [_finding(hit, type_, name, d.version, layer)
                 for d, type_, name, layer in self._parts() for hit in getattr(d, which)]
        return sorted(found, key=lambda f: (f.id, f.package_type, f.package, f.version, f.layer))

    @property
    def added(self) -> list[Finding]:
        return self._made("added")

    @property
    def removed(self) -> list[Finding]:
        return self._made("removed")

    @property
    def modified(self) -> list[Finding]:  # same id and package, another fix, severity or status
        return self._made("modified")

    @property
    def advisories(self) -> list[str]:
        """The ids that made this image's findings change."""
        ids: set[str] = set()
        for i in self._changed:
            d = self._diffs[i]
            ids.update(h[0] for h in (*d.added, *d.removed, *d.modified))
        return sorted(ids)


@dataclass
class RematchReport:
    diffs: list[ImageDiff]
    mode: str  # "delta" or "full"
    images: int = 0  # stored images
    rematched: int = 0  # images holding a decision whose outcome changed
    changed_packages: int = 0  # (ecosystem, package) pairs whose advisories changed (delta)
    decisions: int = 0  # distinct (ecosystem, package, version) decided
    seconds: float = 0.0


def index_inventories(cache: LayerCache) -> int:
    """Index the packages of inventories stored before the index existed."""
    missing = cache.unindexed()
    for digest in missing:
        inventory = cache.load_inventory(digest)
        if inventory is not None:
            cache.index(digest, package_rows(inventory.packages, inventory.os))
    return len(missing)


def rematch(cache: LayerCache, db: VulnDB, full: bool = False) -> RematchReport:
    """Bring every stored image up to `db`; the diffs name what each image gained or lost."""
    started = time.monotonic()
    index_inventories(cache)
    build = match_key(db)
    state = cache.rematch_build()
    # a state made by another scanner or catalogers version cannot be trusted: decide everything
    delta = bool(state) and not full and state.partition("|")[2] == build.partition("|")[2]
    matcher = Matcher(db)
    if delta:
        known = cache.key_state()
        now = matcher.package_digests(list(known))
        changed_keys = sorted(k for k, d in known.items() if now.get(k) != d)
        decisions = cache.decisions_of(changed_keys)
        digests = {k: now.get(k) for k in changed_keys}
    else:
        decisions = cache.decisions_of(None)
        keys = sorted({d[:2] for d in decisions.values()})
        found = matcher.package_digests(keys)
        digests = {k: found.get(k) for k in keys}
        changed_keys = []
    before = cache.outcomes(list(decisions))
    after = {i: matcher.outcome(d) for i, d in decisions.items()}
    changed = {i for i in decisions if before.get(i) != after[i]}
    # a decision never decided here before has nothing to compare with: no diff, yet the
    # images holding it are re-made when read
    diffs_of = {i: diff for i in changed if i in before
                and ((diff := _DecisionDiff.of(decisions[i], before[i], after[i])).added or diff.removed
                     or diff.modified)}
    held = cache.holders(changed)
    # an image is in the diffs when one of its changed decisions changed findings
    showing = {image: mine for image, ids in held.items() if (mine := [i for i in ids if i in diffs_of])}
    names = cache.image_names(sorted(showing))
    diffs = [ImageDiff(names[image], image, mine, diffs_of, cache) for image, mine in sorted(showing.items())]
    cache.save_rematch(build, after if not delta else {i: after[i] for i in changed}, digests, set(held),
                       full=not delta)
    return RematchReport(diffs, "delta" if delta else "full", images=cache.count_inventories(),
                         rematched=len(held), changed_packages=len(changed_keys), decisions=len(decisions),
                         seconds=time.monotonic() - started)
