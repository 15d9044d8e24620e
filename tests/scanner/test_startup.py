"""What a fresh `layerwatch` process imports: start-up and warm rescans stay free of the heavy
libraries (their import alone cost more than the whole budget; benchmarks/scan.py has the times)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import FEEDS
from tests.support.images import Image, file, make_layer, write_oci_layout

NEVER_AT_START = ("typer", "click", "pydantic", "httpx", "rich", "cyclonedx", "kopf", "kubernetes", "fastapi",
                  "yaml", "packageurl")
NEVER_WARM = (*NEVER_AT_START, "packaging", "debian", "ijson", "zstandard", "concurrent.futures",
              "layerwatch_scanner.match.matcher", "layerwatch_scanner.layers.walk", "layerwatch_scanner.catalog.dpkg")


def _imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "layerwatch_scanner", *args],
                          capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    return names, proc


def _top(names: set[str], packages: tuple[str, ...]) -> set[str]:
    return {n for n in names if any(n == p or n.startswith(p + ".") for p in packages)}


def test_help_imports_none_of_the_heavy_libraries() -> None:
    names, proc = _imported("--help")
    assert proc.returncode == 0 and "Usage:" in proc.stdout
    assert not _top(names, NEVER_AT_START)


def test_a_warm_rescan_reads_caches_not_catalogers_or_matchers(tmp_path: Path) -> None:
    status = (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_bytes()
    os_release = (TESTDATA / "pkgdb/os-release/debian-10/etc/os-release").read_bytes()
    layout = write_oci_layout(tmp_path / "image", Image([make_layer([file("etc/os-release", os_release),
                                                                      file("var/lib/dpkg/status", status)])]))
    db = tmp_path / "db.sqlite"
    update = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "db", "update", "--db", str(db), "--source",
                             "debian", "--source-url", f"debian={(FEEDS / 'debian/vunnel-subset.json').as_uri()}"],
                            capture_output=True, text=True)
    assert update.returncode == 0, update.stderr
    scan = ["scan", f"oci-dir:{layout}", "--db", str(db), "--cache", str(tmp_path / "cache.sqlite")]
    cold, first = _imported(*scan, "-o", "json")
    assert first.returncode == 0, first.stderr[-2000:]
    assert _top(cold, ("layerwatch_scanner.layers.walk", "layerwatch_scanner.match.matcher"))  # it did the work
    for fmt in ("json", "table", "cyclonedx-json"):
        warm, again = _imported(*scan, "-o", fmt)
        assert again.returncode == 0, again.stderr[-2000:]
        assert not _top(warm, NEVER_WARM), fmt
        if fmt == "json":
            assert again.stdout == first.stdout  # the same report, from the caches


def test_a_warm_rescan_from_a_plain_registry_loads_no_tls_or_email(tmp_path: Path) -> None:
    """A local registry speaks plain HTTP: the transport then needs neither ssl nor the email
    package (http.client's header parser), about 30 ms of imports together."""
    from tests.support.scripted import Answer, ScriptedServer

    status = (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_bytes()
    image = Image([make_layer([file("var/lib/dpkg/status", status)])])
    routes = {"/v2/app/manifests/1": Answer(200, image.manifest_bytes(), {"Content-Type": image.media_type})}
    routes.update({f"/v2/app/blobs/{d}": Answer(200, data) for d, data in image.blobs().items()})
    db = tmp_path / "db.sqlite"
    update = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "db", "update", "--db", str(db), "--source",
                             "debian", "--source-url", f"debian={(FEEDS / 'debian/vunnel-subset.json').as_uri()}"],
                            capture_output=True, text=True)
    assert update.returncode == 0, update.stderr
    with ScriptedServer(routes) as registry:
        scan = ["scan", f"{registry.host}/app:1", "--db", str(db), "--cache", str(tmp_path / "cache.sqlite"),
                "--allow-missing-data", "-o", "json"]
        _, cold = _imported(*scan)
        assert cold.returncode == 0, cold.stderr[-2000:]
        registry.seen.clear()
        warm, again = _imported(*scan)
        assert again.returncode == 0 and again.stdout == cold.stdout
        assert not _top(warm, ("ssl", "http", "email", "base64", *NEVER_WARM))
        assert [s.path for s in registry.seen] == ["/v2/app/manifests/1"]  # the config came from the cache
