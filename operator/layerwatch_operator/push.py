"""The scan-on-push endpoint: registries tell the operator what was pushed, and every pushed
image gets an ImageScan at once, so admission finds its results ready before any pod runs it.

`POST /v1/push` (aiohttp, the server Kopf already depends on; HTTPS when given a certificate, on
its own port) takes a CNCF Distribution / Docker registry, Harbor or Quay notification
(push_events.py). The sender proves itself with `Authorization: Bearer <token>` (compared in
constant time); a sender that cannot set headers (Quay) may put it in `?token=` — query strings
are never logged. Bodies are bounded; a malformed notification is a 400 that says which field;
a repeated delivery (same event id, or the same image within DEDUPE_SECONDS) is a no-op, and
the events of one push make one ImageScan.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from .push_events import PushedImage, PushEventError, pushed_images

log = logging.getLogger("layerwatch.push")
MAX_BODY = 1024 * 1024
DEDUPE_SECONDS = 600.0
SETTLE_SECONDS = 1.0
_REMEMBERED = 10_000


class PushReceiver:
    """Takes notifications; ImageScans are made by `run()` a moment later (SETTLE_SECONDS), so the
    events of one push — a registry reports the manifest by digest, then by tag — make one
    ImageScan, named as a pod running the tag will name it."""

    def __init__(self, token: str, create: Callable[[list[PushedImage]], Awaitable[int]]):
        if not token:
            raise ValueError("the push endpoint needs a token (LAYERWATCH_PUSH_TOKEN_FILE)")
        self._token = token.encode()
        self._create = create
        self._seen: OrderedDict[str, float] = OrderedDict()  # dedupe key -> when
        self._pending: dict[str, tuple[PushedImage, float]] = {}  # digest (or image) -> (best, since)
        self.received = 0
        self.created = 0

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self._token)

    def _fresh(self, image: PushedImage, now: float) -> bool:
        """Not an event delivered before, nor an image already taken in this window."""
        keys = [f"id:{image.event_id}"] if image.event_id else []
        keys.append(f"image:{image.image}@{image.digest}")
        for key in list(self._seen):
            if self._seen[key] > now - DEDUPE_SECONDS:
                break
            del self._seen[key]
        if any(k in self._seen for k in keys):
            return False
        for key in keys:
            self._seen[key] = now
        while len(self._seen) > _REMEMBERED:
            self._seen.popitem(last=False)
        return True

    def _hold(self, image: PushedImage, now: float) -> None:
        key = image.digest or image.image
        held = self._pending.get(key)
        tagged = ":" in image.image.rsplit("/", 1)[-1]
        if held is None:
            self._pending[key] = (image, now)
        elif tagged and ":" not in held[0].image.rsplit("/", 1)[-1]:
            self._pending[key] = (image, held[1])  # the tag names it as pods will

    async def flush(self, now: float | None = None) -> int:
        """Make the ImageScans of images held long enough (all of them with now=inf)."""
        now = time.monotonic() if now is None else now
        due = [key for key, (_, since) in self._pending.items() if since <= now - SETTLE_SECONDS]
        images = [self._pending.pop(key)[0] for key in due]
        if not images:
            return 0
        created = await self._create(images)
        self.created += created
        log.info("scan on push: %d pushed images, %d ImageScans created", len(images), created)
        return created

    async def run(self) -> None:
        while True:
            await asyncio.sleep(SETTLE_SECONDS / 2)
            try:
                await self.flush()
            except Exception as exc:  # the next flush tries what is left; none is lost silently
                log.error("scan on push: creating ImageScans failed: %s", exc)

    async def push(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"error": f"body larger than {MAX_BODY} bytes"}, status=413)
        try:
            body = await request.content.read(MAX_BODY + 1)
        except Exception:  # noqa: BLE001 - a client that hangs up mid-body
            return web.json_response({"error": "incomplete body"}, status=400)
        if len(body) > MAX_BODY:
            return web.json_response({"error": f"body larger than {MAX_BODY} bytes"}, status=413)
        try:
            images = pushed_images(json.loads(body))
        except ValueError as exc:  # JSON errors and PushEventError
            reason = str(exc) if isinstance(exc, PushEventError) else f"not JSON: {exc}"
            return web.json_response({"error": reason}, status=400)
        now = time.monotonic()
        fresh = [i for i in images if self._fresh(i, now)]
        for image in fresh:
            self._hold(image, now)
        self.received += len(images)
        return web.json_response({"images": len(images), "new": len(fresh)}, status=202)

    @staticmethod
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")


async def serve(receiver: PushReceiver, port: int, cert: str = "", key: str = "",
                host: str = "0.0.0.0") -> web.AppRunner:  # noqa: S104 - a Service fronts it
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post("/v1/push", receiver.push)
    app.router.add_get("/healthz", receiver.healthz)
    runner = web.AppRunner(app, access_log=None)  # access logs would carry ?token=
    await runner.setup()
    context = None
    if cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key or None)
    await web.TCPSite(runner, host, port, ssl_context=context).start()
    log.info("scan-on-push endpoint on port %d (%s)", port, "https" if context else "http")
    return runner
