"""Which pods, namespaces and workloads run each ImageScan's image (in memory, rebuilt from the
pod watch after a restart)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class PodUse:
    namespace: str
    workload: str
    scans: frozenset[str]
    images: tuple = ()  # what the pod's spec and status said, to tell a no-op event at once


@dataclass
class UsageIndex:
    """Pod uid -> what it runs, and ImageScan -> the pods running it: ids only, no API objects,
    so memory follows the number of pods, never the number of pod events."""

    pods: dict[str, PodUse] = field(default_factory=dict)
    by_scan: dict[str, set[str]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # ImageScans whose labels/usedBy need a patch

    def known(self, uid: str, images: tuple) -> bool:
        """Whether this pod was indexed with these very images (its event changes nothing)."""
        use = self.pods.get(uid)
        return use is not None and use.images == images

    def set_pod(self, uid: str, namespace: str, workload: str, scans: set[str], images: tuple = ()) -> None:
        before = self.pods.get(uid)
        scans_ = frozenset(scans)
        if before and before.scans == scans_ and before.workload == workload:
            before.images = images
            return
        if before:
            self._unlink(uid, before)
        self.dirty |= scans_ | (before.scans if before else set())
        self.pods[uid] = PodUse(namespace, workload, scans_, images)
        for scan in scans_:
            self.by_scan.setdefault(scan, set()).add(uid)

    def _unlink(self, uid: str, use: PodUse) -> None:
        for scan in use.scans:
            holders = self.by_scan.get(scan)
            if holders is not None:
                holders.discard(uid)
                if not holders:
                    del self.by_scan[scan]

    def remove_pod(self, uid: str) -> None:
        before = self.pods.pop(uid, None)
        if before:
            self._unlink(uid, before)
            self.dirty |= before.scans

    def used_by(self, scan: str, max_workloads: int) -> dict:
        uses = [self.pods[uid] for uid in self.by_scan.get(scan, ())]
        workloads = sorted({u.workload for u in uses})
        return {"namespaces": len({u.namespace for u in uses}), "pods": len(uses),
                "workloads": workloads[:max_workloads]}

    def namespaces(self, scan: str) -> set[str]:
        return {self.pods[uid].namespace for uid in self.by_scan.get(scan, ())}

    def running(self) -> set[str]:
        return set(self.by_scan)

    def is_running(self, scan: str) -> bool:
        return scan in self.by_scan

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
