"""rpm: the package database in its three on-disk formats, read in Python.

* SQLite `rpmdb.sqlite` (RHEL 9, Fedora, Mariner): a `Packages(hnum, blob)` table;
* Berkeley DB hash `Packages` (RHEL/CentOS 7 and 8): header blobs in overflow pages;
* NDB `Packages.db` (SUSE): slots pointing at 16-byte aligned blobs.

Hand-written because no maintained Python library reads rpmdb files without the rpm C
library (the `rpm` bindings need librpm in the image; Syft and Trivy use go-rpmdb, whose
layouts are followed here). Every offset and count is bounds-checked: a hostile database gives
a CatalogError, never a huge allocation.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import CatalogError
from ..model import RPM, Package
from . import CATALOGER_VERSIONS

PATHS = {
    "/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages",
    "/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages.db",
}
MAX_DB = 512 * 1024 * 1024
MAX_HEADER = 64 * 1024 * 1024
MAX_INDEX = 100_000

TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH = 1000, 1001, 1002, 1003
TAG_LICENSE, TAG_ARCH, TAG_SOURCERPM, TAG_MODULARITYLABEL = 1014, 1022, 1044, 5096
STRING_TYPES = {6, 8, 9}  # STRING, STRING_ARRAY, I18NSTRING
INT32 = 4


def parse_header(blob: bytes, what: str) -> dict[int, object]:
    """Tags of one rpm header blob (the rpmdb form: no lead, no magic)."""
    if len(blob) < 8:
        raise CatalogError(f"{what}: rpm header of {len(blob)} bytes is truncated")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il > MAX_INDEX or 8 + il * 16 + dl > len(blob):
        raise CatalogError(f"{what}: rpm header claims {il} entries and {dl} data bytes, more than its "
                           f"{len(blob)} bytes")
    data_start = 8 + il * 16
    store = blob[data_start:data_start + dl]
    tags: dict[int, object] = {}
    for i in range(il):
        tag, type_, offset, count = struct.unpack_from(">iIII", blob, 8 + i * 16)
        if tag not in (TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_LICENSE, TAG_ARCH, TAG_SOURCERPM,
                       TAG_MODULARITYLABEL):
            continue
        if offset >= len(store) and count:
            raise CatalogError(f"{what}: rpm header tag {tag} points past the data")
        if type_ == INT32:
            if offset + 4 * count > len(store):
                raise CatalogError(f"{what}: rpm header tag {tag} runs past the data")
            tags[tag] = struct.unpack_from(">i", store, offset)[0] if count else None
        elif type_ in STRING_TYPES:
            end = store.find(b"\x00", offset)
            if end < 0:
                raise CatalogError(f"{what}: rpm header tag {tag}: unterminated string")
            tags[tag] = store[offset:end].decode("utf-8", "replace")
    return tags


def package_from_header(tags: dict[int, object], path: str) -> Package | None:
    name, version, release = tags.get(TAG_NAME), tags.get(TAG_VERSION), tags.get(TAG_RELEASE)
    if not isinstance(name, str) or not isinstance(version, str) or name.startswith("gpg-pubkey"):
        return None  # imported signing keys are headers too, not packages
    epoch = tags.get(TAG_EPOCH)
    full = f"{version}-{release}" if release else version
    if isinstance(epoch, int) and epoch > 0:
        full = f"{epoch}:{full}"
    source = tags.get(TAG_SOURCERPM)
    source_name = ""
    if isinstance(source, str) and source.endswith(".src.rpm"):
        # "openssl-3.0.7-24.el9.src.rpm" -> "openssl": drop .src.rpm, then release and version
        source_name = source[: -len(".src.rpm")].rsplit("-", 2)[0]
    metadata = {"modularitylabel": tags[TAG_MODULARITYLABEL]} if tags.get(TAG_MODULARITYLABEL) else {}
    return Package(type=RPM, name=name, version=full, path=path, arch=str(tags.get(TAG_ARCH) or ""),
                   source_name=source_name if source_name != name else "",
                   licenses=[str(tags[TAG_LICENSE])] if tags.get(TAG_LICENSE) else [], metadata=metadata)


# -- the three container formats -------------------------------------------------------------------

def sqlite_blobs(data: bytes, what: str) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rpmdb.sqlite"
        path.write_bytes(data)
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
            rows = db.execute("SELECT blob FROM Packages").fetchall()
            db.close()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{what}: not a readable rpm SQLite database ({exc})") from exc
    for (blob,) in rows:
        if isinstance(blob, bytes):
            yield blob


def bdb_blobs(data: bytes, what: str) -> Iterator[bytes]:
    """Values of a Berkeley DB hash database (rpm stores each header in overflow pages)."""
    if len(data) < 512:
        raise CatalogError(f"{what}: Berkeley DB file too short")
    for endian in ("<", ">"):
        if struct.unpack_from(endian + "I", data, 12)[0] == 0x061561:  # hash database magic
            break
    else:
        raise CatalogError(f"{what}: not a Berkeley DB hash database (bad magic)")
    page_size = struct.unpack_from(endian + "I", data, 20)[0]
    last_page = struct.unpack_from(endian + "I", data, 32)[0]
    if page_size not in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536) or (last_page + 1) * page_size > len(data):
        raise CatalogError(f"{what}: Berkeley DB page size {page_size} / {last_page + 1} pages do not fit the file")

    def page(n: int) -> bytes:
        return data[n * page_size:(n + 1) * page_size]

    for n in range(1, last_page + 1):
        p = page(n)
        if p[25] not in (2, 13):  # P_HASH_UNSORTED, P_HASH
            continue
        entries = struct.unpack_from(endian + "H", p, 20)[0]
        if 26 + 2 * entries > page_size:
            raise CatalogError(f"{what}: Berkeley DB page {n} claims {entries} entries")
        for i in range(1, entries, 2):  # values follow keys
            offset = struct.unpack_from(endian + "H", p, 26 + 2 * i)[0]
            if offset + 12 > page_size or p[offset] != 3:  # H_OFFPAGE
                continue
            pgno, total = struct.unpack_from(endian + "II", p, offset + 4)
            if total > MAX_HEADER:
                raise CatalogError(f"{what}: header of {total} bytes refused")
            chunks, seen, size = [], set(), 0
            while pgno and size < total:
                if pgno in seen or pgno > last_page:
                    raise CatalogError(f"{what}: broken overflow chain at page {pgno}")
                seen.add(pgno)
                op = page(pgno)
                length = struct.unpack_from(endian + "H", op, 22)[0]  # hf_offset holds the byte count
                chunks.append(op[26:26 + length])
                size += length
                pgno = struct.unpack_from(endian + "I", op, 16)[0]  # next_pgno
            yield b"".join(chunks)[:total]


def ndb_blobs(data: bytes, what: str) -> Iterator[bytes]:
    """SUSE's NDB: a slot table (index, block offset, block count) and 16-byte aligned blobs."""
    if len(data) < 32 or data[:4] != b"RpmP":
        raise CatalogError(f"{what}: not an rpm NDB database (bad magic)")
    slot_pages = struct.unpack_from("<I", data, 12)[0]
    slots_end = slot_pages * 4096
    if slots_end > len(data) or slot_pages == 0:
        raise CatalogError(f"{what}: NDB slot table of {slot_pages} pages does not fit the file")
    for offset in range(32, slots_end, 16):  # the first 32 bytes are the header
        magic, index, block, _count = struct.unpack_from("<4sIII", data, offset)
        if magic != b"Slot" or index == 0:
            continue
        start = block * 16
        if start + 16 > len(data):
            raise CatalogError(f"{what}: NDB slot {index} points past the file")
        blob_magic, blob_index, _checksum, length = struct.unpack_from("<4sIII", data, start)
        if blob_magic != b"BlbS" or blob_index != index:
            raise CatalogError(f"{what}: NDB blob for package {index} is corrupt")
        if length > MAX_HEADER or start + 16 + length > len(data):
            raise CatalogError(f"{what}: NDB blob for package {index} runs past the file")
        yield data[start + 16:start + 16 + length]


class RpmCataloger:
    name = "rpm"
    version = CATALOGER_VERSIONS["rpm"]
    path_hint = r"/(?:rpmdb\.sqlite|Packages|Packages\.db)$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path in PATHS and size <= MAX_DB

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        data = file.read()
        what = file.path
        if file.path.endswith(".sqlite"):
            blobs = sqlite_blobs(data, what)
        elif file.path.endswith(".db"):
            blobs = ndb_blobs(data, what)
        else:
            blobs = bdb_blobs(data, what)
        packages = []
        for blob in blobs:
            pkg = package_from_header(parse_header(blob, what), file.path)
            if pkg:
                packages.append(pkg)
        return packages


CATALOGER = RpmCataloger()
