"""`POST /v1/match` latency of `layerwatch server`, as `layerwatch scan --server` sees it.

    python benchmarks/server_match.py [--requests 500]

A real `layerwatch server` process (uvicorn) on 127.0.0.1 with a database built by `db update`
from every fixture feed (tests/support/feedserver.py); the client sends the inventory of a
150-package image (the 84 dpkg packages of the Debian 10 nginx image, the npm packages of a real
package-lock v2, padded with the pinned PyPI releases benchmarks/scan.py uses), one request at
a time over one keep-alive connection, after 20 warm-up requests (the per-token rate limit raised
to 1000/s: one client measuring latency).

Bar (issue 13): p99 <= 50 ms on loopback.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerwatch_scanner.catalog.dpkg import CATALOGER as DPKG  # noqa: E402
from layerwatch_scanner.catalog.npm import CATALOGER as NPM  # noqa: E402
from layerwatch_scanner.model import PYPI, Inventory, OSInfo, Package  # noqa: E402
from layerwatch_scanner.purl import purls_of  # noqa: E402

from tests.scanner.feeds_support import source_urls, upstream_files  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

TESTDATA = ROOT / "tests/testdata"
PINNED = {"Django": "3.2.0", "requests": "2.25.0", "urllib3": "1.26.4", "PyYAML": "5.3", "Jinja2": "2.11.2",
          "Flask": "1.1.2", "Werkzeug": "1.0.1", "Pillow": "8.0.0", "lxml": "4.6.1", "cryptography": "3.2",
          "paramiko": "2.7.1", "aiohttp": "3.7.3", "idna": "2.10", "setuptools": "50.0.0"}


class _File:
    def __init__(self, path: str, data: bytes):
        self.path, self._data = path, data

    def read(self, n: int = -1) -> bytes:
        return self._data


def inventory(size: int = 150) -> Inventory:
    status = TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status"
    packages = DPKG.catalog(_File("/var/lib/dpkg/status", status.read_bytes()))
    lock = TESTDATA / "pkgdb/lang/npm/package-lock/package-lock_v2.json"
    packages += NPM.catalog(_File("/app/package-lock.json", lock.read_bytes()))
    for name, version in PINNED.items():
        packages.append(Package(type=PYPI, name=name, version=version, path=f"/usr/lib/python3/{name}.dist-info/METADATA"))
    while len(packages) < size:  # more pinned releases of the same projects, as real pins differ per app
        name, version = list(PINNED.items())[len(packages) % len(PINNED)]
        packages.append(Package(type=PYPI, name=name, version=version, path=f"/opt/app{len(packages)}/METADATA"))
    packages = packages[:size]
    for pkg in packages:
        pkg.layer = "sha256:" + "1" * 64
    inv = Inventory(image="bench/app:1", digest="sha256:" + "2" * 64, os=OSInfo(id="debian", version_id="10",
                    version_codename="buster"), packages=packages, layers=["sha256:" + "1" * 64], platform="linux/amd64")
    purls_of(inv)
    return inv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lw-server-"))
    db = work / "vulndb.sqlite"
    feeds = FeedServer(files=upstream_files()).start()
    try:
        urls = source_urls(feeds)
        cmd = [sys.executable, "-m", "layerwatch_scanner", "db", "update", "--db", str(db)]
        for name in ("debian", "osv-pypi", "ghsa", "kev", "epss"):
            cmd += ["--source", name, "--source-url", f"{name}={urls[name]}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    finally:
        feeds.stop()
    (work / "token").write_text("bench-token\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "layerwatch_scanner", "server", "--port", str(port), "--db", str(db),
                               "--token-file", str(work / "token"), "--cache", str(work / "layers.sqlite"),
                               "--rate", "1000"],  # one client measuring latency, not the limiter
                              env={**os.environ, "LAYERWATCH_CACHE_DIR": str(work)})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        inv = inventory()
        doc = inv.to_dict()
        doc["purls"] = inv.purls
        body = {"inventory": doc}
        times = []
        with httpx.Client(headers={"Authorization": "Bearer bench-token"}) as client:
            for i in range(20 + args.requests):
                start = time.perf_counter()
                response = client.post(f"{url}/v1/match", json=body)
                elapsed = time.perf_counter() - start
                response.raise_for_status()
                if i >= 20:
                    times.append(elapsed)
        findings = len(response.json()["findings"])
        times.sort()
        p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
        print(f"POST /v1/match, {len(inv.packages)} packages, {findings} findings, {len(times)} requests")
        print(f"  p50 {p50 * 1000:6.1f} ms")
        print(f"  p99 {p99 * 1000:6.1f} ms   (bar 50 ms)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
