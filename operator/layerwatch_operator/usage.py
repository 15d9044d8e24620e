"""Which pods, namespaces and workloads run each ImageScan's image (in memory, rebuilt from the
pod watch after a restart)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PodUse:
    namespace: str
    workload: str
    scans: set[str]


@dataclass
class UsageIndex:
    pods: dict[str, PodUse] = field(default_factory=dict)  # pod uid -> use
    dirty: set[str] = field(default_factory=set)  # ImageScans whose labels/usedBy need a patch

    def set_pod(self, uid: str, namespace: str, workload: str, scans: set[str]) -> None:
        before = self.pods.get(uid)
        if before and before.scans == scans and before.workload == workload:
            return
        self.dirty |= scans | (before.scans if before else set())
        self.pods[uid] = PodUse(namespace, workload, scans)

    def remove_pod(self, uid: str) -> None:
        before = self.pods.pop(uid, None)
        if before:
            self.dirty |= before.scans

    def used_by(self, scan: str, max_workloads: int) -> dict:
        uses = [u for u in self.pods.values() if scan in u.scans]
        workloads = sorted({u.workload for u in uses})
        return {"namespaces": len({u.namespace for u in uses}), "pods": len(uses),
                "workloads": workloads[:max_workloads]}

    def namespaces(self, scan: str) -> set[str]:
        return {u.namespace for u in self.pods.values() if scan in u.scans}

    def running(self) -> set[str]:
        return {s for u in self.pods.values() for s in u.scans}

    def take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty


NS_LABEL_PREFIX = "ns.layerwatch.dev/"


def label_patch(current: dict[str, str], namespaces: set[str]) -> dict[str, str | None]:
    """Merge-patch for metadata.labels: add a label per namespace running the image, remove stale ones."""
    patch: dict[str, str | None] = {f"{NS_LABEL_PREFIX}{ns}": "" for ns in namespaces
                                    if f"{NS_LABEL_PREFIX}{ns}" not in current}
    for key in current:
        if key.startswith(NS_LABEL_PREFIX) and key[len(NS_LABEL_PREFIX):] not in namespaces:
            patch[key] = None
    return patch
