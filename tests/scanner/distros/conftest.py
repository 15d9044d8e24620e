"""Each distribution end to end: an image built from real package databases (or ones written from
a fixture feed's real package names and versions) with the distribution's os-release, a
database built by `layerwatch db update` from that distribution's fixture feed served in its
upstream layout, and `layerwatch scan -o json` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import TESTDATA
from tests.support.feedserver import FeedServer
from tests.support.images import Image, file, make_layer, write_oci_layout

PKGDB = TESTDATA / "pkgdb"
FEEDS = TESTDATA / "feeds"


# real Wolfi/Chainguard package names and versions around the fixes the fixture secdbs list
PACKAGES_WOLFI = [
    ("busybox", "1.35.0-r2", "busybox"),  # fixed in 1.35.0-r3: CVE-2022-28391, CVE-2022-30065
    ("curl", "7.86.0-r0", "curl"),  # Wolfi: fixed in 7.86.0-r0; Chainguard: 7.87.0-r0 fixes two more
    ("libcurl-openssl4", "7.86.0-r0", "curl"),  # a subpackage: matched on its origin
    ("coreutils", "9.1-r0", "coreutils"),  # secfix "0": never affected
    ("zlib", "1.2.12-r2", "zlib"),  # CVE-2022-37434 fixed in 1.2.12-r3, CVE-2018-25032 in 1.2.12-r0
    ("haproxy-2.8", "2.8.17-r0", "haproxy-2.8"),  # CGA-224q-ccj5-2p53 fixed in 2.8.18-r0 (Chainguard OSV)
]


def apk_installed(packages: list[tuple[str, str, str]]) -> bytes:
    """An apk `installed` database: (name, version, origin) per package."""
    return "".join(f"P:{name}\nV:{version}\nA:x86_64\no:{origin}\n\n" for name, version, origin in packages).encode()


def rpmdb_sqlite(packages: list[tuple[str, str, str, str]]) -> bytes:
    """A real rpm database (SQLite, as RHEL 9, Fedora and Amazon Linux 2023 keep it) holding
    (name, epoch, version, release) packages: built with rpmbuild and installed with
    `rpm --justdb`, the reference implementation."""
    with tempfile.TemporaryDirectory() as tmp:
        top, dbpath = Path(tmp) / "top", Path(tmp) / "var/lib/rpm"
        dbpath.mkdir(parents=True)
        for name, epoch, version, release in packages:
            spec = Path(tmp) / f"{name}.spec"
            spec.write_text(f"Name: {name}\nEpoch: {epoch}\nVersion: {version}\nRelease: {release}\nSummary: {name}\n"
                            f"License: MIT\nBuildArch: noarch\n%description\n{name}\n%files\n")
            subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", str(spec)], check=True,
                           capture_output=True)
        subprocess.run(["rpm", "--dbpath", str(dbpath), "--initdb"], check=True, capture_output=True)
        subprocess.run(["rpm", "--dbpath", str(dbpath), "-i", "--justdb", "--nodeps", "--noscripts",
                        *map(str, (top / "RPMS/noarch").glob("*.rpm"))], check=True, capture_output=True)
        return (dbpath / "rpmdb.sqlite").read_bytes()


def os_image(tmp_path: Path, release: str, db_files: dict[str, bytes]) -> str:
    entries = [file("etc/os-release", (PKGDB / f"os-release/{release}/etc/os-release").read_bytes())]
    entries += [file(path, data) for path, data in db_files.items()]
    return f"oci-dir:{write_oci_layout(tmp_path / release, Image([make_layer(entries)]))}"


def layerwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerwatch_scanner", *args], capture_output=True, text=True,
                          timeout=300)


def build_db(tmp_path: Path, files: dict[str, bytes] | Callable[[str], dict[str, bytes]],
             sources: dict[str, str]) -> Path:
    """`db update` of `sources` ({name: path on the feed server}) from `files` served over HTTP
    (or `files(server_url)`, for files that name the server)."""
    server = FeedServer().start()
    server.files.update(files(server.url) if callable(files) else files)
    try:
        db = tmp_path / "db.sqlite"
        cmd = ["db", "update", "--db", str(db)]
        for name, path in sources.items():
            cmd += ["--source", name, "--source-url", f"{name}={server.url}{path}"]
        result = layerwatch(*cmd)
        assert result.returncode == 0, result.stderr
        return db
    finally:
        server.stop()


def scan_json(image: str, db: Path, tmp_path: Path) -> dict:
    result = layerwatch("scan", image, "--db", str(db), "--cache", str(tmp_path / "cache.sqlite"), "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def findings(doc: dict) -> set[tuple[str, str, str, str]]:
    """(id, package, installed version, fixed version) of every finding."""
    return {(f["id"], f["package"], f["version"], f["fixed_version"]) for f in doc["findings"]}
