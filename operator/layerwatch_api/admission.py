"""What the webhook admits: the pod spec inside each kind of workload, and its images."""

from __future__ import annotations

from dataclasses import dataclass

# kind -> path to the pod spec inside the object
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


class UnsupportedObject(ValueError):
    """Not a kind we know, or no pod spec where one should be."""


def pod_spec(kind: str, obj: dict) -> dict:
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        raise UnsupportedObject(f"kind {kind!r} carries no pod template layerwatch knows")
    node: object = obj
    for key in path:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            raise UnsupportedObject(f"{kind} has no {'.'.join(path)}")
        node = node[key]
    return node  # type: ignore[return-value]


@dataclass(frozen=True)
class ContainerImage:
    container: str
    image: str


def container_images(spec: dict) -> list[ContainerImage]:
    out = []
    for field in CONTAINER_FIELDS:
        containers = spec.get(field) or []
        if not isinstance(containers, list):
            raise UnsupportedObject(f"spec.{field} is not a list")
        for c in containers:
            if not isinstance(c, dict) or not isinstance(c.get("image"), str) or not c["image"]:
                raise UnsupportedObject(f"spec.{field} has a container without an image")
            out.append(ContainerImage(str(c.get("name", "")), c["image"]))
    return out


def template_annotations(kind: str, obj: dict) -> dict[str, str]:
    """The object's annotations merged with its pod template's (break-glass may sit on either)."""
    merged: dict[str, str] = {}
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    merged.update({k: str(v) for k, v in (meta.get("annotations") or {}).items()})
    path = POD_SPEC_PATHS.get(kind, ())
    node: object = obj
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    if kind != "Pod" and isinstance(node, dict) and isinstance(node.get("metadata"), dict):
        merged.update({k: str(v) for k, v in (node["metadata"].get("annotations") or {}).items()})
    return merged
