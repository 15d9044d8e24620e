"""Scan benchmark: `layerwatch` as CI runs it (a fresh process) vs Syft 1.18.1 vs the read floor.

    python benchmarks/scan.py [--runs 5] [--venv DIR] [--images small,medium,large]

* The installation measured is a user's: a fresh virtualenv (uv) with the locked dependencies and
  layerwatch installed from this checkout, not editable, byte-compiled (as the Dockerfile does).
  --venv reuses one.
* Three images, built from real files and real package databases, pushed to a `docker-registry`
  on 127.0.0.1 (plain HTTP, gzip layers at level 6 as docker and buildah write them):
    small   1 layer, Alpine: the apk database of tests/testdata (alpine 3.18) + busybox and libs;
    medium  7 layers, Debian 10 + Python + npm, ~135 packages: the dpkg status of
            tests/testdata (nginx image, 84 packages), /usr/lib and /usr/share files, Python's
            standard library, 20 real dist-infos with their code, an `npm install express`;
    large   6 layers, ~1 GB uncompressed: the medium image's content plus this machine's whole
            /usr/lib/x86_64-linux-gnu, /usr/share and the project's site-packages (94 dists).
* A database from the fixture feeds (debian, alpine, osv-pypi, ghsa, kev, epss), served by
  tests/support/feedserver.py.

Measured, medians of --runs fresh processes:
  help     `layerwatch --help`
  floor    a fresh `python3` that streams every layer blob and zlib-decompresses it (standard
           library only): the least any scanner must do
  cold     `layerwatch scan IMAGE -o json` with an empty layer cache; peak RSS from GNU time
  warm     the same with every layer cached, for -o table, json, cyclonedx-json; reported as
           the time beyond `layerwatch --help` (the start-up), each warm run beside a --help run
           of its own so both medians see the same moments of a noisy machine
  syft     `syft registry:IMAGE -o json`

Bars (issue 14): help ≤ 150 ms; warm ≤ 50 ms beyond start-up; cold ≤ 1.3× floor on the medium
and large images and ≥ 5× faster than Syft; peak RSS ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scanner.feeds_support import source_urls, upstream_files  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402

TESTDATA = ROOT / "tests/testdata"
SITE_PACKAGES = next((ROOT / ".venv/lib").glob("python3*/site-packages"))
PY_DISTS = ["httpx", "httpcore", "h11", "idna", "certifi", "anyio", "sniffio", "pydantic", "pydantic_core",
            "typing_extensions", "annotated_types", "packaging", "PyYAML", "zstandard", "rich", "pygments",
            "markdown_it_py", "mdurl", "click", "uvicorn"]
DB_SOURCES = ["debian", "alpine", "osv-pypi", "ghsa", "kev", "epss"]
# an application's pinned, older requirements (real releases that have advisories in the fixture
# feeds), so the reports carry findings as real ones do
PINNED = {"Django": "3.2.0", "requests": "2.25.0", "urllib3": "1.26.4", "PyYAML": "5.3", "Jinja2": "2.11.2",
          "Flask": "1.1.2", "Werkzeug": "1.0.1", "Pillow": "8.0.0", "lxml": "4.6.1", "cryptography": "3.2",
          "paramiko": "2.7.1", "aiohttp": "3.7.3", "idna": "2.10", "setuptools": "50.0.0"}

WARM_PAIRS = 3  # warm runs per format and per cold run, each paired with a `--help` run

FLOOR = r"""
import json, sys, urllib.request, zlib
base, repo, tag = sys.argv[1:4]
accept = "application/vnd.oci.image.manifest.v1+json"
req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{tag}", headers={"Accept": accept})
manifest = json.load(urllib.request.urlopen(req))
for layer in manifest["layers"]:
    d = zlib.decompressobj(31)
    with urllib.request.urlopen(f"{base}/v2/{repo}/blobs/{layer['digest']}") as r:
        while chunk := r.read(1 << 20):
            d.decompress(chunk)
"""


# -- images ---------------------------------------------------------------------------------------

def _dist_members(name: str) -> list[tuple[Path, str]]:
    """A dist-info and the top-level code it lists, from the project's site-packages."""
    prefix = "usr/local/lib/python3.11/site-packages/"
    for info in SITE_PACKAGES.glob("*.dist-info"):
        if info.name.split("-")[0].lower().replace("_", "-") == name.lower().replace("_", "-"):
            members = [(info, prefix + info.name)]
            top = info / "top_level.txt"
            names = top.read_text().split() if top.exists() else [name.lower().replace("-", "_")]
            for module in names:
                for candidate in (SITE_PACKAGES / module, SITE_PACKAGES / f"{module}.py"):
                    if candidate.exists():
                        members.append((candidate, prefix + candidate.name))
            return members
    return []


def _npm_tree(work: Path) -> Path:
    target = work / "npm"
    if not (target / "node_modules/express").exists():
        subprocess.run(["npm", "install", "-q", "--no-audit", "--no-fund", "--prefix", str(target), "express@4.21.2"],
                       check=True, stdout=subprocess.DEVNULL)
    return target / "node_modules"


def _pinned(work: Path) -> list[tuple[Path, str]]:
    members = []
    for name, version in PINNED.items():
        info = work / "pinned" / f"{name}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        members.append((info, f"app/venv/lib/python3.11/site-packages/{info.name}"))
    return members


def _some(directory: Path, limit_mb: float) -> list[tuple[Path, str]]:
    """Files of a real directory up to a size, in a stable order."""
    out, total = [], 0
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            if total + size > limit_mb * 1e6:
                break
            out.append((path, str(path).lstrip("/")))
            total += size
    return out


def image_layers(kind: str, work: Path) -> list[list[tuple[Path, str]]]:
    dpkg = TESTDATA / "pkgdb/dpkg/debian-10-nginx"
    if kind == "small":
        alpine = TESTDATA / "pkgdb/apk/alpine-3.18"
        return [[(TESTDATA / "pkgdb/os-release/alpine-3.18/etc/os-release", "etc/os-release"),
                 (alpine / "lib/apk/db/installed", "lib/apk/db/installed"),
                 (Path("/bin/busybox"), "bin/busybox"),
                 *_some(Path("/usr/lib/x86_64-linux-gnu/perl-base"), 4)]]
    base = [[(TESTDATA / "pkgdb/os-release/debian-10/etc/os-release", "etc/os-release"),
             (dpkg / "var/lib/dpkg/status", "var/lib/dpkg/status"),
             *_some(Path("/usr/lib/x86_64-linux-gnu"), 60)],
            _some(Path("/usr/share/perl"), 20) + _some(Path("/usr/share/doc"), 10),
            [(Path("/usr/lib/python3.11"), "usr/local/lib/python3.11")],
            [m for d in PY_DISTS[:10] for m in _dist_members(d)],
            [m for d in PY_DISTS[10:] for m in _dist_members(d)],
            [(_npm_tree(work), "app/node_modules")],
            [(ROOT / "README.md", "app/README.md"), (ROOT / "pyproject.toml", "app/pyproject.toml"),
             *_pinned(work)]]
    if kind == "medium":
        return base
    return [base[0] + base[1], base[2] + base[3] + base[4], base[5] + base[6],
            [(Path("/usr/lib/x86_64-linux-gnu"), "opt/lib")], [(Path("/usr/share"), "opt/share")],
            [(SITE_PACKAGES, "opt/venv/lib/python3.11/site-packages")]]


def _layer(path: Path, members: list[tuple[Path, str]]) -> tuple[str, str, int, int]:
    raw = path.with_suffix(".tar")
    with tarfile.open(raw, "w") as tar:
        for source, arcname in members:
            tar.add(source, arcname=arcname)
    diff = hashlib.sha256()
    with open(raw, "rb") as f, open(path, "wb") as sink, \
            gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6, mtime=0) as out:
        while chunk := f.read(1 << 20):
            diff.update(chunk)
            out.write(chunk)
    size_raw = raw.stat().st_size
    raw.unlink()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return f"sha256:{h.hexdigest()}", f"sha256:{diff.hexdigest()}", path.stat().st_size, size_raw


def build_and_push(kind: str, work: Path, base_url: str) -> str:
    repo = f"bench/{kind}"
    layers = []
    for i, members in enumerate(image_layers(kind, work)):
        layers.append((*_layer(work / f"{kind}-{i}.tar.gz", members), work / f"{kind}-{i}.tar.gz"))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [d for _, d, _, _, _ in layers]}}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    with httpx.Client(timeout=600) as client:
        def upload(digest: str, body) -> None:
            location = client.post(f"{base_url}/v2/{repo}/blobs/uploads/").headers["Location"]
            location = location if location.startswith("http") else base_url + location
            sep = "&" if "?" in location else "?"
            client.put(f"{location}{sep}digest={digest}", content=body).raise_for_status()

        for digest, _, _, _, path in layers:
            with open(path, "rb") as f:
                upload(digest, f.read())
            path.unlink()
        upload(config_digest, config)
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                               "size": len(config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s}
                               for d, _, s, _, _ in layers]}
        client.put(f"{base_url}/v2/{repo}/manifests/1", content=json.dumps(manifest).encode(),
                   headers={"Content-Type": manifest["mediaType"]}).raise_for_status()
    print(f"{kind}: {len(layers)} gzip layers, {sum(s for _, _, s, _, _ in layers) / 1e6:.0f} MB compressed, "
          f"{sum(u for _, _, _, u, _ in layers) / 1e6:.0f} MB uncompressed", flush=True)
    return repo


# -- installation and database --------------------------------------------------------------------

def user_install(venv: Path) -> Path:
    """A fresh virtualenv as a user gets it: locked dependencies, then `pip install .`."""
    bin_dir = venv / "bin"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    if not Path(uv).exists():  # pip does the same, slower (and byte-compiles by default)
        if not (bin_dir / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps"]
        subprocess.run([*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], check=True)
        subprocess.run([*pip, "--force-reinstall", str(ROOT)], check=True)
        return bin_dir
    if not (bin_dir / "python").exists():
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--compile-bytecode", "--require-hashes", "--no-deps",
                    "-r", str(ROOT / "requirements.lock")], check=True, env=env)
    # this checkout, always afresh (a reused --venv must measure the current code)
    subprocess.run([uv, "pip", "install", "-q", "--compile-bytecode", "--no-deps", "--reinstall", str(ROOT)],
                   check=True, env=env)
    return bin_dir


def build_db(bin_dir: Path, path: Path) -> None:
    server = FeedServer(files=upstream_files()).start()
    try:
        urls = source_urls(server)
        cmd = [str(bin_dir / "layerwatch"), "db", "update", "--db", str(path)]
        for name in DB_SOURCES:
            cmd += ["--source", name, "--source-url", f"{name}={urls[name]}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    finally:
        server.stop()


# -- measuring ------------------------------------------------------------------------------------

def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one fresh process (GNU time's %M: the child's own pages)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-2000:]}")
    return elapsed, int(proc.stderr.decode().strip().splitlines()[-1]) / 1024


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--venv", type=Path, help="reuse this installation (made if missing)")
    parser.add_argument("--images", default="small,medium,large")
    parser.add_argument("--no-syft", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lw-bench-"))
    bin_dir = user_install(args.venv or work / "venv")
    layerwatch = str(bin_dir / "layerwatch")
    db = work / "vulndb.sqlite"
    build_db(bin_dir, db)
    env = {**os.environ, "HOME": str(work), "XDG_CACHE_HOME": str(work / "xdg")}
    syft_env = {**env, "SYFT_REGISTRY_INSECURE_USE_HTTP": "true", "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    registry = start_registry("plain", work / "registry")
    rows: list[str] = []
    try:
        helps = [timed([layerwatch, "--help"], env)[0] for _ in range(max(args.runs * 3, 15))]
        startup = median(helps)
        rows.append(f"{'layerwatch --help':<40}{startup * 1000:>9.0f} ms   (bar 150 ms)")
        for kind in args.images.split(","):
            repo = build_and_push(kind, work, registry.base_url)
            ref = f"{registry.host}/{repo}:1"
            scan = [layerwatch, "scan", ref, "--db", str(db), "--allow-missing-data"]
            floors, colds, rss, syfts, startups = [], [], [], [], []
            warms: dict[str, list[float]] = {"table": [], "json": [], "cyclonedx-json": []}
            for i in range(args.runs):
                floors.append(timed([sys.executable, "-c", FLOOR, registry.base_url, repo, "1"], env)[0])
                cache = work / f"cache-{kind}-{i}.sqlite"
                seconds, peak = timed([*scan, "-o", "json", "--cache", str(cache)], env)
                colds.append(seconds)
                rss.append(peak)
                for fmt, times in warms.items():
                    for _ in range(WARM_PAIRS):  # each beside a start-up of its own: the same moment's noise
                        startups.append(timed([layerwatch, "--help"], env)[0])
                        seconds, peak = timed([*scan, "-o", fmt, "--cache", str(cache)], env)
                        times.append(seconds)
                        rss.append(peak)
                if not args.no_syft and (kind != "large" or i < 3):
                    syfts.append(timed([shutil.which("syft") or str(Path(sys.executable).parent / "syft"),
                                        f"registry:{ref}", "-o", "json", "-q"], syft_env)[0])
            found = json.loads(subprocess.run([*scan, "-o", "json", "--cache", str(work / f"cache-{kind}-0.sqlite")],
                                              capture_output=True, env=env).stdout)
            floor, cold = median(floors), median(colds)
            rows.append(f"-- {kind}: {found['packages']} packages, {len(found['findings'])} findings")
            rows.append(f"{'  read floor (stream + zlib, stdlib)':<40}{floor:>9.2f} s")
            bar = "bar 1.3x" if kind != "small" else "no bar on the small image"
            rows.append(f"{'  layerwatch cold':<40}{cold:>9.2f} s   {cold / floor:.2f}x floor ({bar})")
            if syfts:
                rows.append(f"{'  syft 1.18.1':<40}{median(syfts):>9.2f} s   layerwatch {median(syfts) / cold:.1f}x "
                            "faster (bar 5x)")
            beside = median(startups)
            rows.append(f"{'  layerwatch --help beside the warm runs':<40}{beside * 1000:>9.0f} ms")
            for fmt, times in warms.items():
                rows.append(f"{'  layerwatch warm -o ' + fmt:<40}{median(times) * 1000:>9.0f} ms   "
                            f"+{(median(times) - beside) * 1000:.0f} ms beyond start-up (bar 50 ms)")
            rows.append(f"{'  peak RSS (any layerwatch run)':<40}{max(rss):>9.0f} MB   (bar 150 MB)")
            print("\n".join(rows[-(len(warms) + 6 + bool(syfts)):]), flush=True)
    finally:
        registry.stop()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"\nlayerwatch at {commit.stdout.strip()}: fresh processes, medians of {args.runs} runs "
          "(syft: 3 on the large image)")
    print("\n".join(rows))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
