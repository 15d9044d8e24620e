"""conda packages: the `conda-meta/<name>-<version>-<build>.json` a conda environment keeps."""

from __future__ import annotations

import json

from layerwatch_scanner.errors import CatalogError
from layerwatch_scanner.model import Package


class CondaCataloger:
    name = "conda"
    version = 1

    def wants(self, path, mode, size):  # noqa: ANN001, ANN201
        return "/conda-meta/" in path and path.endswith(".json") and size <= 4 * 1024 * 1024

    def catalog(self, file):  # noqa: ANN001, ANN201
        try:
            doc = json.loads(file.read())
        except ValueError as exc:
            raise CatalogError(f"{file.path}: invalid JSON: {exc}") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not isinstance(doc.get("version"), str):
            return []
        return [Package(type="conda", name=doc["name"], version=doc["version"], path=file.path,
                        licenses=[doc["license"]] if isinstance(doc.get("license"), str) else [])]


CATALOGER = CondaCataloger()
