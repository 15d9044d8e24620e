"""`oci-dir:PATH` — an OCI image layout directory (also the layout inside newer `docker save` tars)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import IO

from ..digests import VerifyingReader, parse_digest
from ..errors import SourceError
from ..model import ImageManifest, LayerRef
from .manifests import MAX_BLOB_IN_MEMORY, OCI_INDEX, resolve_manifest
from .options import SourceOptions


class _MemberSlice(io.RawIOBase):
    """One member of an uncompressed tar read through its own file handle, so several layers
    of one archive can be read at once (a TarFile shares one position between its members)."""

    def __init__(self, path: str, offset: int, size: int):
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._file.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        view = memoryview(buffer)[:self._left]
        n = self._file.readinto(view) if len(view) else 0
        self._left -= n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


class BlobStore:
    """Blobs addressed by digest under `blobs/<alg>/<hex>` of a directory or a tar archive.

    `archive`: the path of `tar` when it is uncompressed: members are then read through their
    own file handles (see _MemberSlice)."""

    def __init__(self, root: Path | None = None, tar: tarfile.TarFile | None = None, prefix: str = "",
                 archive: str | None = None):
        self.root, self.tar, self.prefix, self.archive = root, tar, prefix, archive

    def path_of(self, digest: str) -> str:
        algo, hexdigest = parse_digest(digest)
        return f"{self.prefix}blobs/{algo}/{hexdigest}"

    def open_path(self, name: str) -> IO[bytes]:
        if self.tar is not None:
            try:
                member = self.tar.getmember(name)
                if self.archive and member.isreg() and not member.issparse():
                    return io.BufferedReader(_MemberSlice(self.archive, member.offset_data, member.size), 1 << 20)
                f = self.tar.extractfile(member)
            except KeyError:
                f = None
            if f is None:
                raise SourceError(f"{name} is missing from the archive")
            return f
        assert self.root is not None
        try:
            return open(self.root / name, "rb")  # noqa: SIM115 - caller closes
        except FileNotFoundError as exc:
            raise SourceError(f"{self.root / name} is missing") from exc

    def open(self, digest: str, what: str, size: int | None = None) -> VerifyingReader:
        return VerifyingReader(self.open_path(self.path_of(digest)), digest, what, size or None)

    def read(self, digest: str, what: str) -> bytes:
        with self.open(digest, what) as f:
            data = f.read(MAX_BLOB_IN_MEMORY + 1)
            if len(data) > MAX_BLOB_IN_MEMORY:
                raise SourceError(f"{what}: blob {digest} is too large for a manifest or config")
            f.drain()
        return data

    def read_text(self, name: str) -> str:
        with self.open_path(name) as f:
            return f.read(MAX_BLOB_IN_MEMORY).decode("utf-8")


def split_tag(spec: str) -> tuple[str, str]:
    """"path:tag" -> (path, tag) when the part after the last colon is not a path."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and "/" not in tail and not os.path.exists(spec):
        return head, tail
    return spec, ""


def manifest_from_layout(store: BlobStore, tag: str, platform: str, description: str) -> ImageManifest:
    try:
        index = json.loads(store.read_text(store.prefix + "index.json"))
    except ValueError as exc:
        raise SourceError(f"{description}: index.json is not valid JSON ({exc})") from exc
    entries = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(entries, list) or not entries:
        raise SourceError(f"{description}: index.json lists no manifests")
    if tag:
        entries = [e for e in entries
                   if (e.get("annotations") or {}).get("org.opencontainers.image.ref.name") in (tag,)
                   or tag in (e.get("annotations") or {}).get("io.containerd.image.name", "")]
        if not entries:
            raise SourceError(f"{description}: no manifest tagged {tag!r} in index.json")
    # Treat the layout's index.json as a top-level index whose entries are fetched by digest.
    root = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    root_bytes = json.dumps(root).encode()

    def fetch(ref: str) -> tuple[bytes, str]:
        if ref == "<root>":
            return root_bytes, OCI_INDEX
        return store.read(ref, f"{description} manifest {ref}"), ""

    manifest = resolve_manifest(fetch, lambda d: store.read(d, f"{description} config {d}"), "<root>",
                                description, platform, description)
    if len(entries) == 1 and manifest.index_digest:
        manifest.index_digest = entries[0].get("digest", "") if manifest.digest != entries[0].get("digest") else ""
    return manifest


class OCILayoutSource:
    def __init__(self, path: str, options: SourceOptions | None = None):
        self.options = options or SourceOptions()
        layout_path, self.tag = split_tag(path)
        self.root = Path(layout_path)
        self.description = f"oci-dir:{path}"
        if not (self.root / "oci-layout").is_file() or not (self.root / "index.json").is_file():
            raise SourceError(f"{self.description}: not an OCI image layout (no oci-layout and index.json)")
        self.store = BlobStore(root=self.root)

    def manifest(self) -> ImageManifest:
        return manifest_from_layout(self.store, self.tag, self.options.platform, self.description)

    def open_layer(self, layer: LayerRef) -> IO[bytes]:
        return self.store.open(layer.digest, f"{self.description} layer {layer.digest}", layer.size)  # type: ignore[return-value]

    def close(self) -> None:
        pass
