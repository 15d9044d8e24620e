"""Refreshes after the first sync: nothing changed costs no rewrite; OSV and Red Hat apply only
what their change lists name since the last sync, in place, readers isolated."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from layerwatch_scanner.vulndb.store import VulnDB
from layerwatch_scanner.vulndb.update import update_db

from tests.scanner.feeds_support import FEEDS, zip_of
from tests.support.feedserver import FeedServer

PYPI = sorted((FEEDS / "osv-pypi").rglob("*.yaml"))
RH = FEEDS / "redhat"


def _osv_server() -> tuple[FeedServer, dict]:
    docs = {f.stem: yaml.safe_load(f.read_text()) for f in PYPI}
    stamps = "\n".join(f"2024-01-01T00:00:00Z,{osv_id}" for osv_id in sorted(docs)).encode()
    server = FeedServer(files={"/PyPI/all.zip": zip_of(PYPI, to_json=True), "/PyPI/modified_id.csv": stamps}).start()
    return server, docs


def _fixed(db: Path, package: str, vuln_id: str) -> list[str]:
    reader = VulnDB.open(db)
    try:
        return [r.ranges[-1].fixed for r in reader.affected("PyPI", package) if r.vuln_id == vuln_id]
    finally:
        reader.close()


def test_osv_refresh_fetches_only_the_records_modified_since_the_last_sync(tmp_path: Path) -> None:
    server, docs = _osv_server()
    db = tmp_path / "vulndb.sqlite"
    try:
        url = {"osv-pypi": f"{server.url}/PyPI/all.zip"}
        first = update_db(db, ["osv-pypi"], url)
        assert first.results[0].status == "updated" and _fixed(db, "requests", "PYSEC-2023-74") == ["2.31.0"]
        inode, build = db.stat().st_ino, VulnDB.open(db).build_key

        # nothing modified upstream: no record fetched, no rewrite, the match cache stays valid
        server.requests.clear()
        again = update_db(db, ["osv-pypi"], url)
        assert (again.results[0].status, again.results[0].records) == ("not-modified", first.results[0].records)
        assert [p for p, _ in server.requests] == ["/PyPI/modified_id.csv"]
        assert db.stat().st_ino == inode and VulnDB.open(db).build_key == build

        # one record modified: only it is downloaded and replaced, in place
        changed = dict(docs["PYSEC-2023-74"])
        changed["affected"] = [dict(changed["affected"][0], ranges=[
            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}])]
        server.files["/PyPI/PYSEC-2023-74.json"] = json.dumps(changed, default=str).encode()
        server.files["/PyPI/modified_id.csv"] = b"2024-06-01T00:00:00Z,PYSEC-2023-74\n" + \
            server.files["/PyPI/modified_id.csv"]
        server.requests.clear()
        delta = update_db(db, ["osv-pypi"], url)
        assert (delta.results[0].status, delta.results[0].changed) == ("updated", 1)
        assert "/PyPI/all.zip" not in [p for p, _ in server.requests]
        assert _fixed(db, "requests", "PYSEC-2023-74") == ["2.32.0"]
        assert _fixed(db, "requests", "PYSEC-2014-13") == ["2.3.0"]  # the others untouched
        assert db.stat().st_ino == inode and VulnDB.open(db).build_key != build
        assert VulnDB.open(db).metadata().sources["osv-pypi"].state == {"modified": "2024-06-01T00:00:00Z"}
    finally:
        server.stop()


def test_osv_ids_from_the_change_list_never_become_other_paths(tmp_path: Path) -> None:
    server, _ = _osv_server()
    db = tmp_path / "vulndb.sqlite"
    try:
        url = {"osv-pypi": f"{server.url}/PyPI/all.zip"}
        update_db(db, ["osv-pypi"], url)
        server.files["/PyPI/modified_id.csv"] = b"2025-01-01T00:00:00Z,../../etc/passwd\n" \
            b"2025-01-01T00:00:00Z,x/../y\n" + server.files["/PyPI/modified_id.csv"]
        server.requests.clear()
        report = update_db(db, ["osv-pypi"], url)
        assert not report.failed and [p for p, _ in server.requests] == ["/PyPI/modified_id.csv"]
    finally:
        server.stop()


def test_a_failed_incremental_refresh_keeps_every_previous_record(tmp_path: Path) -> None:
    server, _ = _osv_server()
    db = tmp_path / "vulndb.sqlite"
    try:
        url = {"osv-pypi": f"{server.url}/PyPI/all.zip"}
        update_db(db, ["osv-pypi"], url)
        before = VulnDB.open(db).count("osv-pypi")
        server.files["/PyPI/modified_id.csv"] = b"2025-01-01T00:00:00Z,PYSEC-2023-74\n"
        server.files["/PyPI/PYSEC-2023-74.json"] = b"{not json"
        report = update_db(db, ["osv-pypi"], url)
        assert report.failed and not report.installed  # the only source failed: nothing changed
        assert VulnDB.open(db).count("osv-pypi") == before
        assert _fixed(db, "requests", "PYSEC-2023-74") == ["2.31.0"]
    finally:
        server.stop()


def test_redhat_refresh_applies_changes_and_deletions_newer_than_the_last_sync(tmp_path: Path) -> None:
    name = (RH / "index/archive_latest.txt").read_text().strip()
    server = FeedServer(files={"/vex/archive_latest.txt": (RH / "index/archive_latest.txt").read_bytes(),
                               "/vex/changes.csv": (RH / "index/changes.csv").read_bytes(),
                               "/vex/deletions.csv": (RH / "index/deletions.csv").read_bytes(),
                               f"/vex/{name}": (RH / "archive/csaf_vex_2023-10-31.tar.zst").read_bytes()}).start()
    db = tmp_path / "vulndb.sqlite"
    try:
        url = {"redhat": f"{server.url}/vex/archive_latest.txt"}
        assert not update_db(db, ["redhat"], url).failed
        reader = VulnDB.open(db)
        assert not reader.affected("rhel:9", "openssl") and reader.affected("rhel:7", "vim")
        synced = reader.metadata().sources["redhat"].state["synced"]
        reader.close()
        # later: the openssl document changed, the vim CVE-2023-0051 document was deleted
        server.files["/vex/2024/cve-2024-0727.json"] = (RH / "cve-2024-0727.json").read_bytes()
        server.files["/vex/changes.csv"] = b'"2024/cve-2024-0727.json","2099-01-01T00:00:00+00:00"\n' + \
            server.files["/vex/changes.csv"]
        server.files["/vex/deletions.csv"] = b'"2023/cve-2023-0051.json","2099-01-02T00:00:00+00:00"\n' + \
            server.files["/vex/deletions.csv"]
        server.requests.clear()
        report = update_db(db, ["redhat"], url)
        assert not report.failed and report.results[0].changed == 2
        fetched = [p for p, _ in server.requests]
        assert f"/vex/{name}" not in fetched and "/vex/2024/cve-2024-0727.json" in fetched
        reader = VulnDB.open(db)
        assert [r.ranges[0].fixed for r in reader.affected("rhel:9", "openssl")] == ["1:3.0.7-27.el9"]
        assert not [r for r in reader.affected("rhel:7", "vim") if r.vuln_id == "CVE-2023-0051"]
        assert reader.metadata().sources["redhat"].state["synced"] > synced
    finally:
        server.stop()
