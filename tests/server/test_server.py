"""`layerwatch server` as CI uses it: a real uvicorn process, `layerwatch scan --server` against
it, the same image scanned locally with the same database; refusals for missing tokens,
oversized and malformed bodies."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import FEEDS
from tests.support.images import Image, file, make_layer, write_oci_layout

LW = [sys.executable, "-m", "layerwatch_scanner"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("server")
    db = tmp / "db.sqlite"
    update = subprocess.run([*LW, "db", "update", "--db", str(db), "--source", "ubuntu", "--source-url",
                             f"ubuntu={(FEEDS / 'ubuntu/cve').as_uri()}"], capture_output=True, text=True)
    assert update.returncode == 0, update.stderr
    token = tmp / "token"
    token.write_text("s3cret-token\n")
    port = _port()
    env = {**os.environ, "LAYERWATCH_CACHE_DIR": str(tmp / "server-cache")}
    proc = subprocess.Popen([*LW, "server", "--port", str(port), "--db", str(db), "--token-file", str(token),
                             "--cache", str(tmp / "server-layers.sqlite")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(0.2)
    yield url, db, token, tmp
    proc.terminate()
    proc.wait(timeout=10)


def _image(tmp: Path) -> str:
    status = (TESTDATA / "pkgdb/dpkg/ubuntu-18.04/var/lib/dpkg/status").read_bytes()
    os_release = (TESTDATA / "pkgdb/os-release/ubuntu-18.04/etc/os-release").read_bytes()
    layout = write_oci_layout(tmp / "image", Image([make_layer([file("etc/os-release", os_release),
                                                               file("var/lib/dpkg/status", status)])]))
    return f"oci-dir:{layout}"


def _timeless(doc: dict) -> dict:
    doc.pop("metadata", None)  # CycloneDX's timestamp and serial number
    return doc


@pytest.mark.parametrize("fmt", ["json", "sarif", "table"])
def test_scan_with_server_equals_a_local_scan(served, fmt: str) -> None:
    url, db, token, tmp = served
    image = _image(tmp)
    local = subprocess.run([*LW, "scan", image, "--db", str(db), "--cache", str(tmp / "local.sqlite"), "-o", fmt],
                           capture_output=True, text=True)
    remote = subprocess.run([*LW, "scan", image, "--server", url, "--token-file", str(token), "--cache",
                             str(tmp / "client.sqlite"), "-o", fmt], capture_output=True, text=True,
                            env={**os.environ, "LAYERWATCH_DB_PATH": str(tmp / "none.sqlite")})  # no local DB
    assert local.returncode == remote.returncode == 0, (local.stderr, remote.stderr)
    if fmt == "table":
        assert remote.stdout == local.stdout
    else:
        assert _timeless(json.loads(remote.stdout)) == _timeless(json.loads(local.stdout))
        if fmt == "json":
            assert json.loads(local.stdout)["findings"]  # the image has findings: the comparison means something


def test_the_gate_works_the_same_through_the_server(served) -> None:
    url, db, token, tmp = served
    remote = subprocess.run([*LW, "scan", _image(tmp), "--server", url, "--token-file", str(token), "--fail-on", "Low",
                             "--cache", str(tmp / "gate.sqlite")], capture_output=True, text=True)
    assert remote.returncode == 1, remote.stderr


def test_unauthenticated_wrong_token_oversized_and_malformed_are_refused(served) -> None:
    url, _, token, tmp = served
    good = {"Authorization": "Bearer s3cret-token"}
    assert httpx.post(f"{url}/v1/match", json={"inventory": {}}).status_code == 401
    assert httpx.post(f"{url}/v1/match", json={"inventory": {}}, headers={"Authorization": "Bearer nope"}).status_code == 401
    big = httpx.post(f"{url}/v1/match", content=b"{" + b" " * (9 * 1024 * 1024) + b"}", headers=good)
    assert big.status_code == 413
    bad = httpx.post(f"{url}/v1/match", content=b"not json", headers=good)
    assert bad.status_code == 400 and "not JSON" in bad.json()["detail"]
    missing = httpx.post(f"{url}/v1/match", json={"inventory": {"packages": "x"}}, headers=good)
    assert missing.status_code == 400 and missing.json()["detail"].startswith("inventory:")
    (tmp / "wrong-token").write_text("not-the-token\n")
    wrong = subprocess.run([*LW, "scan", _image(tmp), "--server", url, "--token-file", str(tmp / "wrong-token")],
                           capture_output=True, text=True)
    assert wrong.returncode == 2 and "refused the token" in wrong.stderr and "Traceback" not in wrong.stderr
    binary = subprocess.run([*LW, "scan", _image(tmp), "--server", url, "--token-file", str(tmp / "db.sqlite")],
                            capture_output=True, text=True)
    assert binary.returncode == 2 and "is not a token" in binary.stderr and "Traceback" not in binary.stderr


def test_the_servers_data_is_judged_by_the_clients_max_db_age(served) -> None:
    """Data older than --max-db-age makes a --server scan fail as a local one does (never clean)."""
    url, db, token, tmp = served
    import sqlite3

    with sqlite3.connect(db) as conn:  # the server's last update, a month ago
        conn.execute("UPDATE sources SET last_success = '2026-11-01T00:00:00+00:00'")
    remote = subprocess.run([*LW, "scan", _image(tmp), "--server", url, "--token-file", str(token), "--max-db-age",
                             "7d", "--cache", str(tmp / "stale.sqlite")], capture_output=True, text=True)
    local = subprocess.run([*LW, "scan", _image(tmp), "--db", str(db), "--max-db-age", "7d", "--cache",
                            str(tmp / "stale-local.sqlite")], capture_output=True, text=True)
    assert remote.returncode == local.returncode == 2
    assert "old" in remote.stderr and "layerwatch db update" in remote.stderr
    bad = httpx.post(f"{url}/v1/match", json={"inventory": {}, "max_db_age_seconds": -1},
                     headers={"Authorization": "Bearer s3cret-token"})
    assert bad.status_code == 400


def test_scan_by_reference_then_read_the_stored_report(served) -> None:
    url, _, _, tmp = served
    good = {"Authorization": "Bearer s3cret-token"}
    # the server's own files are not for clients to read
    for spec in (_image(tmp), "dir:/etc", "docker-archive:/tmp/x.tar"):
        refused = httpx.post(f"{url}/v1/scan", json={"image": spec}, headers=good)
        assert refused.status_code == 400 and "only registry references" in refused.json()["detail"]
    from tests.support.images import push
    from tests.support.registry import start_registry

    registry = start_registry("plain", tmp / "registry")
    try:
        status = (TESTDATA / "pkgdb/dpkg/ubuntu-18.04/var/lib/dpkg/status").read_bytes()
        os_release = (TESTDATA / "pkgdb/os-release/ubuntu-18.04/etc/os-release").read_bytes()
        image = Image([make_layer([file("etc/os-release", os_release), file("var/lib/dpkg/status", status)])])
        with registry.client() as client:
            push(client, registry.base_url, "ci/app", "1", image)
        scanned = httpx.post(f"{url}/v1/scan", json={"image": f"{registry.host}/ci/app:1"}, headers=good, timeout=60)
    finally:
        registry.stop()
    assert scanned.status_code == 200, scanned.text
    digest = scanned.json()["inventory"]["digest"]
    stored = httpx.get(f"{url}/v1/images/{digest}", headers=good)
    assert stored.status_code == 200 and stored.json()["result"]["findings"] == scanned.json()["result"]["findings"]
    assert httpx.get(f"{url}/v1/images/sha256:{'0' * 64}", headers=good).status_code == 404
    assert "/v1/match" in httpx.get(f"{url}/openapi.json").json()["paths"]


def test_rate_limit_per_token() -> None:
    from layerwatch_server.app import RateLimiter

    limiter = RateLimiter(rate=1.0, burst=3)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") > 0 and limiter.take("b") == 0.0
