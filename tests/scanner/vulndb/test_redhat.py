"""Red Hat CSAF VEX: per-product statuses on real documents, the archive + changes sync, and a
RHEL 9 rpm matched against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layerwatch_scanner.distros.redhat.feed import records_from_csaf
from layerwatch_scanner.errors import FeedError
from layerwatch_scanner.match.matcher import match_inventory
from layerwatch_scanner.model import Inventory, OSInfo, Package
from layerwatch_scanner.vulndb.store import VulnDB
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.support.feedserver import FeedServer

RH = TESTDATA / "feeds/redhat"


def records(name: str) -> dict:
    doc = json.loads((RH / name).read_text())
    return {(r.ecosystem, r.package): r for r in records_from_csaf(doc) if hasattr(r, "ecosystem")}


def test_fixed_affected_and_not_affected_per_rhel_release() -> None:
    openssl = records("cve-2024-0727.json")
    fixed = openssl[("rhel:9", "openssl")]
    assert (fixed.status, fixed.ranges[0].fixed, fixed.severity) == ("fixed", "1:3.0.7-27.el9", "Low")
    assert openssl[("rhel:8", "openssl")].status == "affected" and not openssl[("rhel:8", "openssl")].ranges
    curl = records("cve-2023-38545.json")
    assert curl[("rhel:9", "curl")].ranges[0].fixed == "7.76.1-26.el9_3.2" and curl[("rhel:9", "curl")].severity == "High"
    assert curl[("rhel:8", "curl")].status == "not-affected"
    assert not [k for k in curl if k[1] == "puppet-agent"]  # Satellite client streams are not RHEL releases


def test_rhel9_openssl_is_matched_on_its_source_rpm(tmp_path: Path) -> None:
    server = FeedServer(files={"/vex/archive_latest.txt": (RH / "index/archive_latest.txt").read_bytes(),
                               "/vex/changes.csv": (RH / "index/changes.csv").read_bytes(),
                               "/vex/deletions.csv": (RH / "index/deletions.csv").read_bytes()}).start()
    try:
        name = (RH / "index/archive_latest.txt").read_text().strip()
        server.files[f"/vex/{name}"] = (RH / "archive/csaf_vex_2023-10-31.tar.zst").read_bytes()
        db = tmp_path / "db.sqlite"
        report = update_db(db, ["redhat"], {"redhat": f"{server.url}/vex/archive_latest.txt"})
        assert not report.failed, report.failed
        assert ("/vex/changes.csv", "200") in server.requests and ("/vex/deletions.csv", "200") in server.requests
        synced = VulnDB.open(db)
        vim = synced.affected("rhel:7", "vim")  # from the archive: known_affected on RHEL 6 and 7
        assert [(r.vuln_id, r.status) for r in vim if r.vuln_id == "CVE-2023-0051"] == [("CVE-2023-0051", "affected")]
        assert [r.status for r in synced.affected("rhel:8", "vim") if r.vuln_id == "CVE-2023-0051"] == ["not-affected"]
        assert ("CVE-2023-0030", "not-affected") in {(r.vuln_id, r.status) for r in synced.affected("rhel:6", "kernel")}
    finally:
        server.stop()
    # the archive fixture is old; add the openssl document through the same parser for the match
    from layerwatch_scanner.vulndb.store import VulnDBWriter

    path = tmp_path / "openssl.sqlite"
    writer = VulnDBWriter(path)
    for record in records_from_csaf(json.loads((RH / "cve-2024-0727.json").read_text())):
        (writer.add_affected if hasattr(record, "ecosystem") else writer.add_info)(record)
    writer.close()
    libs = Package("rpm", "openssl-libs", "1:3.0.7-24.el9", "/var/lib/rpm/rpmdb.sqlite", source_name="openssl",
                   arch="x86_64", layer="sha256:" + "a" * 64)
    inventory = Inventory("ubi9", "sha256:" + "b" * 64, OSInfo("rhel", "9.3", id_like=["fedora"]), [libs], [libs.layer])
    [finding] = match_inventory(inventory, VulnDB.open(path))
    assert (finding.id, finding.fixed_version, finding.severity, finding.source) == (
        "CVE-2024-0727", "1:3.0.7-27.el9", "Low", "redhat")
    libs.version = "1:3.0.7-27.el9"
    assert match_inventory(inventory, VulnDB.open(path)) == []


def test_bad_index_and_archive(tmp_path: Path) -> None:
    from layerwatch_scanner.distros.redhat.feed import parse

    index = tmp_path / "archive_latest.txt"
    index.write_text("../../etc/passwd")
    with pytest.raises(FeedError, match="does not name"):
        list(parse(index.as_uri(), index))
    index.write_text("csaf_vex_2099-01-01.tar.zst")
    (tmp_path / "csaf_vex_2099-01-01.tar.zst").write_bytes(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(FeedError, match="corrupt archive"):
        list(parse(index.as_uri(), index))
