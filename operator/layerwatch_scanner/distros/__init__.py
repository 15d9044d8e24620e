"""Linux distributions, one folder each: which images it answers for, how their packages are
looked up (ecosystem key, source-package rule, version scheme) and the feeds of its advisories.

Registered here, in BUILTIN: each folder with the os-release IDs and the ecosystem families it
answers for. A folder's module is imported only when an image runs that distribution or a
feed or record of it is handled, so a warm rescan imports one. Third-party packages add one
through the entry-point group `layerwatch.distributions`: the entry point is named by the
os-release ID, its value a `Distribution` (distros/base.py), e.g.

    [project.entry-points."layerwatch.distributions"]
    photon = "layerwatch_photon:DISTRIBUTION"

A plug-in is consulted for IDs no built-in distribution claims; its families are the keys of
its `sources`. docs/plugins.md describes the interface.
"""

from __future__ import annotations

import functools
import importlib

from ..plugins import entry_points
from .base import Distribution

PLUGIN_GROUP = "layerwatch.distributions"

# folder: (os-release IDs it claims, ecosystem families its advisories are stored under)
BUILTIN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "debian": (("debian", "raspbian"), ("debian",)),
    "ubuntu": (("ubuntu",), ("ubuntu", "ubuntu-pro")),
    "alpine": (("alpine",), ("alpine",)),
    "redhat": (("rhel", "centos"), ("rhel", "rhel-eus", "rhel-e4s", "rhel-aus", "rhel-tus")),
    "oracle": (("ol",), ("ol",)),
    "rocky": (("rocky",), ("rocky",)),
    "almalinux": (("almalinux",), ("almalinux",)),
    "amazon": (("amzn",), ("amzn",)),
    "azurelinux": (("azurelinux", "mariner"), ("azurelinux", "mariner")),
    "suse": (("sles", "sled", "opensuse-leap", "sl-micro", "sle-micro"), ("sles", "opensuse-leap", "sl-micro")),
    "wolfi": (("wolfi",), ("wolfi",)),
    "chainguard": (("chainguard",), ("chainguard",)),
}

_BY_ID = {os_id: folder for folder, (ids, _) in BUILTIN.items() for os_id in ids}
_BY_FAMILY = {fam: folder for folder, (_, families) in BUILTIN.items() for fam in families}


@functools.cache
def _load(folder: str) -> Distribution:
    return importlib.import_module(f"{__name__}.{folder}").DISTRIBUTION


@functools.cache
def _plugins() -> dict[str, Distribution]:
    found: dict[str, Distribution] = {}
    for ep in entry_points(PLUGIN_GROUP):
        if ep.name in _BY_ID or ep.name in found:
            continue  # a built-in (or the first plug-in) keeps its ID
        distribution = ep.load()
        if not isinstance(distribution, Distribution):
            raise TypeError(f"entry point {ep.name} = {ep.value} ({PLUGIN_GROUP}) is not a Distribution")
        found[ep.name] = distribution
    return found


def for_os(os_id: str) -> Distribution | None:
    """The distribution an os-release ID belongs to; None when none is known."""
    folder = _BY_ID.get(os_id)
    if folder is not None:
        return _load(folder)
    return _plugins().get(os_id) if os_id else None


def for_family(family: str) -> Distribution | None:
    """The distribution whose advisories are stored under an ecosystem family ("rhel")."""
    folder = _BY_FAMILY.get(family)
    if folder is not None:
        return _load(folder)
    return next((d for d in _plugins().values() if family in d.sources), None)


def all_distributions() -> list[Distribution]:
    """Every distribution, built-in then plug-ins (imports them all: for feeds and listings)."""
    return [*(_load(folder) for folder in BUILTIN), *_plugins().values()]
