"""A forward-only tar reader for layer streams.

Hand-written instead of `tarfile` in stream mode because that module's per-member parsing
(checksums in Python, TarInfo objects, member lists kept for the whole archive) was measured
at twice the cost of decompressing the layer itself (benchmarks/scan.py); a scan only needs
each header once, in order. Formats: ustar, GNU long names/links ('L'/'K'), PAX extended
headers ('x'; global 'g' ignored), GNU sparse ('S', cataloged by its stored data only).
Hostile input — bad checksums, oversized metadata records, truncation — is a LayerError.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import LayerError
from ..streams import ChunkReader

BLOCK = 512
MAX_META = 1024 * 1024  # long names and PAX records larger than this are hostile

REGULAR = (b"0", b"\x00", b"7", b"S")
HARDLINK, SYMLINK, DIRECTORY = b"1", b"2", b"5"
GNU_LONGNAME, GNU_LONGLINK, PAX, PAX_GLOBAL = b"L", b"K", b"x", b"g"


def _octal(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for values that do not fit in octal
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    try:  # the usual "0000644\0": the same value as below whenever it parses (no NUL inside)
        return int(field.rstrip(b"\x00 "), 8)
    except ValueError:
        pass
    text = field.split(b"\x00", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise LayerError(f"corrupt tar header: {what} field {field!r} is not a number") from None


def _cstr(field: bytes) -> str:
    return field.split(b"\x00", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise LayerError("corrupt PAX header: bad record length") from None
        if length <= 0 or pos + length > len(data):
            raise LayerError("corrupt PAX header: record runs past the header")
        key, _, value = data[space + 1:pos + length - 1].partition(b"=")
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


class TarMember:
    """One header, with a reader over its data valid until the next member is requested."""

    __slots__ = ("name", "type", "size", "mode", "linkname", "sparse_size", "_remaining", "_stream")

    def __init__(self, name: str, type_: bytes, size: int, mode: int, linkname: str, stream: ChunkReader,
                 sparse_size: int | None = None):
        self.name, self.type, self.size, self.mode, self.linkname = name, type_, size, mode, linkname
        self.sparse_size = sparse_size  # apparent size of a sparse file (its data is stored in pieces)
        self._remaining = size if type_ in REGULAR else 0
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self._remaining:
            n = self._remaining
        data = self._stream.read(n)
        if len(data) < n:
            raise LayerError(f"truncated tar stream inside {self.name}")
        self._remaining -= n
        return data

    def _finish(self) -> None:
        data_blocks = -(-self.size // BLOCK) * BLOCK if self.type in REGULAR else 0
        consumed = self.size - self._remaining if self.type in REGULAR else 0
        if not self._stream.skip(data_blocks - consumed):
            raise LayerError(f"truncated tar stream inside {self.name}: "
                             f"the header promises {self.size} bytes")


def iter_tar(stream: ChunkReader) -> Iterator[TarMember]:
    """Members in archive order; each member's data must be read before asking for the next."""
    long_name = long_link = None
    pax: dict[str, str] = {}
    while True:
        header = stream.read(BLOCK)
        if not header:
            return  # some writers omit the end-of-archive blocks
        if len(header) < BLOCK:
            raise LayerError("truncated or corrupt tar stream: partial header")
        if not header[0] and header.count(0) == BLOCK:
            return  # end-of-archive marker
        stored = _octal(header[148:156], "checksum")
        if stored != sum(header) - sum(header[148:156]) + 256:  # the checksum field counts as spaces
            raise LayerError("truncated or corrupt tar stream: header checksum mismatch (not a tar layer?)")
        type_ = header[156:157]
        size = _octal(header[124:136], "size")
        if size < 0:
            raise LayerError("corrupt tar header: negative size")
        if type_ in (GNU_LONGNAME, GNU_LONGLINK, PAX, PAX_GLOBAL):
            if size > MAX_META:
                raise LayerError(f"refused tar metadata record of {size} bytes (limit {MAX_META})")
            data = stream.read(size)
            if len(data) < size or not stream.skip(-(-size // BLOCK) * BLOCK - size):
                raise LayerError("truncated tar stream inside a metadata record")
            if type_ == GNU_LONGNAME:
                long_name = _cstr(data)
            elif type_ == GNU_LONGLINK:
                long_link = _cstr(data)
            elif type_ == PAX:
                pax = _pax_records(data)
            continue
        name = _cstr(header[0:100])
        if header[257:262] == b"ustar" and header[345] != 0:
            name = _cstr(header[345:500]) + "/" + name
        linkname = _cstr(header[157:257])
        if long_name is not None:
            name = long_name
        if long_link is not None:
            linkname = long_link
        if "path" in pax:
            name = pax["path"]
        if "linkpath" in pax:
            linkname = pax["linkpath"]
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise LayerError("corrupt PAX header: size is not a number") from None
        sparse_size = None
        if type_ == b"S":
            sparse_size = _octal(header[483:495], "sparse size")
        elif "GNU.sparse.realsize" in pax or "GNU.sparse.size" in pax:
            try:
                sparse_size = int(pax.get("GNU.sparse.realsize") or pax["GNU.sparse.size"])
            except ValueError:
                raise LayerError("corrupt PAX header: sparse size is not a number") from None
        member = TarMember(name, type_, size, _octal(header[100:108], "mode"), linkname, stream, sparse_size)
        long_name = long_link = None
        pax = {}
        yield member
        member._finish()
