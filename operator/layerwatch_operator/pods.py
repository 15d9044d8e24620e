"""What runs in a pod: its images (with digests when the kubelet reported them) and the
workload that owns it. Pure functions over the Pod object."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

CONTAINER_FIELDS = (("initContainers", "initContainerStatuses"), ("containers", "containerStatuses"),
                    ("ephemeralContainers", "ephemeralContainerStatuses"))
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet"}


@dataclass(frozen=True)
class PodImage:
    image: str
    digest: str  # "" until the kubelet reports an imageID (or the image reference pins one)


def pod_images(pod: dict) -> list[PodImage]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    found: dict[str, PodImage] = {}
    for spec_field, status_field in CONTAINER_FIELDS:
        digests = {}
        for cs in status.get(status_field) or []:
            # imageID looks like "docker-pullable://nginx@sha256:…" or "docker.io/library/nginx@sha256:…"
            m = _DIGEST.search(str(cs.get("imageID", "")))
            if m and cs.get("name"):
                digests[cs["name"]] = m.group(0)
        for container in spec.get(spec_field) or []:
            image = container.get("image")
            if not isinstance(image, str) or not image:
                continue
            pinned = _DIGEST.search(image.partition("@")[2]) if "@" in image else None
            digest = digests.get(container.get("name"), pinned.group(0) if pinned else "")
            found[f"{image}|{digest}"] = PodImage(image, digest)
    return list(found.values())


def workload_of(pod: dict, owner_of: Callable[[str, str, str], dict | None]) -> str:
    """"namespace/Kind/name" of the top controller (Deployment over ReplicaSet, CronJob over Job).

    `owner_of(kind, namespace, name)` fetches an owner object, or None when it is gone.
    """
    meta = pod.get("metadata") or {}
    namespace = meta.get("namespace", "")
    kind, name = "Pod", meta.get("name", "")
    refs = meta.get("ownerReferences") or []
    for _ in range(3):  # Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob
        controller = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if not controller or controller.get("kind") not in WORKLOAD_KINDS:
            break
        kind, name = controller["kind"], controller["name"]
        owner = owner_of(kind, namespace, name)
        refs = ((owner or {}).get("metadata") or {}).get("ownerReferences") or []
        if not refs:
            break
    return f"{namespace}/{kind}/{name}"
