"""The operator end to end: a real kube-apiserver, a real registry, a database built by the real
feed updater; a Pod appears, its image gets an ImageScan with findings; the Pod goes, so does
the ImageScan after its retention."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from layerwatch_scanner.vulndb.update import update_db

from tests.conftest import TESTDATA
from tests.scanner.feeds_support import source_urls, upstream_files
from tests.support.feedserver import FeedServer
from tests.support.images import Image, file, make_layer, push
from tests.support.k8s import ControlPlane
from tests.support.registry import start_registry

pytestmark = pytest.mark.e2e
API = "/apis/layerwatch.dev/v1alpha1"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check, timeout: float = 90):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _dpkg_image(release: str, status: str) -> Image:
    """One layer: the os-release and dpkg status fixtures of a real image."""
    return Image([make_layer([file("etc/os-release", (TESTDATA / f"pkgdb/os-release/{release}/etc/os-release").read_bytes()),
                              file("var/lib/dpkg/status", (TESTDATA / f"pkgdb/dpkg/{status}/var/lib/dpkg/status").read_bytes())])])


def inject(db: Path, *records) -> None:  # noqa: ANN002 - vulndb Affected records
    """Publish advisories into a database in place, as a feed refresh would (source "injected")."""
    from layerwatch_scanner.vulndb.store import VulnDBWriter

    writer = VulnDBWriter(db, in_place=True)
    writer.begin_source("injected")
    for record in records:
        writer.add_affected(record)
    writer.end_source(True)
    writer.close()


def _start_operator(env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "layerwatch_scanner", "operator"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


@pytest.fixture
def operator_env(cluster: ControlPlane, tmp_path: Path):
    registry = start_registry("plain", tmp_path / "registry")
    image = _dpkg_image("ubuntu-18.04", "ubuntu-18.04")
    alpine = Image([make_layer([file("etc/os-release", "ID=alpine\nVERSION_ID=3.16.9\n"),
                                file("lib/apk/db/installed",
                                     (TESTDATA / "pkgdb/apk/alpine-3.16/lib/apk/db/installed").read_bytes())])])
    with registry.client() as client:
        digest = push(client, registry.base_url, "team/app", "1", image)
        push(client, registry.base_url, "team/alpine", "1", alpine)
    db = tmp_path / "vulndb.sqlite"
    report = update_db(db, ["ubuntu"], {"ubuntu": (TESTDATA / "feeds/ubuntu/cve").as_uri()})
    assert not report.failed
    metrics_port = _port()
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "1h", "LAYERWATCH_DB_MAX_AGE": "1h",
           "LAYERWATCH_RETENTION": "3s", "LAYERWATCH_GC_INTERVAL": "2s", "LAYERWATCH_METRICS_PORT": str(metrics_port),
           "LAYERWATCH_HEALTH_PORT": str(_port())}
    proc = _start_operator(env, tmp_path / "operator.log")
    try:
        yield registry, digest, metrics_port, proc, tmp_path / "operator.log"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()


def test_pod_to_imagescan_to_findings_and_garbage_collection(cluster: ControlPlane, operator_env) -> None:
    registry, digest, metrics_port, proc, log = operator_env
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "team-a"},
           "spec": {"containers": [{"name": "app", "image": f"{registry.host}/team/app:1"}]}}
    cluster.apply(pod)
    with cluster.http() as client:
        def scanned() -> dict | None:
            assert proc.poll() is None, log.read_text()[-3000:]
            items = client.get(f"{API}/imagescans").json()["items"]
            mine = [i for i in items if i["spec"].get("digest") == digest]
            if mine and (mine[0].get("status") or {}).get("phase") == "Scanned" \
                    and mine[0]["status"].get("usedBy", {}).get("pods") == 1 \
                    and "ns.layerwatch.dev/team-a" in (mine[0]["metadata"].get("labels") or {}):
                return mine[0]
            return None

        scan = _wait("the ImageScan to be scanned", scanned)
        status = scan["status"]
        assert scan["metadata"]["name"].startswith("app-1-")
        assert "ns.layerwatch.dev/team-a" in scan["metadata"]["labels"]
        assert status["os"] == {"id": "ubuntu", "version": "18.04"} and status["packages"] == 90
        tar = next(v for v in status["vulnerabilities"] if v["id"] == "CVE-2022-48303")
        assert (tar["package"], tar["fixedVersion"]) == ("tar", "1.29b-2ubuntu0.4")
        assert status["summary"]["total"] >= 1 and status["usedBy"]["workloads"] == ["team-a/Pod/app"]
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'layerwatch_images{phase="Scanned"}' in metrics
        assert 'layerwatch_findings{fixable="true",severity="Medium"}' in metrics

        # an image whose distribution the database has no data for (it holds Ubuntu only) is
        # Incomplete with the reason, never Scanned with zero findings
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "alpine", "namespace": "team-a"},
                       "spec": {"containers": [{"name": "a", "image": f"{registry.host}/team/alpine:1"}]}})

        def incomplete() -> dict | None:
            items = client.get(f"{API}/imagescans").json()["items"]
            mine = [i for i in items if i["spec"]["image"].endswith("team/alpine:1")
                    and (i.get("status") or {}).get("phase") == "Incomplete"]
            return mine[0]["status"] if mine else None

        uncovered = _wait("the alpine ImageScan to be Incomplete", incomplete)
        missing = next(c for c in uncovered["conditions"] if c["type"] == "AdvisoryDataMissing")
        assert missing["status"] == "True" and "alpine:3.16" in missing["message"]
        assert "layerwatch db update --source alpine" in missing["message"]
        assert uncovered["coverage"]["gaps"][0]["kind"] == "missing-source"
        assert uncovered["packages"] > 0
        _wait("the Incomplete image in the metrics", lambda: 'layerwatch_images{phase="Incomplete"} 1.0'
              in httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text, timeout=30)
        client.delete("/api/v1/namespaces/team-a/pods/alpine?gracePeriodSeconds=0").raise_for_status()

        # an ImageScan made by hand for an unreachable registry fails with a clear condition
        client.post(f"{API}/imagescans", json={"apiVersion": "layerwatch.dev/v1alpha1", "kind": "ImageScan",
                                               "metadata": {"name": "unreachable"},
                                               "spec": {"image": "127.0.0.1:9/none/here:1"}}).raise_for_status()

        def failed() -> dict | None:
            status = client.get(f"{API}/imagescans/unreachable").json().get("status") or {}
            return status if status.get("phase") == "Failed" else None

        condition = _wait("the hand-made ImageScan to fail", failed)["conditions"][0]
        assert condition["reason"] == "RegistryUnreachable" and "127.0.0.1:9" in condition["message"]

        client.delete("/api/v1/namespaces/team-a/pods/app?gracePeriodSeconds=0").raise_for_status()
        _wait("garbage collection of the unused ImageScan",
              lambda: client.get(f"{API}/imagescans/{scan['metadata']['name']}").status_code == 404, timeout=60)


def test_operator_pulls_the_database_from_a_registry(cluster: ControlPlane, tmp_path: Path) -> None:
    """LAYERWATCH_DB_REPOSITORY: no feed is downloaded; the database `db push`ed by a builder is
    pulled from the registry (digest-verified) and the pod's image is matched against it."""
    from layerwatch_scanner.vulndb.artifact import push_db

    registry = start_registry("plain", tmp_path / "registry")
    image = _dpkg_image("ubuntu-18.04", "ubuntu-18.04")
    built = tmp_path / "builder/vulndb.sqlite"
    assert not update_db(built, ["ubuntu"], {"ubuntu": (TESTDATA / "feeds/ubuntu/cve").as_uri()}).failed
    with registry.client() as client:
        digest = push(client, registry.base_url, "team/pulled", "1", image)
    push_db(built, f"{registry.host}/layerwatch/vulndb:3")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_REPOSITORY": f"{registry.host}/layerwatch/vulndb:3", "LAYERWATCH_REFRESH_INTERVAL": "1h",
           "LAYERWATCH_METRICS_PORT": str(_port()), "LAYERWATCH_HEALTH_PORT": str(_port()),
           "LAYERWATCH_FEED_URL_UBUNTU": "http://127.0.0.1:9/never-used"}
    log = tmp_path / "operator.log"
    proc = _start_operator(env, log)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-pull"}})
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app", "namespace": "team-pull"},
                       "spec": {"containers": [{"name": "app", "image": f"{registry.host}/team/pulled:1"}]}})
        with cluster.http() as client:
            def scanned() -> dict | None:
                assert proc.poll() is None, log.read_text()[-3000:]
                items = client.get(f"{API}/imagescans").json()["items"]
                mine = [i for i in items if i["spec"].get("digest") == digest
                        and (i.get("status") or {}).get("phase") == "Scanned"]
                return mine[0]["status"] if mine else None

            status = _wait("the ImageScan to be scanned from the pulled database", scanned)
        assert any(v["id"] == "CVE-2022-48303" for v in status["vulnerabilities"])
        pulled = tmp_path / "cache/vulndb.sqlite"
        assert pulled.exists() and Path(f"{pulled}.pulled").read_text().strip().startswith("sha256:")
        assert "never-used" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()


def test_feed_refresh_patches_only_the_imagescans_it_changes(cluster: ControlPlane, tmp_path: Path) -> None:
    """A refresh that publishes a Critical advisory for a package of one running image: that
    image's ImageScan gains it and an Event names it; the other image's ImageScan is untouched."""
    from layerwatch_scanner.vulndb.records import Affected, Range
    from layerwatch_scanner.vulndb.store import VulnDB

    registry = start_registry("plain", tmp_path / "registry")
    ubuntu = _dpkg_image("ubuntu-18.04", "ubuntu-18.04")
    debian = _dpkg_image("debian-10", "debian-10-nginx")
    with registry.client() as client:
        push(client, registry.base_url, "team/ubuntu", "1", ubuntu)
        push(client, registry.base_url, "team/debian", "1", debian)
    db = tmp_path / "vulndb.sqlite"
    server = FeedServer(files=upstream_files()).start()
    feeds = source_urls(server)
    assert not update_db(db, ["ubuntu", "debian"], feeds).failed
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "3s", "LAYERWATCH_DB_MAX_AGE": "1h",
           "LAYERWATCH_SOURCES": "ubuntu,debian", "LAYERWATCH_FEED_URL_UBUNTU": feeds["ubuntu"],
           "LAYERWATCH_FEED_URL_DEBIAN": feeds["debian"],
           "LAYERWATCH_METRICS_PORT": str(_port()), "LAYERWATCH_HEALTH_PORT": str(_port())}
    log = tmp_path / "operator.log"
    proc = _start_operator(env, log)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-refresh"}})
        for name in ("ubuntu", "debian"):
            cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "team-refresh"},
                           "spec": {"containers": [{"name": "c", "image": f"{registry.host}/team/{name}:1"}]}})
        with cluster.http() as client:
            def scans() -> dict[str, dict]:
                assert proc.poll() is None, log.read_text()[-3000:]
                items = client.get(f"{API}/imagescans").json()["items"]
                return {i["spec"]["image"].split("/team/")[1]: i for i in items
                        if i["spec"]["image"].startswith(f"{registry.host}/team/")
                        and (i.get("status") or {}).get("phase") == "Scanned"}

            before = _wait("both ImageScans scanned", lambda: (s := scans()) and len(s) == 2 and s)
            _wait("a first re-match", lambda: "re-match (" in log.read_text(), timeout=30)
            vulndb = VulnDB.open(db)
            assert vulndb.affected("ubuntu:18.04", "tar"), "the ecosystem key of Ubuntu 18.04 changed"
            vulndb.close()
            inject(db, Affected("CVE-2099-0001", "ubuntu:18.04", "tar", "injected", ranges=[Range(fixed="9.9")],
                                severity="Critical"))

            def gained() -> dict | None:
                scan = scans().get("ubuntu:1")
                hit = scan and [v for v in scan["status"]["vulnerabilities"] if v["id"] == "CVE-2099-0001"]
                return scan if hit else None

            after = _wait("the ubuntu ImageScan to gain the new advisory", gained, timeout=60)
            new = next(v for v in after["status"]["vulnerabilities"] if v["id"] == "CVE-2099-0001")
            assert (new["package"], new["severity"], new["fixedVersion"]) == ("tar", "Critical", "9.9")
            assert after["status"]["summary"]["critical"] == before["ubuntu:1"]["status"]["summary"]["critical"] + 1

            def event() -> list[str]:
                items = client.get("/api/v1/namespaces/default/events").json()["items"]
                return [e["message"] for e in items if e["reason"] == "NewVulnerabilities"
                        and e["involvedObject"]["name"] == after["metadata"]["name"]]

            assert "CVE-2099-0001" in _wait("the NewVulnerabilities Event", event, timeout=30)[0]
            # the Debian image holds no Ubuntu package: its findings were left alone
            assert scans()["debian:1"]["status"]["vulnerabilities"] == before["debian:1"]["status"]["vulnerabilities"]
            assert scans()["debian:1"]["status"]["matchedAt"] == before["debian:1"]["status"]["matchedAt"]
            # (every ImageScan of the changed digest is patched: an earlier test left one of the same image)
            assert "1 of 2 images changed, 1 packages changed," in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()
        server.stop()


def test_amazon_linux_and_wolfi_images_get_their_own_advisories(cluster: ControlPlane, tmp_path: Path) -> None:
    """Pods running an Amazon Linux 2023 and a Wolfi image: each ImageScan is Scanned against its
    own distribution's feed (ALAS updateinfo, Wolfi secdb), with exactly those findings."""
    from tests.scanner.distros.conftest import PACKAGES_WOLFI, apk_installed, rpmdb_sqlite

    registry = start_registry("plain", tmp_path / "registry")
    os_release = TESTDATA / "pkgdb/os-release"
    amazon = Image([make_layer([file("etc/os-release", (os_release / "amazonlinux-2023/etc/os-release").read_bytes()),
                                file("var/lib/rpm/rpmdb.sqlite",
                                     rpmdb_sqlite([("rsyslog", "0", "8.2204.0", "2.amzn2023.0.1")]))])])
    wolfi = Image([make_layer([file("etc/os-release", (os_release / "wolfi/etc/os-release").read_bytes()),
                               file("lib/apk/db/installed", apk_installed(PACKAGES_WOLFI))])])
    with registry.client() as client:
        push(client, registry.base_url, "base/amazon", "2023", amazon)
        push(client, registry.base_url, "base/wolfi", "latest", wolfi)
    db = tmp_path / "vulndb.sqlite"
    feeds = TESTDATA / "feeds"
    report = update_db(db, ["amazon", "wolfi"],
                       {"amazon": (feeds / "amazon-alas/al2023/updateinfo-subset.xml.gz").as_uri(),
                        "wolfi": (feeds / "wolfi-secdb/security.json").as_uri()})
    assert not report.failed, report
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "LAYERWATCH_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERWATCH_DB_PATH": str(db), "LAYERWATCH_REFRESH_INTERVAL": "1h", "LAYERWATCH_DB_MAX_AGE": "1h",
           "LAYERWATCH_METRICS_PORT": str(_port()), "LAYERWATCH_HEALTH_PORT": str(_port()),
           "LAYERWATCH_SOURCES": "amazon,wolfi"}
    log = tmp_path / "operator.log"
    proc = _start_operator(env, log)
    try:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "distros"}})
        for name, ref in (("amazon", "base/amazon:2023"), ("wolfi", "base/wolfi:latest")):
            cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "distros"},
                           "spec": {"containers": [{"name": "c", "image": f"{registry.host}/{ref}"}]}})
        with cluster.http() as client:
            def scanned() -> dict | None:
                assert proc.poll() is None, log.read_text()[-3000:]
                items = client.get(f"{API}/imagescans").json()["items"]
                done = {i["spec"]["image"].rsplit("/", 1)[-1]: i["status"] for i in items
                        if (i.get("status") or {}).get("phase") == "Scanned"}
                return done if {"amazon:2023", "wolfi:latest"} <= set(done) else None

            done = _wait("both ImageScans to be Scanned", scanned)
        found = {name: {(v["id"], v["package"], v.get("fixedVersion", "")) for v in status["vulnerabilities"]}
                 for name, status in done.items()}
        assert done["amazon:2023"]["os"] == {"id": "amzn", "version": "2023"}
        assert found["amazon:2023"] == {("ALAS2023-2023-001", "rsyslog", "8.2204.0-3.amzn2023.0.2")}
        assert found["wolfi:latest"] == {("CVE-2022-28391", "busybox", "1.35.0-r3"),
                                         ("CVE-2022-30065", "busybox", "1.35.0-r3"),
                                         ("CVE-2022-37434", "zlib", "1.2.12-r3")}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        registry.stop()
