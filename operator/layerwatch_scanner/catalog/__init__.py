"""Catalogers, one module per package format. Each module exposes `CATALOGER` (see
interfaces.Cataloger); add a module and list it here to support a new format."""

from __future__ import annotations

import importlib

from ..interfaces import Cataloger

CATALOGER_MODULES: list[str] = [
    # OS package databases
    "dpkg",
    "apk",
    "rpm",
    # language ecosystems
    "python",
    "npm",
    "golang",
    "rust",
    "java",
    "ruby",
]


def all_catalogers() -> list[Cataloger]:
    return [importlib.import_module(f"{__name__}.{m}").CATALOGER for m in CATALOGER_MODULES]


def catalogers_version(catalogers: list[Cataloger] | None = None) -> str:
    """Part of the layer-cache key: changes whenever any cataloger's output may change."""
    chosen = all_catalogers() if catalogers is None else catalogers
    return ",".join(f"{c.name}={c.version}" for c in sorted(chosen, key=lambda c: c.name))
