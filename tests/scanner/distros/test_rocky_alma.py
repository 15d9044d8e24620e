"""Rocky Linux and AlmaLinux: rpm images matched by binary package name against their own errata
(RLSA, ALSA) from osv.dev's exports, not Red Hat's advisories."""

from __future__ import annotations

from pathlib import Path

from tests.scanner.distros.conftest import FEEDS, build_db, findings, os_image, rpmdb_sqlite, scan_json
from tests.scanner.feeds_support import zip_of


def test_rocky_linux_9_against_rlsa(tmp_path: Path) -> None:
    db = build_db(tmp_path, {"/Rocky%20Linux/all.zip": zip_of([FEEDS / "rocky-osv/RLSA-2024_3671.json"])},
                  {"rocky": "/Rocky%20Linux/all.zip"})
    rpmdb = rpmdb_sqlite([("ruby", "0", "3.3.0", "1.module+el9.4.0+20500+4c237fd3"),  # fixed in 3.3.1-2.module…
                          ("rubygem-pg", "0", "1.5.4", "1.module+el9.4.0+20787+4c237fd3"),  # the fixed build
                          ("avahi", "0", "0.8", "15.el9")])  # an AlmaLinux advisory: not Rocky's
    doc = scan_json(os_image(tmp_path, "rocky-9.3", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), db, tmp_path)
    assert findings(doc) == {("RLSA-2024:3671", "ruby", "3.3.0-1.module+el9.4.0+20500+4c237fd3",
                              "0:3.3.1-2.module+el9.4.0+20787+4c237fd3")}
    finding = doc["findings"][0]
    assert finding["severity"] == "Medium" and {"CVE-2024-27280", "CVE-2024-27282"} <= set(finding["aliases"])
    assert list(doc["coverage"]["covered"]) == ["rocky:9"] and not doc["coverage"]["notes"]


def test_almalinux_9_against_alsa(tmp_path: Path) -> None:
    db = build_db(tmp_path, {"/AlmaLinux/all.zip": zip_of([FEEDS / "alma-osv/almalinux9/ALSA-2024_2433.json"])},
                  {"almalinux": "/AlmaLinux/all.zip"})
    rpmdb = rpmdb_sqlite([("avahi", "0", "0.8", "15.el9"), ("avahi-libs", "0", "0.8", "15.el9"),
                          ("avahi-tools", "0", "0.8", "20.el9")])  # already fixed
    doc = scan_json(os_image(tmp_path, "almalinux-9.4", {"var/lib/rpm/rpmdb.sqlite": rpmdb}), db, tmp_path)
    assert findings(doc) == {("ALSA-2024:2433", "avahi", "0.8-15.el9", "0.8-20.el9"),
                             ("ALSA-2024:2433", "avahi-libs", "0.8-15.el9", "0.8-20.el9")}
    assert list(doc["coverage"]["covered"]) == ["almalinux:9"]
