"""PHP: Composer's `vendor/composer/installed.json`, what `composer install` put in vendor/.

Composer 1 writes a list of packages; Composer 2 an object with `packages`, `dev` and
`dev-package-names` (development packages are reported, marked {"dev": True}: an image built
without --no-dev ships them)."""

from __future__ import annotations

import json

from ..errors import CatalogError
from ..model import COMPOSER, Package
from . import CATALOGER_VERSIONS

_MAX = 64 * 1024 * 1024
INSTALLED = "/vendor/composer/installed.json"


class PhpCataloger:
    name = "php"
    version = CATALOGER_VERSIONS["php"]
    path_hint = r"/vendor/composer/installed\.json$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.endswith(INSTALLED) and size <= _MAX

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        try:
            doc = json.loads(file.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{file.path}: invalid JSON: {exc}") from exc
        if isinstance(doc, list):  # Composer 1
            entries, dev = doc, set()
        elif isinstance(doc, dict) and isinstance(doc.get("packages"), list):  # Composer 2
            entries = doc["packages"]
            names = doc.get("dev-package-names")
            dev = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
        else:
            raise CatalogError(f"{file.path}: neither a list of packages nor {{\"packages\": [...]}}")
        packages = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            name, version = entry.get("name"), entry.get("version")
            if not isinstance(name, str) or not isinstance(version, str) or "/" not in name:
                continue
            licenses = [x for x in entry.get("license") or [] if isinstance(x, str)] \
                if isinstance(entry.get("license"), list) else []
            packages.append(Package(type=COMPOSER, name=name, version=version, path=file.path,
                                    licenses=licenses, metadata={"dev": True} if name in dev else {}))
        return packages


CATALOGER = PhpCataloger()
