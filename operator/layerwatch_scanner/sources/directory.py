"""`dir:PATH` — an unpacked root filesystem, cataloged as one layer straight from disk."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import SourceError
from ..layers.walk import Entry
from ..model import ImageManifest, LayerRef
from .options import SourceOptions


class DirectorySource:
    cacheable = False  # a directory has no content digest: its layer is never cached

    def __init__(self, path: str, options: SourceOptions | None = None):
        self.root = Path(path)
        self.description = f"dir:{path}"
        self.options = options or SourceOptions()
        if not self.root.is_dir():
            raise SourceError(f"{self.description}: not a directory")

    def manifest(self) -> ImageManifest:
        pseudo = "sha256:" + hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()
        return ImageManifest(reference=self.description, digest=pseudo, media_type="directory", config_digest="",
                             config={}, layers=[LayerRef(digest=pseudo)], platform=self.options.platform)

    def open_layer(self, layer: LayerRef) -> IO[bytes]:
        raise SourceError(f"{self.description}: a directory has no layer blobs; walk entries() instead")

    def entries(self) -> Iterator[Entry]:
        """Every file, directory and symlink under the root, as in-image absolute paths."""
        root = str(self.root)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            rel_dir = os.path.relpath(dirpath, root)
            base = "/" if rel_dir == "." else "/" + rel_dir.replace(os.sep, "/")
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                path = base.rstrip("/") + "/" + name
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    yield Entry(path, "symlink", 0, st.st_mode, os.readlink(full))
                elif stat.S_ISDIR(st.st_mode):
                    yield Entry(path, "dir", 0, st.st_mode)
                elif stat.S_ISREG(st.st_mode):
                    yield Entry(path, "file", st.st_size, st.st_mode, open=lambda f=full: open(f, "rb"))  # noqa: SIM115

    def close(self) -> None:
        pass
