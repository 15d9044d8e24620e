"""Merge per-layer results bottom-up into the image's inventory, with whiteout semantics.

Packages are tracked per file: a later layer that rewrites a package database replaces that
file's list; a whiteout (or an opaque directory) removes files of the layers below it. Each
package keeps the digest of the layer where it last changed.
"""

from __future__ import annotations

import posixpath

from ..catalog.osrelease import detect_os
from ..distros.redhat.content_manifests import MANIFEST_OS as CONTENT_MANIFEST_OS
from ..distros.redhat.content_manifests import content_sets
from ..model import OS_PACKAGE_TYPES, Inventory, LayerResult, OSInfo, Package

_MAX_LINK_HOPS = 16


def _under(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _remove(state: dict, prefix: str, exact_too: bool = True) -> None:
    for path in [p for p in state if _under(p, prefix) and (exact_too or p != prefix)]:
        del state[path]


class _Merged:
    def __init__(self) -> None:
        self.files: dict[str, list[Package]] = {}
        self.os_files: dict[str, str] = {}
        self.symlinks: dict[str, str] = {}
        self.warnings: list[str] = []

    def apply(self, layer: LayerResult) -> None:
        # Whiteouts and opaque markers hide what the layers *below* put there.
        for state in (self.files, self.os_files, self.symlinks):
            for directory in layer.opaque_dirs:
                _remove(state, directory, exact_too=False)
            for path in layer.whiteouts:
                _remove(state, path)
        for path, packages in layer.files.items():
            before = {p.key: p.layer for p in self.files.get(path, [])}
            merged = []
            for pkg in packages:
                copy = Package.from_dict(pkg.to_dict())
                copy.layer = before.get(pkg.key) or layer.digest
                merged.append(copy)
            self.files[path] = merged
            self.symlinks.pop(path, None)
        for path, text in layer.os_files.items():
            self.os_files[path] = text
            self.symlinks.pop(path, None)
        for path, target in layer.symlinks.items():
            self.symlinks[path] = target
            self.os_files.pop(path, None)
            self.files.pop(path, None)
        self.warnings.extend(layer.warnings)

    def resolved_os_files(self) -> dict[str, str]:
        """os-release-like files with symlinks followed (/etc/os-release -> ../usr/lib/os-release)."""
        files = dict(self.os_files)
        for path in self.symlinks:
            target, hops = path, 0
            while target in self.symlinks and hops < _MAX_LINK_HOPS:
                link = self.symlinks[target]
                target = posixpath.normpath(posixpath.join(posixpath.dirname(target), link))
                hops += 1
            if hops >= _MAX_LINK_HOPS:
                self.warnings.append(f"symlink loop at {path}: not followed")
                continue
            if target in self.os_files:
                files[path] = self.os_files[target]
        return files


def merge_layers(layers: list[LayerResult]) -> tuple[list[Package], OSInfo | None, list[str]]:
    """Packages, OS and warnings of the image built from `layers` (bottom first)."""
    merged = _Merged()
    for layer in layers:
        merged.apply(layer)
    os_files = merged.resolved_os_files()
    os_info = detect_os(os_files)
    if os_info and os_info.id in CONTENT_MANIFEST_OS:
        os_info.content_sets, manifest_warnings = content_sets(os_files)
        merged.warnings.extend(manifest_warnings)
    if os_info and os_info.id == "debian" and any(p.startswith("/var/lib/dpkg/status.d/") for p in merged.files) \
            and "/var/lib/dpkg/status" not in merged.files:
        os_info.distroless = True
    packages = _drop_os_provided_binaries(_drop_shadowed_lockfiles(merged.files))
    packages.sort(key=lambda p: (p.type, p.name, p.version, p.path))
    return packages, os_info, merged.warnings


def _drop_shadowed_lockfiles(files: dict[str, list[Package]]) -> list[Package]:
    """Lock-file packages count only for projects with nothing installed under node_modules."""
    installed_roots = {path.split("/node_modules/", 1)[0] or "/" for path in files if "/node_modules/" in path
                       and files[path]}
    result: list[Package] = []
    for path, packages in files.items():
        for pkg in packages:
            if pkg.metadata.get("lockfile") and posixpath.dirname(path) in installed_roots:
                continue
            result.append(pkg)
    return result


def _drop_os_provided_binaries(packages: list[Package]) -> list[Package]:
    """A binary found by its bytes that an OS package installs is that package's, not extra software."""
    if not any(p.metadata.get("binary") for p in packages):
        return packages
    from ..catalog.binaries import provided_by_os

    names = {p.name for p in packages if p.type in OS_PACKAGE_TYPES} | \
            {p.source_name for p in packages if p.type in OS_PACKAGE_TYPES and p.source_name}
    return [p for p in packages if not (p.metadata.get("binary") and provided_by_os(p, names))]


def build(image: str, digest: str, platform: str, layers: list[LayerResult]) -> Inventory:
    packages, os_info, warnings = merge_layers(layers)
    return Inventory(image=image, digest=digest, os=os_info, packages=packages,
                     layers=[layer.digest for layer in layers], platform=platform, warnings=warnings)
