"""Rust binaries built with cargo-auditable: the `.dep-v0` section, zlib-compressed JSON."""

from __future__ import annotations

import json
import zlib

from ..errors import CatalogError
from ..model import CARGO, Package
from . import CATALOGER_VERSIONS
from ._elf import find_section
from .golang import MAX_BINARY, is_executable

MAX_JSON = 16 * 1024 * 1024


class RustCataloger:
    name = "rust"
    version = CATALOGER_VERSIONS["rust"]
    path_hint = ""
    executables = True

    def wants(self, path: str, mode: int, size: int) -> bool:
        return is_executable(mode) and 4096 <= size <= MAX_BINARY

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        section = find_section(file.open() if hasattr(file, "open") else file.read(), ".dep-v0")
        if section is None:
            return []
        try:
            d = zlib.decompressobj()
            raw = d.decompress(section, MAX_JSON)
            if d.unconsumed_tail:
                raise CatalogError(f"{file.path}: .dep-v0 audit data larger than {MAX_JSON} bytes")
            doc = json.loads(raw)
        except (zlib.error, ValueError) as exc:
            raise CatalogError(f"{file.path}: unreadable cargo-auditable data ({exc})") from exc
        packages = doc.get("packages") if isinstance(doc, dict) else None
        if not isinstance(packages, list):
            raise CatalogError(f"{file.path}: cargo-auditable data without a packages list")
        out = []
        for p in packages:
            if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not isinstance(p.get("version"), str):
                continue
            if p.get("kind") == "build":
                continue  # build-time only: not in the binary
            out.append(Package(type=CARGO, name=p["name"], version=p["version"], path=file.path,
                               metadata={"source": p.get("source", "")} if p.get("source") else {}))
        return out


CATALOGER = RustCataloger()
