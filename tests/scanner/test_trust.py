"""Never a false "clean": the scan fails closed when the database cannot vouch for an image,
and the CLI keeps its contract (exit 0 clean, 1 gate failed, 2 any error, one line, no traceback).

Everything runs the real `layerwatch` process, as CI pipelines do, against databases built by
the real updaters from the fixture feeds (served over HTTP) and images built from real
package databases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.vulndb.records import Affected, Range
from layerwatch_scanner.vulndb.store import SourceMeta, VulnDBWriter
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import SOURCES, source_urls
from tests.support.images import Image, file, make_layer, write_oci_layout

PKGDB = TESTDATA / "pkgdb"
DEBIAN_STATUS = (PKGDB / "dpkg/debian-12-sample/var/lib/dpkg/status").read_bytes()


def layerwatch(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The console script as a user runs it (a fresh process)."""
    return subprocess.run([sys.executable, "-m", "layerwatch_scanner", *args], capture_output=True, text=True,
                          input=stdin, timeout=300)


def assert_clean_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def os_image(tmp_path: Path, name: str, release: str, db_files: dict[str, bytes]) -> str:
    entries = [file("etc/os-release", (PKGDB / f"os-release/{release}/etc/os-release").read_bytes())]
    entries += [file(path, data) for path, data in db_files.items()]
    return f"oci-dir:{write_oci_layout(tmp_path / name, Image([make_layer(entries)]))}"


@pytest.fixture
def debian_image(tmp_path: Path) -> str:
    return os_image(tmp_path, "debian", "debian-12", {"var/lib/dpkg/status": DEBIAN_STATUS})


@pytest.fixture
def full_db(feed_server, tmp_path: Path) -> Path:
    path = tmp_path / "full.sqlite"
    assert not update_db(path, SOURCES, source_urls(feed_server)).failed
    return path


@pytest.fixture
def pypi_only_db(feed_server, tmp_path: Path) -> Path:
    path = tmp_path / "pypi.sqlite"
    assert not update_db(path, ["osv-pypi"], source_urls(feed_server)).failed
    return path


def scan(image: str, db: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return layerwatch("scan", image, "--db", str(db), "--cache", str(tmp_path / "cache.sqlite"), *extra)


# -- db update ---------------------------------------------------------------------------------

def test_update_with_every_source_failing_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    result = layerwatch("db", "update", "--db", str(db), "--source", "debian", "--source", "osv-pypi",
                        "--source-url", "debian=http://127.0.0.1:9/json", "--source-url", "osv-pypi=http://127.0.0.1:9/z")
    assert_clean_error(result, "every source failed", "no database was created")
    assert "refused" in result.stdout  # each source's own line says why
    assert not db.exists() and list(tmp_path.iterdir()) == []  # no temporary file left either


def test_update_with_every_source_failing_keeps_the_database_in_service(full_db: Path) -> None:
    before = hashlib.sha256(full_db.read_bytes()).hexdigest()
    result = layerwatch("db", "update", "--db", str(full_db), "--source", "debian",
                        "--source-url", "debian=http://127.0.0.1:9/json")
    assert_clean_error(result, "every source failed", "unchanged")
    assert hashlib.sha256(full_db.read_bytes()).hexdigest() == before


def test_partial_failure_keeps_the_failed_sources_records_and_says_so(feed_server, full_db: Path) -> None:
    urls = source_urls(feed_server)
    result = layerwatch("db", "update", "--db", str(full_db), "--source", "debian", "--source", "osv-pypi",
                        "--source-url", f"osv-pypi={urls['osv-pypi']}", "--source-url", "debian=http://127.0.0.1:9/json")
    assert_clean_error(result, "1 source(s) failed (debian)", "were kept")
    debian_line = next(line for line in result.stdout.splitlines() if line.startswith("debian"))
    assert "kept" in debian_line and "refused" in debian_line
    count = sqlite3.connect(full_db).execute("SELECT count(*) FROM affected WHERE source='debian'").fetchone()[0]
    assert count > 0


# -- coverage ------------------------------------------------------------------------------------

def test_a_database_without_the_distribution_never_reports_clean(debian_image: str, pypi_only_db: Path,
                                                                  tmp_path: Path) -> None:
    result = scan(debian_image, pypi_only_db, tmp_path, "--fail-on", "low")
    assert_clean_error(result, "debian:12", "layerwatch db update --source debian", "--allow-missing-data")
    assert result.stdout == ""  # no report that a pipeline could read as clean
    allowed = scan(debian_image, pypi_only_db, tmp_path, "--allow-missing-data", "-o", "json")
    assert allowed.returncode == 0, allowed.stderr
    doc = json.loads(allowed.stdout)
    assert doc["coverage"]["complete"] is False
    [gap] = doc["coverage"]["gaps"]
    assert gap["kind"] == "missing-source" and gap["ecosystem"] == "debian:12" and gap["packages"] == 7
    assert "warning: debian:12" in allowed.stderr
    table = scan(debian_image, pypi_only_db, tmp_path, "--allow-missing-data")
    assert "coverage incomplete" in table.stdout and "NOT COVERED (missing-source)" in table.stdout


def test_an_empty_database_never_reports_clean(debian_image: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    VulnDBWriter(empty).close()
    assert_clean_error(scan(debian_image, empty, tmp_path, "--fail-on", "low"), "debian:12")


def test_a_covered_image_scans_with_its_coverage(debian_image: str, full_db: Path, tmp_path: Path) -> None:
    result = scan(debian_image, full_db, tmp_path, "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["coverage"]["complete"] is True
    assert doc["coverage"]["covered"]["debian:12"]["sources"] == ["debian"]
    assert "warning" not in result.stderr


@pytest.mark.parametrize(("release", "db_files", "what"), [
    ("opensuse-tumbleweed",
     {"var/lib/rpm/Packages": (PKGDB / "rpm/bdb/rhel8-libuuid/var/lib/rpm/Packages").read_bytes()},
     "opensuse-tumbleweed 20220412"),
    ("fedora-42", {"var/lib/rpm/Packages": (PKGDB / "rpm/bdb/rhel8-libuuid/var/lib/rpm/Packages").read_bytes()},
     "fedora 42"),
])
def test_a_distribution_no_feed_covers_is_unsupported_not_clean(release: str, db_files: dict, what: str,
                                                                full_db: Path, tmp_path: Path) -> None:
    image = os_image(tmp_path, release, release, db_files)
    assert_clean_error(scan(image, full_db, tmp_path), what, "no advisory feed of layerwatch covers")
    doc = json.loads(scan(image, full_db, tmp_path, "--allow-missing-data", "-o", "json").stdout)
    assert doc["coverage"]["gaps"][0]["kind"] == "unsupported-distribution"
    assert doc["findings"] == []


def test_a_relatives_data_is_named(tmp_path: Path) -> None:
    """CentOS is matched against Red Hat's advisories: the report says so."""
    db = tmp_path / "rhel.sqlite"
    writer = VulnDBWriter(db)
    writer.add_affected(Affected(vuln_id="CVE-2021-3999", ecosystem="rhel:7", package="util-linux", source="redhat",
                                 ranges=[Range(fixed="2.37.4-3.el8")], severity="Medium"))
    writer.set_source("redhat", SourceMeta(url="file:///x", records=1, last_success=_iso(dt.timedelta(hours=1))))
    writer.close()
    rpmdb = (PKGDB / "rpm/bdb/rhel8-libuuid/var/lib/rpm/Packages").read_bytes()
    image = os_image(tmp_path, "centos", "centos-7", {"var/lib/rpm/Packages": rpmdb})
    result = scan(image, db, tmp_path, "-o", "json")
    assert result.returncode == 0, result.stderr
    note = "centos 7 is matched against Red Hat's advisories"
    assert note in result.stderr and any(note in n for n in json.loads(result.stdout)["coverage"]["notes"])


def _iso(ago: dt.timedelta) -> str:
    return (dt.datetime.now(dt.UTC) - ago).isoformat(timespec="seconds")


def _age_source(db: Path, source: str, ago: dt.timedelta) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE sources SET last_success = ? WHERE name = ?", (_iso(ago), source))
    con.commit()
    con.close()


def test_stale_data_warns_then_fails(debian_image: str, full_db: Path, tmp_path: Path) -> None:
    _age_source(full_db, "debian", dt.timedelta(days=2))
    warned = scan(debian_image, full_db, tmp_path)
    assert warned.returncode == 0 and "debian data is 2.0 days old" in warned.stderr
    _age_source(full_db, "debian", dt.timedelta(days=10))
    assert_clean_error(scan(debian_image, full_db, tmp_path), "10.0 days old", "--max-db-age")
    assert scan(debian_image, full_db, tmp_path, "--max-db-age", "30d").returncode == 0
    assert_clean_error(scan(debian_image, full_db, tmp_path, "--max-db-age", "soon"), "--max-db-age")


def test_an_image_with_nothing_cataloged_gets_a_warning(full_db: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    result = scan(f"dir:{empty}", full_db, tmp_path, "-o", "json")
    assert result.returncode == 0
    assert "warning: nothing was cataloged" in result.stderr
    assert "nothing was cataloged" in json.loads(result.stdout)["coverage"]["notes"][0]


# -- malformed versions ---------------------------------------------------------------------------

def test_malformed_versions_are_counted_and_warned_never_dropped(debian_image: str, tmp_path: Path) -> None:
    db = tmp_path / "odd.sqlite"
    writer = VulnDBWriter(db)
    writer.add_affected(Affected(vuln_id="CVE-2099-0001", ecosystem="debian:12", package="acl",
                                 source="debian", ranges=[Range(fixed="a:bad")], severity="High"))
    writer.set_source("debian", SourceMeta(url="file:///x", records=1, last_success=_iso(dt.timedelta(hours=1)),
                                           malformed=1, malformed_samples=["CVE-2099-0001 acl: 'a:bad'"]))
    writer.close()
    result = scan(debian_image, db, tmp_path)
    assert result.returncode == 0
    assert "CVE-2099-0001 (debian) for deb package acl 2.3.1-3" in result.stderr and "epoch" in result.stderr
    status = layerwatch("db", "status", "--db", str(db))
    assert "1 versions its ecosystem's scheme cannot read" in status.stdout and "'a:bad'" in status.stdout


def test_db_update_counts_malformed_versions_per_source(tmp_path: Path) -> None:
    feed = tmp_path / "secdb"
    (feed / "v3.18").mkdir(parents=True)
    (feed / "v3.18/main.json").write_text(json.dumps({"distroversion": "v3.18", "packages": [
        {"pkg": {"name": "busybox", "secfixes": {"1.36.1-r1": ["CVE-2022-48174"], "1..2-x": ["CVE-2099-1"]}}}]}))
    db = tmp_path / "db.sqlite"
    result = layerwatch("db", "update", "--db", str(db), "--source", "alpine", "--source-url", f"alpine={feed.as_uri()}")
    assert result.returncode == 0, result.stderr
    assert "1 versions the scheme cannot read" in result.stdout
    assert "CVE-2099-1 busybox: '1..2-x'" in layerwatch("db", "status", "--db", str(db)).stdout


# -- the CLI contract ---------------------------------------------------------------------------

COMMANDS = [[], ["scan"], ["sbom"], ["rematch"], ["db"], ["db", "update"], ["db", "status"], ["db", "export"],
            ["db", "import"], ["db", "push"], ["db", "pull"], ["crds"], ["operator"], ["webhook"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "layerwatch")
def test_every_help_is_plain_text(command: list[str]) -> None:
    result = layerwatch(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:") and "Traceback" not in result.stdout + result.stderr


def test_exit_codes_are_documented() -> None:
    assert "1 the gate failed; 2 any error" in " ".join(layerwatch("--help").stdout.split())
    assert "Exit codes" in layerwatch("scan", "--help").stdout


@pytest.mark.parametrize("value", ["", "severe", " "])
def test_fail_on_refuses_empty_and_unknown_values(value: str, debian_image: str, full_db: Path,
                                                  tmp_path: Path) -> None:
    assert_clean_error(scan(debian_image, full_db, tmp_path, "--fail-on", value), "--fail-on", "not a severity")


def test_the_gate_is_exit_1_and_only_the_gate(full_db: Path, tmp_path: Path) -> None:
    status = (PKGDB / "dpkg/ubuntu-18.04/var/lib/dpkg/status").read_bytes()
    image = os_image(tmp_path, "ubuntu", "ubuntu-18.04", {"var/lib/dpkg/status": status})
    doc = json.loads(scan(image, full_db, tmp_path, "-o", "json").stdout)
    assert doc["findings"], "the fixture image must have findings for this test"
    ranks = ["Negligible", "Low", "Medium", "High", "Critical"]
    worst = doc["findings"][0]["severity"]
    assert scan(image, full_db, tmp_path, "--fail-on", worst.lower()).returncode == 1
    above = ranks[ranks.index(worst) + 1:] if worst in ranks else []
    for severity in above:
        assert scan(image, full_db, tmp_path, "--fail-on", severity).returncode == 0


def test_unwritable_outputs_are_clear_errors(debian_image: str, full_db: Path, tmp_path: Path) -> None:
    assert_clean_error(scan(debian_image, full_db, tmp_path, "--file", str(tmp_path / "no/such/dir/r.json")),
                       "--file", "does not exist")
    assert_clean_error(scan(debian_image, full_db, tmp_path, "--file", str(tmp_path)), "--file", "is a directory")
    assert_clean_error(layerwatch("db", "export", str(tmp_path / "missing/db.lwdb"), "--db", str(full_db)),
                       "does not exist")
    assert_clean_error(layerwatch("sbom", debian_image, "--file", str(tmp_path / "x/y.json")), "--file",
                       "does not exist")


def test_warnings_never_go_into_a_report_on_stdout(debian_image: str, full_db: Path, tmp_path: Path) -> None:
    _age_source(full_db, "debian", dt.timedelta(days=2))
    for fmt in ("json", "sarif", "cyclonedx-json"):
        result = scan(debian_image, full_db, tmp_path, "-o", fmt)
        json.loads(result.stdout)  # parseable: nothing else on stdout
        assert "warning:" in result.stderr
    out = tmp_path / "report.json"
    result = scan(debian_image, full_db, tmp_path, "-o", "json", "--file", str(out))
    assert result.stdout == "" and json.loads(out.read_text())["image"]


@pytest.mark.parametrize(("image", "needle"), [
    ("nonexistent.invalid/library/alpine:3", "DNS lookup failed"),
    ("127.0.0.1:9/library/alpine:3", "refused"),
])
def test_registry_failures_are_told_apart(image: str, needle: str, full_db: Path, tmp_path: Path) -> None:
    result = scan(image, full_db, tmp_path)
    assert_clean_error(result, needle)
    assert "TLS" not in result.stderr
