"""Catalogers, one module per package format. Each module exposes `CATALOGER` (see
interfaces.Cataloger); add a module and list it here to support a new format.

Third-party catalogers come from the entry-point group `layerwatch.catalogers`: each entry point
is a Cataloger object (name, version, wants(), catalog()); its name and its distribution's
version are part of the layer-cache key, so installing, upgrading or removing one rescans the
layers it may change (docs/plugins.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..plugins import entry_points

if TYPE_CHECKING:
    from ..interfaces import Cataloger

# module (= cataloger name) -> version. Bump a version when that module's output changes: it is
# part of the layer-cache key. Listed here, and read by each module, so a warm rescan can check
# its cached inventory without importing a single cataloger.
CATALOGER_VERSIONS: dict[str, int] = {
    # OS package databases
    "dpkg": 2,  # 2: Depends/Pre-Depends and Provides kept (remediation's "remove" advice)
    "apk": 2,  # 2: D: and p: kept
    "rpm": 1,
    # language ecosystems
    "python": 1,
    "npm": 1,
    "golang": 2,  # 2: stdlib as the Go vulnerability database writes it (go1.21rc1 -> v1.21.0-rc.1)
    "rust": 1,
    "java": 1,
    "ruby": 1,
    "dotnet": 1,
    "php": 1,
    # software found by version strings in its files (last: it is the slowest look at a file)
    "binaries": 1,
}
CATALOGER_MODULES: list[str] = list(CATALOGER_VERSIONS)
# The files the layer walker keeps as text for OS detection (osrelease.os_file_limit), in the
# same key: 2 added Red Hat content manifests.
OS_FILES_VERSION = 2


PLUGIN_GROUP = "layerwatch.catalogers"


def plugin_catalogers() -> list[Cataloger]:
    found = []
    for ep in entry_points(PLUGIN_GROUP):
        cataloger = ep.load()
        if not all(hasattr(cataloger, a) for a in ("name", "version", "wants", "catalog")):
            raise TypeError(f"entry point {ep.name} = {ep.value} ({PLUGIN_GROUP}) is not a Cataloger")
        found.append(cataloger)
    return found


def all_catalogers() -> list[Cataloger]:
    return [*(importlib.import_module(f"{__name__}.{m}").CATALOGER for m in CATALOGER_MODULES), *plugin_catalogers()]


def catalogers_version(catalogers: list[Cataloger] | None = None) -> str:
    """Part of the layer-cache key: changes whenever any cataloger's output may change (a
    plug-in's by its distribution's version: known without importing it)."""
    if catalogers is None:
        builtin = [f"{name}={version}" for name, version in CATALOGER_VERSIONS.items()]
        plugins = [f"{ep.name}@{ep.dist}={ep.dist_version}" for ep in entry_points(PLUGIN_GROUP)]
        return ",".join(sorted(builtin + plugins)) + f";os-files={OS_FILES_VERSION}"
    return ",".join(f"{c.name}={c.version}" for c in sorted(catalogers, key=lambda c: c.name)) + \
        f";os-files={OS_FILES_VERSION}"
