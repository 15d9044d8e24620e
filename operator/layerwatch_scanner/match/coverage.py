"""What the database can vouch for in one image: never call an image clean without data.

For each ecosystem the image needs (its distribution release for OS packages, each language
ecosystem found), the database must hold records of a source that covers it, refreshed
recently. Anything else is a gap: a missing or failed source, a release no feed publishes,
a distribution no feed covers, data older than the allowed age. Gaps are blocking unless the
user accepts them (`--allow-missing-data`); notes (a relative's data, nothing cataloged,
versions a scheme cannot read) never block but are always reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import distros
from ..model import OS_PACKAGE_TYPES, Inventory, describe_os
from .ecosystems import family, lookup_for

WARN_AGE = dt.timedelta(hours=24)
DEFAULT_MAX_AGE = dt.timedelta(days=7)

# Language ecosystem -> the sources that publish it, first the one `db update --source` needs
# (a distribution names its own: distros/).
LANGUAGE_SOURCES = {
    "PyPI": ("osv-pypi", "ghsa"), "npm": ("osv-npm", "ghsa"), "Go": ("osv-go", "ghsa"),
    "Maven": ("osv-maven", "ghsa"), "RubyGems": ("osv-rubygems", "ghsa"), "crates.io": ("osv-crates", "ghsa"),
    "NuGet": ("osv-nuget", "ghsa"), "Packagist": ("osv-packagist", "ghsa"),
    "generic": ("nvd",),  # software found in binaries: NVD's CPE ranges (feeds/nvd.py)
}
# Software told by version strings in its files, not by a package database: what the data
# cannot vouch for there is reported, and blocks nothing the user did not ask it to.
BEST_EFFORT = frozenset({"generic"})


def family_sources(fam: str) -> tuple[str, ...]:
    """The sources that publish an ecosystem family, first the one `db update --source` needs."""
    if fam in LANGUAGE_SOURCES:
        return LANGUAGE_SOURCES[fam]
    distribution = distros.for_family(fam)
    return distribution.sources.get(fam, ()) if distribution else ()


def sources_needed(inventory: Inventory) -> set[str]:
    """The sources `db update` must fetch to cover this image (one per ecosystem family)."""
    families = {family(lookup[0]) for pkg in inventory.packages if (lookup := lookup_for(pkg, inventory.os))}
    return {sources[0] for f in families if (sources := family_sources(f))}


@dataclass
class Gap:
    """Something the advisory data does not cover for an image: no "clean" may be claimed there."""
    kind: str  # missing-source | missing-release | unsupported-distribution | unknown-distribution | stale
    ecosystem: str  # "debian:12", "PyPI", or the distribution ("amzn 2023")
    packages: int
    message: str
    blocking: bool = True


@dataclass
class Coverage:
    """Per ecosystem, which sources covered an image's packages, and the gaps where none did."""
    covered: dict[str, dict[str, Any]] = field(default_factory=dict)  # ecosystem -> packages, sources
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not any(g.blocking for g in self.gaps)

    @property
    def blocking(self) -> list[Gap]:
        return [g for g in self.gaps if g.blocking]

    def to_dict(self) -> dict[str, Any]:
        return {"complete": self.complete, "covered": self.covered, "gaps": [asdict(g) for g in self.gaps],
                "notes": self.notes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coverage:
        return cls(covered=data.get("covered", {}), gaps=[Gap(**g) for g in data.get("gaps", [])],
                   notes=list(data.get("notes", [])))


def parse_time(value: str) -> dt.datetime | None:
    """A feed's ISO timestamp ("Z" or an offset; naive means UTC); None when unreadable."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} hours"


def needs_of(inventory: Inventory) -> tuple[dict[str, int], int]:
    """The ecosystems an image's packages are looked up in (with package counts), and how many
    OS packages no distribution rule covers: what coverage checks the database against. Kept
    with a stored match, so a warm rescan does not look every package up again."""
    needed: dict[str, int] = {}
    uncovered_os = 0
    for pkg in inventory.packages:
        lookup = lookup_for(pkg, inventory.os)
        if lookup is None:
            if pkg.type in OS_PACKAGE_TYPES:
                uncovered_os += 1
            continue
        # a release's update stream is covered by the release's data (distros/redhat/streams.py)
        ecosystem = lookup[0].partition("@")[0]
        needed[ecosystem] = needed.get(ecosystem, 0) + 1
    return needed, uncovered_os


def coverage_of(inventory: Inventory, sources_by_ecosystem: dict[str, dict[str, int]],
                last_success: dict[str, str], max_age: dt.timedelta | None = DEFAULT_MAX_AGE,
                now: dt.datetime | None = None, needs: tuple[dict[str, int], int] | None = None) -> Coverage:
    """`sources_by_ecosystem`: ecosystem -> {source: records} held by the database;
    `last_success`: source -> ISO time of its last successful update; `needs`: needs_of(inventory)
    when already known."""
    now = now or dt.datetime.now(dt.UTC)
    cov = Coverage()
    needed, uncovered_os = needs if needs is not None else needs_of(inventory)
    if not inventory.packages:
        cov.notes.append("nothing was cataloged: no package database or known package files in the image, "
                         "so there is nothing to match (the report is not a clean bill)")
    if uncovered_os:
        what = describe_os(inventory.os)
        if inventory.os is None:
            cov.gaps.append(Gap("unknown-distribution", "unknown", uncovered_os,
                                f"{uncovered_os} OS packages but no os-release: the distribution is unknown, "
                                "so no advisory feed can be chosen"))
        else:
            cov.gaps.append(Gap("unsupported-distribution", what, uncovered_os,
                                f"{what}: no advisory feed of layerwatch covers this distribution "
                                f"({uncovered_os} OS packages unchecked)"))
    os_distribution = distros.for_os(inventory.os.id) if inventory.os else None
    borrowed = os_distribution is not None and inventory.os.id in os_distribution.borrowed_by  # type: ignore[union-attr]
    for ecosystem, count in sorted(needed.items()):
        fam = family(ecosystem)
        candidates = family_sources(fam)
        held = sources_by_ecosystem.get(ecosystem, {})
        present = [s for s in candidates if s in last_success]
        if not held:
            if not present:
                wanted = candidates[0] if candidates else "?"
                cov.gaps.append(Gap("missing-source", ecosystem, count,
                                    f"{ecosystem}: the database has no {wanted} data for {count} packages: "
                                    f"run `layerwatch db update --source {wanted}`"))
            else:
                cov.gaps.append(Gap("missing-release", ecosystem, count,
                                    f"{ecosystem}: the {', '.join(present)} feed publishes no advisories for this "
                                    f"release ({count} packages unchecked); it may be end-of-life or too new"))
            continue
        sources = sorted(held)
        cov.covered[ecosystem] = {"packages": count, "sources": sources,
                                  "lastSuccess": {s: last_success.get(s, "") for s in sources}}
        newest = max((t for t in (parse_time(last_success.get(s, "")) for s in sources) if t), default=None)
        age = (now - newest).total_seconds() if newest else None
        if age is None:
            cov.gaps.append(Gap("stale", ecosystem, count, f"{ecosystem}: no record of when "
                                f"{', '.join(sources)} was last updated: run `layerwatch db update`"))
        elif max_age is not None and age > max_age.total_seconds():
            cov.gaps.append(Gap("stale", ecosystem, count,
                                f"{ecosystem}: {', '.join(sources)} data is {_age(age)} old (allowed "
                                f"{_age(max_age.total_seconds())}, --max-db-age): run `layerwatch db update`"))
        elif age > WARN_AGE.total_seconds():
            cov.notes.append(f"{ecosystem}: {', '.join(sources)} data is {_age(age)} old; "
                             "run `layerwatch db update` soon")
        if borrowed and fam in os_distribution.sources:  # type: ignore[union-attr]
            cov.notes.append(f"{describe_os(inventory.os)} is matched against {os_distribution.name}'s "  # type: ignore[union-attr]
                             "advisories (a relative's data: its own package versions and fixes may differ)")
    for gap in cov.gaps:
        if gap.ecosystem in BEST_EFFORT:
            gap.blocking = False
    return cov
