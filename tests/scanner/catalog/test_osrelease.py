"""OS detection on the real release files of ~60 distributions and versions."""

from __future__ import annotations

import pytest
from layerwatch_scanner.catalog.osrelease import OS_RELEASE_PATHS, detect_os, parse_os_release

from tests.conftest import TESTDATA

ROOT = TESTDATA / "pkgdb" / "os-release"

EXPECTED = [
    ("almalinux-8.4", "almalinux", "8.4", ""),
    ("almalinux-9.4", "almalinux", "9.4", ""),
    ("alpine-3.10", "alpine", "3.10.9", ""),
    ("alpine-3.15", "alpine", "3.15.0", ""),
    ("alpine-3.17", "alpine", "3.17.5", ""),
    ("alpine-3.18", "alpine", "3.18.4", ""),
    ("alpine-3.3", "alpine", "3.3.3", ""),
    ("alpine-edge", "alpine", "3.19_alpha20230901", ""),
    ("alpine-edge-3.22", "alpine", "3.22.0_alpha20250108", ""),
    ("amazonlinux-2", "amzn", "2", ""),
    ("amazonlinux-2023", "amzn", "2023", ""),
    ("arch", "arch", "", ""),
    ("azurelinux-3.0", "azurelinux", "3.0", ""),
    ("bottlerocket-1.34", "bottlerocket", "1.34.0", ""),
    ("cbl-mariner-2.0", "mariner", "2.0", ""),
    ("centos-6", "centos", "6.9", ""),  # only /etc/redhat-release
    ("centos-7", "centos", "7", ""),
    ("centos-8", "centos", "8", ""),  # only /usr/lib/os-release
    ("centos-stream-8", "centos", "8", ""),
    ("chainguard", "chainguard", "20230214", ""),
    ("debian-10", "debian", "10", "buster"),
    ("debian-11", "debian", "11", "bullseye"),
    ("debian-12", "debian", "12", "bookworm"),
    ("debian-6", "debian", "6", "squeeze"),  # only /etc/debian_version
    ("debian-7", "debian", "7", "wheezy"),
    ("debian-8", "debian", "8", "jessie"),
    ("debian-9", "debian", "9", "stretch"),
    ("debian-sid", "debian", "", "trixie"),
    ("distroless-debian-10", "debian", "10", "buster"),
    ("distroless-debian-11", "debian", "11", "bullseye"),
    ("distroless-debian-9", "debian", "9", "stretch"),
    ("fedora-31", "fedora", "31", ""),
    ("fedora-42", "fedora", "42", ""),
    ("hummingbird", "hummingbird", "20251124", ""),
    ("opensuse-leap-15.2", "opensuse-leap", "15.2", ""),
    ("opensuse-leap-42.3", "opensuse", "42.3", ""),
    ("opensuse-tumbleweed", "opensuse-tumbleweed", "20220412", ""),
    ("oraclelinux-7", "ol", "7.9", ""),  # only /etc/oracle-release
    ("oraclelinux-8", "ol", "8.9", ""),
    ("oraclelinux-8.10", "ol", "8.10", ""),
    ("oraclelinux-9", "ol", "9.3", ""),
    ("photon-4.0", "photon", "4.0", ""),
    ("raspbian-9", "raspbian", "9", "stretch"),
    ("rhel-7", "rhel", "7.7", ""),
    ("rhel-7.3", "rhel", "7.3", ""),
    ("rhel-8", "rhel", "8.1", ""),
    ("rhel-9", "rhel", "9.0", ""),
    ("rhel-9.4", "rhel", "9.4", ""),
    ("rocky-8.4", "rocky", "8.4", ""),
    ("rocky-9.3", "rocky", "9.3", ""),
    ("sl-micro-6.0", "sl-micro", "6.0", ""),
    ("sles-15", "sles", "15", ""),
    ("sles-15.3", "sles", "15.3", ""),
    ("ubuntu-14.04", "ubuntu", "14.04", "trusty"),  # codename only in lsb-release
    ("ubuntu-16.04", "ubuntu", "16.04", "xenial"),
    ("ubuntu-18.04", "ubuntu", "18.04", "bionic"),
    ("ubuntu-20.04", "ubuntu", "20.04", "focal"),
    ("ubuntu-22.04", "ubuntu", "22.04", "jammy"),
    ("ubuntu-23.10", "ubuntu", "23.10", "mantic"),
    ("wolfi", "wolfi", "20220914", ""),
]


def release_files(directory) -> dict[str, str]:
    files = {}
    for p in directory.rglob("*"):
        path = "/" + str(p.relative_to(directory))
        if p.is_file() and path in OS_RELEASE_PATHS:
            files[path] = p.read_text(errors="replace")
    return files


def test_every_fixture_directory_is_covered() -> None:
    dirs = {d.name for d in ROOT.iterdir()} - {"edge-cases", "busybox-no-os-release"}
    assert dirs == {row[0] for row in EXPECTED}


@pytest.mark.parametrize(("name", "os_id", "version", "codename"), EXPECTED, ids=[r[0] for r in EXPECTED])
def test_detects_os(name: str, os_id: str, version: str, codename: str) -> None:
    info = detect_os(release_files(ROOT / name))
    assert info is not None
    assert (info.id, info.version_id, info.version_codename) == (os_id, version, codename)


def test_distroless_is_flagged() -> None:
    assert detect_os(release_files(ROOT / "distroless-debian-11")).distroless
    assert not detect_os(release_files(ROOT / "debian-11")).distroless


def test_no_release_files_is_unknown() -> None:
    assert release_files(ROOT / "busybox-no-os-release") == {}
    assert detect_os({}) is None


@pytest.mark.parametrize("case", ["empty", "no-id"])
def test_edge_cases_without_an_id_are_unknown(case: str) -> None:
    assert detect_os(release_files(ROOT / "edge-cases" / case)) is None


def test_edge_case_without_version_keeps_the_id() -> None:
    info = detect_os(release_files(ROOT / "edge-cases" / "no-version"))
    assert info is not None and (info.id, info.version_id) == ("alpine", "")


def test_hostile_os_release_text_does_not_break_parsing() -> None:
    fields = parse_os_release('ID="unterminated\nVERSION_ID=\'1\nGARBAGE\x00LINE\n=novalue\nNAME="ok"\n')
    assert fields["NAME"] == "ok"
    assert detect_os({"/etc/os-release": "\x00\xff" * 1000}) is None
