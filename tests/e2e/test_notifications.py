"""Notifications end to end: a real kube-apiserver, registry and feed server, the operator as a
process, and real HTTP receivers. A feed update adds a Critical advisory for a running image:
each NotificationTarget gets exactly one message, signed with its Secret's key; a receiver that
is down meanwhile, with the operator restarted before it recovers, still gets it once."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from layerwatch_scanner.notify.signing import HEADER, verify
from layerwatch_scanner.vulndb.records import Affected, Range
from layerwatch_scanner.vulndb.update import update_db

from tests.e2e.test_operator import API, _dpkg_image, _port, _start_operator, _wait, inject
from tests.scanner.feeds_support import source_urls, upstream_files
from tests.support.feedserver import FeedServer
from tests.support.images import push
from tests.support.k8s import ControlPlane
from tests.support.receiver import Receiver
from tests.support.registry import start_registry

KEY = b"notify-e2e-hmac-key"
NS = "team-notify"


def _target(name: str, url: str, fmt: str, signed: bool) -> dict:
    spec: dict = {"url": url, "format": fmt, "filter": {"minSeverity": "Critical",
                                                         "namespaceSelector": {"matchLabels": {"team": "shop"}}}}
    if signed:
        spec["hmacSecretRef"] = {"name": "notify-key", "namespace": "default", "key": "hmac"}
    return {"apiVersion": "layerwatch.dev/v1alpha1", "kind": "NotificationTarget", "metadata": {"name": name},
            "spec": spec}


def test_a_new_critical_advisory_is_notified_once_per_target(cluster: ControlPlane, tmp_path: Path) -> None:
    registry = start_registry("plain", tmp_path / "registry")
    with registry.client() as client:
        push(client, registry.base_url, "team/notify", "1", _dpkg_image("ubuntu-18.04", "ubuntu-18.04"))
    db = tmp_path / "vulndb.sqlite"
    server = FeedServer(files=upstream_files()).start()
    feeds = source_urls(server)
    assert not update_db(db, ["ubuntu"], feeds).failed
    down = Receiver(fail_first=10_000).start()  # down until told otherwise
    events = Receiver().start()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "2s", "LAYERWATCH_DB_MAX_AGE": "1h",
           "LAYERWATCH_SOURCES": "ubuntu", "LAYERWATCH_FEED_URL_UBUNTU": feeds["ubuntu"],
           "LAYERWATCH_METRICS_PORT": str(_port()), "LAYERWATCH_HEALTH_PORT": str(_port())}
    log = tmp_path / "operator.log"
    proc = _start_operator(env, log)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "notify-key", "namespace": "default"},
                       "data": {"hmac": base64.b64encode(KEY).decode()}})
        cluster.apply(_target("security", down.url, "json", signed=True))
        cluster.apply(_target("events", events.url, "cloudevents", signed=False))
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"team": "shop"}}})
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": NS},
                       "spec": {"containers": [{"name": "c", "image": f"{registry.host}/team/notify:1"}]}})
        with cluster.http() as client:
            def scanned() -> dict | None:
                assert proc.poll() is None, log.read_text()[-3000:]
                items = client.get(f"{API}/imagescans").json()["items"]
                return next((i for i in items if i["spec"]["image"] == f"{registry.host}/team/notify:1"
                             and (i.get("status") or {}).get("phase") == "Scanned"), None)

            scan = _wait("the ImageScan scanned", scanned)
            _wait("a first re-match", lambda: "re-match (" in log.read_text(), timeout=30)
            assert not down.requests and not events.requests  # a scan alone notifies nobody (newScans: false)
            inject(db, Affected("CVE-2099-0002", "ubuntu:18.04", "tar", "injected", ranges=[Range(fixed="9.9")],
                                severity="Critical"))
            swapped = time.monotonic()
            [event] = _wait("the cloudevents target's message", lambda: events.delivered, timeout=60)
            latency = time.monotonic() - swapped
            print(f"notification delivered {latency:.2f} s after the database changed (refresh interval 2 s)")
            cloud = json.loads(event.body)
            assert cloud["type"] == "dev.layerwatch.findings.changed" and cloud["subject"] == scan["spec"]["digest"]
            assert [f["id"] for f in cloud["data"]["added"]] == ["CVE-2099-0002"]
            assert cloud["data"]["image"]["namespaces"] == [NS] and cloud["data"]["advisories"] == ["CVE-2099-0002"]
            _wait("attempts at the target that is down", lambda: len(down.requests) >= 2, timeout=60)

            def status(name: str) -> dict:
                return client.get(f"{API}/notificationtargets/{name}").json().get("status") or {}

            _wait("the failing target's status", lambda: status("security").get("lastError"), timeout=30)
            assert "HTTP 500" in status("security")["lastError"] and status("security")["pending"] == 1
            proc.terminate()
            proc.wait(timeout=15)
            down.fail_first = 0  # the receiver recovers while the operator is stopped
            proc = _start_operator(env, log)
            delivered = _wait("the message after the restart", lambda: down.delivered, timeout=90)
            time.sleep(6)  # three more refreshes: nothing is sent twice
            assert len(down.delivered) == 1 and len(delivered) == 1
            [got] = down.delivered
            assert verify(KEY, got.body, got.headers[HEADER])
            payload = json.loads(got.body)
            assert [f["id"] for f in payload["added"]] == ["CVE-2099-0002"]
            assert {r.headers["X-Layerwatch-Delivery"] for r in down.requests} == {payload["id"]}
            assert len(events.delivered) == 1
            _wait("the recovered target's status", lambda: status("security").get("sent") == 1 and
                  status("security").get("pending") == 0, timeout=30)
            assert status("security")["lastSuccess"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()
        server.stop()
        down.stop()
        events.stop()
