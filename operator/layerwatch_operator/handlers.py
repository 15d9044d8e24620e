"""Kopf handlers: thin and idempotent. Pods feed the usage index and create ImageScans;
ImageScans are scanned by the queue; timers refresh the feeds (re-matching from the cached
inventories, no registry traffic), flush usage, and collect ImageScans nobody runs any more.

State lives in the ImageScans and the on-disk caches: after a restart the initial listings
rebuild the usage index and unfinished scans are queued again.
"""

from __future__ import annotations

import asyncio
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
from layerwatch_api.severity import Severity
from prometheus_client import start_http_server

from .metrics import OperatorMetrics
from .pods import pod_images, workload_of
from .queue import ScanQueue
from .scanner_port import SCANNER_IDENTITY, PullAuth, ScannerPort, dockerconfig_from_secret
from .settings import OperatorSettings
from .status import failed_status, now, phase_for, scanned_status
from .usage import UsageIndex, label_patch

log = logging.getLogger("layerwatch.operator")
UNUSED_SINCE = "layerwatch.dev/unused-since"


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
    tasks: list[asyncio.Task]
    db_ready: asyncio.Event
    refresh_now: asyncio.Event  # a scan needs a source the database lacks: fetch it soon
    pods_listed: bool = False


STATE = State()


# -- Kubernetes API helpers (sync client, run in threads) ------------------------------------------

def _get_scan(name: str) -> dict | None:
    try:
        return STATE.custom.get_cluster_custom_object(GROUP, VERSION, IMAGESCAN_PLURAL, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _patch_scan(name: str, body: dict, status: bool = False) -> None:
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
    try:
        STATE.custom.create_cluster_custom_object(GROUP, VERSION, IMAGESCAN_PLURAL, body)
    except ApiException as exc:
        if exc.status != 409:
            raise


def _owner(kind: str, namespace: str, name: str) -> dict | None:
    readers = {"ReplicaSet": STATE.apps.read_namespaced_replica_set, "Deployment": STATE.apps.read_namespaced_deployment,
               "StatefulSet": STATE.apps.read_namespaced_stateful_set, "DaemonSet": STATE.apps.read_namespaced_daemon_set,
               "Job": STATE.batch.read_namespaced_job, "CronJob": STATE.batch.read_namespaced_cron_job}
    try:
        obj = readers[kind](name, namespace)
        return k8s.ApiClient().sanitize_for_serialization(obj)
    except (ApiException, KeyError):
        return None


def _pull_auth(pod: dict) -> PullAuth:
    namespace = pod["metadata"]["namespace"]
    names = [s.get("name") for s in (pod["spec"].get("imagePullSecrets") or [])]
    sa = pod["spec"].get("serviceAccountName") or "default"
    try:
        account = STATE.core.read_namespaced_service_account(sa, namespace)
        names += [s.name for s in (account.image_pull_secrets or [])]
    except ApiException:
        pass
    configs = []
    for name in dict.fromkeys(n for n in names if n):
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
    try:
        STATE.core.create_namespaced_event("default", body)
    except ApiException as exc:
        log.warning("could not post event %s on %s: %s", reason, scan["metadata"]["name"], exc.reason)


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
    STATE.db_ready = asyncio.Event()
    STATE.refresh_now = asyncio.Event()
    STATE.queue = ScanQueue(_scan_one, STATE.settings.scan_concurrency, STATE.metrics)
    start_http_server(STATE.settings.metrics_port, registry=STATE.metrics.registry)
    STATE.tasks = [asyncio.create_task(coro) for coro in
                   (STATE.queue.run(STATE.db_ready), _refresh_loop(), _usage_loop(), _gc_loop())]


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    for task in STATE.tasks:
        task.cancel()


def _watched(namespace: str) -> bool:
    s = STATE.settings
    return namespace not in s.ignore_namespaces and (not s.namespaces or namespace in s.namespaces)


# -- pods -> usage and ImageScans ----------------------------------------------------------------

@kopf.on.event("", "v1", "pods")
async def pod_event(event: dict, body: kopf.Body, **_: Any) -> None:
    pod = dict(body)
    meta = pod.get("metadata") or {}
    uid, namespace = meta.get("uid", ""), meta.get("namespace", "")
    if event.get("type") == "DELETED" or meta.get("deletionTimestamp"):
        STATE.usage.remove_pod(uid)
        return
    if not _watched(namespace):
        return
    names = set()
    auth: PullAuth | None = None
    for img in pod_images(pod):
        digest = img.digest
        if not digest:
            auth = auth or await asyncio.to_thread(_pull_auth, pod)
            try:
                digest = await asyncio.to_thread(STATE.port.resolve, img.image, auth)
            except Exception as exc:  # the ImageScan still appears; its scan reports the failure
                log.warning("cannot resolve %s for pod %s/%s: %s", img.image, namespace, meta.get("name"), exc)
        name = imagescan_name(img.image, digest)
        names.add(name)
        if name not in STATE.auth:
            STATE.auth[name] = auth or await asyncio.to_thread(_pull_auth, pod)
        await asyncio.to_thread(_ensure_scan, name, img.image, digest)
    workload = await asyncio.to_thread(workload_of, pod, _owner)
    STATE.usage.set_pod(uid, namespace, workload, names)


# -- ImageScans -> scans -------------------------------------------------------------------------

@kopf.on.event(GROUP, VERSION, IMAGESCAN_PLURAL)
async def imagescan_event(event: dict, body: kopf.Body, **_: Any) -> None:
    if event.get("type") == "DELETED":
        return
    status = body.get("status") or {}
    name = body["metadata"]["name"]
    phase = status.get("phase")
    if phase in ("Scanned", "Incomplete") and status.get("scannerVersion") == SCANNER_IDENTITY:
        return  # an Incomplete scan is re-evaluated by the re-match after each feed refresh
    if phase == "Failed" and not STATE.queue.due(name):
        return
    STATE.queue.submit(name)


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
    return None


# -- timers --------------------------------------------------------------------------------------

async def _list_scans() -> list[dict]:
    listing = await asyncio.to_thread(STATE.custom.list_cluster_custom_object, GROUP, VERSION, IMAGESCAN_PLURAL)
    return listing.get("items") or []


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


async def _rematch_all() -> None:
    for scan in await _list_scans():
        name, digest = scan["metadata"]["name"], scan["spec"].get("digest", "")
        phase = (scan.get("status") or {}).get("phase")
        if not digest or phase not in ("Scanned", "Incomplete"):
            continue
        before = STATE.port.previous_ids(digest)
        matched = await asyncio.to_thread(STATE.port.rematch, digest)
        if matched is None:  # scanned by another operator instance's cache: rescan to fill ours
            STATE.queue.submit(name)
            continue
        findings = matched.findings
        if {f.id for f in findings} == before and phase_for(matched.coverage) == phase:
            continue
        status = scanned_status(matched.inventory, findings, matched.database, STATE.settings.max_findings,
                                scanned_at=scan["status"].get("scannedAt"), scanner_version=SCANNER_IDENTITY,
                                coverage=matched.coverage)
        await asyncio.to_thread(_patch_scan, name, {"status": status}, True)
        new = sorted({f.id for f in findings if f.id not in before and f.rank >= Severity.HIGH.rank})
        if new and name in STATE.usage.running():
            await asyncio.to_thread(_event, scan, "NewVulnerabilities",
                                    f"{len(new)} new Critical/High: {', '.join(new[:20])}")


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
        try:
            STATE.metrics.observe_scans(await _list_scans(), STATE.usage.running())
        except ApiException as exc:
            log.warning("listing ImageScans for metrics failed: %s", exc.reason)


async def _gc_loop() -> None:
    """Delete ImageScans whose image has run nowhere for the retention period."""
    await asyncio.sleep(min(STATE.settings.gc_interval, 30))  # let the pod listing fill the usage index
    while True:
        running = STATE.usage.running()
        for scan in await _list_scans():
            name = scan["metadata"]["name"]
            annotations = scan["metadata"].get("annotations") or {}
            if name in running:
                continue
            since = annotations.get(UNUSED_SINCE)
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
