""".NET: the `*.deps.json` a published app carries (its runtime target and every NuGet package
it was built with, runtime packs of self-contained apps included). The app's own projects
(`"type": "project"`) are not packages from NuGet and are not reported."""

from __future__ import annotations

import json

from ..errors import CatalogError
from ..model import NUGET, Package
from . import CATALOGER_VERSIONS

_MAX = 16 * 1024 * 1024
NUGET_TYPES = ("package", "runtimepack")


class DotnetCataloger:
    name = "dotnet"
    version = CATALOGER_VERSIONS["dotnet"]
    path_hint = r"\.deps\.json$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.endswith(".deps.json") and size <= _MAX

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        try:
            doc = json.loads(file.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{file.path}: invalid JSON: {exc}") from exc
        libraries = doc.get("libraries") if isinstance(doc, dict) else None
        if not isinstance(libraries, dict):
            raise CatalogError(f"{file.path}: no 'libraries' object: not a .deps.json")
        target = doc.get("runtimeTarget")
        runtime = str(target.get("name", "")) if isinstance(target, dict) else ""
        packages = []
        for key, library in libraries.items():
            name, sep, version = str(key).rpartition("/")
            if not sep or not name or not version or not isinstance(library, dict):
                continue
            if library.get("type") not in NUGET_TYPES:
                continue
            metadata = {"runtimeTarget": runtime} if runtime else {}
            if isinstance(library.get("sha512"), str) and library["sha512"]:
                metadata["sha512"] = library["sha512"]
            packages.append(Package(type=NUGET, name=name, version=version, path=file.path, metadata=metadata))
        return packages


CATALOGER = DotnetCataloger()
