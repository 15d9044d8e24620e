"""`layerwatch sbom` end to end on real archives: formats, purls, progress, errors."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.conftest import TESTDATA
from tests.support.cli import invoke

ALPINE = f"docker-archive:{TESTDATA}/images/docker-save/alpine-3.10.tar.gz"
NGINX = f"docker-archive:{TESTDATA}/images/docker-save/nginx-1.17-debian10-stripped.tar"


def run(*args: str, cache: Path) -> str:
    result = invoke(["sbom", *args, "--cache", str(cache)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_has_purls_and_layers(tmp_path: Path) -> None:
    doc = json.loads(run(NGINX, "-o", "json", cache=tmp_path / "c.sqlite"))
    assert doc["os"]["id"] == "debian" and len(doc["packages"]) == 84
    libc = next(p for p in doc["packages"] if p["name"] == "libc6")
    assert libc["purl"] == "pkg:deb/debian/libc6@2.28-10?arch=amd64&distro=debian-10&upstream=glibc"
    assert libc["layer"] == doc["layers"][0]


def test_cyclonedx_validates_against_the_schema(tmp_path: Path) -> None:
    text = run(ALPINE, "-o", "cyclonedx-json", cache=tmp_path / "c.sqlite")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    purls = {c.get("purl") for c in doc["components"]}
    assert "pkg:apk/alpine/musl@1.1.22-r3?arch=x86_64&distro=alpine-3.10.4" in purls
    assert len([c for c in doc["components"] if c["type"] == "library"]) == 14


def test_spdx_document(tmp_path: Path) -> None:
    doc = json.loads(run(ALPINE, "-o", "spdx-json", cache=tmp_path / "c.sqlite"))
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["dataLicense"] == "CC0-1.0"
    packages = doc["packages"]
    assert len(packages) == 15  # the image + 14 packages
    ids = {p["SPDXID"] for p in packages}
    assert len(ids) == 15
    assert all(r["relatedSpdxElement"] in ids for r in doc["relationships"])
    musl = next(p for p in packages if p["name"] == "musl")
    assert musl["licenseDeclared"] == "MIT" and musl["externalRefs"][0]["referenceType"] == "purl"


def test_table_and_file_output(tmp_path: Path) -> None:
    out = run(ALPINE, cache=tmp_path / "c.sqlite")
    assert "alpine 3.10.4, 14 packages" in out and "musl" in out
    target = tmp_path / "sbom.json"
    run(ALPINE, "-o", "json", "--file", str(target), cache=tmp_path / "c.sqlite")
    assert len(json.loads(target.read_text())["packages"]) == 14


def test_errors_are_clear_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "sbom", "docker-archive:/nope.tar"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "docker-archive:/nope.tar" in proc.stderr and "Traceback" not in proc.stderr
    result = invoke(["sbom", ALPINE, "-o", "xml"])
    assert result.exit_code != 0 and "unknown format" in result.output


def _run_in(tty: bool, tmp_path: Path) -> str:
    cmd = [sys.executable, "-m", "layerwatch_scanner", "sbom", ALPINE, "-o", "json", "--no-cache"]
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=follower, env={**os.environ, "COLUMNS": "100"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "piped"])
def test_progress_bar_only_on_a_terminal(tty: bool, tmp_path: Path) -> None:
    stderr = _run_in(tty, tmp_path)
    assert ("layers" in stderr) is tty
