"""Operator at cluster size: N images x M pods against the real API server and a real registry.

    KUBEBUILDER_ASSETS=.tools/k8s python benchmarks/operator_scale.py [--images 2000] [--pods 10000]

* The real kube-apiserver + etcd from ../shared/k8s (tests/support/k8s.py), the CRDs applied.
* A `docker-registry` on 127.0.0.1 holding N images that share one real layer (Debian 10: the
  nginx image's dpkg status from tests/testdata, 84 packages) and each have their own config,
  pushed by tag; M pods across 20 namespaces use them by tag (pods stay Pending: no kubelet, so
  no imageID — every image needs its tag resolved, as before a kubelet reports).
* A database from the Debian fixture feed. The operator is `layerwatch operator`, a fresh
  process, started before the pods are created.
* Measured: the operator's peak RSS (VmHWM) and its RSS once all are Scanned; the time from
  the last pod created to every ImageScan Scanned; Kubernetes API requests the operator made
  per pod event (its own counters); then two delta re-matches, each 100 new advisories written
  into the database in place, and the operator's own figure from the end of its refresh to the
  last ImageScan patched: first for Debian 10 packages no image holds (most of a real refresh),
  then for packages of the shared layer (every ImageScan changes: bound by the API server's
  write throughput, printed as patches per second).

Bars (issue 12): 10,000 pods / 2,000 images: peak RSS ≤ 300 MB, all Scanned ≤ 300 s after the
pods exist; 50,000 pods / 10,000 images ≤ 600 MB; a delta of 100 advisories ≤ 1 s.
Baseline (issue 12): 569 MB, 679 s to all Scanned.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layerwatch_api.crds import all_crds  # noqa: E402
from layerwatch_scanner.vulndb.records import Affected, Range  # noqa: E402
from layerwatch_scanner.vulndb.store import VulnDB, VulnDBWriter  # noqa: E402
from layerwatch_scanner.vulndb.update import update_db  # noqa: E402

from tests.scanner.feeds_support import source_urls, upstream_files  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402
from tests.support.images import Image, file, make_layer, push  # noqa: E402
from tests.support.k8s import start_control_plane  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402

TESTDATA = ROOT / "tests/testdata"
API = "/apis/layerwatch.dev/v1alpha1/imagescans"
NAMESPACES = 20


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss(pid: int) -> tuple[float, float]:
    """(current, peak) resident MB of a process."""
    text = Path(f"/proc/{pid}/status").read_text()
    now = int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024
    peak = int(re.search(r"VmHWM:\s+(\d+)", text).group(1)) / 1024
    return now, peak


def _metric(port: int, name: str, match: str = "") -> float:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + ("{" if match else "")) and match in line and not line.startswith("#"))


REMATCH_LINE = re.compile(r"re-match \((delta|full)\): (\d+) of (\d+) images changed.*?(\d+) ImageScans patched in "
                          r"([0-9.]+) s")


def _rematches(log: Path) -> list[tuple]:
    return REMATCH_LINE.findall(log.read_text(errors="replace"))


def push_images(registry, count: int) -> list[str]:  # noqa: ANN001
    layer = make_layer([file("etc/os-release", (TESTDATA / "pkgdb/os-release/debian-10/etc/os-release").read_bytes()),
                        file("var/lib/dpkg/status",
                             (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_bytes())])
    refs = []
    host = registry.base_url.split("://", 1)[1]

    def one(i: int) -> str:
        image = Image([layer], config_extra={"config": {"Labels": {"app": f"app-{i}"}}})
        with registry.client() as client:
            push(client, registry.base_url, f"team/app-{i}", "1", image)
        return f"{host}/team/app-{i}:1"

    with ThreadPoolExecutor(8) as pool:
        refs = list(pool.map(one, range(count)))
    return refs


def create_pods(plane, refs: list[str], count: int) -> None:  # noqa: ANN001
    with plane.http() as client:
        for n in range(NAMESPACES):
            client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": f"team-{n}"}})
    local = threading.local()

    def one(i: int) -> None:
        client = getattr(local, "client", None) or plane.http()
        local.client = client
        ns = f"team-{i % NAMESPACES}"
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"pod-{i}", "namespace": ns},
               "spec": {"containers": [{"name": "app", "image": refs[i % len(refs)]}]}}
        for _ in range(5):
            r = client.post(f"/api/v1/namespaces/{ns}/pods", json=pod)
            if r.status_code in (201, 409):
                return
            time.sleep(1)
        raise RuntimeError(f"pod {i}: {r.status_code} {r.text[:200]}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def scanned_count(plane) -> tuple[int, int]:  # noqa: ANN001
    with plane.http() as client:
        items = client.get(API, timeout=120).json().get("items") or []
    return sum(1 for i in items if (i.get("status") or {}).get("phase") == "Scanned"), len(items)


def publish(db: Path, count: int, installed: bool, round_: int) -> int:
    """An in-place update: `count` new advisories for Debian 10 packages of the shared layer
    (`installed`: every image changes), or for packages no image holds (the usual refresh)."""
    reader = VulnDB.open(db)
    names = sorted({r[0] for r in reader._db.execute("SELECT package FROM affected WHERE ecosystem = 'debian:10'")})
    reader.close()
    status = (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_text()
    held = set(re.findall(r"^Package: (\S+)", status, re.M)) | set(re.findall(r"^Source: (\S+)", status, re.M))
    pool = sorted(held) if installed else [n for n in names if n not in held]
    rng = random.Random(7 + round_)
    writer = VulnDBWriter(db, in_place=True)
    writer.begin_source("debian")  # as a refresh of the Debian feed adds them
    for i in range(count):
        writer.add_affected(Affected(f"BENCH-{round_}-{i}", "debian:10", rng.choice(pool), "debian",
                                     ranges=[Range(fixed="999:0")], severity="High"))
    writer.end_source(True)
    writer.close()
    return count


def delta(db: Path, log: Path, installed: bool, round_: int) -> tuple | None:
    """Publish 100 advisories once the operator has re-matched; its next re-match's figures."""
    deadline = time.monotonic() + 120
    while not _rematches(log) and time.monotonic() < deadline:
        time.sleep(1)
    seen = len(_rematches(log))
    publish(db, 100, installed, round_)
    while time.monotonic() < deadline + 120:
        time.sleep(1)
        found = _rematches(log)[seen:]
        if found:
            return found[0]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lw-scale-"))
    plane = start_control_plane(work / "k8s")
    registry = start_registry("plain", work / "registry")
    server = FeedServer(files=upstream_files()).start()
    proc = None
    try:
        for crd in all_crds().values():
            plane.apply(crd)
        plane.wait_crds_established([crd["metadata"]["name"] for crd in all_crds().values()])
        db = work / "vulndb.sqlite"
        assert not update_db(db, ["debian"], source_urls(server)).failed
        started = time.monotonic()
        refs = push_images(registry, args.images)
        print(f"{args.images} images pushed in {time.monotonic() - started:.0f} s")
        metrics_port = _port()
        env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig), "LAYERWATCH_CACHE_DIR": str(work / "cache"),
               "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "20s", "LAYERWATCH_DB_MAX_AGE": "1h",
               "LAYERWATCH_SOURCES": "debian", "LAYERWATCH_FEED_URL_DEBIAN": source_urls(server)["debian"],
               "LAYERWATCH_METRICS_PORT": str(metrics_port), "LAYERWATCH_HEALTH_PORT": str(_port()),
               "LAYERWATCH_INSECURE_REGISTRIES": refs[0].split("/")[0]}
        log = open(work / "operator.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([str(Path(sys.executable).with_name("layerwatch")), "operator"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        peak = [0.0]

        def watch_rss() -> None:
            while proc.poll() is None:
                try:
                    peak[0] = max(peak[0], _rss(proc.pid)[1])
                except OSError:
                    return
                time.sleep(1)

        threading.Thread(target=watch_rss, daemon=True).start()
        time.sleep(5)
        started = time.monotonic()
        create_pods(plane, refs, args.pods)
        pods_done = time.monotonic()
        print(f"{args.pods} pods created in {pods_done - started:.0f} s")
        while True:
            done, total = scanned_count(plane)
            elapsed = time.monotonic() - pods_done
            print(f"  {elapsed:5.0f} s after the pods: {done}/{total} ImageScans Scanned, "
                  f"RSS {_rss(proc.pid)[0]:.0f} MB")
            if done >= args.images or elapsed > args.timeout or proc.poll() is not None:
                break
            time.sleep(10)
        all_scanned = time.monotonic() - pods_done
        steady = _rss(proc.pid)[0]
        events = _metric(metrics_port, "layerwatch_operator_pod_events_total")
        requests = _metric(metrics_port, "layerwatch_operator_api_requests_total", 'cause="pod-event"')
        all_requests = _metric(metrics_port, "layerwatch_operator_api_requests_total")
        # deltas: once the operator has re-matched at least once (its state), 100 advisories
        # appear in the database; its next refresh re-matches and patches
        usual = delta(db, work / "operator.log", installed=False, round_=0)
        shared = delta(db, work / "operator.log", installed=True, round_=1)
        peak[0] = max(peak[0], _rss(proc.pid)[1])
        print(f"\n{args.pods} pods / {args.images} images{'':14} measured   bar")
        print(f"operator peak RSS               {peak[0]:7.0f} MB   ≤ {300 if args.pods <= 10000 else 600} MB")
        print(f"operator RSS, all Scanned       {steady:7.0f} MB")
        print(f"all ImageScans Scanned          {all_scanned:7.0f} s    ≤ 300 s (after the pods exist)")
        print(f"API requests per pod event      {requests / max(events, 1):7.3f}      "
              f"({requests:.0f} made handling {events:.0f} pod events; {all_requests:.0f} in all, scans included)")
        for what, found in (("none installed", usual), ("all on the shared layer", shared)):
            if found:
                rate = int(found[3]) / max(float(found[4]), 1e-9)
                print(f"delta, 100 advisories, {what:<24}{float(found[4]):7.2f} s    ≤ 1 s "
                      f"({found[0]}: {found[1]} of {found[2]} images changed, {found[3]} ImageScans patched"
                      + (f", {rate:.0f} patches/s)" if int(found[3]) else ")"))
            else:
                print(f"delta, 100 advisories, {what}: re-match not seen in time")
        print("baseline (issue 12): 569 MB, 679 s")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        server.stop()
        registry.stop()
        plane.stop()


if __name__ == "__main__":
    main()
