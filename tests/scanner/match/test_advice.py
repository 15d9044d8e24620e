"""Advice beyond "upgrade": where each fix lives. A real Ubuntu 18.04 image's dpkg database (with
TeX Live and build-essential installed) split into a two-layer base and an application layer,
pushed to a real registry; the application image names its base with the OCI base annotations.
Findings in the base's layers say "rebuild on a newer base", the application layer's "upgrade",
and a compiler nothing else installed needs "remove from the final image"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.catalog.apk import CATALOGER as APK
from layerwatch_scanner.catalog.dpkg import CATALOGER as DPKG
from layerwatch_scanner.match.remediation import removable
from layerwatch_scanner.model import Inventory, OSInfo, Package
from layerwatch_scanner.vulndb.records import Affected, Range
from layerwatch_scanner.vulndb.store import VulnDBWriter
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.support.images import Image, file, make_layer, push
from tests.support.registry import start_registry

STATUS = TESTDATA / "pkgdb/dpkg/ubuntu-18.04-texlive/var/lib/dpkg/status"
OS_RELEASE = TESTDATA / "pkgdb/os-release/ubuntu-18.04/etc/os-release"
APP_ONLY = {"gcc-7", "libx11-6"}  # installed by the application layer


class _File:
    def __init__(self, path: str, data: bytes):
        self.path, self._data = path, data

    def read(self) -> bytes:
        return self._data


def _paragraphs() -> list[str]:
    return [p for p in STATUS.read_text().split("\n\n") if p.strip()]


def _status(paragraphs: list[str]) -> bytes:
    return ("\n\n".join(paragraphs) + "\n").encode()


def _inventory(packages: list[Package]) -> Inventory:
    return Inventory("x", "sha256:" + "0" * 64, OSInfo("ubuntu", "18.04"), packages, ["sha256:" + "1" * 64])


def test_build_tools_nothing_else_needs() -> None:
    packages = DPKG.catalog(_File("/var/lib/dpkg/status", STATUS.read_bytes()))
    gone = removable(_inventory(packages))
    assert {"gcc", "gcc-7", "g++", "make", "build-essential", "libc6-dev", "dpkg-dev", "git", "patch"} <= gone
    # gcc-8-base is a build tool by name, but libgcc1 (which the C library needs) depends on it
    assert "gcc-8-base" not in gone and "binutils-common" not in gone
    needs_make = Package("deb", "app-runner", "1", "/var/lib/dpkg/status", metadata={"depends": "make"})
    assert "make" not in removable(_inventory([*packages, needs_make]))


def test_apk_dependencies_and_provides() -> None:
    installed = (b"P:gcc\nV:12.2.1_git20220924-r4\nD:binutils so:libc.musl-x86_64.so.1\np:cmd:gcc=12.2.1\n\n"
                 b"P:binutils\nV:2.39-r2\nD:so:libc.musl-x86_64.so.1\n\n"
                 b"P:musl\nV:1.2.3-r4\np:so:libc.musl-x86_64.so.1=1\n\n"
                 b"P:make\nV:4.3-r1\np:cmd:make=4.3\n\n"
                 b"P:myapp\nV:1.0-r0\nD:cmd:make\n\n")
    packages = APK.catalog(_File("/lib/apk/db/installed", installed))
    assert {p.name: p.metadata.get("depends", "") for p in packages}["gcc"] == "binutils,so:libc.musl-x86_64.so.1"
    assert removable(_inventory(packages)) == {"gcc", "binutils"}  # make stays: myapp needs cmd:make


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("db") / "db.sqlite"
    assert not update_db(db, ["ubuntu"], {"ubuntu": (TESTDATA / "feeds/ubuntu/cve").as_uri()}).failed
    writer = VulnDBWriter(db, in_place=True)  # advisories for two packages of the application layer
    writer.begin_source("injected")
    writer.add_affected(Affected("CVE-2099-0101", "ubuntu:18.04", "gcc-7", "injected",
                                 ranges=[Range(fixed="7.5.0-3ubuntu1~18.04.9")], severity="High"))
    writer.add_affected(Affected("CVE-2099-0102", "ubuntu:18.04", "libx11", "injected",
                                 ranges=[Range(fixed="2:1.6.4-3ubuntu0.9")], severity="High"))
    writer.end_source(True)
    writer.close()
    return db


def _scan(ref: str, db: Path, tmp_path: Path, fmt: str = "json") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "layerwatch_scanner", "scan", f"registry:{ref}", "--db", str(db),
                           "--cache", str(tmp_path / f"cache-{fmt}-{ref.rsplit(':', 1)[-1]}.sqlite"), "-o", fmt],
                          capture_output=True, text=True, timeout=120)


def test_where_each_fix_lives(database: Path, tmp_path: Path) -> None:
    paragraphs = _paragraphs()
    base_only = [p for p in paragraphs if p.split("\n", 1)[0].removeprefix("Package: ") not in APP_ONLY]
    older_sudo = [p.replace("Version: 1.8.21p2-3ubuntu1.2", "Version: 1.8.21p2-3ubuntu1.1") for p in base_only]
    layer_os = make_layer([file("etc/os-release", OS_RELEASE.read_bytes()), file("var/lib/dpkg/status", _status(older_sudo))])
    layer_sudo = make_layer([file("var/lib/dpkg/status", _status(base_only))])  # the base's own sudo update
    layer_app = make_layer([file("var/lib/dpkg/status", _status(paragraphs))])
    registry = start_registry("plain", tmp_path / "registry")
    try:
        with registry.client() as client:
            base_digest = push(client, registry.base_url, "base/ubuntu", "18.04", Image([layer_os, layer_sudo]))
            annotated = Image([layer_os, layer_sudo, layer_app], annotations={
                "org.opencontainers.image.base.name": f"{registry.host}/base/ubuntu:18.04",
                "org.opencontainers.image.base.digest": base_digest})
            push(client, registry.base_url, "team/app", "annotated", annotated)
            push(client, registry.base_url, "team/app", "plain", Image([layer_os, layer_sudo, layer_app]))
        result = _scan(f"{registry.host}/team/app:annotated", database, tmp_path)
        assert result.returncode == 0, result.stderr
        doc = json.loads(result.stdout)
        assert doc["base"] == {"name": f"{registry.host}/base/ubuntu:18.04", "digest": base_digest, "layers": 2,
                               "from": "annotation"}
        advice = {f["package"]: f["advice"] for f in doc["findings"]}
        # CVE-2099-0101 is on the gcc-7 source: its compilers go, its runtime libraries (in the base) stay
        assert {k: advice[k] for k in ("tar", "sudo", "gcc-7", "g++-7", "cpp-7", "libasan4", "libx11-6")} == {
            "tar": "rebuild-base", "sudo": "rebuild-base", "gcc-7": "remove", "g++-7": "remove", "cpp-7": "remove",
            "libasan4": "rebuild-base", "libx11-6": "upgrade"}
        actions = {(a["action"], tuple(u["package"] for u in a["upgrades"])) for a in doc["remediation"]}
        assert ("upgrade", ("libx11-6",)) in actions
        assert {"gcc-7", "g++-7", "cpp-7"} <= {u for action, ups in actions if action == "remove" for u in ups}
        table = _scan(f"{registry.host}/team/app:annotated", database, tmp_path, "table").stdout
        assert f"(base {registry.host}/base/ubuntu:18.04): rebuild on a newer base image" in table
        removals = [line for line in table.splitlines() if "remove from the final image" in line]
        assert any(line.endswith("needs): gcc-7") for line in removals)  # the application layer's
        assert any("cpp-7, g++-7" in line for line in removals)  # the base's compilers, by their layer
        # without the annotations the base is its first layer: the base's sudo update reads as yours
        plain = json.loads(_scan(f"{registry.host}/team/app:plain", database, tmp_path).stdout)
        assert plain["base"] is None
        assert {f["package"]: f["advice"] for f in plain["findings"]}["sudo"] == "upgrade"
    finally:
        registry.stop()
