"""Scan on push end to end: Debian's docker-registry, configured to send its notifications to the
operator's push endpoint, reports an image pushed to it; an ImageScan appears and is Scanned,
with findings, while no pod runs the image."""

from __future__ import annotations

import os
import time
from pathlib import Path

from layerwatch_api.naming import imagescan_name
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.e2e.test_operator import API, _dpkg_image, _port, _start_operator, _wait
from tests.support.images import push
from tests.support.k8s import ControlPlane
from tests.support.registry import start_registry

TOKEN = "push-e2e-token"


def test_a_pushed_image_is_scanned_before_any_pod_runs_it(cluster: ControlPlane, tmp_path: Path) -> None:
    port = _port()
    registry = start_registry("plain", tmp_path / "registry", notify=[{
        "name": "layerwatch", "url": f"http://127.0.0.1:{port}/v1/push", "timeout": "2s", "threshold": 3,
        "backoff": "1s", "headers": {"Authorization": [f"Bearer {TOKEN}"]}}])
    db = tmp_path / "vulndb.sqlite"
    assert not update_db(db, ["ubuntu"], {"ubuntu": (TESTDATA / "feeds/ubuntu/cve").as_uri()}).failed
    (tmp_path / "token").write_text(TOKEN + "\n")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "1h", "LAYERWATCH_DB_MAX_AGE": "1h",
           "LAYERWATCH_METRICS_PORT": str(_port()), "LAYERWATCH_HEALTH_PORT": str(_port()),
           "LAYERWATCH_PUSH_PORT": str(port), "LAYERWATCH_PUSH_TOKEN_FILE": str(tmp_path / "token")}
    log = tmp_path / "operator.log"
    proc = _start_operator(env, log)
    try:
        _wait("the push endpoint", lambda: "scan-on-push endpoint on port" in log.read_text(), timeout=60)
        with registry.client() as client:
            pushed_at = time.monotonic()
            digest = push(client, registry.base_url, "team/pushed", "7", _dpkg_image("ubuntu-18.04", "ubuntu-18.04"))
        name = imagescan_name(f"{registry.host}/team/pushed:7", digest)
        with cluster.http() as http:
            def scanned() -> dict | None:
                assert proc.poll() is None, log.read_text()[-3000:]
                got = http.get(f"{API}/imagescans/{name}")
                scan = got.json() if got.status_code == 200 else {}
                return scan if (scan.get("status") or {}).get("phase") == "Scanned" else None

            scan = _wait("the pushed image's ImageScan Scanned", scanned, timeout=90)
            print(f"pushed image Scanned {time.monotonic() - pushed_at:.1f} s after the push")
            assert (scan["spec"]["image"], scan["spec"]["digest"]) == (f"{registry.host}/team/pushed:7", digest)
            assert scan["status"]["summary"]["total"] > 0 and scan["status"]["usedBy"]["pods"] == 0
            # one layer: all of it is the base (no base annotation), so every fix is a newer base
            advice = scan["status"]["advice"]["rebuildBase"]
            assert advice["findings"] == scan["status"]["summary"]["total"] and advice["base"]["from"] == "first-layer"
            assert {v["advice"] for v in scan["status"]["vulnerabilities"]} == {"rebuild-base"}
            pods = http.get("/api/v1/pods").json()["items"]
            assert not [p for p in pods if "team/pushed" in str(p["spec"])]
            same = [i for i in http.get(f"{API}/imagescans").json()["items"] if i["spec"].get("digest") == digest
                    and i["spec"]["image"].startswith(f"{registry.host}/team/pushed")]
            assert len(same) == 1  # the registry's two manifest events made one ImageScan
        assert "scan on push: 1 pushed images, 1 ImageScans created" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()
