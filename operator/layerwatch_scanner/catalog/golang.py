"""Go binaries: modules and the Go version from the embedded build info.

Reads the `\\xff Go buildinf:` blob with inline strings (Go ≥ 1.18). Older binaries keep
pointers into the data segment instead; they are reported with a warning, not guessed at.
Hand-written: the format is two varint-prefixed strings, documented in debug/buildinfo.
"""

from __future__ import annotations

from ..errors import CatalogError
from ..match.versions.gotoolchain import to_module_version
from ..model import GOLANG, Package
from . import CATALOGER_VERSIONS

MAGIC = b"\xff Go buildinf:"
MAX_BINARY = 512 * 1024 * 1024
_SENTINEL_LEN = 16  # modinfo is wrapped in 16-byte markers


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            break
    raise CatalogError("corrupt varint in Go build info")


def _string(data: bytes, pos: int) -> tuple[str, int]:
    length, pos = _varint(data, pos)
    if pos + length > len(data):
        raise CatalogError("Go build info string runs past the file")
    return data[pos:pos + length].decode("utf-8", "replace"), pos + length


def is_executable(mode: int) -> bool:
    return bool(mode & 0o111)


class GoCataloger:
    name = "golang"
    version = CATALOGER_VERSIONS["golang"]
    path_hint = ""
    executables = True

    def wants(self, path: str, mode: int, size: int) -> bool:
        return is_executable(mode) and 4096 <= size <= MAX_BINARY and not path.endswith((".sh", ".py", ".pl"))

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        data = _buildinfo_region(file)
        if data is None:
            return []
        at = 0
        header = data[at:at + 32]
        if len(header) < 32:
            raise CatalogError(f"{file.path}: truncated Go build info")
        if not header[15] & 0x2:
            raise CatalogError(f"{file.path}: Go build info from before Go 1.18 (pointer format) is not read")
        try:
            go_version, pos = _string(data, at + 32)
            modinfo, _ = _string(data, pos)
        except CatalogError as exc:
            raise CatalogError(f"{file.path}: {exc}") from exc
        if len(modinfo) >= 2 * _SENTINEL_LEN:
            modinfo = modinfo[_SENTINEL_LEN:-_SENTINEL_LEN]
        return parse_modinfo(modinfo, go_version, file.path)


_EXECUTABLE_MAGIC = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
_CHUNK = 4 * 1024 * 1024
_REGION = 2 * 1024 * 1024  # build info: a 32-byte header and two strings, well under this


def _buildinfo_region(file) -> bytes | None:  # noqa: ANN001 - a CatalogFile, seekable when it has open()
    """The bytes from the build-info magic on, found by scanning the file in chunks: a large
    binary is never held whole in memory."""
    if not hasattr(file, "open"):
        data = file.read()
        at = data.find(MAGIC) if data.startswith(_EXECUTABLE_MAGIC) else -1
        return data[at:at + _REGION] if at >= 0 else None
    f = file.open()
    if not f.read(4).startswith(_EXECUTABLE_MAGIC):
        return None
    f.seek(0)
    offset, tail = 0, b""
    while chunk := f.read(_CHUNK):
        window = tail + chunk
        at = window.find(MAGIC)
        if at >= 0:
            f.seek(offset - len(tail) + at)
            return f.read(_REGION)
        tail = window[-len(MAGIC):]
        offset += len(chunk)
    return None


def parse_modinfo(modinfo: str, go_version: str, path: str) -> list[Package]:
    packages: list[Package] = []
    main = ""
    for line in modinfo.splitlines():
        fields = line.split("\t")
        if fields[0] == "mod" and len(fields) >= 3:
            main = fields[1]
            if fields[2] not in ("", "(devel)"):
                packages.append(Package(type=GOLANG, name=fields[1], version=fields[2], path=path,
                                        metadata={"main_module": True, "go_version": go_version}))
        elif fields[0] == "dep" and len(fields) >= 3:
            packages.append(Package(type=GOLANG, name=fields[1], version=fields[2], path=path,
                                    metadata={"go_version": go_version}))
        elif fields[0] == "=>" and len(fields) >= 3 and packages:
            # a replace directive: the code really linked is the replacement
            replaced = packages[-1]
            replaced.metadata["replaced"] = f"{replaced.name}@{replaced.version}"
            replaced.name, replaced.version = fields[1], fields[2]
    stdlib = to_module_version(go_version)
    if stdlib:
        # the standard library is a module too (GO-… advisories name it "stdlib")
        packages.append(Package(type=GOLANG, name="stdlib", version=stdlib, path=path,
                                metadata={"main_module_path": main, "go_version": go_version}))
    return packages


CATALOGER = GoCataloger()
