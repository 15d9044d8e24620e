"""Binaries matched against NVD's CPE ranges: real NVD CVE records (Heartbleed CVE-2014-0160 on
openssl, CVE-2023-38545 on libcurl, GHOST CVE-2015-0235 on glibc, which no classifier names)
served as the NVD API 2.0 answers per product query, and real byte snippets of curl 7.88.1 and
OpenSSL 3.1.4 / 1.1.1w in an image (tests/testdata/pkgdb/binaries/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from layerwatch_scanner.errors import FeedError
from layerwatch_scanner.feeds.nvd import PAGE, _products, listing, parse
from layerwatch_scanner.match.versions import compare

from tests.conftest import TESTDATA
from tests.scanner.distros.conftest import build_db, findings, layerwatch, scan_json
from tests.support.images import Image, file, make_layer, write_oci_layout

NVD = TESTDATA / "feeds/nvd/cve-records-2.0"
SNIPPETS = TESTDATA / "pkgdb/binaries"
MARKER = b"### byte snippet to follow ###\n"
API = "/rest/json/cves/2.0"


def _snippet(path: str) -> bytes:
    data = (SNIPPETS / path).read_bytes()
    return data.split(MARKER, 1)[1] if MARKER in data else data


def _nvd_api() -> dict[str, bytes]:
    """What the API answers to each product query layerwatch makes: the CVEs whose
    configurations name the product."""
    cves = [json.loads(p.read_text()) for p in sorted(NVD.glob("*.json"))]
    files = {}
    for vendor, product in _products():
        criteria = f"cpe:2.3:a:{vendor}:{product}:"
        hits = [c for c in cves if criteria in json.dumps(c.get("configurations"))]
        query = {"virtualMatchString": f"cpe:2.3:a:{vendor}:{product}"}
        count = {"resultsPerPage": 1, "startIndex": 0, "totalResults": len(hits), "vulnerabilities": []}
        files[f"{API}?{urlencode({**query, 'resultsPerPage': 1, 'startIndex': 0})}"] = json.dumps(count).encode()
        page = {"resultsPerPage": len(hits), "startIndex": 0, "totalResults": len(hits),
                "vulnerabilities": [{"cve": c} for c in hits]}
        files[f"{API}?{urlencode({**query, 'resultsPerPage': PAGE, 'startIndex': 0})}"] = json.dumps(page).encode()
    return files


@pytest.fixture(scope="module")
def nvd_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_db(tmp_path_factory.mktemp("nvd"), _nvd_api(), {"nvd": API})


def _image(tmp_path: Path, entries: list[dict]) -> str:
    return f"oci-dir:{write_oci_layout(tmp_path / 'img', Image([make_layer(entries)]))}"


def test_cpe_ranges_of_the_recognised_products() -> None:
    heartbleed = [r for r in parse("file://x", NVD / "CVE-2014-0160.json") if hasattr(r, "ecosystem")]
    assert [(r.package, r.ranges[0].introduced, r.ranges[0].fixed) for r in heartbleed] == [
        ("openssl", "1.0.1", "1.0.1g")]  # FileZilla, Siemens firmware...: no classifier names them
    assert not [r for r in parse("file://x", NVD / "CVE-2015-0235.json") if hasattr(r, "ecosystem")]  # glibc


def test_upstream_version_order() -> None:
    assert compare("upstream", "1.0.1f", "1.0.1g") < 0 and compare("upstream", "1.0.1", "1.0.1a") < 0
    assert compare("upstream", "3.0.0-alpha1", "3.0.0") < 0 and compare("upstream", "3.12.0rc1", "3.12.0") < 0
    assert compare("upstream", "1.1.1w", "1.1.1t") > 0 and compare("upstream", "7.88.1", "8.4.0") < 0


def test_a_libcurl_no_package_installed_is_matched(nvd_db: Path, tmp_path: Path) -> None:
    image = _image(tmp_path, [
        file("usr/local/lib/libcurl.so.4.8.0", _snippet("libcurl/7.88.1/linux-amd64/libcurl.so.4.8.0"), 0o755),
        file("usr/local/bin/openssl", _snippet("openssl/3.1.4/linux-amd64/openssl"), 0o755)])  # past Heartbleed
    doc = scan_json(image, nvd_db, tmp_path)
    assert findings(doc) == {("CVE-2023-38545", "curl", "7.88.1", "8.4.0")}
    [finding] = doc["findings"]
    assert finding["source"] == "nvd" and finding["severity"] == "Critical" and finding["cvss_score"] == 9.8
    assert doc["coverage"]["covered"]["generic"]["sources"] == ["nvd"]


def test_without_nvd_data_binaries_are_said_unchecked_without_blocking(tmp_path: Path) -> None:
    result = layerwatch("db", "update", "--db", str(tmp_path / "db.sqlite"), "--source", "nvd", "--source-url",
                        f"nvd=file://{NVD / 'CVE-2015-0235.json'}")  # glibc only: nothing for curl
    assert result.returncode == 0, result.stderr
    image = _image(tmp_path, [file("usr/local/lib/libcurl.so.4.8.0",
                                   _snippet("libcurl/7.88.1/linux-amd64/libcurl.so.4.8.0"), 0o755)])
    scan = layerwatch("scan", image, "--db", str(tmp_path / "db.sqlite"), "--cache", str(tmp_path / "c.sqlite"),
                      "-o", "json", "--fail-on", "low")
    assert scan.returncode == 0, scan.stderr
    doc = json.loads(scan.stdout)
    [gap] = doc["coverage"]["gaps"]
    assert (gap["ecosystem"], gap["blocking"]) == ("generic", False) and doc["findings"] == []
    assert "generic" in scan.stderr


def test_listing_pages_each_product() -> None:
    def get(url: str) -> bytes:
        total = 4500 if "openssl" in url else 0
        return json.dumps({"totalResults": total}).encode()

    pages = listing("https://nvd.example/rest/json/cves/2.0", get)
    assert [p.rsplit("startIndex=", 1)[1] for p in pages] == ["0", "2000", "4000"]
    assert all("openssl%3Aopenssl" in p for p in pages)
    assert listing("file:///x.json", get) == ["file:///x.json"]
    with pytest.raises(FeedError, match="unreadable"):
        listing("https://nvd.example/rest/json/cves/2.0", lambda url: b"[1]")
