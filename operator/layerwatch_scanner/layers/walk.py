"""Stream one layer once: decompress, walk the tar, hand wanted files to the catalogers.

The layer is never held whole in memory or on disk: entries stream past, and only the files
a cataloger asks for are kept (in memory when small, spooled to a temp file when large).
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from isal import isal_zlib as zlib

from ..catalog.osrelease import os_file_limit
from ..errors import CatalogError, LayerError
from ..interfaces import Cataloger
from ..model import LayerResult
from ..streams import ChunkReader
from .tarstream import DIRECTORY, HARDLINK, REGULAR, SYMLINK, iter_tar

# A wanted file above this is refused (a 10 GB header claim must not be read into memory).
MAX_WANTED_FILE = 512 * 1024 * 1024
# Wanted files above this are spooled to a temporary file instead of held in memory.
SPOOL_THRESHOLD = 8 * 1024 * 1024
_CHUNK = 1 << 20
_IN_CHUNK = 256 * 1024
_OUT_CHUNK = 1 << 20

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Prefixed:
    """A reader that replays bytes already peeked from the stream before the rest of it."""

    def __init__(self, head: bytes, raw: IO[bytes]):
        self._head = head
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._raw.read(n - len(data))
            return data
        return self._raw.read(n)


class _GzipStream(ChunkReader):
    """Streaming gzip (also multi-member) decompression with zlib: one pass, bounded memory.

    Hand-written rather than gzip.GzipFile: zlib's wbits=31 does the framing in C, and the
    output of each step is capped so a highly compressible layer never balloons in memory.
    ISA-L (PyPI isal, zlib-compatible API) inflates about twice as fast as the stdlib's zlib.
    """

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._d = zlib.decompressobj(31)
        super().__init__(self._produce)

    def _produce(self) -> bytes:
        while True:
            try:
                if self._d.unconsumed_tail:
                    out = self._d.decompress(self._d.unconsumed_tail, _OUT_CHUNK)
                elif self._d.eof and self._d.unused_data:  # concatenated gzip members
                    rest = self._d.unused_data
                    self._d = zlib.decompressobj(31)
                    out = self._d.decompress(rest, _OUT_CHUNK)
                else:
                    chunk = self._raw.read(_IN_CHUNK)
                    if not chunk:
                        if not self._d.eof:
                            raise LayerError("truncated gzip stream (unexpected end of compressed data)")
                        return b""
                    if self._d.eof:  # trailing bytes after the last member: a new member or garbage
                        self._d = zlib.decompressobj(31)
                    out = self._d.decompress(chunk, _OUT_CHUNK)
            except zlib.error as exc:
                raise LayerError(f"corrupt gzip stream: {exc}") from exc
            if out:
                return out


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """The tar stream inside a layer blob, whatever its compression (detected by magic)."""
    head = raw.read(4)
    stream = _Prefixed(head, raw)
    if head.startswith(_GZIP_MAGIC):
        return _GzipStream(stream)  # type: ignore[return-value]
    if head.startswith(_ZSTD_MAGIC):
        import zstandard  # only for zstd layers: its import is a tenth of a warm rescan

        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)  # type: ignore[arg-type]
    return stream  # type: ignore[return-value]


def normalize_entry_path(name: str) -> str | None:
    """Absolute in-image path for a tar entry name, or None when it escapes the root.

    Layer tars name entries relatively ("usr/bin/x", "./etc/passwd"); an absolute name or one
    that climbs with ".." is hostile (path traversal) and is refused.
    """
    if not name or name[0] == "/" or "\x00" in name:
        return None
    # the usual "usr/lib/x" or "etc/": no "." / ".." / empty segment can hide in it
    if "./" not in name and "//" not in name and not name.endswith(("/.", "/..")) and name not in (".", ".."):
        return "/" + name.rstrip("/")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            return None
        parts.append(part)
    return "/" + "/".join(parts) if parts else "/"


@dataclass(slots=True)
class WantedFile:
    """A file kept for the catalogers (satisfies interfaces.CatalogFile)."""

    path: str
    size: int
    _data: bytes | None = None
    _spool: IO[bytes] | None = None

    def read(self) -> bytes:
        if self._data is not None:
            return self._data
        assert self._spool is not None
        self._spool.seek(0)
        return self._spool.read()

    def open(self) -> IO[bytes]:
        """A seekable view, for catalogers that need a few regions of a large file (binaries)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        assert self._spool is not None
        self._spool.seek(0)
        return self._spool

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _keep(src: IO[bytes], path: str, size: int) -> WantedFile:
    if size <= SPOOL_THRESHOLD:
        data = src.read(size)
        return WantedFile(path, len(data), _data=data)
    spool = tempfile.TemporaryFile()
    remaining = size
    while remaining > 0:
        chunk = src.read(min(_CHUNK, remaining))
        if not chunk:
            break
        spool.write(chunk)
        remaining -= len(chunk)
    return WantedFile(path, size - remaining, _spool=spool)


@dataclass(slots=True)
class Entry:
    """One filesystem entry of a layer, independent of where it came from (tar or directory)."""

    path: str
    kind: str  # "file", "dir", "symlink", "hardlink", "sparse", "other"
    size: int = 0
    mode: int = 0
    linkname: str = ""
    open: object = field(default=None, repr=False)  # () -> IO[bytes] for files


def _zstd_errors() -> tuple[type[Exception], ...]:
    zstandard = sys.modules.get("zstandard")  # loaded by a zstd layer; else none can be raised
    return (zstandard.ZstdError,) if zstandard is not None else ()


def tar_entries(fileobj: IO[bytes], what: str, warnings: list[str]) -> Iterator[Entry]:
    """Entries of a (decompressed) layer tar, in stream order, with hostile names refused."""
    stream = fileobj if isinstance(fileobj, ChunkReader) else ChunkReader(lambda: fileobj.read(_CHUNK))
    try:
        for member in iter_tar(stream):
            path = normalize_entry_path(member.name)
            if path is None:
                warnings.append(f"{what}: refused tar entry {member.name!r}: path escapes the image root")
                continue
            if member.type in REGULAR:
                if member.sparse_size is not None:
                    yield Entry(path, "sparse", member.sparse_size, member.mode)
                else:
                    yield Entry(path, "file", member.size, member.mode, open=lambda m=member: m)
            elif member.type == DIRECTORY:
                yield Entry(path, "dir", 0, member.mode)
            elif member.type == SYMLINK:
                yield Entry(path, "symlink", 0, member.mode, member.linkname)
            elif member.type == HARDLINK:
                target = normalize_entry_path(member.linkname)
                if target is None:
                    warnings.append(f"{what}: refused hard link {member.name!r} -> {member.linkname!r}: "
                                    "target escapes the image root")
                    continue
                yield Entry(path, "hardlink", 0, member.mode, target)
            else:
                yield Entry(path, "other", 0, member.mode)
    except (LayerError, *_zstd_errors()) as exc:
        raise LayerError(f"{what}: {exc}") from exc


def catalog_entries(
    entries: Iterable[Entry], digest: str, catalogers: list[Cataloger], what: str,
    warnings: list[str] | None = None,
) -> LayerResult:
    """Apply whiteouts and catalogers to a layer's entries: the per-layer result to cache."""
    result = LayerResult(digest=digest, warnings=warnings if warnings is not None else [])
    kept: dict[str, WantedFile] = {}  # wanted files, by path, for hard links that point at them
    wanting = _Selector(catalogers)
    try:
        for entry in entries:
            _visit(entry, result, wanting, what, kept)
    finally:
        for f in kept.values():
            f.close()
    return result


class _Selector:
    """The catalogers that want a file. Most files of a layer no cataloger wants: one search of
    all the catalogers' `path_hint`s together settles those, and only catalogers whose hint
    matched (or that look at every executable, or that give no hint) are asked (interfaces.py)."""

    def __init__(self, catalogers: list[Cataloger]):
        self.hinted = [(c, re.compile(c.path_hint)) for c in catalogers if getattr(c, "path_hint", None)]
        self.executables = [c for c in catalogers if getattr(c, "executables", False)]
        self.always = [c for c in catalogers if getattr(c, "path_hint", None) is None]
        self.any_hint = re.compile("|".join(f"(?:{c.path_hint})" for c, _ in self.hinted)) if self.hinted else None

    def __call__(self, path: str, mode: int, size: int) -> list[Cataloger]:
        asked = list(self.always)
        if mode & 0o111:
            asked += self.executables
        if self.any_hint is not None and self.any_hint.search(path):
            asked += [c for c, hint in self.hinted if hint.search(path) and c not in asked]
        return [c for c in asked if c.wants(path, mode, size)]


def _visit(entry: Entry, result: LayerResult, wanting: _Selector, what: str,
           kept: dict[str, WantedFile]) -> None:
    if "/" + WHITEOUT_PREFIX in entry.path:  # cheap test first: it runs for every entry
        directory, base = posixpath.split(entry.path)
        if base.startswith(WHITEOUT_PREFIX):
            if base == OPAQUE_MARKER:
                result.opaque_dirs.append(directory)
            else:
                result.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT_PREFIX):]))
            return
    mode = stat.S_IFREG | (entry.mode & 0o7777)
    os_limit = os_file_limit(entry.path)
    if entry.kind == "symlink":
        if os_limit or wanting(entry.path, mode, 0):
            result.symlinks[entry.path] = entry.linkname
        return
    if entry.kind == "hardlink":
        source = kept.get(entry.linkname)
        users = wanting(entry.path, mode, source.size if source else 0)
        if os_limit and source is not None:
            result.os_files[entry.path] = source.read()[:os_limit].decode("utf-8", "replace")
        elif users:
            if source is None:
                result.warnings.append(f"{what}: {entry.path} is a hard link to {entry.linkname}, "
                                       "which this layer did not keep; not cataloged")
                return
            _run(users, WantedFile(entry.path, source.size, source._data, source._spool), result, what)
        return
    if entry.kind == "sparse":
        if os_limit or wanting(entry.path, mode, entry.size):
            result.warnings.append(f"{what}: {entry.path} is a sparse file ({entry.size} bytes apparent): "
                                   "not cataloged")
        return
    if entry.kind != "file":
        return
    if os_limit:
        if entry.size <= os_limit:
            result.os_files[entry.path] = entry.open().read(os_limit).decode("utf-8", "replace")
        else:
            result.warnings.append(f"{what}: {entry.path} is {entry.size} bytes (at most {os_limit}): "
                                   "too large for a release file or content manifest; not read")
        return
    users = wanting(entry.path, mode, entry.size)
    if not users:
        return
    if entry.size > MAX_WANTED_FILE:
        result.warnings.append(
            f"{what}: refused {entry.path}: {entry.size} bytes exceeds the {MAX_WANTED_FILE} byte limit"
        )
        return
    wanted = _keep(entry.open(), entry.path, entry.size)
    kept[entry.path] = wanted
    _run(users, wanted, result, what)


def _run(users: list[Cataloger], file: WantedFile, result: LayerResult, what: str) -> None:
    for cataloger in users:
        try:
            packages = cataloger.catalog(file)
        except CatalogError as exc:
            result.warnings.append(f"{what}: {cataloger.name} cataloger: {exc}")
            continue
        except Exception as exc:  # a cataloger bug must not fail the whole scan
            result.warnings.append(f"{what}: {cataloger.name} cataloger failed on {file.path}: "
                                   f"{type(exc).__name__}: {exc}")
            continue
        for pkg in packages:
            pkg.path = pkg.path or file.path
        existing = result.files.setdefault(file.path, [])
        existing.extend(packages)


def catalog_layer(blob: IO[bytes], digest: str, catalogers: list[Cataloger], what: str) -> LayerResult:
    """Stream a layer blob (any compression) once and catalog it.

    `blob` is usually a digests.VerifyingReader: it is drained to EOF after the tar's end
    marker so a digest mismatch anywhere in the blob is caught.
    """
    warnings: list[str] = []
    result = catalog_entries(tar_entries(decompressed(blob), what, warnings), digest, catalogers, what, warnings)
    try:
        while blob.read(_CHUNK):
            pass
    except LayerError as exc:
        raise LayerError(f"{what}: {exc}") from exc
    return result
