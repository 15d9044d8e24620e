"""dpkg: `/var/lib/dpkg/status` and distroless `/var/lib/dpkg/status.d/<name>` files.

Paragraphs are read as python-debian's deb822 parser reads them (deb822.py, a port of it).
"""

from __future__ import annotations

import re

from ..errors import CatalogError
from ..model import DEB, Package
from . import CATALOGER_VERSIONS
from .deb822 import Paragraph, iter_paragraphs

STATUS = "/var/lib/dpkg/status"
STATUS_D = "/var/lib/dpkg/status.d/"
MAX_STATUS_SIZE = 256 * 1024 * 1024
_SOURCE = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")


class DpkgCataloger:
    name = "dpkg"
    version = CATALOGER_VERSIONS["dpkg"]
    path_hint = r"^/var/lib/dpkg/status(?:$|\.d/)"

    def wants(self, path: str, mode: int, size: int) -> bool:
        if path == STATUS:
            return True
        return path.startswith(STATUS_D) and "/" not in path[len(STATUS_D):] and not path.endswith(".md5sums")

    def catalog(self, file) -> list[Package]:  # type: ignore[no-untyped-def]
        data = file.read()
        if b"\x00" in data[:4096]:
            raise CatalogError(f"{file.path}: binary data, not a dpkg status file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")  # very old status files predate UTF-8 descriptions
        packages = []
        for para in iter_paragraphs(text.splitlines(keepends=True)):
            pkg = _package(para, file.path)
            if pkg is not None:
                packages.append(pkg)
        if text.strip() and not packages and not _has_any_package_field(text):
            raise CatalogError(f"{file.path}: no 'Package:' paragraphs: not a dpkg status file")
        return packages


def _has_any_package_field(text: str) -> bool:
    return re.search(r"^Package:", text, re.MULTILINE) is not None


def _installed(status: str | None) -> bool:
    # "want flag state": the files are on disk when the state is "installed", whatever is wanted.
    # status.d files of distroless images carry no Status: they are installed by construction.
    if status is None:
        return True
    words = status.split()
    return len(words) == 3 and words[2] == "installed"


def _package(para: Paragraph, path: str) -> Package | None:
    name = (para.get("Package") or "").strip()
    version = (para.get("Version") or "").strip()
    if not name or not version or not _installed(para.get("Status")):
        return None
    source_name, source_version = "", ""
    source = (para.get("Source") or "").strip()
    if source:
        m = _SOURCE.match(source)
        if m:
            source_name = m.group("name")
            source_version = (m.group("version") or "").strip()
    metadata = {}
    # what it needs and provides, as names: "remove from the final image" advice needs to know
    # that nothing else depends on a build tool (match/remediation.py). Kept as one string each:
    # cheap to copy with the package.
    depends = _names(f"{para.get('Pre-Depends') or ''},{para.get('Depends') or ''}")
    provides = _names(para.get("Provides") or "")
    if depends:
        metadata["depends"] = ",".join(depends)
    if provides:
        metadata["provides"] = ",".join(provides)
    return Package(
        type=DEB,
        name=name,
        version=version,
        path=path,
        source_name=source_name if source_name != name else "",
        source_version=source_version if source_version != version else "",
        arch=(para.get("Architecture") or "").strip(),
        metadata=metadata,
    )


def _names(relations: str) -> list[str]:
    """Package names of a dependency field ("libc6 (>= 2.34), libgcc-s1 | libgcc1, perl:any")."""
    names = []
    for alternative in re.split(r"[,|]", relations):
        name = alternative.strip().split(" ", 1)[0].split("(", 1)[0].split(":", 1)[0].split("[", 1)[0]
        if name and name not in names:
            names.append(name)
    return names


CATALOGER = DpkgCataloger()
