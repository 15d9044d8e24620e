"""Python: installed distributions' `*.dist-info/METADATA` and `*.egg-info` (directory or file).

Parsed with the standard library's email parser: core metadata is RFC 822 by specification
(https://packaging.python.org/en/latest/specifications/core-metadata/).
"""

from __future__ import annotations

import re

from ..errors import CatalogError
from ..model import PYPI, Package
from . import CATALOGER_VERSIONS

_MAX = 16 * 1024 * 1024


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name: how advisories name it ("Flask_Login" -> "flask-login")."""
    return re.sub(r"[-_.]+", "-", name).lower()


class PythonCataloger:
    name = "python"
    version = CATALOGER_VERSIONS["python"]
    path_hint = r"(?:/METADATA|/PKG-INFO|\.egg-info)$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if path.endswith("/METADATA"):
            return path[:-9].endswith(".dist-info")
        if path.endswith("/PKG-INFO"):
            return path[:-9].endswith(".egg-info")
        # the single-file form: site-packages/distlib-0.3.1-py3.9.egg-info
        return path.endswith(".egg-info") and ("-packages/" in path) and size < _MAX

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        data = file.read()
        if b"\x00" in data[:4096]:
            raise CatalogError(f"{file.path}: binary data, not Python package metadata")
        from email.parser import BytesHeaderParser  # 40 ms of imports: only when a layer holds a dist

        headers = BytesHeaderParser().parsebytes(data)
        name, version = (headers.get("Name") or "").strip(), (headers.get("Version") or "").strip()
        if not name or not version:
            raise CatalogError(f"{file.path}: Python metadata without Name and Version")
        licenses = []
        expression = (headers.get("License-Expression") or "").strip()
        if expression:
            licenses = [expression]
        elif (lic := (headers.get("License") or "").strip()) and "\n" not in lic and len(lic) < 100:
            licenses = [lic]
        return [Package(type=PYPI, name=normalize_name(name), version=version, path=file.path,
                        licenses=licenses, metadata={"display_name": name} if normalize_name(name) != name else {})]


CATALOGER = PythonCataloger()
