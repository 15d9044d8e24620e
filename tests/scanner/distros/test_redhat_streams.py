"""Red Hat update streams: an image whose content manifests name EUS repositories gets the EUS
stream's fixes (Red Hat's repository-to-cpe.json maps the repositories to `rhel_eus:9.0`), not
the newest RHEL 9 build; a CVE the stream has no word on is still judged by RHEL 9.

Real CSAF VEX document: CVE-2023-38545 (curl), fixed in `7.76.1-14.el9_0.9` for RHEL 9.0 EUS,
`7.76.1-23.el9_2.4` for 9.2 (published as `9.2.0.Z.MAIN.EUS` under the main CPE) and
`7.76.1-26.el9_3.2` for RHEL 9. Content manifests in the layout OSBS/Konflux write them
(atomic-reactor's content_manifest schema: metadata, content_sets, image_contents)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import zstandard
from layerwatch_scanner.distros.redhat.content_manifests import content_sets
from layerwatch_scanner.distros.redhat.feed import parse_repository_cpes, records_from_csaf
from layerwatch_scanner.errors import FeedError

from tests.scanner.distros.conftest import (
    FEEDS,
    PKGDB,
    build_db,
    findings,
    layerwatch,
    rpmdb_sqlite,
    scan_json,
)
from tests.support.images import Image, file, make_layer, write_oci_layout

RH = FEEDS / "redhat"
CVE = "CVE-2023-38545"
EUS_SETS = ["rhel-9-for-x86_64-appstream-eus-rpms", "rhel-9-for-x86_64-baseos-eus-rpms"]
GA_SETS = ["rhel-9-for-x86_64-appstream-rpms", "rhel-9-for-x86_64-baseos-rpms"]


def _manifest(sets: list[str]) -> bytes:
    return json.dumps({"metadata": {"icm_version": 1, "icm_spec": "https://raw.githubusercontent.com/"
                                    "containerbuildsystem/atomic-reactor/master/atomic_reactor/schemas/"
                                    "content_manifest.json", "image_layer_index": 1},
                       "content_sets": sets, "image_contents": []}).encode()


def _archive(*docs: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in docs:
            data = (RH / name).read_bytes()
            info = tarfile.TarInfo(f"2023/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return zstandard.ZstdCompressor().compress(raw.getvalue())


def _upstream(mapping: bool) -> dict[str, bytes]:
    files = {"/data/csaf/v2/vex/archive_latest.txt": b"csaf_vex_2024-08-04.tar.zst\n",
             "/data/csaf/v2/vex/csaf_vex_2024-08-04.tar.zst": _archive("cve-2023-38545.json"),
             "/data/csaf/v2/vex/changes.csv": b"", "/data/csaf/v2/vex/deletions.csv": b""}
    if mapping:
        files["/data/metrics/repository-to-cpe.json"] = (RH / "repository-to-cpe.json").read_bytes()
    return files


@pytest.fixture(scope="module")
def redhat_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_db(tmp_path_factory.mktemp("rh"), _upstream(True), {
        "redhat": "/data/csaf/v2/vex/archive_latest.txt", "redhat-repositories": "/data/metrics/repository-to-cpe.json"})


def _image(tmp_path: Path, name: str, curl: str, sets: list[str] | None) -> str:
    version, release = curl.split("-", 1)
    entries = [file("etc/os-release", (PKGDB / "os-release/rhel-9/etc/os-release").read_bytes()),  # VERSION_ID 9.0
               file("var/lib/rpm/rpmdb.sqlite", rpmdb_sqlite([("curl", "0", version, release)]))]
    if sets is not None:
        entries.append(file("root/buildinfo/content_manifests/ubi9-container-9.0.0-1.json", _manifest(sets)))
    return f"oci-dir:{write_oci_layout(tmp_path / name, Image([make_layer(entries)]))}"


def test_the_feed_keeps_each_update_stream_apart() -> None:
    doc = json.loads((RH / "cve-2023-38545.json").read_text())
    curl = {r.ecosystem: r.ranges[0].fixed for r in records_from_csaf(doc)
            if getattr(r, "package", "") == "curl" and r.ranges}
    assert curl == {"rhel:9": "7.76.1-26.el9_3.2", "rhel-eus:9.0": "7.76.1-14.el9_0.9",
                    "rhel-eus:9.2": "7.76.1-23.el9_2.4"}


def test_an_eus_image_gets_the_eus_fix(redhat_db: Path, tmp_path: Path) -> None:
    patched = scan_json(_image(tmp_path, "eus-patched", "7.76.1-14.el9_0.9", EUS_SETS), redhat_db, tmp_path)
    assert patched["os"]["content_sets"] == EUS_SETS
    assert findings(patched) == set()  # RHEL 9's newer build would call it vulnerable
    assert list(patched["coverage"]["covered"]) == ["rhel:9"] and patched["coverage"]["complete"]
    old = scan_json(_image(tmp_path, "eus-old", "7.76.1-14.el9_0.5", EUS_SETS), redhat_db, tmp_path)
    assert findings(old) == {(CVE, "curl", "7.76.1-14.el9_0.5", "7.76.1-14.el9_0.9")}


def test_without_manifests_or_on_ga_repositories_rhel9_judges(redhat_db: Path, tmp_path: Path) -> None:
    expected = {(CVE, "curl", "7.76.1-14.el9_0.9", "7.76.1-26.el9_3.2")}
    assert findings(scan_json(_image(tmp_path, "plain", "7.76.1-14.el9_0.9", None), redhat_db, tmp_path)) == expected
    assert findings(scan_json(_image(tmp_path, "ga", "7.76.1-14.el9_0.9", GA_SETS), redhat_db, tmp_path)) == expected


def test_a_stream_without_its_own_word_falls_back_to_the_release(redhat_db: Path, tmp_path: Path) -> None:
    # 9.4 EUS repositories on a 9.0 os-release name no 9.0 stream: RHEL 9's records judge
    image = _image(tmp_path, "other-minor", "7.76.1-14.el9_0.9", ["rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4"])
    doc = scan_json(image, redhat_db, tmp_path)
    assert findings(doc) == {(CVE, "curl", "7.76.1-14.el9_0.9", "7.76.1-26.el9_3.2")}
    assert any("repository-to-cpe" in w for w in doc["warnings"])  # not in the mapping: said so


def test_without_the_mapping_the_scan_says_so(tmp_path: Path) -> None:
    db = build_db(tmp_path, _upstream(False), {"redhat": "/data/csaf/v2/vex/archive_latest.txt"})
    doc = scan_json(_image(tmp_path, "eus", "7.76.1-14.el9_0.9", EUS_SETS), db, tmp_path)
    assert findings(doc) == {(CVE, "curl", "7.76.1-14.el9_0.9", "7.76.1-26.el9_3.2")}
    [warning] = [w for w in doc["warnings"] if "repository-to-cpe" in w]
    assert "redhat-repositories" in warning and "rhel:9" in warning


def test_content_manifests_malformed_and_hostile() -> None:
    good = "/root/buildinfo/content_manifests/a.json"
    assert content_sets({good: _manifest(["b", "a"]).decode()}) == (["a", "b"], [])
    sets, warnings = content_sets({good: "{not json", "/root/buildinfo/content_manifests/b.json": '{"content_sets": 3}',
                                   "/root/buildinfo/content_manifests/c.json": json.dumps({"content_sets": ["x" * 500]}),
                                   "/root/buildinfo/content_manifests/sub/d.json": _manifest(["ignored"]).decode(),
                                   "/usr/share/buildinfo/content_manifests/e.json": _manifest(["kept"]).decode()})
    assert sets == ["kept"] and len(warnings) == 3 and all("content_manifests/" in w for w in warnings)


def test_repository_mapping_malformed(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    for text, message in (("[1]", "no \"data\""), ("{", "not valid JSON")):
        bad.write_text(text)
        with pytest.raises(FeedError, match=message):
            list(parse_repository_cpes("https://x/repository-to-cpe.json", bad))
    bad.write_text(json.dumps({"data": {"a": {"cpes": "nope"}, "b": [], "c": {"cpes": ["cpe:/o:redhat:rhel_eus:9.0::baseos",
                                                                               7, "cpe:/a:redhat:3scale_amp:2.8::el8"]}}}))
    [entry] = parse_repository_cpes("https://x/repository-to-cpe.json", bad)
    assert (entry.key, entry.values) == ("c", ["cpe:/o:redhat:rhel_eus:9.0::baseos"])


def test_an_oversized_manifest_is_refused_with_a_warning(tmp_path: Path) -> None:
    entries = [file("etc/os-release", (PKGDB / "os-release/rhel-9/etc/os-release").read_bytes()),
               file("root/buildinfo/content_manifests/big.json", b" " * (1024 * 1024 + 1))]
    image = f"oci-dir:{write_oci_layout(tmp_path / 'big', Image([make_layer(entries)]))}"
    result = layerwatch("sbom", image, "-o", "json", "--cache", str(tmp_path / "c.sqlite"))
    assert result.returncode == 0, result.stderr
    assert "content_manifests/big.json is 1048577 bytes" in result.stderr + result.stdout
