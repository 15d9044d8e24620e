"""Software found in binaries no package manager installed: real byte snippets (syft's classifier
snippets and Debian 12 curl, tests/testdata/pkgdb/binaries/README.md), negative cases, and the
merge dropping a binary that an OS package installs."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.catalog.binaries import CATALOGER

from tests.conftest import TESTDATA
from tests.support.images import Image, file, make_layer, write_oci_layout

SNIPPETS = TESTDATA / "pkgdb/binaries"
MARKER = b"### byte snippet to follow ###\n"
EXECUTABLE = stat.S_IFREG | 0o755


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return data.split(MARKER, 1)[1] if MARKER in data else data


class _File:
    def __init__(self, path: str, data: bytes):
        self.path, self._data = path, data

    def read(self, n: int = -1) -> bytes:
        return self._data

    def open(self) -> io.BytesIO:
        return io.BytesIO(self._data)


def _catalog(path: str, data: bytes) -> list[tuple[str, str]]:
    if not CATALOGER.wants(path, EXECUTABLE, max(len(data), 4096)):
        return []
    return [(p.name, p.version) for p in CATALOGER.catalog(_File(path, data))]


CASES = [p for p in sorted(SNIPPETS.rglob("*")) if p.is_file() and p.parent.parent.parent.parent == SNIPPETS]
NAMES = {"postgres": "postgresql", "python-shared-lib": "python", "libcurl": "curl"}


@pytest.mark.parametrize("snippet", CASES, ids=[str(p.relative_to(SNIPPETS)) for p in CASES])
def test_each_snippet_names_its_software_and_version(snippet: Path) -> None:
    name, version = snippet.parts[-4], snippet.parts[-3]
    assert _catalog(f"/usr/local/bin/{snippet.name}", _bytes(snippet)) == [(NAMES.get(name, name), version)]


def test_a_version_string_across_two_reads_is_found() -> None:
    data = b"\x01" * ((1 << 20) - 10) + b"\x00nginx version: nginx/1.25.1\x00" + b"\x02" * 100
    assert _catalog("/usr/sbin/nginx", data) == [("nginx", "1.25.1")]


@pytest.mark.parametrize(("path", "data"), [
    ("/usr/local/bin/python3.11", b"\x00" + b"no version here" * 40 + b"\x00"),
    ("/usr/local/bin/python3.11", b"\x003.9.2\x00" + b"x" * 100),  # another series' string: not this interpreter
    ("/usr/local/bin/node", b"\x7fELF" + b"garbage" * 100),
    ("/bin/ls", _bytes(SNIPPETS / "negative/ls")),  # an executable no classifier names
])
def test_negative_cases(path: str, data: bytes) -> None:
    assert _catalog(path, data) == []


def test_java_release_file() -> None:
    release = b'IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="17.0.8.1"\nJAVA_RUNTIME_VERSION="17.0.8.1+1"\n'
    pkgs = CATALOGER.catalog(_File("/opt/java/openjdk/release", release))
    assert [(p.name, p.version, p.metadata["implementor"]) for p in pkgs] == [("java", "17.0.8.1", "Eclipse Adoptium")]


def test_binaries_an_os_package_installs_are_not_reported_twice(tmp_path: Path) -> None:
    status = (TESTDATA / "pkgdb/dpkg/debian-12-curl/var/lib/dpkg/status").read_bytes()
    os_release = (TESTDATA / "pkgdb/os-release/debian-12/etc/os-release").read_bytes()
    layer = make_layer([file("etc/os-release", os_release), file("var/lib/dpkg/status", status),
                        file("usr/bin/curl", _bytes(SNIPPETS / "curl/7.88.1/linux-amd64/curl"), mode=0o755),
                        file("opt/node/bin/node", _bytes(SNIPPETS / "node/19.2.0/linux-amd64/node"), mode=0o755)])
    image = write_oci_layout(tmp_path / "image", Image([layer]))
    result = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "sbom", f"oci-dir:{image}", "-o", "json",
                             "--cache", str(tmp_path / "c.sqlite")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    generic = [(p["name"], p["version"], p["purl"]) for p in json.loads(result.stdout)["packages"]
               if p["type"] == "generic"]
    # curl is Debian's curl package; Node.js in /opt is software dpkg does not know
    assert generic == [("node", "19.2.0", "pkg:generic/node@19.2.0")]
