"""Just enough ELF to find a named section (Rust's .dep-v0). Hand-written: pyelftools would be
a dependency for ~40 lines, and only the section header table is needed."""

from __future__ import annotations

import struct

ELF_MAGIC = b"\x7fELF"


def find_section(data: bytes, wanted: str) -> bytes | None:
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
    if not shoff or shstrndx >= shnum or shoff + shnum * shentsize > len(data):
        return None

    def section(i: int) -> tuple[int, int, int]:
        base = shoff + i * shentsize
        if is64:
            name, _type, _flags, _addr, offset, size = struct.unpack_from(e + "IIQQQQ", data, base)
        else:
            name, _type, _flags, _addr, offset, size = struct.unpack_from(e + "IIIIII", data, base)
        return name, offset, size

    _, str_offset, str_size = section(shstrndx)
    names = data[str_offset:str_offset + str_size]
    for i in range(shnum):
        name_at, offset, size = section(i)
        end = names.find(b"\x00", name_at)
        if names[name_at:end].decode("ascii", "replace") == wanted:
            return data[offset:offset + size] if offset + size <= len(data) else None
    return None
