"""Amazon Linux 2 and 2023: rpm images matched by binary package name against the ALAS
updateinfo of each release, found as cdn.amazonlinux.com publishes it (mirror.list ->
repodata/repomd.xml -> updateinfo.xml.gz)."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from layerwatch_scanner.distros.amazon.feed import parse
from layerwatch_scanner.errors import FeedError

from tests.scanner.distros.conftest import FEEDS, build_db, findings, os_image, rpmdb_sqlite, scan_json

ALAS = FEEDS / "amazon-alas"


def _upstream(url: str) -> dict[str, bytes]:
    files = {}
    for release, mirror_list in (("al2", "/2/core/latest/x86_64/mirror.list"),
                                 ("al2023", "/al2023/core/mirrors/latest/x86_64/mirror.list")):
        files[mirror_list] = f"{url}/mirrors/{release}/\n".encode()
        files[f"/mirrors/{release}/repodata/repomd.xml"] = (ALAS / "repomd.xml").read_bytes()
        files[f"/mirrors/{release}/repodata/updateinfo.xml.gz"] = (ALAS / release / "updateinfo-subset.xml.gz").read_bytes()
    return files


@pytest.fixture
def amazon_db(tmp_path: Path) -> Path:
    return build_db(tmp_path, _upstream, {"amazon": ""})


def test_amazon_linux_2023(amazon_db: Path, tmp_path: Path) -> None:
    rpmdb = rpmdb_sqlite([("rsyslog", "0", "8.2204.0", "2.amzn2023.0.1"),  # fixed in 8.2204.0-3.amzn2023.0.2
                          ("rsyslog-doc", "0", "8.2204.0", "3.amzn2023.0.2"),  # already the fixed build
                          ("qemu-img", "10", "1.5.3", "140.amzn2"),  # an AL2 advisory: not for 2023
                          ])
    doc = scan_json(os_image(tmp_path, "amazonlinux-2023", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), amazon_db, tmp_path)
    assert doc["os"]["id"] == "amzn"
    assert findings(doc) == {("ALAS2023-2023-001", "rsyslog", "8.2204.0-2.amzn2023.0.1", "8.2204.0-3.amzn2023.0.2")}
    finding = doc["findings"][0]
    assert finding["severity"] == "High" and set(finding["aliases"]) == {"CVE-2014-3634", "CVE-2022-24903"}
    assert list(doc["coverage"]["covered"]) == ["amzn:2023"]


def test_amazon_linux_2_with_epochs(amazon_db: Path, tmp_path: Path) -> None:
    rpmdb = rpmdb_sqlite([("qemu-img", "10", "1.5.3", "140.amzn2"),  # 10:1.5.3-141.amzn2.5.3 fixes it
                          ("java-1.8.0-openjdk-headless", "1", "1.8.0.151", "5.b12.amzn2"),
                          ("qemu-kvm", "9", "2.0.0", "1.amzn2"),  # a lower epoch wins over any version
                          ("java-1.8.0-openjdk", "1", "1.8.0.161", "0.b14.amzn2")])  # fixed already
    doc = scan_json(os_image(tmp_path, "amazonlinux-2", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), amazon_db, tmp_path)
    assert findings(doc) == {
        ("ALAS2-2018-942", "qemu-img", "10:1.5.3-140.amzn2", "10:1.5.3-141.amzn2.5.3"),
        ("ALAS2-2018-942", "qemu-kvm", "9:2.0.0-1.amzn2", "10:1.5.3-141.amzn2.5.3"),
        ("ALAS2-2018-949", "java-1.8.0-openjdk-headless", "1:1.8.0.151-5.b12.amzn2", "1:1.8.0.161-0.b14.amzn2"),
    }


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "updateinfo.xml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("data", [
    b"<updates><update type='security'><id>ALAS2-2018-1",  # truncated
    b"\x1f\x8b\x08\x00garbage",  # a broken gzip
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    b'<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
    b'<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
    b"<updates><update type='security'><id>&h;</id></update></updates>",  # billion laughs
])
def test_malformed_and_hostile_updateinfo_is_a_feed_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(FeedError, match="not a readable updateinfo"):
        list(parse("https://mirror/updateinfo.xml", _write(tmp_path, data)))


def test_an_external_entity_is_never_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("ALAS2-2099-1")
    data = (f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            "<updates><update type='security'><id>&x;</id><pkglist><collection><package name='a' version='1' "
            "release='1' epoch='0'/></collection></pkglist></update></updates>").encode()
    try:
        records = list(parse("https://mirror/updateinfo.xml", _write(tmp_path, gzip.compress(data))))
    except FeedError:
        records = []
    assert all("2099" not in r.vuln_id for r in records)


def test_non_security_updates_and_unknown_ids_are_skipped(tmp_path: Path) -> None:
    root = ET.Element("updates")
    for kind, advisory in (("bugfix", "ALAS2-2020-1"), ("security", "FEDORA-2020-1"), ("security", "ALAS2-2020-2")):
        update = ET.SubElement(root, "update", type=kind)
        ET.SubElement(update, "id").text = advisory
        ET.SubElement(ET.SubElement(ET.SubElement(update, "pkglist"), "collection"), "package",
                      name="bash", epoch="0", version="4.2.46", release="34.amzn2")
    records = list(parse("https://mirror/u.xml", _write(tmp_path, ET.tostring(root))))
    assert [(r.vuln_id, r.ecosystem, r.ranges[0].fixed) for r in records] == [("ALAS2-2020-2", "amzn:2", "4.2.46-34.amzn2")]
