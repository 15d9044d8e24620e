"""Image sources, chosen by prefix like Syft: `registry:`, `oci-dir:`, `docker-archive:`, `dir:`.

A plain reference (no known prefix) is a registry reference.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import SourceError
from .options import SourceOptions

if TYPE_CHECKING:
    from ..interfaces import ImageSource

# prefix -> "module:Class" (imported on use: the registry client pulls in httpx)
SOURCES = {
    "registry": "registry:RegistrySource",
    "oci-dir": "oci_layout:OCILayoutSource",
    "docker-archive": "docker_archive:DockerArchiveSource",
    "dir": "directory:DirectorySource",
}


def split_source(spec: str) -> tuple[str, str]:
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in SOURCES:
        if not rest:
            raise SourceError(f"{spec!r}: nothing after '{scheme}:'")
        return scheme, rest
    return "registry", spec


def open_source(spec: str, options: SourceOptions | None = None) -> ImageSource:
    scheme, target = split_source(spec)
    module_name, class_name = SOURCES[scheme].split(":")
    cls = getattr(importlib.import_module(f"{__name__}.{module_name}"), class_name)
    return cls(target, options or SourceOptions())


__all__ = ["SourceOptions", "open_source", "split_source"]
