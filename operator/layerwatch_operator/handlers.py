"""Kopf handlers: thin and idempotent. Pods feed the usage index and create ImageScans;
ImageScans are scanned by the queue; timers refresh the feeds (re-matching from the cached
inventories, no registry traffic), flush usage, and collect ImageScans nobody runs any more.

State lives in the ImageScans and the on-disk caches: after a restart the initial listings
rebuild the usage index and unfinished scans are queued again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
import time
from typing import Any

import kopf
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from layerwatch_api import kubeaccess
from layerwatch_api.imagescan import GROUP, IMAGESCAN_PLURAL, VERSION
from layerwatch_api.naming import imagescan_name
from layerwatch_api.notification import NOTIFICATIONTARGET_PLURAL
from layerwatch_api.severity import Severity
from prometheus_client import start_http_server

from .metrics import OperatorMetrics
from .notifications import Notifications, Outbox
from .pods import pod_images, workload_of
from .queue import NEW, RESCAN, ScanQueue
from .scanner_port import SCANNER_IDENTITY, PullAuth, ScannerPort, dockerconfig_from_secret
from .scans import ScanIndex
from .settings import OperatorSettings
from .status import failed_status, now, phase_for, scanned_status
from .usage import UsageIndex, label_patch

log = logging.getLogger("layerwatch.operator")
UNUSED_SINCE = "layerwatch.dev/unused-since"
LOOKUP_TTL = 300.0  # pull secrets and owners change rarely; a pod event must not re-read them


class State:
    """Everything the handlers share, created at start-up."""

    settings: OperatorSettings
    port: ScannerPort
    queue: ScanQueue
    usage: UsageIndex
    metrics: OperatorMetrics
    custom: k8s.CustomObjectsApi
    core: k8s.CoreV1Api
    apps: k8s.AppsV1Api
    batch: k8s.BatchV1Api
    auth: dict[str, PullAuth]  # ImageScan name -> pull secrets of a pod that runs it
    scans: ScanIndex  # every ImageScan, a few fields each, from the ImageScan watch
    pull_auth: dict[tuple, tuple[PullAuth, float]]  # (namespace, account, secrets) -> (auth, until)
    owners: dict[tuple[str, str, str], tuple[list, float]]  # (kind, namespace, name) -> (ownerReferences, until)
    created: set[str]  # ImageScans this process created (before their watch event arrives)
    tasks: list[asyncio.Task]
    db_ready: asyncio.Event
    refresh_now: asyncio.Event  # a scan needs a source the database lacks: fetch it soon
    pending_pods: dict[str, tuple]  # uid -> (namespace, images, pod summary): admitted by _pod_loop
    pods_pending: asyncio.Event
    admitting: dict[str, bool]  # uid -> deleted while being admitted
    notifications: Notifications  # NotificationTargets, the outbox, delivery
    notify_now: asyncio.Event  # messages were queued: deliver without waiting for the next tick
    push: Any = None  # the scan-on-push server (push.py) when enabled
    coverage_fingerprint: str = ""  # of the database's sources, at the last re-match
    pods_listed: bool = False


STATE = State()


# -- Kubernetes API helpers (sync client, run in threads) ------------------------------------------

_CAUSE: contextvars.ContextVar[str] = contextvars.ContextVar("cause", default="other")  # what made a request


def _api(verb: str) -> None:
    STATE.metrics.api_requests.labels(verb, _CAUSE.get()).inc()


def _get_scan(name: str) -> dict | None:
    _api("get")
    try:
        return STATE.custom.get_cluster_custom_object(GROUP, VERSION, IMAGESCAN_PLURAL, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _patch_scan(name: str, body: dict, status: bool = False) -> None:
    _api("patch")
    try:
        if status:
            STATE.custom.patch_cluster_custom_object_status(GROUP, VERSION, IMAGESCAN_PLURAL, name, body)
        else:
            STATE.custom.patch_cluster_custom_object(GROUP, VERSION, IMAGESCAN_PLURAL, name, body)
    except ApiException as exc:
        if exc.status != 404:  # deleted meanwhile: nothing to update
            raise


def _ensure_scan(name: str, image: str, digest: str) -> None:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ImageScan",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "layerwatch"}},
            "spec": {"image": image.partition("@")[0] if digest else image, "digest": digest}}
    _api("create")
    try:
        STATE.custom.create_cluster_custom_object(GROUP, VERSION, IMAGESCAN_PLURAL, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def _owner(kind: str, namespace: str, name: str) -> dict | None:
    """An owner's ownerReferences, remembered: every pod of a ReplicaSet names the same one."""
    key = (kind, namespace, name)
    cached = STATE.owners.get(key)
    if cached and cached[1] > time.monotonic():
        return {"metadata": {"ownerReferences": cached[0]}}
    found = _read_owner(kind, namespace, name)
    refs = ((found or {}).get("metadata") or {}).get("ownerReferences") or []
    STATE.owners[key] = (refs, time.monotonic() + LOOKUP_TTL)
    return found and {"metadata": {"ownerReferences": refs}}


def _read_owner(kind: str, namespace: str, name: str) -> dict | None:
    _api("get")
    readers = {"ReplicaSet": STATE.apps.read_namespaced_replica_set, "Deployment": STATE.apps.read_namespaced_deployment,
               "StatefulSet": STATE.apps.read_namespaced_stateful_set, "DaemonSet": STATE.apps.read_namespaced_daemon_set,
               "Job": STATE.batch.read_namespaced_job, "CronJob": STATE.batch.read_namespaced_cron_job}
    try:
        obj = readers[kind](name, namespace)
        return k8s.ApiClient().sanitize_for_serialization(obj)
    except (ApiException, KeyError):
        return None


def _auth_key(pod: dict) -> tuple:
    names = tuple(s.get("name") or "" for s in (pod["spec"].get("imagePullSecrets") or []))
    return pod["metadata"]["namespace"], pod["spec"].get("serviceAccountName") or "default", names


def _pull_auth(pod: dict) -> PullAuth:
    """The pull secrets of the pod and its service account, shared by every pod that names the
    same ones (a rollout of 1,000 pods reads them once)."""
    key = _auth_key(pod)
    cached = STATE.pull_auth.get(key)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    auth = _read_pull_auth(pod)
    STATE.pull_auth[key] = (auth, time.monotonic() + LOOKUP_TTL)
    return auth


def _read_pull_auth(pod: dict) -> PullAuth:
    namespace = pod["metadata"]["namespace"]
    names = [s.get("name") for s in (pod["spec"].get("imagePullSecrets") or [])]
    sa = pod["spec"].get("serviceAccountName") or "default"
    _api("get")
    try:
        account = STATE.core.read_namespaced_service_account(sa, namespace)
        names += [s.name for s in (account.image_pull_secrets or [])]
    except ApiException:
        pass
    configs = []
    for name in dict.fromkeys(n for n in names if n):
        _api("get")
        try:
            secret = k8s.ApiClient().sanitize_for_serialization(STATE.core.read_namespaced_secret(name, namespace))
        except ApiException as exc:
            log.warning("pull secret %s/%s unreadable: %s", namespace, name, exc.reason)
            continue
        config = dockerconfig_from_secret(secret)
        if config:
            configs.append(config)
    return PullAuth(configs)


def _event(scan: dict, reason: str, message: str, type_: str = "Warning") -> None:
    when = dt.datetime.now(dt.UTC)
    body = k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(generate_name=f"{scan['metadata']['name']}.", namespace="default"),
        involved_object=k8s.V1ObjectReference(api_version=f"{GROUP}/{VERSION}", kind="ImageScan",
                                              name=scan["metadata"]["name"], uid=scan["metadata"].get("uid")),
        reason=reason, message=message[:1000], type=type_, first_timestamp=when, last_timestamp=when, count=1,
        source=k8s.V1EventSource(component="layerwatch-operator"))
    _api("create")
    try:
        STATE.core.create_namespaced_event("default", body)
    except ApiException as exc:
        log.warning("could not post event %s on %s: %s", reason, scan["metadata"]["name"], exc.reason)


def _read_secret(namespace: str, name: str) -> dict | None:
    _api("get")
    try:
        return k8s.ApiClient().sanitize_for_serialization(STATE.core.read_namespaced_secret(name, namespace))
    except ApiException as exc:
        log.warning("secret %s/%s unreadable: %s", namespace, name, exc.reason)
        return None


def _namespace_labels(namespace: str) -> dict[str, str]:
    _api("get")
    try:
        return STATE.core.read_namespace(namespace).metadata.labels or {}
    except ApiException:
        return {}


def _patch_target_status(name: str, status: dict) -> None:
    _api("patch")
    STATE.custom.patch_cluster_custom_object_status(GROUP, VERSION, NOTIFICATIONTARGET_PLURAL, name,
                                                    {"status": status})


# -- start-up and shutdown -----------------------------------------------------------------------

@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """Kopf's own watches use the same access as everything else; Kopf calls this again on a
    401, so a rotated service-account token is picked up there too."""
    conn = kubeaccess.connect()
    scheme, _, token = (conn.authorization() or "").partition(" ")
    return kopf.ConnectionInfo(server=conn.host, ca_path=conn.ca_file, insecure=not conn.verify,
                               scheme=scheme or None, token=token or None,
                               certificate_path=conn.cert_file, private_key_path=conn.key_file)


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.peering.standalone = True
    settings.posting.level = logging.WARNING
    # the same in-cluster / kubeconfig access as the webhook; the token is re-read as it rotates
    k8s.Configuration.set_default(kubeaccess.kubernetes_configuration(kubeaccess.connect()))
    STATE.settings = OperatorSettings.load()
    STATE.port = ScannerPort(STATE.settings)
    STATE.usage = UsageIndex()
    STATE.metrics = OperatorMetrics()
    STATE.custom, STATE.core = k8s.CustomObjectsApi(), k8s.CoreV1Api()
    STATE.apps, STATE.batch = k8s.AppsV1Api(), k8s.BatchV1Api()
    STATE.auth = {}
    STATE.scans, STATE.pull_auth, STATE.owners, STATE.created = ScanIndex(), {}, {}, set()
    STATE.db_ready = asyncio.Event()
    STATE.refresh_now = asyncio.Event()
    STATE.pending_pods, STATE.pods_pending, STATE.admitting = {}, asyncio.Event(), {}
    STATE.notifications = Notifications(Outbox(STATE.settings.outbox), _read_secret, _namespace_labels)
    STATE.notify_now = asyncio.Event()
    STATE.queue = ScanQueue(_scan_one, STATE.settings.scan_concurrency, STATE.metrics)
    start_http_server(STATE.settings.metrics_port, registry=STATE.metrics.registry)
    if STATE.settings.push_port:
        from pathlib import Path

        from .push import PushReceiver, serve

        token = Path(STATE.settings.push_token_file).read_text().strip() if STATE.settings.push_token_file else ""
        receiver = PushReceiver(token, _scans_for_pushed)
        STATE.push = await serve(receiver, STATE.settings.push_port, STATE.settings.push_tls_cert,
                                 STATE.settings.push_tls_key)
    STATE.tasks = [asyncio.create_task(coro) for coro in
                   (STATE.queue.run(STATE.db_ready), _refresh_loop(), _usage_loop(), _gc_loop(), _pod_loop(),
                    _notify_loop(), *([receiver.run()] if STATE.settings.push_port else []))]


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    for task in STATE.tasks:
        task.cancel()
    if getattr(STATE, "push", None) is not None:
        await STATE.push.cleanup()


async def _scans_for_pushed(images: list) -> int:
    """An ImageScan for each pushed image not known yet: scanned before any pod runs it."""
    _CAUSE.set("push")  # this request's task (and its threads) only
    created = 0
    for pushed in images:
        name = imagescan_name(pushed.image, pushed.digest)
        if name in STATE.scans or name in STATE.created:
            continue
        STATE.created.add(name)
        await asyncio.to_thread(_ensure_scan, name, pushed.image, pushed.digest)
        created += 1
    return created


def _watched(namespace: str) -> bool:
    s = STATE.settings
    return namespace not in s.ignore_namespaces and (not s.namespaces or namespace in s.namespaces)


# -- pods -> usage and ImageScans ----------------------------------------------------------------

@kopf.on.event("", "v1", "pods")
async def pod_event(event: dict, body: kopf.Body, **_: Any) -> None:
    """A pod event costs nothing when the pod is known with the same images. Otherwise a few
    fields of the pod wait (one entry per pod, the newest) for _pod_loop: the handler never
    awaits a registry or the API, so a burst of 50,000 new pods holds 50,000 small summaries,
    not 50,000 pod bodies."""
    STATE.metrics.pod_events.inc()
    meta = body.get("metadata") or {}
    uid, namespace = meta.get("uid", ""), meta.get("namespace", "")
    if event.get("type") == "DELETED" or meta.get("deletionTimestamp"):
        STATE.pending_pods.pop(uid, None)
        if uid in STATE.admitting:
            STATE.admitting[uid] = True
        STATE.usage.remove_pod(uid)
        return
    if not _watched(namespace):
        return
    images = tuple(pod_images(body))
    if STATE.usage.known(uid, images):
        STATE.pending_pods.pop(uid, None)
        return
    spec = body.get("spec") or {}
    pod = {"metadata": {"name": meta.get("name"), "namespace": namespace,
                        "ownerReferences": list(meta.get("ownerReferences") or [])},
           "spec": {"imagePullSecrets": list(spec.get("imagePullSecrets") or []),
                    "serviceAccountName": spec.get("serviceAccountName")}}
    STATE.pending_pods.pop(uid, None)  # re-inserted last: oldest first
    STATE.pending_pods[uid] = (namespace, images, pod)
    STATE.pods_pending.set()


POD_CONCURRENCY = 16  # pods admitted at once (their tag resolutions share the worker threads)


async def _pod_loop() -> None:
    """Admit waiting pods, oldest first, with independent workers (an unreachable registry
    stalls one worker, not every pod): pull secrets, owners and tag digests come from shared
    caches, and an ImageScan is created only when none exists: a rollout of 1,000 pods of one
    image is one create and one scan."""
    await asyncio.gather(*(_pod_worker() for _ in range(POD_CONCURRENCY)))


async def _pod_worker() -> None:
    while True:
        if not STATE.pending_pods:
            STATE.pods_pending.clear()
            await STATE.pods_pending.wait()
            continue
        uid = next(iter(STATE.pending_pods))
        entry = STATE.pending_pods.pop(uid)
        if uid in STATE.admitting:  # its previous event is still being admitted: after that one
            STATE.pending_pods[uid] = entry
            await asyncio.sleep(0.05)
            continue
        try:
            await _admit_pod(uid, *entry)
        except Exception as exc:  # noqa: BLE001 - one pod's trouble must not stop the others
            log.warning("pod %s/%s not admitted: %s", entry[0], entry[2]["metadata"]["name"], exc)


async def _admit_pod(uid: str, namespace: str, images: tuple, pod: dict) -> None:
    STATE.admitting[uid] = False
    try:
        await _resolve_pod(uid, namespace, images, pod)
    finally:
        STATE.admitting.pop(uid, None)


async def _resolve_pod(uid: str, namespace: str, images: tuple, pod: dict) -> None:
    _CAUSE.set("pod-event")  # this task's context (and the threads it starts) only
    names = set()
    auth: PullAuth | None = None
    for img in images:
        digest = img.digest
        if not digest:
            auth = auth or await asyncio.to_thread(_pull_auth, pod)
            try:
                digest = await asyncio.to_thread(STATE.port.resolve, img.image, auth, _auth_key(pod))
            except Exception as exc:  # the ImageScan still appears; its scan reports the failure
                log.warning("cannot resolve %s for pod %s/%s: %s", img.image, namespace, pod["metadata"]["name"], exc)
        name = imagescan_name(img.image, digest)
        names.add(name)
        if name not in STATE.auth:
            STATE.auth[name] = auth or await asyncio.to_thread(_pull_auth, pod)
        if name not in STATE.scans and name not in STATE.created:
            await asyncio.to_thread(_ensure_scan, name, img.image, digest)
            STATE.created.add(name)
    workload = await asyncio.to_thread(workload_of, pod, _owner)
    if uid in STATE.pending_pods or STATE.admitting.get(uid):  # changed or gone meanwhile
        return
    STATE.usage.set_pod(uid, namespace, workload, names, images)


# -- ImageScans -> scans -------------------------------------------------------------------------

@kopf.on.event(GROUP, VERSION, IMAGESCAN_PLURAL)
async def imagescan_event(event: dict, body: kopf.Body, **_: Any) -> None:
    name = body["metadata"]["name"]
    if event.get("type") == "DELETED":
        STATE.scans.remove(name)
        STATE.created.discard(name)
        return
    entry = STATE.scans.update(name, body)
    STATE.created.discard(name)
    if entry.phase in ("Scanned", "Incomplete") and entry.scanner == SCANNER_IDENTITY:
        return  # an Incomplete scan is re-evaluated by the re-match after each feed refresh
    if entry.phase == "Failed" and not STATE.queue.due(name):
        return
    if entry.phase == "Scanning" and STATE.queue.queued(name):
        return
    STATE.queue.submit(name, RESCAN if entry.phase in ("Scanned", "Incomplete") else NEW)


@kopf.on.event(GROUP, VERSION, NOTIFICATIONTARGET_PLURAL)
async def notificationtarget_event(event: dict, body: kopf.Body, **_: Any) -> None:
    name = body["metadata"]["name"]
    if event.get("type") == "DELETED":
        await asyncio.to_thread(STATE.notifications.remove_target, name)
        with contextlib.suppress(KeyError):  # never delivered to: no series
            STATE.metrics.notifications_pending.remove(name)
        return
    await asyncio.to_thread(STATE.notifications.set_target, name, dict(body))
    STATE.notify_now.set()


async def _scan_one(name: str) -> float | None:
    """Scan one ImageScan; returns a retry delay on failure, None when done."""
    scan = await asyncio.to_thread(_get_scan, name)
    if scan is None:
        return None
    spec = scan.get("spec") or {}
    auth = STATE.auth.get(name)
    await asyncio.to_thread(_patch_scan, name, {"status": {"phase": "Scanning"}}, True)
    started = time.monotonic()
    try:
        digest = spec.get("digest") or await asyncio.to_thread(STATE.port.resolve, spec["image"], auth)
        result = await asyncio.to_thread(STATE.port.scan, spec["image"], digest, auth)
    except Exception as exc:
        delay = STATE.queue.backoff(name)
        status = failed_status(exc, STATE.queue.attempts(name), delay)
        STATE.metrics.errors.labels(status["conditions"][0]["reason"]).inc()
        await asyncio.to_thread(_patch_scan, name, {"status": status}, True)
        log.warning("scan of %s failed: %s", name, exc)
        return delay
    STATE.metrics.duration.observe(time.monotonic() - started)
    status = scanned_status(result.inventory, result.findings, result.database, STATE.settings.max_findings,
                            scanner_version=SCANNER_IDENTITY, coverage=result.coverage)
    if STATE.port.missing_sources(result):
        STATE.refresh_now.set()
    if not result.coverage.complete:
        STATE.metrics.errors.labels("AdvisoryDataMissing").inc()
        log.warning("%s: advisory data missing: %s", name, "; ".join(g.message for g in result.coverage.blocking))
    status["usedBy"] = STATE.usage.used_by(name, STATE.settings.max_workloads)
    if not spec.get("digest"):
        await asyncio.to_thread(_patch_scan, name, {"spec": {"digest": digest}})
    status["resolvedTags"] = [spec["image"]] if "@" not in spec["image"] else []
    await asyncio.to_thread(_patch_scan, name, {"status": status}, True)
    if result.findings and STATE.notifications.targets:
        change = STATE.notifications.scanned(spec["image"], digest, result.findings)
        if await asyncio.to_thread(STATE.notifications.enqueue, change, STATE.usage.is_running(name),
                                   STATE.usage.namespaces(name)):
            STATE.notify_now.set()
    return None


# -- timers --------------------------------------------------------------------------------------

async def _refresh_loop() -> None:
    """Feeds on a timer (and at start-up when the DB is missing or stale), then re-match every
    ImageScan from its cached inventory and patch only those whose findings changed."""
    first = True
    while True:
        try:
            stale = not STATE.port.db_ready() or (
                time.time() - STATE.port.settings.vulndb.stat().st_mtime > STATE.settings.db_max_age)
            if not first or stale:
                report = await asyncio.to_thread(STATE.port.update_db)
                for failed in report.failed:
                    log.warning("feed %s: %s", failed.name, failed.error)
            if STATE.port.db_ready():
                meta = await asyncio.to_thread(STATE.port.db_metadata)
                STATE.metrics.db_built_at = dt.datetime.fromisoformat(meta.built_at).timestamp() if meta.built_at else 0
                for name, src in meta.sources.items():
                    if src.last_success:
                        STATE.metrics.feed_success.labels(name).set(dt.datetime.fromisoformat(src.last_success).timestamp())
                STATE.db_ready.set()
                if not first:
                    await _rematch_all()
        except Exception as exc:  # keep the previous DB in service; try again next time
            log.error("feed refresh failed: %s", exc)
        first = False
        await _next_refresh()


ON_DEMAND_DELAY = 5.0  # gather the images of a rollout before fetching what they need
ON_DEMAND_MIN_INTERVAL = 60.0  # and never more often, whatever keeps failing


async def _next_refresh() -> None:
    """Sleep until the refresh interval is over, or a scan found a source missing."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(STATE.refresh_now.wait(), STATE.settings.refresh_interval)
    except TimeoutError:
        return
    await asyncio.sleep(max(ON_DEMAND_DELAY, ON_DEMAND_MIN_INTERVAL - (time.monotonic() - started)))
    STATE.refresh_now.clear()


REMATCH_CHUNK = 50  # images re-matched per thread hand-off: patches of one chunk overlap the next
PATCH_CONCURRENCY = 4  # the API server's write throughput levels off here (benchmarks/operator_scale.py)


async def _rematch_all() -> None:
    """After a database update: re-match by delta (only packages whose advisories changed), patch
    only the ImageScans whose findings changed, and name the advisories that changed them."""
    started = time.monotonic()
    report = await asyncio.to_thread(STATE.port.rematch_all)
    by_digest = STATE.scans.by_digest()
    todo: dict[str, list[str]] = {}  # ImageScan -> advisories that changed it
    for diff in report.diffs:
        for name in by_digest.get(diff.digest, []):
            todo[name] = diff.advisories
    if STATE.notifications.targets and report.diffs:
        queued = await asyncio.to_thread(_queue_notifications, report.diffs, by_digest)
        if queued:
            log.info("re-match: %d notifications queued", queued)
            STATE.notify_now.set()
    fingerprint = await asyncio.to_thread(STATE.port.coverage_fingerprint)
    coverage_changed = fingerprint != STATE.coverage_fingerprint
    STATE.coverage_fingerprint = fingerprint
    for name, entry in list(STATE.scans.entries.items()):
        if entry.phase == "Incomplete" or (coverage_changed and entry.phase == "Scanned"):
            todo.setdefault(name, [])  # coverage may have changed: re-evaluated below
    work = [(name, entry, advisories) for name, advisories in todo.items()
            if (entry := STATE.scans.entries.get(name)) is not None and entry.digest
            and entry.phase in ("Scanned", "Incomplete")]
    slots = asyncio.Semaphore(PATCH_CONCURRENCY)
    patches: list[asyncio.Task] = []
    patched = 0
    for at in range(0, len(work), REMATCH_CHUNK):
        chunk = work[at:at + REMATCH_CHUNK]
        results = await asyncio.to_thread(STATE.port.rematch_many, [entry.digest for _, entry, _ in chunk])
        for (name, entry, advisories), matched in zip(chunk, results, strict=True):
            if matched is None:  # scanned by another operator instance's cache: rescan to fill ours
                STATE.queue.submit(name, RESCAN)
            elif advisories or phase_for(matched.coverage) != entry.phase:
                await slots.acquire()  # bounded: never thousands of requests in flight
                patches.append(asyncio.create_task(_patch_rematched(name, entry, advisories, matched, slots)))
                patched += 1
    results = await asyncio.gather(*patches, return_exceptions=True)
    for failed in (r for r in results if isinstance(r, BaseException)):
        log.warning("re-match patch failed: %s", failed)
    STATE.metrics.rematch_seconds.set(time.monotonic() - started)
    log.info("re-match (%s): %d of %d images changed, %d packages changed, %d ImageScans patched in %.2f s",
             report.mode, len(report.diffs), report.images, report.changed_packages, patched,
             time.monotonic() - started)


def _queue_notifications(diffs: list, by_digest: dict[str, list[str]]) -> int:
    """The findings each changed image gained and lost, for every target that wants them."""
    queued = 0
    for diff in diffs:
        names = by_digest.get(diff.digest, [])
        if not names:
            continue
        running = any(STATE.usage.is_running(n) for n in names)
        namespaces = set().union(*(STATE.usage.namespaces(n) for n in names))
        queued += STATE.notifications.enqueue(STATE.notifications.change_of(diff.image, diff.digest, diff),
                                              running, namespaces)
    return queued


NOTIFY_TICK = 2.0  # seconds between looks at the outbox when nothing was queued


async def _notify_loop() -> None:
    """Deliver what is due, count it, and keep each NotificationTarget's status current."""
    counted: dict[str, tuple[int, int]] = {}
    while True:
        try:
            if STATE.notifications.targets:
                await asyncio.to_thread(STATE.notifications.deliver)
                for name, stats in STATE.notifications.deliverer.stats.items():
                    sent, failed = counted.get(name, (0, 0))
                    STATE.metrics.notifications_sent.labels(name, "success").inc(stats.sent - sent)
                    STATE.metrics.notifications_sent.labels(name, "failure").inc(stats.failed - failed)
                    counted[name] = (stats.sent, stats.failed)
                for name, status in (await asyncio.to_thread(STATE.notifications.statuses)).items():
                    STATE.metrics.notifications_pending.labels(name).set(status["pending"])
                    try:
                        await asyncio.to_thread(_patch_target_status, name, status)
                    except ApiException as exc:
                        STATE.notifications.forget_reported(name)
                        if exc.status != 404:
                            log.warning("status of NotificationTarget %s: %s", name, exc.reason)
        except Exception as exc:  # delivery must outlive any one bad message or target
            log.error("notification delivery: %s", exc)
        try:
            await asyncio.wait_for(STATE.notify_now.wait(), NOTIFY_TICK)
        except TimeoutError:
            pass
        STATE.notify_now.clear()


async def _patch_rematched(name: str, entry: Any, advisories: list[str], matched: Any,
                           slots: asyncio.Semaphore) -> None:
    try:
        status = scanned_status(matched.inventory, matched.findings, matched.database, STATE.settings.max_findings,
                                scanned_at=entry.scanned_at or None, scanner_version=SCANNER_IDENTITY,
                                coverage=matched.coverage)
        await asyncio.to_thread(_patch_scan, name, {"status": status}, True)
        high = {f.id for f in matched.findings if f.rank >= Severity.HIGH.rank}
        new = sorted(a for a in advisories if a in high)
        if new and STATE.usage.is_running(name):
            scan = {"metadata": {"name": name, "uid": None}}
            await asyncio.to_thread(_event, scan, "NewVulnerabilities",
                                    f"{len(new)} new or changed Critical/High after the feed refresh: "
                                    f"{', '.join(new[:20])}")
    finally:
        slots.release()


async def _usage_loop() -> None:
    """Batch label and usedBy patches: a rollout of 100 pods is one patch per image, not 100."""
    while True:
        await asyncio.sleep(2)
        for name in STATE.usage.take_dirty():
            try:
                scan = await asyncio.to_thread(_get_scan, name)
                if scan is None:
                    continue
                labels = label_patch(scan["metadata"].get("labels") or {}, STATE.usage.namespaces(name))
                used = STATE.usage.used_by(name, STATE.settings.max_workloads)
                annotations = {UNUSED_SINCE: None} if used["pods"] else {}
                if labels or annotations:
                    await asyncio.to_thread(_patch_scan, name, {"metadata": {"labels": labels,
                                                                             "annotations": annotations}})
                await asyncio.to_thread(_patch_scan, name, {"status": {"usedBy": used}}, True)
            except ApiException as exc:
                log.warning("usage patch of %s failed: %s", name, exc.reason)
                STATE.usage.dirty.add(name)
        STATE.metrics.observe_scans(STATE.scans.entries, STATE.usage.running())


async def _gc_loop() -> None:
    """Delete ImageScans whose image has run nowhere for the retention period."""
    await asyncio.sleep(min(STATE.settings.gc_interval, 30))  # let the pod listing fill the usage index
    while True:
        running = STATE.usage.running()
        for name, entry in list(STATE.scans.entries.items()):
            if name in running:
                continue
            since = entry.unused_since
            if since is None:
                await asyncio.to_thread(_patch_scan, name, {"metadata": {"annotations": {UNUSED_SINCE: now()}}})
            elif (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds() \
                    >= STATE.settings.retention:
                try:
                    await asyncio.to_thread(STATE.custom.delete_cluster_custom_object, GROUP, VERSION,
                                            IMAGESCAN_PLURAL, name)
                    log.info("deleted ImageScan %s: unused since %s", name, since)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
        await asyncio.sleep(STATE.settings.gc_interval)
