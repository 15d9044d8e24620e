"""Wolfi and Chainguard: apk images matched on origin packages against their own secdb (Alpine's
format, no release: both are rolling) and Chainguard's OSV advisories (CGA-…)."""

from __future__ import annotations

from pathlib import Path

from tests.scanner.distros.conftest import (
    FEEDS,
    PACKAGES_WOLFI,
    apk_installed,
    build_db,
    findings,
    os_image,
    scan_json,
)

PACKAGES = PACKAGES_WOLFI


def test_wolfi_image_against_the_wolfi_secdb(tmp_path: Path) -> None:
    db = build_db(tmp_path, {"/os/security.json": (FEEDS / "wolfi-secdb/security.json").read_bytes()},
                  {"wolfi": "/os/security.json"})
    image = os_image(tmp_path, "wolfi", {"lib/apk/db/installed": apk_installed(PACKAGES)})
    doc = scan_json(image, db, tmp_path)
    assert doc["os"]["id"] == "wolfi"
    assert findings(doc) == {
        ("CVE-2022-28391", "busybox", "1.35.0-r2", "1.35.0-r3"),
        ("CVE-2022-30065", "busybox", "1.35.0-r2", "1.35.0-r3"),
        ("CVE-2022-37434", "zlib", "1.2.12-r2", "1.2.12-r3"),
    }
    assert doc["coverage"]["complete"] and list(doc["coverage"]["covered"]) == ["wolfi"]


def test_chainguard_image_against_its_secdb_and_osv_advisories(tmp_path: Path) -> None:
    osv = FEEDS / "chainguard-osv"
    files = {"/chainguard/security.json": (FEEDS / "chainguard-secdb/security.json").read_bytes(),
             # the index lists three advisories; the two not published here are skipped, not fatal
             "/chainguard/osv/all.json": (osv / "all.json").read_bytes(),
             "/chainguard/osv/CGA-224q-ccj5-2p53.json": (osv / "CGA-224q-ccj5-2p53.json").read_bytes()}
    db = build_db(tmp_path, files, {"chainguard": "/chainguard/security.json", "chainguard-osv": "/chainguard/osv"})
    image = os_image(tmp_path, "chainguard", {"lib/apk/db/installed": apk_installed(PACKAGES)})
    doc = scan_json(image, db, tmp_path)
    assert findings(doc) == {
        ("CVE-2022-28391", "busybox", "1.35.0-r2", "1.35.0-r3"),
        ("CVE-2022-30065", "busybox", "1.35.0-r2", "1.35.0-r3"),
        ("CVE-2022-43551", "curl", "7.86.0-r0", "7.87.0-r0"),
        ("CVE-2022-43552", "curl", "7.86.0-r0", "7.87.0-r0"),
        ("CVE-2022-43551", "libcurl-openssl4", "7.86.0-r0", "7.87.0-r0"),
        ("CVE-2022-43552", "libcurl-openssl4", "7.86.0-r0", "7.87.0-r0"),
        ("CVE-2022-37434", "zlib", "1.2.12-r2", "1.2.12-r3"),
        ("CGA-224q-ccj5-2p53", "haproxy-2.8", "2.8.17-r0", "2.8.18-r0"),
    }
    cga = next(f for f in doc["findings"] if f["id"] == "CGA-224q-ccj5-2p53")
    assert "CVE-2025-32464" in cga["aliases"]  # its "upstream" ids
    assert doc["coverage"]["covered"]["chainguard"]["sources"] == ["chainguard", "chainguard-osv"]


def test_a_wolfi_image_without_wolfi_data_is_not_clean(tmp_path: Path) -> None:
    db = build_db(tmp_path, {"/chainguard/security.json": (FEEDS / "chainguard-secdb/security.json").read_bytes()},
                  {"chainguard": "/chainguard/security.json"})
    image = os_image(tmp_path, "wolfi", {"lib/apk/db/installed": apk_installed(PACKAGES)})
    from tests.scanner.distros.conftest import layerwatch

    result = layerwatch("scan", image, "--db", str(db), "--cache", str(tmp_path / "c.sqlite"))
    assert result.returncode == 2 and "layerwatch db update --source wolfi" in result.stderr
