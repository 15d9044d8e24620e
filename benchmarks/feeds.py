"""Feed benchmark: `layerwatch db update` against feeds at upstream size, served on 127.0.0.1.

    python benchmarks/feeds.py [--work DIR] [--sources debian,redhat,...] [--per-source]

The fixtures in tests/testdata/feeds are small; the feeds are generated from them to about
their upstream size, in the upstream layouts, record shapes copied from the real records:

  debian        tracker JSON, 36,000 source packages, ~42 MB (security-tracker.debian.org, 2025)
  ubuntu        OSV all.zip, 60,000 records (osv.dev Ubuntu export)
  osv-pypi      17,000 records          osv-npm      200,000 records (GHSA-shaped, npm)
  osv-go         5,000 records          osv-maven      6,000 records
  osv-rubygems   1,000 records          osv-crates     2,000 records
  redhat        20,000 CSAF VEX documents, ~2.9 GB uncompressed, in a tar.zst archive with
                changes.csv / deletions.csv (security.access.redhat.com/data/csaf/v2/vex)
  alpine, kev   the real fixture files (upstream they are that small)
  epss          280,000 scores, gzip'd CSV

(the sizes the issue measured for debian, ubuntu, osv-pypi, osv-npm and redhat; the others
from osv.dev's and FIRST's published counts). Every OSV ecosystem also gets its
`modified_id.csv` and one `<id>.json` per record, as osv.dev publishes them.

Three runs of `layerwatch db update` (a fresh process each; peak RSS from GNU time):
  1. first full update into an empty database,
  2. nothing changed upstream,
  3. 1% of every source's records changed (debian's JSON rewritten, OSV/Red Hat records
     listed in their change lists with newer times, epss re-scored).
For all default sources together, and with --per-source for each source alone.

Bars (issue 11): all default sources: peak RSS ≤ 400 MB, first update ≤ 5 min, unchanged
refresh ≤ 10 s without rewriting the database, 1%-changed refresh ≤ 60 s.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
import zstandard

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests/testdata/feeds"
LAYERWATCH = Path(sys.executable).parent / "layerwatch"
DEFAULT = ["debian", "ubuntu", "alpine", "redhat", "osv-pypi", "osv-npm", "osv-go", "osv-maven", "osv-rubygems",
           "osv-crates", "kev", "epss"]
OSV = {"ubuntu": ("Ubuntu", 60_000), "osv-pypi": ("PyPI", 17_000), "osv-npm": ("npm", 200_000),
       "osv-go": ("Go", 5_000), "osv-maven": ("Maven", 6_000), "osv-rubygems": ("RubyGems", 1_000),
       "osv-crates": ("crates.io", 2_000)}
DEBIAN_PACKAGES = 36_000
REDHAT_DOCS = 20_000
EPSS_ROWS = 280_000
BASE_TIME = "2025-01-01T00:00:00Z"
NEW_TIME = "2025-06-01T00:00:00Z"


# -- templates from the real records ----------------------------------------------------------------

def _osv_templates(ecosystem: str) -> list[str]:
    """OSV records of this ecosystem as JSON text with @ID@ / @N@ placeholders (id, package suffix)."""
    docs = []
    if ecosystem == "PyPI":
        docs = [yaml.safe_load(f.read_text()) for f in sorted((FEEDS / "osv-pypi").rglob("*.yaml"))]
    elif ecosystem == "Ubuntu":
        docs = [json.loads(f.read_text()) for f in sorted((FEEDS / "ubuntu").rglob("*.json"))]
    elif ecosystem == "Go":
        docs = [json.loads(f.read_text()) for f in sorted((FEEDS / "osv-go").glob("*.json"))]
    else:
        for f in sorted((FEEDS / "ghsa/advisories").rglob("*.json")):
            doc = json.loads(f.read_text())
            if any(a.get("package", {}).get("ecosystem") == ecosystem for a in doc.get("affected") or []):
                docs.append(doc)
    texts = []
    for doc in docs:
        doc = json.loads(json.dumps(doc, default=str))
        doc["id"] = "@ID@"
        doc["modified"] = "@MODIFIED@"
        for affected in doc.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("name"):
                package["name"] = f"{package['name']}-@N@"
        texts.append(json.dumps(doc))
    if not texts:
        raise SystemExit(f"no fixture records for {ecosystem}")
    return texts


class OSVFeed:
    """One ecosystem: all.zip and modified_id.csv on disk, <id>.json made on request."""

    def __init__(self, name: str, ecosystem: str, count: int, root: Path):
        self.name, self.ecosystem, self.count = name, ecosystem, count
        self.templates = _osv_templates(ecosystem)
        self.prefix = {"Ubuntu": "UBUNTU-CVE-2090", "PyPI": "PYSEC-2090"}.get(ecosystem, "GHSA-2090")
        self.dir = root / ecosystem
        self.changed: set[str] = set()

    def record_id(self, i: int) -> str:
        return f"{self.prefix}-{i:06d}"

    def record(self, i: int) -> bytes:
        rid = self.record_id(i)
        stamp = NEW_TIME if rid in self.changed else BASE_TIME
        text = self.templates[i % len(self.templates)].replace("@ID@", rid).replace("@N@", str(i // len(self.templates)))
        return text.replace("@MODIFIED@", stamp).encode()

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "all.zip").exists():
            tmp = self.dir / "all.zip.tmp"
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
                for i in range(self.count):
                    archive.writestr(f"{self.record_id(i)}.json", self.record(i))
            tmp.replace(self.dir / "all.zip")
        self.write_modified()

    def write_modified(self) -> None:
        rows = [f"{NEW_TIME if self.record_id(i) in self.changed else BASE_TIME},{self.record_id(i)}"
                for i in range(self.count)]
        rows.sort(reverse=True)  # newest first, as osv.dev writes it
        (self.dir / "modified_id.csv").write_text("\n".join(rows) + "\n")

    def change(self, fraction: float) -> None:
        rng = random.Random(self.name)
        self.changed = {self.record_id(i) for i in rng.sample(range(self.count), int(self.count * fraction))}
        self.write_modified()


class RedHatFeed:
    def __init__(self, root: Path, count: int):
        self.dir = root / "redhat"
        self.count = count
        self.templates = []
        for f in sorted(FEEDS.glob("redhat/cve-*.json")):
            cve = f.stem.upper()
            self.templates.append(f.read_text().replace(cve, "@CVE@").replace(f.stem, "@cve@"))
        self.changed: set[int] = set()

    def cve(self, i: int) -> str:
        return f"CVE-2090-{i:06d}"

    def path(self, i: int) -> str:
        return f"2090/{self.cve(i).lower()}.json"

    def doc(self, i: int) -> bytes:
        text = self.templates[i % len(self.templates)].replace("@CVE@", self.cve(i)).replace("@cve@", self.cve(i).lower())
        if i in self.changed:
            text = text.replace('"title": "', '"title": "(revised) ', 1)
        return text.encode()

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = "csaf_vex_2025-01-01.tar.zst"
        (self.dir / "archive_latest.txt").write_text(name + "\n")
        if not (self.dir / name).exists():
            tmp = self.dir / (name + ".tmp")
            with open(tmp, "wb") as raw, zstandard.ZstdCompressor(level=3, threads=-1).stream_writer(raw) as out, \
                    tarfile.open(fileobj=out, mode="w|") as tar:
                for i in range(self.count):
                    data = self.doc(i)
                    info = tarfile.TarInfo(self.path(i))
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            tmp.replace(self.dir / name)
        self.write_lists()

    def write_lists(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        changes = [f'"{self.path(i)}","2025-01-01T00:00:00+00:00"' for i in range(0, self.count, 50)]
        changes = [f'"{self.path(i)}","2025-06-01T00:00:00+00:00"' for i in sorted(self.changed)] + changes
        (self.dir / "changes.csv").write_text("\n".join(changes) + "\n")
        (self.dir / "deletions.csv").write_text('"2019/cve-2019-0001.json","2024-12-01T00:00:00+00:00"\n')

    def change(self, fraction: float) -> None:
        self.changed = set(random.Random("redhat").sample(range(self.count), int(self.count * fraction)))
        self.write_lists()


def write_debian(root: Path, changed: float = 0.0) -> None:
    entries = []
    for f in sorted((FEEDS / "debian").glob("*.json")):
        for cves in json.loads(f.read_text()).values():
            entries.extend(cves.values())
    rng = random.Random("debian")
    changed_set = set(rng.sample(range(DEBIAN_PACKAGES), int(DEBIAN_PACKAGES * changed)))
    target = root / "debian/json"
    target.parent.mkdir(parents=True, exist_ok=True)
    cve = 0
    with open(target.with_suffix(".tmp"), "w") as out:
        out.write("{")
        for p in range(DEBIAN_PACKAGES):
            out.write(("," if p else "") + json.dumps(f"pkg{p:05d}") + ":{")
            for k in range(1 + p % 2):  # ~1.5 CVEs per package: ~36,000 packages in ~42 MB, as upstream
                entry = dict(entries[(p + k) % len(entries)])
                if p in changed_set and k == 0:
                    entry = dict(entry, description="(revised) " + entry.get("description", ""))
                out.write(("," if k else "") + json.dumps(f"CVE-2090-{cve:06d}") + ":" + json.dumps(entry))
                cve += 1
            out.write("}")
        out.write("}")
    target.with_suffix(".tmp").replace(target)


def write_epss(root: Path, generation: int) -> None:
    rng = random.Random(generation)
    lines = ["#model_version:v2023.03.01,score_date:2025-01-01T00:00:00+0000", "cve,epss,percentile"]
    lines += [f"CVE-2090-{i:06d},{rng.random() * 0.1:.5f},{rng.random():.5f}" for i in range(EPSS_ROWS)]
    (root / "epss").mkdir(exist_ok=True)
    (root / "epss/epss_scores-current.csv.gz").write_bytes(gzip.compress("\n".join(lines).encode(), 6))


def write_small(root: Path) -> None:
    (root / "kev").mkdir(exist_ok=True)
    shutil.copy(FEEDS / "kev/valid-catalog-1.json", root / "kev/kev.json")
    for f in (FEEDS / "alpine").rglob("*.json"):
        if f.parent.name.startswith(("v", "edge")) and f.name in ("main.json", "community.json"):
            (root / "secdb" / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, root / "secdb" / f.parent.name / f.name)


# -- serving ------------------------------------------------------------------------------------------

class Server:
    """Files from disk with ETag (conditional GET), OSV records and Red Hat documents made on request."""

    def __init__(self, root: Path, osv: dict[str, OSVFeed], redhat: RedHatFeed):
        self.root, self.osv, self.redhat = root.resolve(), {f.ecosystem: f for f in osv.values()}, redhat
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out as separate writes: without this, Nagle's algorithm and
                # the client's delayed ACK add 40 ms to every small answer (no CDN does that)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                m = re.fullmatch(r"/osv/([^/]+)/([^/]+)\.json", path)
                if m and m.group(1) in server.osv:
                    feed = server.osv[m.group(1)]
                    i = int(m.group(2).rsplit("-", 1)[1]) if m.group(2).startswith(feed.prefix) else -1
                    return self._send(200, feed.record(i)) if 0 <= i < feed.count else self._send(404)
                m = re.fullmatch(r"/redhat/2090/cve-2090-(\d+)\.json", path)
                if m:
                    return self._send(200, server.redhat.doc(int(m.group(1))))
                file = (server.root / path.lstrip("/")).resolve()
                if not file.is_relative_to(server.root) or not file.is_file():
                    return self._send(404)
                st = file.stat()
                etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, headers={"ETag": etag})
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(st.st_size))
                self.end_headers()
                with open(file, "rb") as f:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def urls(self) -> dict[str, str]:
        urls = {name: f"{self.url}/osv/{eco}/all.zip" for name, (eco, _) in OSV.items()}
        return urls | {"debian": f"{self.url}/debian/json", "redhat": f"{self.url}/redhat/archive_latest.txt",
                       "alpine": f"{self.url}/secdb", "kev": f"{self.url}/kev/kev.json",
                       "epss": f"{self.url}/epss/epss_scores-current.csv.gz"}


# -- measuring ----------------------------------------------------------------------------------------

def update(db: Path, sources: list[str], urls: dict[str, str]) -> tuple[float, float, str]:
    cmd = ["/usr/bin/time", "-f", "%M", str(LAYERWATCH), "db", "update", "--db", str(db)]
    for name in sources:
        cmd += ["--source", name, "--source-url", f"{name}={urls[name]}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    rss = int(proc.stderr.strip().splitlines()[-1]) / 1024
    if proc.returncode != 0:
        raise SystemExit(f"db update failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    return seconds, rss, proc.stdout


def fingerprint(db: Path) -> tuple[int, str]:
    """(inode, sha256 of the advisory rows' pages): the same when the file was not rewritten."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    build = conn.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()[0]
    conn.close()
    return db.stat().st_ino, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep the generated feeds here (reused next time)")
    parser.add_argument("--sources", default=",".join(DEFAULT))
    parser.add_argument("--per-source", action="store_true", help="also measure each source alone")
    args = parser.parse_args()
    sources = args.sources.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="lw-feeds-"))
    root = work / "feeds"
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    osv = {name: OSVFeed(name, eco, count, root / "osv") for name, (eco, count) in OSV.items() if name in sources}
    for feed in osv.values():
        feed.write()
    redhat = RedHatFeed(root, REDHAT_DOCS)
    if "redhat" in sources:
        redhat.write()
    write_debian(root)
    write_epss(root, 1)
    write_small(root)
    print(f"feeds generated in {time.perf_counter() - t:.0f} s under {root}", flush=True)
    server = Server(root, osv, redhat)
    urls = server.urls()

    def three_runs(label: str, chosen: list[str], db: Path) -> list[str]:
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        for feed in osv.values():
            feed.changed = set()
            feed.write_modified()
        redhat.changed = set()
        redhat.write_lists()
        write_debian(root)
        write_epss(root, 1)
        rows = []
        first = update(db, chosen, urls)
        size = db.stat().st_size / 1e6
        print(first[2], flush=True)
        rows.append(f"{label:<14} first   {first[0]:>7.1f} s  {first[1]:>6.0f} MB RSS  db {size:>6.0f} MB")
        before = fingerprint(db)
        second = update(db, chosen, urls)
        print(second[2], flush=True)
        same = "not rewritten" if fingerprint(db) == before else "REWRITTEN"
        rows.append(f"{label:<14} same    {second[0]:>7.1f} s  {second[1]:>6.0f} MB RSS  {same}")
        for feed in osv.values():
            feed.change(0.01)
        redhat.change(0.01)
        write_debian(root, 0.01)
        write_epss(root, 2)
        third = update(db, chosen, urls)
        print(third[2], flush=True)
        rows.append(f"{label:<14} 1% new  {third[0]:>7.1f} s  {third[1]:>6.0f} MB RSS  db {db.stat().st_size / 1e6:>6.0f} MB")
        print("\n".join(rows), flush=True)
        return rows

    results = three_runs("all", sources, work / "all.sqlite")
    if args.per_source:
        for name in sources:
            results += three_runs(name, [name], work / f"{name}.sqlite")
    server.httpd.shutdown()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"\nlayerwatch at {commit.stdout.strip()}, fresh processes; bars for 'all': first ≤ 300 s, "
          "same ≤ 10 s and not rewritten, 1% new ≤ 60 s, RSS ≤ 400 MB")
    print("\n".join(results))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
