"""Prometheus metrics of the operator. Bounded cardinality: no per-image or per-CVE labels (per
NotificationTarget only: an administrator creates a handful)."""

from __future__ import annotations

import time

from layerwatch_api import metrics as names
from layerwatch_api.severity import Severity
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class OperatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.images = Gauge(names.IMAGES, "ImageScans by phase", ["phase"], registry=r)
        self.findings = Gauge(names.FINDINGS, "Findings across running images", ["severity", "fixable"], registry=r)
        self.images_with = Gauge(names.IMAGES_WITH_FINDINGS, "Running images with at least one finding",
                                 ["severity", "fixable"], registry=r)
        self.duration = Histogram(names.SCAN_DURATION, "Image scan duration", registry=r,
                                  buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
        self.queue_depth = Gauge(names.SCAN_QUEUE_DEPTH, "Scans waiting or running", registry=r)
        self.errors = Counter(names.SCAN_ERRORS.removesuffix("_total"), "Scan errors", ["reason"], registry=r)
        self.api_requests = Counter(names.API_REQUESTS.removesuffix("_total"), "Kubernetes API requests",
                                    ["verb", "cause"], registry=r)
        self.pod_events = Counter(names.POD_EVENTS.removesuffix("_total"), "Pod watch events handled", registry=r)
        self.rematch_seconds = Gauge(names.REMATCH_DURATION, "Last re-match: end of the database update to the "
                                     "last ImageScan patched", registry=r)
        self.db_age = Gauge(names.VULNDB_AGE, "Age of the vulnerability database", registry=r)
        self.feed_success = Gauge(names.FEED_LAST_SUCCESS, "Last successful update per feed", ["source"], registry=r)
        # per NotificationTarget: bounded by the targets an administrator creates
        self.notifications_sent = Counter(names.NOTIFICATIONS_SENT.removesuffix("_total"), "Notification delivery "
                                          "attempts", ["target", "result"], registry=r)
        self.notifications_pending = Gauge(names.NOTIFICATIONS_PENDING, "Notifications waiting to be delivered",
                                           ["target"], registry=r)
        self.db_built_at = 0.0
        self.db_age.set_function(lambda: time.time() - self.db_built_at if self.db_built_at else 0.0)

    def observe_scans(self, scans: dict, running: set[str]) -> None:
        """Recompute the gauges from the ImageScan index (scans.ScanIndex.entries)."""
        phases: dict[str, int] = {p: 0 for p in ("Pending", "Scanning", "Scanned", "Incomplete", "Failed")}
        counts: dict[tuple[str, str], int] = {}
        images: dict[tuple[str, str], int] = {}
        for name, entry in scans.items():
            phases[entry.phase] = phases.get(entry.phase, 0) + 1
            if name not in running:
                continue
            for key, n in entry.counts.items():
                counts[key] = counts.get(key, 0) + n
                images[key] = images.get(key, 0) + 1
        for phase, n in phases.items():
            self.images.labels(phase).set(n)
        for sev in Severity:
            for fixable in ("true", "false"):
                self.findings.labels(sev.value, fixable).set(counts.get((sev.value, fixable), 0))
                self.images_with.labels(sev.value, fixable).set(images.get((sev.value, fixable), 0))
