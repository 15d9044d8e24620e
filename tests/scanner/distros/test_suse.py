"""SUSE Linux Enterprise: rpm images matched by binary package name against SUSE's OVAL, each fix
stored for the service pack its product criterion names."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from layerwatch_scanner.distros.suse.feed import release_of

from tests.scanner.distros.conftest import (
    FEEDS,
    PKGDB,
    build_db,
    findings,
    layerwatch,
    os_image,
    rpmdb_sqlite,
    scan_json,
)

OVAL = FEEDS / "suse-oval/suse.linux.enterprise.server.15-truncated.xml"


@pytest.fixture
def suse_db(tmp_path: Path) -> Path:
    path = "/pub/projects/security/oval/suse.linux.enterprise.server.15.xml.gz"
    return build_db(tmp_path, {path: gzip.compress(OVAL.read_bytes())}, {"suse": path})


def test_sles_15_kernel_fix_of_its_own_service_pack(suse_db: Path, tmp_path: Path) -> None:
    rpmdb = rpmdb_sqlite([("kernel-default", "0", "4.12.14", "150.70.1")])
    doc = scan_json(os_image(tmp_path, "sles-15", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), suse_db, tmp_path)
    # SLES 15 GA's fix (4.12.14-150.72.1), not SP1's (4.12.14-197.89.2)
    assert findings(doc) == {("CVE-2021-29154", "kernel-default", "4.12.14-150.70.1", "0:4.12.14-150.72.1")}
    assert doc["findings"][0]["severity"] == "High" and list(doc["coverage"]["covered"]) == ["sles:15.0"]


def test_a_service_pack_the_data_does_not_cover_is_not_clean(suse_db: Path, tmp_path: Path) -> None:
    """The real SLE 15 BCI rpmdb (NDB) on SP3, against data that covers only GA and SP1."""
    ndb = (PKGDB / "rpm/ndb/sle15-bci/var/lib/rpm/Packages.db").read_bytes()
    image = os_image(tmp_path, "sles-15.3", {"var/lib/rpm/Packages.db": ndb})
    result = layerwatch("scan", image, "--db", str(suse_db), "--cache", str(tmp_path / "c.sqlite"))
    assert result.returncode == 2 and "sles:15.3: the suse feed publishes no advisories for this release" in result.stderr


@pytest.mark.parametrize(("platform", "key"), [
    ("SUSE Linux Enterprise Server 15 SP3", "sles:15.3"),
    ("SUSE Linux Enterprise Module for Basesystem 15 SP3", "sles:15.3"),  # what BCI images are built from
    ("SUSE Linux Enterprise Server 15-LTSS", "sles:15.0"),
    ("SUSE Linux Enterprise Server for SAP Applications 15 SP1", "sles:15.1"),
    ("openSUSE Leap 15.2", "opensuse-leap:15.2"),
    ("SUSE Linux Micro 6.0", "sl-micro:6.0"),
    ("SUSE Linux Enterprise Module for Live Patching 15 SP1", None),
    ("SUSE Manager Proxy 4.3", None),
])
def test_product_names_to_releases(platform: str, key: str | None) -> None:
    assert release_of(platform) == key
