"""Catalogers, one module per package format. Each module exposes `CATALOGER` (see
interfaces.Cataloger); add a module and list it here to support a new format."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..interfaces import Cataloger

# module (= cataloger name) -> version. Bump a version when that module's output changes: it is
# part of the layer-cache key. Listed here, and read by each module, so a warm rescan can check
# its cached inventory without importing a single cataloger.
CATALOGER_VERSIONS: dict[str, int] = {
    # OS package databases
    "dpkg": 1,
    "apk": 1,
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
}
CATALOGER_MODULES: list[str] = list(CATALOGER_VERSIONS)


def all_catalogers() -> list[Cataloger]:
    return [importlib.import_module(f"{__name__}.{m}").CATALOGER for m in CATALOGER_MODULES]


def catalogers_version(catalogers: list[Cataloger] | None = None) -> str:
    """Part of the layer-cache key: changes whenever any cataloger's output may change."""
    if catalogers is None:
        return ",".join(f"{name}={version}" for name, version in sorted(CATALOGER_VERSIONS.items()))
    return ",".join(f"{c.name}={c.version}" for c in sorted(catalogers, key=lambda c: c.name))
