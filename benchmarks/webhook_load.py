"""Webhook load benchmark: one webhook process (1 uvicorn worker) holding 2,000 ImageScans and
20 policies in memory, driven at a fixed rate over loopback TLS.

    python benchmarks/webhook_load.py [--rate 1000] [--duration 30]

Load comes from `wrk` (Debian package) when installed — a C client, so the generator does not
take the CPU the server needs on a 2-core machine — else from an open-loop asyncio client.
Prints p50/p99 latency, errors, the rate achieved and the webhook's peak RSS.
Bar (issue 6): p99 ≤ 5 ms at 1,000 requests/s for 30 s, no errors, memory ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SCANS, POLICIES = 2000, 20


def fixtures() -> dict[str, dict]:
    rng = random.Random(7)
    scans = []
    for i in range(SCANS):
        vulns = [{"id": f"CVE-2024-{i:04d}{j}", "severity": rng.choice(["Critical", "High", "Medium", "Low"]),
                  "package": f"pkg{j}", "version": "1.0", "fixedVersion": rng.choice(["", "1.1"])}
                 for j in range(rng.randint(0, 30))]
        scans.append({"apiVersion": "layerwatch.dev/v1alpha1", "kind": "ImageScan",
                      "metadata": {"name": f"app-{i}", "resourceVersion": "1"},
                      "spec": {"image": f"registry.example.com/team/app{i}:1", "digest": f"sha256:{i:064x}"},
                      "status": {"phase": "Scanned", "resolvedTags": [f"registry.example.com/team/app{i}:1"],
                                 "vulnerabilities": vulns}})
    policies = [{"apiVersion": "layerwatch.dev/v1alpha1", "kind": "VulnerabilityPolicy",
                 "metadata": {"name": f"policy-{i}", "resourceVersion": "1"},
                 "spec": {"namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                      "operator": "In", "values": [f"ns{i % 5}"]}]},
                          "action": ["Enforce", "Warn", "Audit"][i % 3], "maxSeverity": "High",
                          "exceptions": [{"id": f"CVE-2024-{i:04d}0", "reason": "bench", "expires": "2099-01-01"}]}}
                for i in range(POLICIES)]
    return {"/apis/layerwatch.dev/v1alpha1/imagescans": {"metadata": {"resourceVersion": "1"}, "items": scans},
            "/apis/layerwatch.dev/v1alpha1/vulnerabilitypolicies": {"metadata": {"resourceVersion": "1"},
                                                                    "items": policies}}


def fake_api(lists: dict[str, dict]) -> ThreadingHTTPServer:
    """Lists once, then watches that stay open and quiet (as a calm cluster does)."""
    bodies = {path: json.dumps(doc).encode() for path, doc in lists.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            path, _, query = self.path.partition("?")
            if "watch=true" in query:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                time.sleep(3600)
                return
            body = bodies.get(path, b'{"items": []}')
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def review(i: int) -> bytes:
    n = i % SCANS
    images = [f"registry.example.com/team/app{n}:1", f"registry.example.com/team/app{(n * 7) % SCANS}@sha256:{(n * 7) % SCANS:064x}"]
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": f"u{i}", "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "resource": {"group": "apps", "version": "v1", "resource": "deployments"}, "namespace": f"ns{i % 5}",
        "operation": "CREATE", "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                                          "metadata": {"name": f"d{i}", "namespace": f"ns{i % 5}"},
                                          "spec": {"template": {"spec": {"containers": [
                                              {"name": f"c{k}", "image": im} for k, im in enumerate(images)]}}}}}}).encode()


async def load(base: str, ca: Path, rate: int, duration: float, connections: int) -> tuple[list[float], int]:
    ctx = ssl.create_default_context(cafile=str(ca))
    latencies: list[float] = []
    errors = 0
    bodies = [review(i) for i in range(4096)]
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, verify=ctx, limits=limits, timeout=5) as client:
        start = time.perf_counter()
        total = int(rate * duration)
        sem = asyncio.Semaphore(connections)

        async def one(i: int) -> None:
            nonlocal errors
            async with sem:
                t = time.perf_counter()
                try:
                    r = await client.post("/validate", content=bodies[i % len(bodies)],
                                          headers={"Content-Type": "application/json"})
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t)

        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--connections", type=int, default=32, help="Python client connections")
    parser.add_argument("--wrk-connections", type=int, default=4)
    parser.add_argument("--python-client", action="store_true", help="use the open-loop Python client, not wrk")
    args = parser.parse_args()
    api = fake_api(fixtures())
    workdir = Path(tempfile.mkdtemp(prefix="lw-webhook-bench-"))
    port = 18443 + random.randint(0, 1000)
    env = {**os.environ, "LAYERWATCH_WEBHOOK_KUBE_URL": f"http://127.0.0.1:{api.server_address[1]}",
           "LAYERWATCH_WEBHOOK_TLS_MODE": "files", "LAYERWATCH_WEBHOOK_CERT_DIR": str(workdir),
           "LAYERWATCH_WEBHOOK_PORT": str(port), "LAYERWATCH_WEBHOOK_HOST": "127.0.0.1",
           "LAYERWATCH_WEBHOOK_WATCH_NAMESPACES": "false", "LAYERWATCH_WEBHOOK_CREATE_IMAGESCANS": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "layerwatch_scanner", "webhook"], env=env,
                            stderr=subprocess.DEVNULL)
    base = f"https://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if (workdir / "ca.crt").exists():
                try:
                    with httpx.Client(verify=ssl.create_default_context(cafile=str(workdir / "ca.crt"))) as c:
                        if c.get(f"{base}/readyz").status_code == 200:
                            break
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        print(f"webhook: {SCANS} ImageScans, {POLICIES} policies, 1 worker, TLS on loopback")
        if shutil.which("wrk") and not args.python_client:
            # wrk (C) drives the load: a Python client would saturate the second core before the server
            script = workdir / "post.lua"
            script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                              f"wrk.body = {json.dumps(review(5).decode())}\n")
            out = subprocess.run(["wrk", "-t1", f"-c{args.wrk_connections}", f"-d{int(args.duration)}s", "--latency",
                                  "-s", str(script), f"{base}/validate"], capture_output=True, text=True).stdout
            wanted = ("Requests/sec", "50%", "90%", "99%", "Non-2xx", "Socket errors", "requests in")
            for line in out.splitlines():
                if any(w in line for w in wanted):
                    print("wrk:", line.strip())
            print(f"(closed loop, {args.wrk_connections} connections: the rate is what one worker sustains; "
                  f"bar: p99 <= 5 ms at >= {args.rate}/s, no errors)")
        else:
            asyncio.run(load(base, workdir / "ca.crt", 200, 3, args.connections))  # warm-up
            t = time.perf_counter()
            latencies, errors = asyncio.run(load(base, workdir / "ca.crt", args.rate, args.duration, args.connections))
            elapsed = time.perf_counter() - t
            latencies.sort()
            q = statistics.quantiles(latencies, n=100)
            print(f"requests {len(latencies)} in {elapsed:.1f}s = {len(latencies) / elapsed:.0f}/s "
                  f"(target {args.rate}/s), errors {errors}")
            print(f"latency p50 {q[49] * 1000:.2f} ms   p99 {q[98] * 1000:.2f} ms (bar 5 ms)   "
                  f"max {latencies[-1] * 1000:.1f} ms")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
        print(f"webhook peak RSS {hwm:.0f} MB (bar 150 MB)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        api.shutdown()


if __name__ == "__main__":
    main()
