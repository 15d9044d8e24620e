"""NotificationTargets in the operator: which targets exist (their watch), what each must hear after
a feed refresh or a new scan (their filters against the usage index), and delivery from the
on-disk outbox (layerwatch_scanner.notify) with each target's status kept on its resource.

The re-match names, per image, the findings a refresh added and removed (the delta, with the
advisories that caused it). For each target that wants them, the image's payload pages are put
in the outbox, keyed so the same change is never queued twice; the delivery loop sends what is
due. A restart loses nothing: the outbox is a file beside the layer cache.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from layerwatch_api.notification import NotificationTargetSpec
from layerwatch_scanner.notify.delivery import Deliverer, Target, TargetStats, redacted
from layerwatch_scanner.notify.outbox import Outbox
from layerwatch_scanner.notify.payloads import FindingFilter, ImageChange, finding_dict, pages
from pydantic import ValidationError

log = logging.getLogger("layerwatch.notifications")
NAMESPACE_TTL = 60.0  # namespace labels are re-read at most this often


@dataclass
class _Configured:
    target: Target
    spec: NotificationTargetSpec
    error: str = ""  # why the target cannot be used as written (shown in its status)


@dataclass
class Notifications:
    outbox: Outbox
    read_secret: Callable[[str, str], dict | None]  # (namespace, name) -> Secret body
    read_namespace_labels: Callable[[str], dict[str, str]]
    targets: dict[str, _Configured] = field(default_factory=dict)
    _labels: dict[str, tuple[dict[str, str], float]] = field(default_factory=dict)
    _reported: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(self.outbox)

    # -- targets, from their watch ---------------------------------------------------------------
    def set_target(self, name: str, body: dict) -> None:
        try:
            spec = NotificationTargetSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self.targets[name] = _Configured(Target(name, ""), NotificationTargetSpec(url="http://invalid"),
                                             f"spec.{where}: {first['msg']}")
            return
        key, error = None, ""
        ref = spec.hmacSecretRef
        if ref is not None:
            secret = self.read_secret(ref.namespace, ref.name)
            raw = ((secret or {}).get("data") or {}).get(ref.key)
            if raw is None:
                error = f"spec.hmacSecretRef: Secret {ref.namespace}/{ref.name} has no key {ref.key!r} (or is unreadable)"
            else:
                key = base64.b64decode(raw)
        target = Target(name, spec.url, spec.format, key, spec.caBundle, spec.maxPerMinute)
        known = self.targets.get(name)
        self.targets[name] = _Configured(target, spec, error)
        if known is None or known.spec != spec:  # its own status patches come back as events too
            log.info("notification target %s: %s (%s)%s", name, redacted(spec.url), spec.format,
                     f": {error}" if error else "")

    def remove_target(self, name: str) -> None:
        self.targets.pop(name, None)
        self._reported.pop(name, None)
        dropped = self.outbox.drop_target(name)
        if dropped:
            log.info("notification target %s deleted: %d undelivered messages dropped", name, dropped)

    def _usable(self) -> dict[str, Target]:
        return {n: c.target for n, c in self.targets.items() if not c.error}

    # -- what each target hears ------------------------------------------------------------------
    def _namespace_labels(self, namespace: str) -> dict[str, str]:
        cached = self._labels.get(namespace)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        labels = self.read_namespace_labels(namespace)
        self._labels[namespace] = (labels, time.monotonic() + NAMESPACE_TTL)
        return labels

    def _wants(self, configured: _Configured, running: bool, namespaces: set[str]) -> bool:
        wanted = configured.spec.filter
        if wanted.onlyRunning and not running:
            return False
        selector = wanted.namespaceSelector
        if not selector.matchLabels and not selector.matchExpressions:
            return True
        return any(selector.matches(self._namespace_labels(ns)) for ns in namespaces)

    def enqueue(self, change: ImageChange, running: bool, namespaces: set[str]) -> int:
        """Queue `change` for every target that wants it; the number of messages queued."""
        queued = 0
        change.namespaces = sorted(namespaces)
        for name, configured in self.targets.items():
            if configured.error:
                continue
            events = configured.spec.events
            if change.kind == "ImageScanned" and not events.newScans:
                continue
            if change.kind == "FindingsChanged" and not (events.newFindings or events.resolvedFindings):
                continue
            if not self._wants(configured, running, namespaces):
                continue
            shown = ImageChange(change.image, change.digest, change.kind,
                                change.added if events.newFindings or change.kind == "ImageScanned" else [],
                                change.resolved if events.resolvedFindings else [], change.advisories,
                                change.namespaces)
            wanted = FindingFilter(configured.spec.filter.minSeverity, configured.spec.filter.onlyFixable)
            queued += sum(self.outbox.add(name, payload) for payload in pages(name, shown, wanted))
        return queued

    @staticmethod
    def change_of(image: str, digest: str, diff) -> ImageChange:  # noqa: ANN001 - a rematching.ImageDiff
        return ImageChange(image, digest, "FindingsChanged", [finding_dict(f) for f in diff.added],
                           [finding_dict(f) for f in diff.removed], list(diff.advisories))

    @staticmethod
    def scanned(image: str, digest: str, findings: list) -> ImageChange:
        return ImageChange(image, digest, "ImageScanned", [finding_dict(f) for f in findings])

    # -- delivery (in a thread) ------------------------------------------------------------------
    def deliver(self) -> int:
        return self.deliverer.send_due(self._usable())

    def statuses(self) -> dict[str, dict]:
        """Each target's status when it changed since last asked (the patches to make)."""
        pending = self.outbox.pending()
        changed = {}
        for name, configured in self.targets.items():
            stats = self.deliverer.stats.get(name, TargetStats())
            status = {"pending": pending.get(name, 0), "sent": stats.sent,
                      "lastSuccess": _iso(stats.last_success),
                      "lastError": configured.error or stats.last_error or None,
                      "lastErrorAt": _iso(stats.last_error_at)}
            ready = not configured.error and (stats.last_success or 0) >= (stats.last_error_at or 0)
            status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                     "reason": "Delivering" if ready else ("InvalidSpec" if configured.error
                                                                           else "DeliveryFailing"),
                                     "message": (configured.error or stats.last_error or "")[:500]}]
            if self._reported.get(name) != status:
                self._reported[name] = status
                changed[name] = status
        return changed

    def forget_reported(self, name: str) -> None:
        """A status patch failed: report it again next time."""
        self._reported.pop(name, None)


def _iso(when: float | None) -> str | None:
    return dt.datetime.fromtimestamp(when, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z") \
        if when else None
