"""The real single-node cluster of ../shared/k8s/node for the chart's end-to-end suite and its
install-time benchmark: start the node, build the image from the Dockerfile, serve the fixture
feeds inside the node (an air-gapped cluster's feed mirror), push a workload image, install."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import TESTDATA
from tests.support.images import Image, file, make_layer, push

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LAYERWATCH_SHARED", ROOT.parent / "shared"))
NODE = SHARED / "k8s" / "node"
NODE_DIR = os.environ.get("NODE_DIR", "/tmp/layerwatch-node")
REGISTRY = "10.245.0.1:15000"  # pods, containerd and the operator pull from here
HOST_REGISTRY = "http://127.0.0.1:15000"
MIRROR_PORT = 18080
MIRROR = f"http://10.245.0.1:{MIRROR_PORT}"
NAMESPACE = "layerwatch"
RELEASE = "lw"


def available() -> str:
    """'' when the node can run here, else why not."""
    if os.geteuid() != 0:
        return "the node needs root"
    if not (NODE / "node-start.sh").exists():
        return f"{NODE}/node-start.sh not found (LAYERWATCH_SHARED)"
    return ""


def tool(name: str) -> str:
    from tests.chart.helm_support import find_tool

    return find_tool(name)


@dataclass
class Node:
    env: dict[str, str]
    kubeconfig: str

    def run(self, *cmd: str | Path, check: bool = True, timeout: float = 600, input: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(c) for c in cmd], env=self.env, capture_output=True, text=True,
                                timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def kubectl(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(tool("kubectl"), *args, check=check, input=input, timeout=300)

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(tool("helm"), *args, check=check, timeout=600)

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, *docs: dict) -> subprocess.CompletedProcess[str]:
        return self.kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(d) for d in docs), check=False)


def start() -> Node:
    env = {**os.environ, "NODE_DIR": NODE_DIR}
    out = subprocess.run(["bash", str(NODE / "node-start.sh")], env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise AssertionError(f"node-start.sh failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    kubeconfig = out.stdout.strip().splitlines()[-1]
    env = {**env, "KUBECONFIG": kubeconfig, "HELM_CACHE_HOME": f"{NODE_DIR}/helm/cache",
           "HELM_CONFIG_HOME": f"{NODE_DIR}/helm/config", "HELM_DATA_HOME": f"{NODE_DIR}/helm/data"}
    return Node(env, kubeconfig)


def stop(reset: bool = True) -> None:
    subprocess.run(["bash", str(NODE / "node-stop.sh")], env={**os.environ, "NODE_DIR": NODE_DIR,
                                                             "RESET": "1" if reset else "0"},
                   capture_output=True, text=True, timeout=300)


def build_image(node: Node, tag: str = "test") -> str:
    """The project's Dockerfile, built with buildah and pushed to the node registry: REF@sha256:…"""
    ref = f"{REGISTRY}/layerwatch:{tag}"
    out = node.run("bash", NODE / "build-image.sh", ROOT, ref, timeout=900)
    return out.stdout.strip().splitlines()[-1]


def _osv_zip(files: list[Path]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            archive.writestr(f.name, f.read_bytes())
    return buf.getvalue()


def serve_feeds(node: Node) -> subprocess.Popen:
    """The fixture feeds in their upstream layout, served inside the node: what an air-gapped
    cluster's mirror is (pods reach it, nothing else does)."""
    root = Path(NODE_DIR) / "feed-mirror"
    (root / "Ubuntu").mkdir(parents=True, exist_ok=True)
    (root / "Ubuntu" / "all.zip").write_bytes(_osv_zip(sorted((TESTDATA / "feeds/ubuntu/cve").rglob("*.json"))))
    (root / "kev.json").write_bytes((TESTDATA / "feeds/kev/valid-catalog-1.json").read_bytes())
    (root / "epss.csv").write_bytes((TESTDATA / "feeds/epss/epss_scores-subset.csv").read_bytes())
    proc = subprocess.Popen(["bash", str(NODE / "node-exec.sh"), "python3", "-m", "http.server", "-b", "10.245.0.1",
                             str(MIRROR_PORT), "-d", str(root)], env=node.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{MIRROR}/kev.json", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the feed mirror did not start"
        time.sleep(0.3)


FEED_VALUES = ["--set", "operator.sources={ubuntu,kev,epss}",
               "--set", f"operator.feedUrls.ubuntu={MIRROR}/Ubuntu/all.zip",
               "--set", f"operator.feedUrls.kev={MIRROR}/kev.json",
               "--set", f"operator.feedUrls.epss={MIRROR}/epss.csv"]


def image_values(image_ref: str) -> list[str]:
    name, _, digest = image_ref.partition("@")
    repository, _, tag = name.rpartition(":")
    return ["--set", f"image.repository={repository}", "--set", f"image.tag={tag}",
            "--set", f"operator.registry.insecureRegistries={{{REGISTRY}}}"]


def push_workload_image() -> str:
    """Ubuntu 18.04's package database (real findings in the fixture feed) with a static busybox
    so the pod really runs. Returns the reference pods use."""
    layer = make_layer([
        file("bin/busybox", Path("/bin/busybox").read_bytes(), mode=0o755),
        file("etc/os-release", (TESTDATA / "pkgdb/os-release/ubuntu-18.04/etc/os-release").read_bytes()),
        file("var/lib/dpkg/status", (TESTDATA / "pkgdb/dpkg/ubuntu-18.04/var/lib/dpkg/status").read_bytes()),
    ])
    image = Image([layer], config_extra={"config": {"Entrypoint": ["/bin/busybox"], "Cmd": ["sleep", "3600"]}})
    with httpx.Client(timeout=60) as client:
        push(client, HOST_REGISTRY, "apps/ubuntu-app", "1", image)
    return f"{REGISTRY}/apps/ubuntu-app:1"


def api_status(token: str) -> int:
    """HTTP status of GET /api/v1/namespaces on the node's API server with only this bearer token."""
    with httpx.Client(verify=False, timeout=10) as client:  # noqa: S501 - loopback, the status is all we read
        return client.get("https://127.0.0.1:16443/api/v1/namespaces",
                          headers={"Authorization": f"Bearer {token}"}).status_code


def wait(what: str, check, timeout: float = 180, interval: float = 1.0):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
