"""The seams between the sub-packages of the scanning core.

Adding a distribution or an ecosystem means adding a module that satisfies one of these
protocols and registering it in its package's registry list — not editing a switch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Protocol, runtime_checkable

from .model import ImageManifest, Inventory, LayerRef, Package

# Progress callback: (what, done, total or None). Reporters draw a bar from it on a terminal.
Progress = Callable[[str, int, int | None], None]


@runtime_checkable
class ImageSource(Protocol):
    """Where an image comes from: a registry, a docker-archive, an OCI layout, a directory."""

    description: str  # for messages: "registry:docker.io/library/nginx:1.25"

    def manifest(self) -> ImageManifest:
        """The platform manifest and config (for a directory: a synthetic one-layer manifest)."""
        ...

    def open_layer(self, layer: LayerRef) -> IO[bytes]:
        """The layer blob as stored (compressed), verified against its digest while read.

        Reading to EOF raises DigestMismatchError if the content does not match.
        """
        ...

    def close(self) -> None: ...


class CatalogFile(Protocol):
    """A file a cataloger asked for, as found in a layer."""

    path: str  # absolute path inside the image
    size: int

    def read(self) -> bytes:
        """The whole content (bounded: files above the per-cataloger limit are refused)."""
        ...


@runtime_checkable
class Cataloger(Protocol):
    """Reads one package format. One module per format under `catalog/`."""

    name: str  # "dpkg", "apk", "rpm", "python", ...
    version: int  # bump when output changes: it is part of the layer-cache key
    # Optional, for speed (wants() runs for every file of every layer): `path_hint`, a regular
    # expression every path it wants matches (searched; "" for none), and `executables = True` to
    # be asked about every executable file too. A cataloger without a hint is asked about every file.

    def wants(self, path: str, mode: int, size: int) -> bool:
        """Cheap test on every tar entry: does this cataloger need the file?"""
        ...

    def catalog(self, file: CatalogFile) -> list[Package]:
        """Packages found in the file. Raise CatalogError on malformed content."""
        ...


class VersionScheme(Protocol):
    """Ordering of versions in one ecosystem (dpkg, rpm, apk, pep440, semver, maven, go...)."""

    name: str

    def compare(self, a: str, b: str) -> int:
        """<0, 0, >0 like cmp(). Raise ValueError on a version the scheme cannot parse."""
        ...


class FeedUpdater(Protocol):
    """Downloads one advisory source and writes its records into a new database file."""

    name: str  # "debian", "ubuntu", "alpine", "redhat", "osv-pypi", "nvd", "kev", "epss", ...
    default_url: str


class Reporter(Protocol):
    """Renders an inventory (and findings, when matched) in one output format."""

    format: str  # "table", "json", "cyclonedx-json", "spdx-json", "sarif"

    def render(self, inventory: Inventory, findings: Iterable[object] | None = None) -> str: ...


__all__ = [
    "CatalogFile",
    "Cataloger",
    "FeedUpdater",
    "ImageManifest",
    "ImageSource",
    "Inventory",
    "LayerRef",
    "Package",
    "Progress",
    "Reporter",
    "VersionScheme",
]
