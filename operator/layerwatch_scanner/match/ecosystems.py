"""Where each package type is looked up: (ecosystem key, package name, version scheme).

Distribution packages match on their SOURCE package (that is how Debian, Ubuntu, Alpine and
Red Hat publish advisories) in the release the image runs; language packages by name in the
OSV ecosystem. Adding a distribution means adding a function to RESOLVERS.
"""

from __future__ import annotations

from collections.abc import Callable

from ..catalog.python import normalize_name
from ..model import APK, CARGO, DEB, GEM, GOLANG, MAVEN, NPM, PYPI, RPM, OSInfo, Package

Lookup = tuple[str, str, str]  # (ecosystem, package, scheme)
RHEL_FAMILY = {"rhel", "centos", "rocky", "almalinux", "ol"}
# Distributions matched against a relative's advisories until they get their own feed: the
# coverage report says so, because package versions and fixes of a rebuild can differ.
RELATIVE_DATA = {"centos": "rhel", "rocky": "rhel", "almalinux": "rhel", "ol": "rhel"}

# Ecosystem family (the part of the key before ":") -> the version scheme its records use.
ECOSYSTEM_SCHEMES = {
    "debian": "dpkg", "ubuntu": "dpkg", "ubuntu-pro": "dpkg", "alpine": "apk", "rhel": "rpm",
    "PyPI": "pep440", "npm": "semver", "Go": "go", "Maven": "maven", "RubyGems": "gem", "crates.io": "semver",
}


def family(ecosystem: str) -> str:
    return ecosystem.split(":", 1)[0]


def scheme_for(ecosystem: str) -> str | None:
    return ECOSYSTEM_SCHEMES.get(family(ecosystem))


def _deb(pkg: Package, os: OSInfo | None) -> Lookup | None:
    if os is None:
        return None
    name = pkg.source_name or pkg.name
    if os.id in ("debian", "raspbian"):
        major = os.version_id.split(".")[0] if os.version_id else "unstable"
        return f"debian:{major}", name, "dpkg"
    if os.id == "ubuntu" and os.version_id:
        prefix = "ubuntu-pro" if "+esm" in pkg.version else "ubuntu"
        return f"{prefix}:{os.version_id}", name, "dpkg"
    return None


def _apk(pkg: Package, os: OSInfo | None) -> Lookup | None:
    if os is None or os.id != "alpine" or not os.version_id:
        return None
    if "_alpha" in os.version_id or "_beta" in os.version_id:
        branch = "edge"
    else:
        branch = ".".join(os.version_id.split(".")[:2])
    return f"alpine:{branch}", pkg.source_name or pkg.name, "apk"


def _rpm(pkg: Package, os: OSInfo | None) -> Lookup | None:
    if os is None or not ({os.id} | set(os.id_like)) & RHEL_FAMILY or not os.version_id:
        return None
    if os.id not in RHEL_FAMILY:
        return None  # an rpm distribution that only says it is "like" RHEL (Amazon, Mariner): not covered
    return f"rhel:{os.version_id.split('.')[0]}", pkg.source_name or pkg.name, "rpm"


RESOLVERS: dict[str, Callable[[Package, OSInfo | None], Lookup | None]] = {
    DEB: _deb,
    APK: _apk,
    RPM: _rpm,
    PYPI: lambda p, _: ("PyPI", normalize_name(p.name), "pep440"),
    NPM: lambda p, _: ("npm", p.name, "semver"),
    GOLANG: lambda p, _: ("Go", p.name, "go"),
    MAVEN: lambda p, _: ("Maven", f"{p.namespace}:{p.name}" if p.namespace else p.name, "maven"),
    GEM: lambda p, _: ("RubyGems", p.name, "gem"),
    CARGO: lambda p, _: ("crates.io", p.name, "semver"),
}


def lookup_for(pkg: Package, os: OSInfo | None) -> Lookup | None:
    resolver = RESOLVERS.get(pkg.type)
    return resolver(pkg, os) if resolver else None


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
