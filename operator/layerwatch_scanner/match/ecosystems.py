"""Where each package is looked up: (ecosystem key, package name, version scheme).

OS packages by their distribution's rules (distros/: the release key, source or binary package
name, version scheme); language packages by name in their OSV ecosystem.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import distros
from ..catalog.python import normalize_name
from ..model import (
    CARGO,
    COMPOSER,
    GEM,
    GENERIC,
    GOLANG,
    MAVEN,
    NPM,
    NUGET,
    OS_PACKAGE_TYPES,
    PYPI,
    OSInfo,
    Package,
)

Lookup = tuple[str, str, str]  # (ecosystem, package, scheme)

# Language ecosystem -> the version scheme its records use (a distribution names its own).
LANGUAGE_SCHEMES = {
    "PyPI": "pep440", "npm": "semver", "Go": "go", "Maven": "maven", "RubyGems": "gem", "crates.io": "semver",
    "NuGet": "nuget", "Packagist": "composer", "generic": "upstream",
}


def family(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0]


def scheme_for(ecosystem: str) -> str | None:
    fam = family(ecosystem)
    if fam in LANGUAGE_SCHEMES:
        return LANGUAGE_SCHEMES[fam]
    distribution = distros.for_family(fam)
    return distribution.scheme if distribution else None


LANGUAGE_RESOLVERS: dict[str, Callable[[Package], Lookup | None]] = {
    PYPI: lambda p: ("PyPI", normalize_name(p.name), "pep440"),
    NPM: lambda p: ("npm", p.name, "semver"),
    GOLANG: lambda p: ("Go", p.name, "go"),
    MAVEN: lambda p: ("Maven", f"{p.namespace}:{p.name}" if p.namespace else p.name, "maven"),
    GEM: lambda p: ("RubyGems", p.name, "gem"),
    CARGO: lambda p: ("crates.io", p.name, "semver"),
    NUGET: lambda p: ("NuGet", p.name.lower(), "nuget"),  # NuGet ids are case-insensitive
    COMPOSER: lambda p: ("Packagist", p.name.lower(), "composer"),  # "vendor/project"
    # found by its bytes (catalog/binaries.py): the name NVD's CPEs are mapped to (feeds/nvd.py)
    GENERIC: lambda p: ("generic", p.name, "upstream") if p.metadata.get("binary") else None,
}


def lookup_for(pkg: Package, os: OSInfo | None) -> Lookup | None:
    if pkg.type in OS_PACKAGE_TYPES:
        distribution = distros.for_os(os.id) if os is not None else None
        return distribution.lookup(os, pkg) if distribution is not None else None  # type: ignore[arg-type]
    resolver = LANGUAGE_RESOLVERS.get(pkg.type)
    return resolver(pkg) if resolver else None


Decision = tuple[str, str, str, str, str]  # (ecosystem, package, version, scheme, module stream)


def module_of(pkg: Package) -> str:
    """The module stream an rpm was built for ("" when none): fixes are per stream."""
    return pkg.metadata.get("modularitylabel", "").rsplit(":", 2)[0]


def package_rows(packages: list[Package], os: OSInfo | None) -> list[tuple]:
    """Each package as matching looks it up: (*decision, type, name, layer)."""
    rows = []
    for pkg in packages:
        lookup = lookup_for(pkg, os)
        if lookup:
            ecosystem, name, scheme = lookup
            rows.append((ecosystem, name, pkg.version, scheme, module_of(pkg), pkg.type, pkg.name, pkg.layer))
    return rows
