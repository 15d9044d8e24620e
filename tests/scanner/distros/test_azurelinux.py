"""Azure Linux 3.0 and CBL-Mariner 2.0: rpm images matched on source packages against Microsoft's
OVAL files, one per release; Mariner from a real rpmdb.sqlite (CBL-Mariner 2.0, 129 packages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scanner.distros.conftest import FEEDS, PKGDB, build_db, findings, os_image, rpmdb_sqlite, scan_json

OVAL = FEEDS / "azurelinux-oval"


@pytest.fixture
def azure_db(tmp_path: Path) -> Path:
    files = {"/data/azurelinux-3.0-oval.xml": (OVAL / "azurelinux-3.0-oval-truncated.xml").read_bytes(),
             "/data/cbl-mariner-2.0-oval.xml": (OVAL / "cbl-mariner-2.0-oval-truncated.xml").read_bytes()}
    # cbl-mariner-1.0-oval.xml is not published here: an optional file, not a failure
    return build_db(tmp_path, files, {"azurelinux": "/data"})


def test_mariner_2_real_rpmdb(azure_db: Path, tmp_path: Path) -> None:
    rpmdb = (PKGDB / "rpm/sqlite/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite").read_bytes()
    doc = scan_json(os_image(tmp_path, "cbl-mariner-2.0", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), azure_db, tmp_path)
    assert doc["os"]["id"] == "mariner"
    # glibc 2.34-2.cm2 <= 2.35-4.cm2, the last affected version: no fix published
    assert findings(doc) == {("CVE-2023-0687", "glibc", "2.34-2.cm2", "")}
    assert doc["findings"][0]["severity"] == "Critical" and doc["findings"][0]["status"] == "affected"
    assert list(doc["coverage"]["covered"]) == ["mariner:2.0"]


def test_azure_linux_3(azure_db: Path, tmp_path: Path) -> None:
    rpmdb = rpmdb_sqlite([("freeglut", "0", "3.2.2", "2.azl3"), ("ceph", "0", "18.2.1", "1.azl3")])
    doc = scan_json(os_image(tmp_path, "azurelinux-3.0", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), azure_db, tmp_path)
    assert findings(doc) == {("CVE-2024-24258", "freeglut", "3.2.2-2.azl3", "0:3.4.0-1.azl3"),
                             ("CVE-2024-24259", "freeglut", "3.2.2-2.azl3", "0:3.4.0-1.azl3")}
    assert list(doc["coverage"]["covered"]) == ["azurelinux:3.0"]
