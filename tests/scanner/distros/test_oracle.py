"""Oracle Linux: rpm images matched by binary package name against Oracle's ELSA OVAL (bzip2, as
linux.oracle.com publishes it), Ksplice packages as their own stream."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

from layerwatch_scanner.distros import for_os
from layerwatch_scanner.distros.oracle.feed import parse
from layerwatch_scanner.model import RPM, OSInfo, Package

from tests.scanner.distros.conftest import FEEDS, build_db, findings, layerwatch, rpmdb_sqlite
from tests.support.images import Image, file, make_layer, write_oci_layout

ELSA = FEEDS / "oracle-oval/ELSA-2007-0057.xml"


def test_oracle_linux_5_against_elsa(tmp_path: Path) -> None:
    db = build_db(tmp_path, {"/security/oval/com.oracle.elsa-all.xml.bz2": bz2.compress(ELSA.read_bytes())},
                  {"oracle": "/security/oval/com.oracle.elsa-all.xml.bz2"})
    rpmdb = rpmdb_sqlite([("bind", "30", "9.3.3", "7.el5"),  # fixed in 30:9.3.3-8.el5
                          ("bind-utils", "30", "9.3.3", "8.el5"),  # the fixed build
                          ("bind-libs", "29", "9.9.9", "1.el5")])  # a lower epoch: older whatever the version
    # Oracle Linux 5 has no os-release: /etc/oracle-release names it
    layer = make_layer([file("etc/oracle-release", b"Oracle Linux Server release 5.11\n"),
                        file("var/lib/rpm/rpmdb.sqlite", rpmdb)])
    image = f"oci-dir:{write_oci_layout(tmp_path / 'ol5', Image([layer]))}"
    result = layerwatch("scan", image, "--db", str(db), "--cache", str(tmp_path / "c.sqlite"), "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["os"]["id"] == "ol"
    assert findings(doc) == {("ELSA-2007-0057", "bind", "30:9.3.3-7.el5", "30:9.3.3-8.el5"),
                             ("ELSA-2007-0057", "bind-libs", "29:9.9.9-1.el5", "30:9.3.3-8.el5")}
    assert all(f["severity"] == "Medium" and f["aliases"] == ["CVE-2007-0493", "CVE-2007-0494"]
               for f in doc["findings"])
    assert list(doc["coverage"]["covered"]) == ["ol:5"] and not doc["coverage"]["notes"]  # its own data


def test_ksplice_fixes_are_a_stream_of_their_own(tmp_path: Path) -> None:
    # the real definition, moved to Oracle Linux 9 with a Ksplice build of bind-libs
    text = ELSA.read_text().replace("Oracle Linux 5", "Oracle Linux 9")
    test = text.index('<rpminfo_test id="oval:com.oracle.elsa:tst:20070057006"')
    end = text.index("</rpminfo_test>", test)
    text = text[:test] + text[test:end].replace("ste:20070057003", "ste:29999999999") + text[end:]
    text = text.replace("</states>", '<rpminfo_state xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux" '
                        'id="oval:com.oracle.elsa:ste:29999999999" version="501"><evr datatype="evr_string" '
                        'operation="less than">30:9.3.3-8.0.1.ksplice1.el9</evr></rpminfo_state></states>')
    doc = tmp_path / "elsa.xml"
    doc.write_text(text)
    records = {(r.ecosystem, r.package, r.ranges[0].fixed) for r in parse("https://x/elsa.xml", doc)}
    assert ("ol:9", "bind-libs+ksplice", "30:9.3.3-8.0.1.ksplice1.el9") in records
    assert ("ol:9", "bind", "30:9.3.3-8.el5") in records and ("ol:9", "bind-libs", "30:9.3.3-8.el5") not in records
    oracle = for_os("ol")
    os = OSInfo(id="ol", version_id="9.3")
    ksplice = Package(RPM, "glibc", "2.34-60.0.2.ksplice1.el9_1", "/var/lib/rpm/rpmdb.sqlite")
    plain = Package(RPM, "glibc", "2.34-60.0.2.el9_1", "/var/lib/rpm/rpmdb.sqlite")
    assert oracle.lookup(os, ksplice) == ("ol:9", "glibc+ksplice", "rpm")
    assert oracle.lookup(os, plain) == ("ol:9", "glibc", "rpm")
