"""The admission webhook: FastAPI app answering AdmissionReview v1 from memory only."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from layerwatch_api import metrics as names
from layerwatch_api.admission import UnsupportedObject, container_images, pod_spec, template_annotations
from layerwatch_api.evaluate import evaluate
from layerwatch_api.images import split_digest
from layerwatch_api.imagescan import GROUP, IMAGESCAN_PLURAL, VERSION
from layerwatch_api.naming import imagescan_name
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .settings import WebhookSettings
from .view import ClusterView

log = logging.getLogger(__name__)
MAX_BODY = 3 * 1024 * 1024  # the API server caps objects at ~1.5 MiB; a review carries two


class BadReview(ValueError):
    pass


class Metrics:
    def __init__(self, view: ClusterView | None):
        self.registry = CollectorRegistry()
        self.requests = Counter(names.ADMISSION_REQUESTS.removesuffix("_total"), "Admission requests",
                                ["kind", "decision", "policy"], registry=self.registry)
        self.duration = Histogram(names.ADMISSION_DURATION, "Admission latency", registry=self.registry,
                                  buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1))
        self.break_glass = Counter(names.BREAK_GLASS.removesuffix("_total"), "Break-glass admissions",
                                   ["namespace"], registry=self.registry)
        watch_age = Gauge(names.WATCH_AGE, "Seconds since the last list/watch event", ["resource"],
                          registry=self.registry)
        if view is not None:
            for resource in view.resources:
                watch_age.labels(resource).set_function(lambda r=resource: min(view.watch_age()[r], 1e9))


def _review(body: bytes) -> dict:
    if len(body) > MAX_BODY:
        raise BadReview(f"AdmissionReview of {len(body)} bytes exceeds {MAX_BODY}")
    try:
        review = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadReview(f"body is not JSON: {exc}") from exc
    if not isinstance(review, dict) or review.get("kind") != "AdmissionReview":
        raise BadReview("body is not an AdmissionReview")
    if review.get("apiVersion") != "admission.k8s.io/v1":
        raise BadReview(f"unsupported AdmissionReview apiVersion {review.get('apiVersion')!r}; expected admission.k8s.io/v1")
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadReview("AdmissionReview has no request object")
    if not isinstance(request.get("uid"), str) or not request["uid"]:
        raise BadReview("request.uid must be a non-empty string")
    kind = request.get("kind")
    if not isinstance(kind, dict) or not isinstance(kind.get("kind"), str):
        raise BadReview("request.kind.kind must be a string")
    for key in ("object", "oldObject"):
        if request.get(key) is not None and not isinstance(request[key], dict):
            raise BadReview(f"request.{key} must be an object")
    if request.get("namespace") is not None and not isinstance(request["namespace"], str):
        raise BadReview("request.namespace must be a string")
    return request


def _answer(uid: str, allowed: bool, message: str = "", warnings: list[str] | None = None,
            audit: dict[str, str] | None = None) -> dict:
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if not allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": message}
    if warnings:
        # kubectl prints each warning; the API server limits them to 256 characters each
        response["warnings"] = [w if len(w) <= 256 else w[:255] + "…" for w in warnings]
    if audit:
        response["auditAnnotations"] = audit
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


def _images(kind: str, obj: dict | None) -> set[str]:
    if not obj:
        return set()
    try:
        return {c.image for c in container_images(pod_spec(kind, obj))}
    except UnsupportedObject:
        return set()


class ScanRequester:
    """Creates an ImageScan for an image the webhook has not seen (fire and forget)."""

    def __init__(self, view: ClusterView, client_factory):  # noqa: ANN001
        self.view = view
        self.client_factory = client_factory
        self.pending: set[str] = set()

    def request(self, image: str) -> None:
        name, digest = split_digest(image)
        scan_name = imagescan_name(image, digest)
        if scan_name in self.pending:
            return
        self.pending.add(scan_name)
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ImageScan", "metadata": {
            "name": scan_name, "labels": {"app.kubernetes.io/created-by": "layerwatch-webhook"}},
            "spec": {"image": name if digest else image, "digest": digest}}
        threading.Thread(target=self._create, args=(body,), daemon=True).start()

    def record_break_glass(self, namespace: str, kind: str, name: str, reason: str) -> None:
        """Every break-glass admission becomes an Event in the workload's namespace."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"generateName": f"{name or kind.lower()}.", "namespace": namespace},
                 "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
                 "reason": "BreakGlass", "type": "Warning", "message": f"layerwatch policy bypassed: {reason}"[:1000],
                 "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                 "source": {"component": "layerwatch-webhook"}}
        threading.Thread(target=self._post, args=(f"/api/v1/namespaces/{namespace}/events", event, "Event"),
                         daemon=True).start()

    def _post(self, path: str, body: dict, what: str) -> None:
        try:
            with self.client_factory() as client:
                r = client.post(path, json=body)
                if r.status_code not in (200, 201, 409):
                    log.warning("could not create %s: HTTP %s", what, r.status_code)
        except Exception as exc:  # best effort, never on the admission path
            log.warning("could not create %s: %s", what, exc)

    def _create(self, body: dict) -> None:
        self._post(f"/apis/{GROUP}/{VERSION}/{IMAGESCAN_PLURAL}", body, f"ImageScan {body['metadata']['name']}")


def create_app(settings: WebhookSettings, view: ClusterView | None = None,
               requester: ScanRequester | None = None, delegated: Callable[[str], bool] | None = None) -> FastAPI:
    """`delegated(namespace)`: the enforce webhook is registered for that namespace, so calls of
    the fail-open `workloads` webhook from there are allowed at once (registration.py)."""
    app = FastAPI(title="layerwatch admission webhook", docs_url=None, redoc_url=None, openapi_url=None)
    metrics = Metrics(view)
    app.state.metrics = metrics
    app.state.view = view
    skipped = {settings.namespace, *settings.ignored_namespaces}

    @app.post("/validate")
    async def validate(request: Request) -> Response:
        return await _handle(request, enforce=False)

    @app.post("/validate/enforce")
    async def validate_enforce(request: Request) -> Response:
        return await _handle(request, enforce=True)

    async def _handle(request: Request, enforce: bool) -> Response:
        start = time.perf_counter()
        body = await request.body()
        try:
            review = _review(body)
        except BadReview as exc:
            metrics.requests.labels("unknown", "error", "").inc()
            return JSONResponse({"error": str(exc)}, status_code=400)
        namespace = review.get("namespace") or ""
        if not enforce and delegated is not None and delegated(namespace):
            result = _answer(review["uid"], True)  # enforce.layerwatch.dev judges this namespace
        else:
            result = decide(review)
        response = result["response"]
        decision = "deny" if not response["allowed"] else ("warn" if response.get("warnings") else "allow")
        metrics.requests.labels(review["kind"]["kind"], decision, response.pop("_policy", "")).inc()
        metrics.duration.observe(time.perf_counter() - start)
        return JSONResponse(result)

    def decide(request: dict) -> dict:
        uid, kind = request["uid"], request["kind"]["kind"]
        namespace = request.get("namespace") or ""
        obj = request.get("object") or {}
        if namespace in skipped:
            return _answer(uid, True)
        if request.get("operation") not in ("CREATE", "UPDATE"):
            return _answer(uid, True)
        try:
            spec = pod_spec(kind, obj)
            container_images(spec)
        except UnsupportedObject as exc:
            return _answer(uid, True, warnings=[f"layerwatch did not evaluate this object: {exc}"])
        if request.get("operation") == "UPDATE" and _images(kind, request.get("oldObject")) == _images(kind, obj):
            return _answer(uid, True)  # an update that changes no image (scaling, labels) is not re-judged
        if view is None or not view.ready:
            # only reachable before readiness (the Service routes no traffic then) or in misconfiguration
            return _answer(uid, False, "layerwatch webhook is not ready: it has not listed ImageScans and policies yet")
        verdict = evaluate(view.policies, view.index, spec, namespace, view.namespace_labels(namespace),
                           template_annotations(kind, obj))
        if requester is not None and settings.create_imagescans:
            for image in verdict.unscanned:
                requester.request(image)
        if verdict.break_glass:
            metrics.break_glass.labels(namespace).inc()
            if requester is not None:
                requester.record_break_glass(namespace, kind, (obj.get("metadata") or {}).get("name", ""),
                                             verdict.break_glass)
            log.warning("break-glass in %s for %s %s: %s", namespace, kind,
                        (obj.get("metadata") or {}).get("name"), verdict.break_glass)
        answer = _answer(uid, verdict.allowed, verdict.message, verdict.warnings, verdict.audit)
        answer["response"]["_policy"] = verdict.policy
        return answer

    @app.get("/healthz")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz")
    async def readyz() -> PlainTextResponse:
        if view is None or not view.ready:
            return PlainTextResponse("waiting for the first list of ImageScans and policies", status_code=503)
        return PlainTextResponse("ok")

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
