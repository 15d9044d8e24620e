"""rpm databases in all three formats, checked against the rpm tool itself where it can read them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from layerwatch_scanner.catalog.rpm import CATALOGER, parse_header
from layerwatch_scanner.errors import CatalogError

from tests.conftest import TESTDATA
from tests.scanner.catalog.conftest import file_at

RPM = TESTDATA / "pkgdb/rpm"
SQLITE = RPM / "sqlite/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite"
BDB = RPM / "bdb/rhel8-libuuid/var/lib/rpm/Packages"
BDB_CENTOS = RPM / "bdb/centos8-dive/var/lib/rpm/Packages"
NDB = RPM / "ndb/sle15-bci/var/lib/rpm/Packages.db"


def rpm_query(db_file: Path, tmp_path: Path, backend: str = "") -> set[tuple[str, str]]:
    """What the rpm tool says is installed (Debian's rpm reads sqlite and bdb_ro)."""
    dbpath = tmp_path / "rpmdb"
    shutil.copytree(db_file.parent, dbpath)
    cmd = ["rpm", "--dbpath", str(dbpath), "-qa", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"]
    if backend:
        cmd[3:3] = ["--define", f"_db_backend {backend}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        name, evr = line.split(" ", 1)
        if not name.startswith("gpg-pubkey"):
            found.add((name, evr.removeprefix("0:")))
    return found


@pytest.mark.parametrize(("db", "path", "backend", "count"), [
    (SQLITE, "/var/lib/rpm/rpmdb.sqlite", "", 129),
    (BDB, "/var/lib/rpm/Packages", "bdb_ro", 1),
    (BDB_CENTOS, "/var/lib/rpm/Packages", "bdb_ro", 1),
])
def test_matches_the_rpm_tool(db: Path, path: str, backend: str, count: int, tmp_path: Path) -> None:
    packages = CATALOGER.catalog(file_at(path, db))
    assert len(packages) == count
    assert {(p.name, p.version) for p in packages} == rpm_query(db, tmp_path, backend)


def test_source_rpm_epoch_and_license() -> None:
    [uuid] = CATALOGER.catalog(file_at("/var/lib/rpm/Packages", BDB))
    assert (uuid.name, uuid.version, uuid.source_name, uuid.arch) == ("libuuid", "2.32.1-42.el8_8", "util-linux", "x86_64")
    mariner = {p.name: p for p in CATALOGER.catalog(file_at("/var/lib/rpm/rpmdb.sqlite", SQLITE))}
    assert all(":" not in p.version or p.version.split(":")[0].isdigit() for p in mariner.values())
    assert mariner["filesystem"].licenses == ["GPLv3"]


def test_ndb_format() -> None:
    packages = CATALOGER.catalog(file_at("/var/lib/rpm/Packages.db", NDB))
    # independent count: one "BlbS" blob per installed header
    assert len(packages) == NDB.read_bytes().count(b"BlbS")
    names = {p.name for p in packages}
    assert {"system-user-root", "filesystem"} <= names


@pytest.mark.parametrize("db", [SQLITE, BDB, NDB])
def test_truncated_and_corrupt_databases(db: Path) -> None:
    data = db.read_bytes()
    path = "/var/lib/rpm/" + db.name
    full = len(CATALOGER.catalog(file_at(path, data)))
    for bad in (data[: len(data) // 3], data[:100], b"\x00" * 4096):
        try:
            partial = CATALOGER.catalog(file_at(path, bad))
        except CatalogError as exc:
            assert path in str(exc)
        else:  # what survived is real packages, never more than the whole database
            assert all(p.type == "rpm" and p.name for p in partial) and len(partial) < full


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_header_parser_only_raises_catalog_errors(blob: bytes) -> None:
    try:
        parse_header(blob, "fuzz")
    except CatalogError:
        pass


def test_hostile_header_counts() -> None:
    import struct

    with pytest.raises(CatalogError, match="claims 4294967295 entries"):
        parse_header(struct.pack(">II", 0xFFFFFFFF, 0) + b"\x00" * 64, "/var/lib/rpm/Packages")
    evil = struct.pack(">II", 1, 4) + struct.pack(">iIII", 1000, 6, 10_000, 1) + b"abc\x00"
    with pytest.raises(CatalogError, match="points past the data"):
        parse_header(evil, "x")
