"""Java archives (.jar, .war, .ear): Maven coordinates from META-INF/maven/**/pom.properties,
else the manifest's Implementation/Bundle headers, else the file name; nested archives too.

Bounded against zip bombs: nesting depth, per-member and total uncompressed bytes.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile

from ..errors import CatalogError
from ..model import MAVEN, Package
from . import CATALOGER_VERSIONS

ARCHIVES = (".jar", ".war", ".ear", ".jpi", ".hpi")
MAX_ARCHIVE = 512 * 1024 * 1024
MAX_DEPTH = 3
MAX_MEMBER = 64 * 1024 * 1024
MAX_TOTAL = 256 * 1024 * 1024
_NAME_VERSION = re.compile(r"^(?P<name>[A-Za-z][\w.-]*?)-(?P<version>\d[\w.+-]*)$")


def _properties(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _manifest(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if line.startswith(" ") and last:  # continuation lines
            out[last] += line[1:]
        elif ":" in line:
            last, _, value = line.partition(":")
            out[last.strip()] = value.strip()
    return out


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_TOTAL

    def read(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> bytes:
        if info.file_size > MAX_MEMBER or info.file_size > self.left:
            raise CatalogError(f"{what}: {info.filename} claims {info.file_size} bytes uncompressed (zip bomb?)")
        data = archive.read(info)
        self.left -= len(data)
        return data


def _catalog_archive(data: bytes, path: str, depth: int, budget: _Budget) -> list[Package]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise CatalogError(f"{path}: not a readable Java archive ({exc})") from exc
    packages: list[Package] = []
    poms = [i for i in infos if i.filename.startswith("META-INF/") and i.filename.endswith("/pom.properties")]
    for info in poms:
        props = _properties(budget.read(archive, info, path).decode("utf-8", "replace"))
        if props.get("artifactId") and props.get("version"):
            packages.append(Package(type=MAVEN, name=props["artifactId"], namespace=props.get("groupId", ""),
                                    version=props["version"], path=path))
    if not packages:
        manifest = next((i for i in infos if i.filename.upper() == "META-INF/MANIFEST.MF"), None)
        headers = _manifest(budget.read(archive, manifest, path).decode("utf-8", "replace")) if manifest else {}
        stem = posixpath.basename(path.split("!")[-1]).rsplit(".", 1)[0]
        from_name = _NAME_VERSION.match(stem)
        name = (headers.get("Implementation-Title") or headers.get("Bundle-SymbolicName", "").split(";")[0]
                or (from_name.group("name") if from_name else ""))
        version = (headers.get("Implementation-Version") or headers.get("Bundle-Version")
                   or (from_name.group("version") if from_name else ""))
        if name and version:
            group = headers.get("Implementation-Vendor-Id", "")
            packages.append(Package(type=MAVEN, name=name, namespace=group, version=version, path=path,
                                    metadata={"from": "manifest" if manifest and headers else "filename"}))
    if depth < MAX_DEPTH:
        for info in infos:
            if info.filename.lower().endswith(ARCHIVES) and not info.is_dir():
                nested = budget.read(archive, info, path)
                packages.extend(_catalog_archive(nested, f"{path}!/{info.filename}", depth + 1, budget))
    return packages


class JavaCataloger:
    name = "java"
    version = CATALOGER_VERSIONS["java"]
    path_hint = r"(?i:\.(?:jar|war|ear|jpi|hpi))$"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.lower().endswith(ARCHIVES) and size <= MAX_ARCHIVE

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        return _catalog_archive(file.read(), file.path, 0, _Budget())


CATALOGER = JavaCataloger()
