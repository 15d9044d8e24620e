"""What a distribution folder provides: the Distribution its `__init__.py` names DISTRIBUTION."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import OSInfo, Package
    from ..vulndb.store import VulnDB


def source_or_name(pkg: Package) -> str:
    """The source package (how Debian, Alpine and Red Hat publish advisories), else the binary's name."""
    return pkg.source_name or pkg.name


def binary_name(pkg: Package) -> str:
    """The binary package's own name (Amazon and SUSE list binary packages in their advisories)."""
    return pkg.name


def major_release(prefix: str) -> Callable[[OSInfo], str | None]:
    """`prefix:MAJOR` from VERSION_ID ("9.4" -> "rhel:9"); None without a version."""
    def release(os: OSInfo) -> str | None:
        major = os.version_id.split(".")[0] if os.version_id else ""
        return f"{prefix}:{major}" if major else None
    return release


@dataclass(eq=False)  # one object per distribution: identity is equality (and frozen's extra methods
class Distribution:  # cost a warm rescan's import time)
    """One distribution's matching rules and advisory sources.

    `ecosystem(os)` is the key its advisories are stored under for the release an image runs
    ("debian:12", "amzn:2023", "wolfi"), None when the release cannot be told; `sources` names,
    per ecosystem family, the feed sources that publish it (the first is what `db update
    --source` needs); `feed_modules` are modules with a FEEDS list, imported only by `db update`.
    """

    name: str  # who publishes its advisories, for messages: "Amazon Linux", "Red Hat"
    package_type: str  # the model's package type its package manager installs (deb, apk, rpm)
    scheme: str  # version scheme of its packages and advisories (match.versions)
    ecosystem: Callable[[OSInfo], str | None]
    sources: dict[str, tuple[str, ...]]
    feed_modules: tuple[str, ...] = ()
    package_name: Callable[[Package], str] = source_or_name
    # os-release IDs of other distributions matched against these advisories until they have
    # their own (CentOS -> Red Hat's): reported as a note, a rebuild's versions and fixes can differ
    borrowed_by: frozenset[str] = frozenset()
    # OSV ecosystem names its OSV records use -> the ecosystem key ("Rocky Linux:9" -> "rocky:9")
    osv_ecosystem: Callable[[str], str | None] | None = None
    ecosystem_for_package: Callable[[OSInfo, Package], str | None] | None = field(default=None)
    # an image key that stands for several (a product stream, then its release), with the
    # database at hand: (keys, most specific first; whether the database could tell them)
    expand: Callable[[str, VulnDB], tuple[list[str], bool]] | None = None

    def lookup(self, os: OSInfo, pkg: Package) -> tuple[str, str, str] | None:
        """(ecosystem, package name, scheme) a package of this distribution is matched by."""
        if pkg.type != self.package_type:
            return None
        key = self.ecosystem_for_package(os, pkg) if self.ecosystem_for_package else self.ecosystem(os)
        return (key, self.package_name(pkg), self.scheme) if key else None
