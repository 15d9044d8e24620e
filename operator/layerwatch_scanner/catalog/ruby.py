"""RubyGems: installed `specifications/*.gemspec` files.

Read with regular expressions, never evaluated: a gemspec is Ruby code, and the installed
ones RubyGems writes (`# stub:` files) assign name, version and licenses as plain literals.
"""

from __future__ import annotations

import re

from ..errors import CatalogError
from ..model import GEM, Package
from . import CATALOGER_VERSIONS

_NAME = re.compile(r"""^\s*\w+\.name\s*=\s*["']([^"']+)["']""", re.M)
_VERSION = re.compile(r"""^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\()?["']([^"']+)["']""", re.M)
_LICENSES = re.compile(r"""^\s*\w+\.licenses?\s*=\s*\[?([^\n\]]*)""", re.M)
MAX_GEMSPEC = 1024 * 1024


class RubyCataloger:
    name = "ruby"
    version = CATALOGER_VERSIONS["ruby"]
    path_hint = r"/specifications/[^/]+\.gemspec$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.endswith(".gemspec") and "/specifications/" in path and size <= MAX_GEMSPEC

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        text = file.read().decode("utf-8", "replace")
        name, version = _NAME.search(text), _VERSION.search(text)
        if not name or not version:
            raise CatalogError(f"{file.path}: gemspec without a literal name and version")
        licenses = []
        lic = _LICENSES.search(text)
        if lic:
            licenses = re.findall(r"""["']([^"']+)["']""", lic.group(1))
        return [Package(type=GEM, name=name.group(1), version=version.group(1), path=file.path, licenses=licenses)]


CATALOGER = RubyCataloger()
