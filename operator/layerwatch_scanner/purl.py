"""Package URLs (https://github.com/package-url/purl-spec) for inventory packages."""

from __future__ import annotations

from .model import APK, CARGO, COMPOSER, DEB, GEM, GOLANG, MAVEN, NPM, PYPI, RPM, Inventory, OSInfo, Package

_OS_TYPES = {DEB, APK, RPM}


def purl_for(pkg: Package, os: OSInfo | None = None) -> str:
    qualifiers: dict[str, str] = {}
    namespace: str | None = None
    name = pkg.name
    if pkg.type in _OS_TYPES:
        namespace = os.id if os else None
        if pkg.arch:
            qualifiers["arch"] = pkg.arch
        if os and os.version_id:
            qualifiers["distro"] = f"{os.id}-{os.version_id}"
        if pkg.source_name:
            qualifiers["upstream" if pkg.type == DEB else "source"] = pkg.source_name
    elif pkg.type == NPM and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
    elif pkg.type == COMPOSER and "/" in name:  # "vendor/project"
        namespace, name = name.split("/", 1)
    elif pkg.type == MAVEN:
        namespace = pkg.namespace or None
    elif pkg.type == GOLANG and "/" in name:
        namespace, name = name.rsplit("/", 1)
    elif pkg.type not in (PYPI, GEM, CARGO, GOLANG):
        namespace = pkg.namespace or None
    from packageurl import PackageURL  # here: a warm rescan reads its purls from the cache

    return PackageURL(type=pkg.type, namespace=namespace, name=name, version=pkg.version,
                      qualifiers=qualifiers or None).to_string()


def purls_of(inventory: Inventory) -> list[str]:
    """The inventory's Package URLs, computed once and kept with it (a warm rescan's reports then
    need neither packageurl nor a purl per package again)."""
    if len(inventory.purls) != len(inventory.packages):
        inventory.purls = [purl_for(pkg, inventory.os) for pkg in inventory.packages]
    return inventory.purls
