"""Matching real inventories against databases built by the real feed updaters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.layers.cache import LayerCache
from layerwatch_scanner.match.matcher import match_inventory
from layerwatch_scanner.model import Inventory, OSInfo, Package
from layerwatch_scanner.rematching import rematch
from layerwatch_scanner.sources import open_source
from layerwatch_scanner.vex import apply_vex, load_vex
from layerwatch_scanner.vulndb.records import Affected, Range
from layerwatch_scanner.vulndb.store import VulnDB, VulnDBWriter
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import FEEDS, SOURCES, source_urls
from tests.support.cli import invoke
from tests.support.images import Image, file, make_layer, write_oci_layout

UBUNTU_STATUS = (TESTDATA / "pkgdb/dpkg/ubuntu-18.04/var/lib/dpkg/status").read_bytes()
UBUNTU_RELEASE = (TESTDATA / "pkgdb/os-release/ubuntu-18.04/etc/os-release").read_bytes()


@pytest.fixture
def db(feed_server, tmp_path: Path) -> Path:
    path = tmp_path / "vulndb.sqlite"
    assert not update_db(path, SOURCES, source_urls(feed_server)).failed
    return path


@pytest.fixture(scope="module")
def site_packages(tmp_path_factory) -> Path:
    """requests 2.25.0 and urllib3 1.26.4, really pip-installed."""
    root = tmp_path_factory.mktemp("py")
    target = root / "usr/local/lib/python3.11/site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    "requests==2.25.0", "urllib3==1.26.4"], check=True, capture_output=True)
    return root


def image_layout(tmp_path: Path, site_packages: Path) -> Path:
    base = make_layer([file("etc/os-release", UBUNTU_RELEASE), file("var/lib/dpkg/status", UBUNTU_STATUS)])
    app_files = [file(str(p.relative_to(site_packages)), p.read_bytes())
                 for p in site_packages.rglob("*") if p.is_file() and ".dist-info/" in str(p)]
    app_files.append(file("app/node_modules/lodash/package.json", '{"name": "lodash", "version": "4.17.15"}'))
    return write_oci_layout(tmp_path / "layout", Image([base, make_layer(app_files)]))


def test_findings_on_a_real_ubuntu_and_python_image(db: Path, tmp_path: Path, site_packages: Path) -> None:
    layout = image_layout(tmp_path, site_packages)
    inventory = build_inventory(open_source(f"oci-dir:{layout}"))
    findings = match_inventory(inventory, VulnDB.open(db))
    by = {(f.id, f.package): f for f in findings}
    tar = by[("CVE-2022-48303", "tar")]  # Ubuntu 18.04 record, matched on the source package
    assert (tar.version, tar.fixed_version, tar.source) == ("1.29b-2", "1.29b-2ubuntu0.4", "ubuntu")
    assert tar.severity == "Medium" and tar.cvss_score == 5.5  # no Ubuntu priority: CVSS decides
    assert tar.layer == inventory.layers[0] and "USN-5900-1" in tar.aliases
    requests = by[("PYSEC-2023-74", "requests")]
    assert (requests.version, requests.fixed_version) == ("2.25.0", "2.31.0")
    assert requests.layer == inventory.layers[1]
    urllib3 = [f for f in findings if f.package == "urllib3"]
    assert urllib3 and all(f.version == "1.26.4" for f in urllib3)
    # the glibc record is for Ubuntu Pro (ESM) only: a plain 18.04 glibc is not matched against it
    assert not [f for f in findings if f.package == "libc6" and f.id == "CVE-2016-20013"]


def test_not_affected_and_unfixed(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = VulnDBWriter(path)
    writer.add_affected(Affected("CVE-1", "debian:12", "openssl", "debian", status="not-affected"))
    writer.add_affected(Affected("CVE-2", "debian:12", "openssl", "debian", status="affected", severity="High"))
    writer.add_affected(Affected("CVE-3", "debian:12", "openssl", "debian", ranges=[Range(fixed="3.0.13-1~deb12u1")],
                                 severity="Critical"))
    writer.add_affected(Affected("CVE-4", "debian:12", "openssl", "debian", ranges=[Range(fixed="3.0.9-1")]))
    writer.close()
    pkg = Package(type="deb", name="libssl3", version="3.0.11-1~deb12u1", path="/var/lib/dpkg/status",
                  source_name="openssl", layer="sha256:" + "a" * 64)
    inventory = Inventory("img", "sha256:" + "b" * 64, OSInfo("debian", "12", "bookworm"), [pkg], [pkg.layer])
    findings = match_inventory(inventory, VulnDB.open(path))
    assert [(f.id, f.severity, f.fixed_version) for f in findings] == [
        ("CVE-3", "Critical", "3.0.13-1~deb12u1"), ("CVE-2", "High", "")]


def test_vex_suppresses_not_affected(tmp_path: Path) -> None:
    statements = load_vex(FEEDS / "vex/cve/2023/CVE-2023-38545.json")
    assert len(statements) == 1 and statements[0].justification == "vulnerable_code_not_present"
    path = tmp_path / "db.sqlite"
    writer = VulnDBWriter(path)
    writer.add_affected(Affected("CVE-2023-38545", "ubuntu-pro:14.04", "curl", "ubuntu", status="affected"))
    writer.close()
    pkg = Package(type="deb", name="curl", version="7.35.0-1ubuntu2.20+esm19", path="/var/lib/dpkg/status",
                  arch="amd64")
    inventory = Inventory("img", "sha256:" + "c" * 64, OSInfo("ubuntu", "14.04", "trusty"), [pkg], [])
    findings = match_inventory(inventory, VulnDB.open(path))
    assert [f.id for f in findings] == ["CVE-2023-38545"]
    kept, suppressed = apply_vex(findings, statements, "img", inventory.digest)
    assert kept == [] and suppressed[0].vex["justification"] == "vulnerable_code_not_present"
    findings[0].vex = {}
    findings[0].purl = "pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=amd64"  # a version the statement does not name
    assert apply_vex(findings, statements, "img", inventory.digest) == (findings, [])


def test_scan_cli_exit_codes_and_formats(db: Path, tmp_path: Path, site_packages: Path) -> None:
    layout = image_layout(tmp_path, site_packages)
    args = ["scan", f"oci-dir:{layout}", "--db", str(db), "--cache", str(tmp_path / "c.sqlite")]
    table = invoke(args)
    assert table.exit_code == 0, table.output
    assert "CVE-2022-48303" in table.stdout and "1.29b-2ubuntu0.4" in table.stdout
    assert "rebuild on a newer base image" in table.stdout and "upgrade in your Dockerfile" in table.stdout
    assert invoke([*args, "--fail-on", "high"]).exit_code == 1
    assert invoke([*args, "--fail-on", "critical", "-o", "json"]).exit_code in (0, 1)
    doc = json.loads(invoke([*args, "-o", "json", "--ignore-unfixed"]).stdout)
    assert doc["findings"] and all(f["fixed_version"] for f in doc["findings"])
    sarif = json.loads(invoke([*args, "-o", "sarif"]).stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    cdx_text = invoke([*args, "-o", "cyclonedx-json"]).stdout
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cdx_text) is None
    cdx = json.loads(cdx_text)
    assert any(v["id"] == "PYSEC-2023-74" for v in cdx["vulnerabilities"])
    refs = {c["bom-ref"] for c in cdx["components"]}
    assert all(a["ref"] in refs for v in cdx["vulnerabilities"] for a in v["affects"])
    missing = invoke(["scan", f"oci-dir:{layout}", "--db", str(tmp_path / "none.sqlite"), "--offline"])
    assert missing.exit_code == 2 and "layerwatch db import" in missing.stderr


def test_rematch_reports_gained_and_lost_findings(db: Path, tmp_path: Path, site_packages: Path) -> None:
    cache = LayerCache(tmp_path / "cache.sqlite")
    layout = image_layout(tmp_path, site_packages)
    inventory = build_inventory(open_source(f"oci-dir:{layout}"), cache=cache)
    empty = tmp_path / "empty.sqlite"
    VulnDBWriter(empty).close()
    first = rematch(cache, VulnDB.open(empty))
    assert first.diffs == [] and first.mode == "full"  # first match: nothing before, nothing now
    published = rematch(cache, VulnDB.open(db))  # the feeds "published" vulnerabilities
    assert published.mode == "delta" and published.changed_packages > 0
    [diff] = published.diffs
    assert diff.digest == inventory.digest and {"CVE-2022-48303", "PYSEC-2023-74"} <= {f.id for f in diff.added}
    assert rematch(cache, VulnDB.open(db)).diffs == []  # nothing changed since
    [back] = rematch(cache, VulnDB.open(empty)).diffs
    assert {f.id for f in back.removed} == {f.id for f in diff.added}


def test_unreadable_versions_are_reported_once_per_package_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = VulnDBWriter(path)
    for i in range(5):
        writer.add_affected(Affected(f"GHSA-{i}", "npm", "left-pad", "osv-npm", ranges=[Range(fixed="1.3.0")]))
    writer.add_affected(Affected("GHSA-odd", "npm", "lodash", "osv-npm", ranges=[Range(fixed="4.17.x")]))
    writer.add_affected(Affected("GHSA-ok", "npm", "lodash", "osv-npm", ranges=[Range(fixed="4.17.21")]))
    writer.close()
    odd = Package(type="npm", name="left-pad", version="1.2-beta", path="/app/node_modules/left-pad/package.json")
    lodash = Package(type="npm", name="lodash", version="4.17.15", path="/app/node_modules/lodash/package.json")
    inventory = Inventory("img", "sha256:" + "c" * 64, None, [odd, lodash], [])
    problems: list[str] = []
    findings = match_inventory(inventory, VulnDB.open(path), problems)
    assert [f.id for f in findings] == ["GHSA-ok"]
    assert sorted(problems) == [
        "GHSA-odd (osv-npm) for npm package lodash 4.17.15: not decided, invalid semver version '4.17.x'",
        "npm package left-pad: installed version '1.2-beta' is not a valid semver version; "
        "5 of 5 advisories could not be decided"]


V3_TABLES = """
CREATE TABLE packages (image TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL,
    scheme TEXT NOT NULL, module TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, layer TEXT NOT NULL,
    PRIMARY KEY (ecosystem, package, version, scheme, module, image, type, name, layer)) WITHOUT ROWID;
CREATE TABLE indexed (image TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE decisions (ecosystem TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL, scheme TEXT NOT NULL,
    module TEXT NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (ecosystem, package, version, scheme, module)) WITHOUT ROWID;
PRAGMA user_version = 3;
"""


def _publish(db: Path, fixed: str) -> None:
    writer = VulnDBWriter(db, in_place=True)
    writer.begin_source("injected")
    writer.delete_source("injected")
    writer.add_affected(Affected("CVE-2099-0002", "ubuntu:18.04", "tar", "injected", ranges=[Range(fixed=fixed)],
                                 severity="Critical"))
    writer.end_source(True)
    writer.close()


def test_rematch_command_prints_gained_altered_and_lost_findings(db: Path, tmp_path: Path,
                                                                 site_packages: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    inventory = build_inventory(open_source(f"oci-dir:{image_layout(tmp_path, site_packages)}"),
                                cache=LayerCache(cache_path))
    # a cache written by the previous schema: its index is rebuilt from the stored inventories
    import sqlite3

    old = sqlite3.connect(cache_path)
    old.executescript("DROP TABLE held; DROP TABLE decisions;" + V3_TABLES)
    old.close()
    args = ["rematch", "--db", str(db), "--cache", str(cache_path)]
    first = invoke(args)
    assert first.exit_code == 0 and "(full)" in first.stderr and "no image gained or lost findings" in first.stdout
    _publish(db, "9.9")
    gained = invoke(args)
    assert "re-matched 1 of 1 images (delta, 1 packages changed)" in gained.stderr
    assert f"({inventory.digest}): +1 -0\n" in gained.stdout
    assert "  + CVE-2099-0002 Critical in tar 1.29b-2, fixed in 9.9\n" in gained.stdout
    _publish(db, "9.8")
    assert "  ~ CVE-2099-0002 Critical in tar 1.29b-2, fixed in 9.8\n" in invoke(args).stdout
    writer = VulnDBWriter(db, in_place=True)
    writer.begin_source("injected")
    writer.delete_source("injected")
    writer.end_source(True)
    writer.close()
    lost = invoke(args).stdout
    assert ": +0 -1\n" in lost and "  - CVE-2099-0002 in tar 1.29b-2\n" in lost
    assert invoke(args).stdout == "no image gained or lost findings\n"
