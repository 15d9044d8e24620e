"""The API server's ceiling for ImageScan status patches: what bounds a re-match that changes
thousands of ImageScans.

    KUBEBUILDER_ASSETS=.tools/k8s python benchmarks/apiserver_patches.py [--objects 600]

The real kube-apiserver + etcd from ../shared/k8s with the CRDs applied; N ImageScans, then each
one's status patched (JSON merge patch, 100 findings as the operator writes them: the CRD schema
validates every field) through the `kubernetes` client the operator uses, by 1, 4 and 8 threads.
Prints patches per second: the operator's delta re-match cannot land faster than this
(benchmarks/operator_scale.py prints its own rate beside it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubernetes import client as k8s  # noqa: E402
from kubernetes import config  # noqa: E402
from layerwatch_api.crds import all_crds  # noqa: E402

from tests.support.k8s import start_control_plane  # noqa: E402

GROUP, VERSION, PLURAL = "layerwatch.dev", "v1alpha1", "imagescans"


def status(round_: int) -> dict:
    findings = [{"id": f"CVE-2024-{round_}{i:04d}", "severity": "High", "package": f"lib{i}", "version": "1.2.3-4",
                 "fixedVersion": "1.2.3-5", "layer": "sha256:" + "a" * 64, "aliases": [f"DSA-{i}-1"]}
                for i in range(100)]
    return {"status": {"phase": "Scanned", "summary": {"high": 100, "total": 100}, "vulnerabilities": findings,
                       "truncated": False, "packages": 120}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=600)
    args = parser.parse_args()
    plane = start_control_plane(Path(tempfile.mkdtemp(prefix="lw-patches-")))
    try:
        for crd in all_crds().values():
            plane.apply(crd)
        plane.wait_crds_established([crd["metadata"]["name"] for crd in all_crds().values()])
        config.load_kube_config(str(plane.kubeconfig))
        custom = k8s.CustomObjectsApi()

        def create(i: int) -> None:
            custom.create_cluster_custom_object(GROUP, VERSION, PLURAL, {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "ImageScan", "metadata": {"name": f"scan-{i}"},
                "spec": {"image": f"registry.local/app-{i}:1", "digest": f"sha256:{i:064x}"}})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(args.objects)))
        print(f"{args.objects} ImageScans, status of {len(str(status(0)))} bytes")
        for round_, threads in enumerate((1, 4, 8), start=1):
            body = status(round_)
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i, body=body: custom.patch_cluster_custom_object_status(
                    GROUP, VERSION, PLURAL, f"scan-{i}", body), range(args.objects)))
            rate = args.objects / (time.perf_counter() - started)
            print(f"{threads} thread(s): {rate:5.0f} status patches/s -> 2,000 changed ImageScans take at least "
                  f"{2000 / rate:.0f} s (bar of issue 12 for a delta: 1 s)")
    finally:
        plane.stop()


if __name__ == "__main__":
    main()
