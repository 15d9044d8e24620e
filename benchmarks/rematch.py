"""Re-match benchmark: 10,000 stored images, a full re-match and deltas of changed advisories.

    python benchmarks/rematch.py [--images 10000] [--work DIR]

* Images: three real bases cataloged from the fixture package databases of tests/testdata —
  Debian 10 (the nginx image's dpkg status, 84 packages) with pinned Python dists and npm
  packages, Ubuntu 18.04 (dpkg) with Python dists, Alpine 3.18 (apk) with npm packages — and
  10,000 variants of them (each drops a random 0–10 % of its packages and has its own digest),
  stored in a layer cache as scans store them.
* Database: every fixture feed of the test suite (debian, ubuntu, alpine, osv-pypi, osv-go,
  nvd, ghsa, kev, epss), built by `layerwatch db update` from tests/support/feedserver.py.
* Measured, each a fresh `layerwatch rematch` process (the figure it prints, and the wall time):
    full     `layerwatch rematch --full`: every image, every package
    delta N  after an in-place update that publishes N new advisories for packages the images
             hold (N = 1, 100, 1000), the default `layerwatch rematch`

Bars (issue 12): full re-match of 10,000 inventories ≤ 10 s; a delta of 100 advisories ≤ 1 s.
Baseline (issue 12): 28 s for 1,000 inventories with a tiny database.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerwatch_scanner.inventory import build_inventory  # noqa: E402
from layerwatch_scanner.layers.cache import LayerCache  # noqa: E402
from layerwatch_scanner.match.ecosystems import lookup_for, package_rows  # noqa: E402
from layerwatch_scanner.sources import open_source  # noqa: E402
from layerwatch_scanner.vulndb.records import Affected, Range  # noqa: E402
from layerwatch_scanner.vulndb.store import VulnDBWriter  # noqa: E402
from layerwatch_scanner.vulndb.update import update_db  # noqa: E402

from tests.scanner.feeds_support import SOURCES, source_urls, upstream_files  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402
from tests.support.images import Image, file, make_layer, write_oci_layout  # noqa: E402

TESTDATA = ROOT / "tests/testdata"
LAYERWATCH = Path(sys.executable).with_name("layerwatch")
PYTHON = {"Django": "3.2.0", "requests": "2.25.0", "urllib3": "1.26.4", "PyYAML": "5.3", "Jinja2": "2.11.2",
          "Flask": "1.1.2", "Werkzeug": "1.0.1", "Pillow": "8.0.0", "lxml": "4.6.1", "cryptography": "3.2",
          "paramiko": "2.7.1", "aiohttp": "3.7.3", "idna": "2.10", "setuptools": "50.0.0"}
NPM = {"lodash": "4.17.15", "express": "4.17.1", "minimist": "1.2.0", "axios": "0.21.0", "moment": "2.29.1",
       "node-fetch": "2.6.0", "jsonwebtoken": "8.5.1", "qs": "6.5.2", "ws": "7.4.5", "semver": "5.7.1"}
BASES = {
    "debian": ("debian-10", "var/lib/dpkg/status", "dpkg/debian-10-nginx/var/lib/dpkg/status", True, True),
    "ubuntu": ("ubuntu-18.04", "var/lib/dpkg/status", "dpkg/ubuntu-18.04/var/lib/dpkg/status", True, False),
    "alpine": ("alpine-3.18", "lib/apk/db/installed", "apk/alpine-3.18/lib/apk/db/installed", False, True),
}


def base_inventories(work: Path) -> list:
    inventories = []
    for name, (release, target, source, python, npm) in BASES.items():
        files = [file("etc/os-release", (TESTDATA / "pkgdb/os-release" / release / "etc/os-release").read_bytes()),
                 file(target, (TESTDATA / "pkgdb" / source).read_bytes())]
        app = []
        if python:
            app += [file(f"usr/local/lib/python3.11/site-packages/{n}-{v}.dist-info/METADATA",
                         f"Metadata-Version: 2.1\nName: {n}\nVersion: {v}\n") for n, v in PYTHON.items()]
        if npm:
            app += [file(f"app/node_modules/{n}/package.json", f'{{"name": "{n}", "version": "{v}"}}')
                    for n, v in NPM.items()]
        layout = write_oci_layout(work / name, Image([make_layer(files), make_layer(app)]))
        inventories.append(build_inventory(open_source(f"oci-dir:{layout}")))
    return inventories


def store_variants(cache: LayerCache, bases: list, count: int, rng: random.Random) -> list:
    for i in range(count):
        base = bases[i % len(bases)]
        packages = [p for p in base.packages if rng.random() > rng.uniform(0, 0.1)]
        inventory = replace(base, image=f"registry.local/app-{i}:1", digest=f"sha256:{i:064x}",
                            packages=packages, purls=[])
        cache.store_inventory(inventory, "bench", package_rows(packages, base.os))  # as a scan stores it
    return bases


def publish(db: Path, keys: list[tuple[str, str, str]], count: int, rng: random.Random, round_: int) -> None:
    """An in-place update: N new advisories for packages the images hold (the last round's go)."""
    writer = VulnDBWriter(db, in_place=True)
    writer.begin_source("bench")
    writer.delete_source("bench")
    for i, (ecosystem, package, version) in enumerate(rng.sample(keys, min(count, len(keys)))):
        writer.add_affected(Affected(f"BENCH-{round_}-{i}", ecosystem, package, "bench",
                                     ranges=[Range(fixed=version + ".1")], severity="High"))
    for i in range(max(0, count - len(keys))):  # more advisories than packages: a second one each
        ecosystem, package, version = keys[i % len(keys)]
        writer.add_affected(Affected(f"BENCH-{round_}-x{i}", ecosystem, package, "bench",
                                     ranges=[Range(fixed=version + ".2")], severity="Low"))
    writer.end_source(True)
    writer.close()


def run_rematch(db: Path, cache: Path, full: bool) -> tuple[float, float, str]:
    cmd = [str(LAYERWATCH), "rematch", "--db", str(db), "--cache", str(cache)] + (["--full"] if full else [])
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    line = done.stderr.strip().splitlines()[-1]
    inside = float(re.search(r"in ([0-9.]+) s", line).group(1))
    return wall, inside, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="lw-rematch-"))
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(12)
    db, cache_path = work / "vulndb.sqlite", work / "cache.sqlite"
    for path in (db, cache_path):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    server = FeedServer(files=upstream_files()).start()
    try:
        report = update_db(db, SOURCES, source_urls(server))
        assert not report.failed, report.failed
    finally:
        server.stop()
    bases = base_inventories(work)
    cache = LayerCache(cache_path)
    started = time.perf_counter()
    store_variants(cache, bases, args.images, rng)
    print(f"{args.images} inventories stored in {time.perf_counter() - started:.1f} s "
          f"({', '.join(f'{b.os.id}: {len(b.packages)} packages' for b in bases)})")
    keys = sorted({(*lookup[:2], p.version) for b in bases for p in b.packages if (lookup := lookup_for(p, b.os))})
    rows = []
    wall, inside, line = run_rematch(db, cache_path, full=True)
    print(f"  {line}")
    rows.append(("full re-match", wall, inside, 10.0))
    for round_, count in enumerate((1, 100, 1000)):
        publish(db, keys, count, rng, round_)
        wall, inside, line = run_rematch(db, cache_path, full=False)
        print(f"  {line}")
        rows.append((f"delta, {count} advisories", wall, inside, 1.0 if count == 100 else None))
    print(f"\n{'':28} {'process':>9} {'re-match':>9}   bar")
    for name, wall, inside, bar in rows:
        verdict = "" if bar is None else (f"≤ {bar:.0f} s  " + ("ok" if inside <= bar else "MISSED"))
        print(f"{name:28} {wall:8.2f}s {inside:8.2f}s   {verdict}")
    print("baseline (issue 12): 28 s for 1,000 inventories")


if __name__ == "__main__":
    main()
