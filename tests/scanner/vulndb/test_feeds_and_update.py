"""Feed updaters on the real upstream files, served over HTTP in the upstream layout, and the
database update: atomic swap, conditional GET, failures keeping the previous data."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from layerwatch_scanner.distros.alpine import feed as alpine
from layerwatch_scanner.distros.debian import feed as debian
from layerwatch_scanner.errors import FeedError, VulnDBError
from layerwatch_scanner.feeds import kev, nvd, osv
from layerwatch_scanner.vulndb.records import (
    STATUS_AFFECTED,
    STATUS_FIXED,
    STATUS_NOT_AFFECTED,
    STATUS_WONT_FIX,
)
from layerwatch_scanner.vulndb.store import VulnDB
from layerwatch_scanner.vulndb.update import export_db, import_db, update_db

from tests.scanner.feeds_support import FEEDS, SOURCES, source_urls


@pytest.fixture
def db(feed_server, tmp_path: Path) -> Path:
    path = tmp_path / "vulndb.sqlite"
    report = update_db(path, SOURCES, source_urls(feed_server))
    assert not report.failed, report.failed
    return path


def test_debian_tracker_statuses() -> None:
    records = list(debian.parse("x", FEEDS / "debian/vuls-subset.json"))
    by = {(r.vuln_id, r.ecosystem): r for r in records}
    assert by[("CVE-2012-0833", "debian:11")].status == STATUS_NOT_AFFECTED  # fixed_version "0"
    fixed = by[("CVE-2016-5405", "debian:11")]
    assert (fixed.status, fixed.ranges[0].fixed, fixed.package) == (STATUS_FIXED, "1.3.5.15-1", "389-ds-base")
    assert by[("CVE-2016-5416", "debian:11")].status == STATUS_WONT_FIX  # <no-dsa> ignored
    assert by[("CVE-2016-5416", "debian:unstable")].status == STATUS_AFFECTED  # open in sid
    vunnel = {(r.vuln_id, r.ecosystem): r for r in debian.parse("x", FEEDS / "debian/vunnel-subset.json")}
    proto = vunnel[("CVE-2008-7220", "debian:9")]
    assert (proto.ranges[0].fixed, proto.severity) == ("1.6.0.2-1", "High")  # urgency "high**"


def test_alpine_secdb() -> None:
    records = list(alpine.parse("x", FEEDS / "alpine/v3.16/main.json"))
    apache = {r.vuln_id: r for r in records if r.package == "apache2"}
    assert apache["CVE-2017-9798"].ranges[0].fixed == "2.4.27-r1"
    assert all(r.ecosystem == "alpine:3.16" for r in records)
    with pytest.raises(FeedError, match="expected a secdb object"):
        list(alpine.parse("u", FEEDS / "kev/valid-catalog-1.json"))


def test_osv_ranges_withdrawn_and_ecosystems() -> None:
    doc = {"id": "GHSA-test", "withdrawn": "2024-01-01T00:00:00Z", "affected": []}
    assert list(osv.records_from_osv(doc, "ghsa")) == []
    assert osv.ecosystem_key("Ubuntu:Pro:18.04:LTS") == "ubuntu-pro:18.04"
    assert osv.ecosystem_key("Ubuntu:22.04:LTS") == "ubuntu:22.04"
    assert osv.ecosystem_key("Packagist") == "Packagist" and osv.ecosystem_key("Rocky Linux:9") == "rocky:9"
    assert osv.ecosystem_key("Hackage") is None and osv.ecosystem_key("SUSE:Linux Enterprise 15") is None
    tar = list(osv.records_from_osv(
        __import__("json").loads((FEEDS / "ubuntu/cve/2022/UBUNTU-CVE-2022-48303.json").read_text()), "ubuntu"))
    bionic = next(r for r in tar if getattr(r, "ecosystem", "") == "ubuntu:18.04")
    assert bionic.vuln_id == "CVE-2022-48303" and "UBUNTU-CVE-2022-48303" in bionic.aliases
    assert bionic.ranges[0].fixed == "1.29b-2ubuntu0.4" and "1.29b-2" in bionic.versions


def test_kev_and_nvd() -> None:
    ids = {r.vuln_id for r in kev.parse("x", FEEDS / "kev/valid-catalog-1.json")}
    assert "CVE-2025-0108" in ids and all(r.kev for r in kev.parse("x", FEEDS / "kev/valid-catalog-1.json"))
    log4shell = list(nvd.parse("x", FEEDS / "nvd/cves-CVE-2021-44228.json"))
    assert [(i.vuln_id, i.cvss_score, i.cvss_severity) for i in log4shell] == [("CVE-2021-44228", 10.0, "Critical")]
    assert list(nvd.parse("x", FEEDS / "nvd/cves-empty.json")) == []


def test_update_builds_every_source(db: Path) -> None:
    vulndb = VulnDB.open(db)
    meta = vulndb.metadata()
    assert set(meta.sources) == set(SOURCES)
    assert all(s.records > 0 and s.last_success for s in meta.sources.values())
    assert {"debian:9", "ubuntu:18.04", "ubuntu-pro:18.04", "alpine:3.16", "PyPI", "Go"} <= set(vulndb.ecosystems())
    requests = [r for r in vulndb.affected("PyPI", "requests") if r.vuln_id == "PYSEC-2023-74"]
    assert requests and requests[0].ranges[-1].fixed == "2.31.0"
    info = vulndb.info("CVE-2025-0108")
    assert info is not None and info.kev
    epss = vulndb.info("CVE-1999-0005")
    assert epss is not None and epss.epss == pytest.approx(0.91963)


def test_conditional_get_keeps_records_without_downloading(feed_server, db: Path) -> None:
    before = VulnDB.open(db).metadata()
    feed_server.requests.clear()
    report = update_db(db, ["debian", "kev"], source_urls(feed_server))
    assert {r.name: r.status for r in report.results} == {"debian": "not-modified", "kev": "not-modified"}
    assert ("/tracker/data/json", "304") in feed_server.requests
    after = VulnDB.open(db).metadata()
    assert after.sources["debian"].records == before.sources["debian"].records
    assert after.sources["ubuntu"].records == before.sources["ubuntu"].records  # untouched source carried over


@pytest.mark.parametrize("fault", ["status", "truncated"])
def test_failed_download_keeps_previous_data(feed_server, db: Path, fault: str) -> None:
    before = VulnDB.open(db).count("ubuntu")
    if fault == "status":
        feed_server.faults["/Ubuntu/all.zip"] = 500
    else:
        feed_server.files["/Ubuntu/all.zip"] += b"changed"  # new ETag, then cut in half on the wire
        feed_server.truncate.add("/Ubuntu/all.zip")
    report = update_db(db, ["ubuntu", "debian"], source_urls(feed_server))
    [failed] = report.failed
    assert failed.name == "ubuntu" and failed.status == "kept" and "ubuntu" in failed.error
    assert VulnDB.open(db).count("ubuntu") == before


def test_readers_keep_their_snapshot_while_an_update_commits(feed_server, db: Path) -> None:
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")
    count = reader.execute("SELECT count(*) FROM affected WHERE source = 'debian'").fetchone()[0]
    report = update_db(db, ["debian"], source_urls(feed_server) | {"debian": (FEEDS / "debian/vuls-subset.json").as_uri()})
    assert report.installed and not report.failed
    # the update was written in place and committed while the read was open: it saw none of it
    assert reader.execute("SELECT count(*) FROM affected WHERE source = 'debian'").fetchone()[0] == count
    reader.execute("COMMIT")
    assert VulnDB.open(db).count("debian") != count


def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "vulndb.sqlite"
    bad.write_bytes(b"not sqlite" * 100)
    with pytest.raises(VulnDBError, match="corrupt"):
        VulnDB.open(bad)
    with pytest.raises(VulnDBError, match="layerwatch db update"):
        VulnDB.open(tmp_path / "missing.sqlite")
    sqlite3.connect(tmp_path / "old.sqlite").execute("PRAGMA user_version = 99")
    with pytest.raises(VulnDBError, match="schema 99"):
        VulnDB.open(tmp_path / "old.sqlite")


def test_export_import_round_trip_and_corruption(db: Path, tmp_path: Path) -> None:
    export = tmp_path / "db.lwdb"
    digest = export_db(db, export)
    target = tmp_path / "imported.sqlite"
    assert import_db(export, target) == digest
    assert VulnDB.open(target).count() == VulnDB.open(db).count()
    blob = bytearray(export.read_bytes())
    blob[-100] ^= 0xFF
    export.write_bytes(bytes(blob))
    with pytest.raises(VulnDBError, match="current database is kept"):
        import_db(export, target)
    assert VulnDB.open(target).count() == VulnDB.open(db).count()


def test_hostile_feeds(tmp_path: Path) -> None:
    import zipfile

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("../../etc/evil.json", b'{"id": "X", "affected": "not a list"}')
        z.writestr("big.json", b" " * (70 * 1024 * 1024))
    with pytest.raises(FeedError, match="claims"):
        list(osv._parser("osv-pypi")("u", bomb))
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"pkg": {"CVE-1": {"releases": "nope"}}, "x": [1]}')
    assert list(debian.parse("u", wrong)) == []
    wrong.write_text("[1, 2]")
    with pytest.raises(FeedError, match="expected an object"):
        list(debian.parse("u", wrong))
    wrong.write_text('{"truncated": ')
    with pytest.raises(FeedError, match="not valid JSON"):
        list(debian.parse("u", wrong))


def test_feed_redirects_to_metadata_addresses_are_refused(tmp_path: Path) -> None:
    """A feed mirror (or a hijacked one) that redirects to the cloud metadata service gets nothing."""
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/iam")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        report = update_db(tmp_path / "db.sqlite", ["kev"], {"kev": f"http://127.0.0.1:{server.server_port}/kev.json"})
    finally:
        server.shutdown()
    [result] = report.results
    assert result.status == "failed" and "169.254.169.254" in result.error and "metadata" in result.error
    assert not report.installed and not (tmp_path / "db.sqlite").exists()


def test_a_feed_failing_halfway_leaves_no_half_feed_beside_the_previous_records(feed_server, db: Path,
                                                                                tmp_path: Path) -> None:
    """Records stream into the new file as they are parsed: a record that breaks late in the
    feed must take the rows already written with it, and the previous records come back."""
    import io
    import zipfile

    from tests.scanner.feeds_support import zip_of

    before = VulnDB.open(db)
    kept_ids = {r[0] for r in before._db.execute("SELECT vuln_id FROM affected WHERE source='ubuntu'")}
    count = before.count("ubuntu")
    good = sorted((FEEDS / "ubuntu/cve").rglob("*.json"))
    fresh = json.loads(good[0].read_text())
    fresh["id"] = "UBUNTU-CVE-2099-0001"  # a record the previous database does not have
    buf = io.BytesIO(zip_of(good))
    with zipfile.ZipFile(buf, "a") as archive:
        archive.writestr("AAAA-new.json", json.dumps(fresh))
        archive.writestr("ZZZZ-broken.json", "{not json")  # read last: fails after rows were written
    feed_server.files["/Ubuntu/all.zip"] = buf.getvalue()
    report = update_db(db, ["ubuntu"], source_urls(feed_server))
    [failed] = report.failed
    assert failed.status == "kept" and "ZZZZ-broken.json" in failed.error
    after = VulnDB.open(db)
    assert after.count("ubuntu") == count
    assert {r[0] for r in after._db.execute("SELECT vuln_id FROM affected WHERE source='ubuntu'")} == kept_ids


def test_file_feeds_are_read_in_place_and_left_alone(tmp_path: Path) -> None:
    feed = tmp_path / "kev.json"
    feed.write_bytes((FEEDS / "kev/valid-catalog-1.json").read_bytes())
    report = update_db(tmp_path / "db.sqlite", ["kev"], {"kev": feed.as_uri()})
    assert report.installed and not report.failed
    assert feed.read_bytes() == (FEEDS / "kev/valid-catalog-1.json").read_bytes()
