"""Just enough ELF to find a named section (Rust's .dep-v0). Hand-written: pyelftools would be
a dependency for ~40 lines, and only the section header table is needed."""

from __future__ import annotations

import io
import struct
from typing import IO

ELF_MAGIC = b"\x7fELF"


def find_section(source: bytes | IO[bytes], wanted: str) -> bytes | None:
    """The content of a named section, reading only the headers and that section when given a
    seekable file (a large binary is never loaded whole)."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    source.seek(0, io.SEEK_END)
    size = source.tell()

    def read(offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > size:
            return b""
        source.seek(offset)
        return source.read(length)

    data = read(0, 64)
    if len(data) < 64 or data[:4] != ELF_MAGIC:
        return None
    is64, little = data[4] == 2, data[5] == 1
    e = "<" if little else ">"
    if is64:
        shoff, = struct.unpack_from(e + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(e + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x2E)
    table = read(shoff, shnum * shentsize)
    if not shoff or shstrndx >= shnum or len(table) < shnum * shentsize or shentsize < (64 if is64 else 40):
        return None

    def section(i: int) -> tuple[int, int, int]:
        if is64:
            name, _type, _flags, _addr, offset, length = struct.unpack_from(e + "IIQQQQ", table, i * shentsize)
        else:
            name, _type, _flags, _addr, offset, length = struct.unpack_from(e + "IIIIII", table, i * shentsize)
        return name, offset, length

    _, str_offset, str_size = section(shstrndx)
    names = read(str_offset, min(str_size, 1 << 20))
    for i in range(shnum):
        name_at, offset, length = section(i)
        end = names.find(b"\x00", name_at)
        if end > name_at and names[name_at:end].decode("ascii", "replace") == wanted:
            return read(offset, min(length, 64 * 1024 * 1024)) or None
    return None
