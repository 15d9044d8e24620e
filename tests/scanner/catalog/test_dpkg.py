"""dpkg cataloger on real status files, checked against dpkg-query itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from layerwatch_scanner.catalog.dpkg import CATALOGER
from layerwatch_scanner.errors import CatalogError

from tests.conftest import TESTDATA
from tests.scanner.catalog.conftest import file_at

DPKG = TESTDATA / "pkgdb" / "dpkg"
STATUS = "/var/lib/dpkg/status"
FULL = ["ubuntu-10.04", "ubuntu-18.04", "ubuntu-18.04-texlive", "debian-10-nginx", "debian-12-sample"]


def dpkg_query_truth(status: Path, tmp_path: Path) -> set[tuple[str, str]]:
    """What dpkg itself says is installed (state "installed") in that status file."""
    admin = tmp_path / "admin"
    (admin / "updates").mkdir(parents=True)
    (admin / "info").mkdir()
    shutil.copy(status, admin / "status")
    out = subprocess.run(["dpkg-query", f"--admindir={admin}", "-W", "-f=${Package} ${Version} ${db:Status-Status}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {(n, v) for n, v, state in (line.split(" ") for line in out.splitlines()) if state == "installed"}


@pytest.mark.parametrize("distro", FULL)
def test_matches_dpkg_query(distro: str, tmp_path: Path) -> None:
    status = DPKG / distro / "var/lib/dpkg/status"
    packages = CATALOGER.catalog(file_at(STATUS, status))
    assert {(p.name, p.version) for p in packages} == dpkg_query_truth(status, tmp_path)
    assert len(packages) == len({p.name for p in packages})


def test_expected_counts() -> None:
    counts = {d: len(CATALOGER.catalog(file_at(STATUS, DPKG / d / "var/lib/dpkg/status"))) for d in FULL}
    # README counts paragraphs; ubuntu-18.04 has one package in state config-files (removed).
    assert counts == {"ubuntu-10.04": 140, "ubuntu-18.04": 90, "ubuntu-18.04-texlive": 357,
                      "debian-10-nginx": 84, "debian-12-sample": 7}


def test_source_and_epoch_fields() -> None:
    packages = {p.name: p for p in CATALOGER.catalog(file_at(STATUS, DPKG / "debian-10-nginx/var/lib/dpkg/status"))}
    libc = packages["libc6"]
    assert (libc.source_name, libc.version, libc.arch) == ("glibc", "2.28-10", "amd64")
    assert packages["diffutils"].version == "1:3.7-3"  # epoch kept in the version
    # "Source: name (version)" keeps the source version when it differs from the binary's (binNMU)
    ubuntu = {p.name: p for p in CATALOGER.catalog(file_at(STATUS, DPKG / "ubuntu-18.04/var/lib/dpkg/status"))}
    lzma = ubuntu["liblzma5"]
    assert (lzma.source_name, lzma.source_version, lzma.version) == (
        "xz-utils", "5.1.1alpha+20120614-2", "5.1.1alpha+20120614-2+b3")


def test_this_machines_own_status_file_matches_dpkg_query() -> None:
    packages = CATALOGER.catalog(file_at(STATUS, Path(STATUS)))
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Status}\n"],
                         capture_output=True, text=True, check=True).stdout
    truth = {(n, v) for n, v, s in (line.split(" ") for line in out.splitlines()) if s == "installed"}
    assert {(p.name, p.version) for p in packages} == truth


def test_status_field_filtering() -> None:
    packages = CATALOGER.catalog(file_at(STATUS, DPKG / "edge-cases/statusfield.status"))
    assert sorted(p.name for p in packages) == ["wantdeinstall_installed", "wantinstall_installed",
                                                "wantnostatus", "wantpurge_installed"]


def test_distroless_status_d() -> None:
    path = "/var/lib/dpkg/status.d/libsqlite3-0"
    assert CATALOGER.wants(path, 0o100644, 100)
    assert not CATALOGER.wants(path + ".md5sums", 0o100644, 100)
    assert not CATALOGER.wants("/var/lib/dpkg/status.d/sub/x", 0o100644, 100)
    [pkg] = CATALOGER.catalog(file_at(path, DPKG / "distroless-status.d/var/lib/dpkg/status.d/libsqlite3-0"))
    assert pkg.name == "libsqlite3-0" and pkg.source_name == "sqlite3"
    multiple = CATALOGER.catalog(file_at("/var/lib/dpkg/status.d/multiple", DPKG / "distroless-status.d-samples/multiple"))
    assert len(multiple) >= 2


def test_hostile_input() -> None:
    with pytest.raises(CatalogError, match="/var/lib/dpkg/status"):
        CATALOGER.catalog(file_at(STATUS, b"\x00\x01\x02binary"))
    with pytest.raises(CatalogError, match="not a dpkg status file"):
        CATALOGER.catalog(file_at(STATUS, b"just some text\nwithout fields\n"))
    # a huge description field and a truncated last paragraph: the complete packages survive
    text = (DPKG / "debian-10-nginx/var/lib/dpkg/status").read_bytes()
    huge = b"Package: big\nStatus: install ok installed\nVersion: 1\nDescription: " + b"x" * 5_000_000 + b"\n\n"
    truncated = text[: len(text) // 2]
    packages = CATALOGER.catalog(file_at(STATUS, huge + truncated))
    names = {p.name for p in packages}
    assert "big" in names and len(packages) >= 40
    assert CATALOGER.catalog(file_at(STATUS, b"")) == []
