"""apk cataloger on real Alpine installed databases."""

from __future__ import annotations

import re

import pytest
from layerwatch_scanner.catalog.apk import CATALOGER, INSTALLED
from layerwatch_scanner.errors import CatalogError

from tests.conftest import TESTDATA
from tests.scanner.catalog.conftest import file_at

APK = TESTDATA / "pkgdb" / "apk"


def truth(path) -> set[tuple[str, str]]:
    """Independent reading: every record's P: and V: lines."""
    records = path.read_text().split("\n\n")
    found = set()
    for rec in records:
        name = re.search(r"^P:(.+)$", rec, re.M)
        version = re.search(r"^V:(.+)$", rec, re.M)
        if name and version:
            found.add((name.group(1), version.group(1)))
    return found


@pytest.mark.parametrize(("release", "count"), [("2.6", 13), ("3.7", 11), ("3.10", 14), ("3.16", 14), ("3.18", 15)])
def test_counts_and_versions(release: str, count: int) -> None:
    db = APK / f"alpine-{release}/lib/apk/db/installed"
    packages = CATALOGER.catalog(file_at(INSTALLED, db))
    assert len(packages) == count
    assert {(p.name, p.version) for p in packages} == truth(db)


def test_origin_arch_and_license() -> None:
    packages = {p.name: p for p in CATALOGER.catalog(file_at(INSTALLED, APK / "alpine-3.16/lib/apk/db/installed"))}
    data = packages["alpine-baselayout-data"]
    assert (data.source_name, data.arch, data.licenses) == ("alpine-baselayout", "x86_64", ["GPL-2.0-only"])
    assert packages["musl"].source_name == ""  # origin equals name


def test_edge_cases() -> None:
    invalid = CATALOGER.catalog(file_at(INSTALLED, APK / "edge-cases/installed-with-invalid-entry"))
    names = {p.name for p in invalid}
    assert "invalidPackageWithoutAVersion" not in names and {"musl", "busybox"} <= names
    extra = CATALOGER.catalog(file_at(INSTALLED, APK / "edge-cases/installed-extra-file-attributes"))
    assert extra and all(p.version for p in extra)


def test_hostile_input() -> None:
    with pytest.raises(CatalogError, match=INSTALLED):
        CATALOGER.catalog(file_at(INSTALLED, b"\x00\x00ELF"))
    with pytest.raises(CatalogError):
        CATALOGER.catalog(file_at(INSTALLED, b"no records here\n"))
    db = (APK / "alpine-3.18/lib/apk/db/installed").read_bytes()
    half = db[: len(db) // 2]
    complete = len(re.findall(rb"^V:", half, re.M))  # records whose name and version made it
    assert len(CATALOGER.catalog(file_at(INSTALLED, half))) == complete >= 3
