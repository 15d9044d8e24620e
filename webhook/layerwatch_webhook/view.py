"""The webhook's in-memory view of ImageScans, VulnerabilityPolicies and namespace labels.

Kept current by list + watch (resourceVersion, bookmarks, re-list on 410 Gone) in background
threads, so an admission request never waits on the API server.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from layerwatch_api.evaluate import ScanIndex
from layerwatch_api.imagescan import GROUP, IMAGESCAN_PLURAL, VERSION, ImageScan
from layerwatch_api.policy import VULNERABILITYPOLICY_PLURAL, VulnerabilityPolicy
from pydantic import ValidationError

log = logging.getLogger(__name__)
WATCH_TIMEOUT = 300  # seconds the API server keeps one watch open


@dataclass
class Resource:
    name: str
    path: str
    parse: Callable[[dict], object]
    objects: dict[str, object] = field(default_factory=dict)
    listed: bool = False
    last_event: float = 0.0


class ClusterView:
    def __init__(self, client_factory: Callable[[], httpx.Client], watch_namespaces: bool = True):
        base = f"/apis/{GROUP}/{VERSION}"
        self.resources = {
            "imagescans": Resource("imagescans", f"{base}/{IMAGESCAN_PLURAL}", ImageScan.model_validate),
            "vulnerabilitypolicies": Resource("vulnerabilitypolicies", f"{base}/{VULNERABILITYPOLICY_PLURAL}",
                                              VulnerabilityPolicy.model_validate),
        }
        if watch_namespaces:
            self.resources["namespaces"] = Resource("namespaces", "/api/v1/namespaces",
                                                    lambda o: dict((o.get("metadata") or {}).get("labels") or {}))
        self._client_factory = client_factory
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.index = ScanIndex()
        self.policies: list[VulnerabilityPolicy] = []
        self._lock = threading.Lock()

    # -- what the admission path reads (plain attribute reads: no locks, no I/O) -------------

    @property
    def ready(self) -> bool:
        return all(r.listed for r in self.resources.values())

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        res = self.resources.get("namespaces")
        return dict(res.objects.get(namespace, {})) if res else {}  # type: ignore[arg-type]

    def watch_age(self) -> dict[str, float]:
        now = time.monotonic()
        return {name: now - r.last_event if r.last_event else float("inf") for name, r in self.resources.items()}

    # -- keeping it current -------------------------------------------------------------------

    def start(self) -> None:
        for res in self.resources.values():
            t = threading.Thread(target=self._run, args=(res,), name=f"watch-{res.name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()

    def _rebuild(self, res: Resource) -> None:
        if res.name == "imagescans":
            self.index = ScanIndex(list(res.objects.values()))  # type: ignore[arg-type]
        elif res.name == "vulnerabilitypolicies":
            self.policies = list(res.objects.values())  # type: ignore[assignment]

    def _apply(self, res: Resource, event_type: str, obj: dict) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        if event_type == "DELETED":
            res.objects.pop(name, None)
        else:
            try:
                res.objects[name] = res.parse(obj)
            except ValidationError as exc:
                log.warning("ignoring %s %s: %s", res.name, name, exc.errors()[:1])
                return
        self._rebuild(res)

    def _run(self, res: Resource) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                with self._client_factory() as client:
                    version = self._list(client, res)
                    backoff = 1.0
                    while not self._stop.is_set():
                        version = self._watch(client, res, version)
                        if version is None:  # 410 Gone: our version is too old, list again
                            break
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("watch of %s failed (%s); retrying in %.0fs", res.name, exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30)

    def _list(self, client: httpx.Client, res: Resource) -> str:
        response = client.get(res.path)
        response.raise_for_status()
        body = response.json()
        objects = {}
        for item in body.get("items") or []:
            try:
                objects[str(item["metadata"]["name"])] = res.parse(item)
            except (ValidationError, KeyError, TypeError) as exc:
                log.warning("ignoring invalid %s: %s", res.name, exc)
        with self._lock:
            res.objects = objects
            self._rebuild(res)
            res.listed = True
            res.last_event = time.monotonic()
        return str((body.get("metadata") or {}).get("resourceVersion", ""))

    def _watch(self, client: httpx.Client, res: Resource, version: str) -> str | None:
        params = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(WATCH_TIMEOUT)}
        if version:
            params["resourceVersion"] = version
        with client.stream("GET", res.path, params=params, timeout=WATCH_TIMEOUT + 30) as response:
            if response.status_code == 410:
                return None
            response.raise_for_status()
            for line in response.iter_lines():
                if self._stop.is_set():
                    return version
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                res.last_event = time.monotonic()
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise ValueError(f"watch error: {obj.get('message')}")
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if event.get("type") == "BOOKMARK":
                    continue
                with self._lock:
                    self._apply(res, str(event.get("type")), obj)
        return version
