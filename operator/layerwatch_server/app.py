"""The server's FastAPI app.

* `POST /v1/match` {"inventory": …}: the inventory a client cataloged (`layerwatch scan
  --server`), matched against the server's database; the answer is layerwatch_scanner.remote's
  wire format.
* `POST /v1/scan` {"image": REF}: the server pulls and scans the image with its layer cache.
* `GET /v1/images/{digest}`: the stored report of an image this server scanned.
* `GET /healthz`. OpenAPI documents at /docs and /openapi.json.

Every /v1 request needs `Authorization: Bearer <token>` with one of the configured tokens
(compared in constant time); bodies are bounded (413 beyond), each token is rate-limited (429
with Retry-After), and malformed input is a 400 that names the field.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from layerwatch_scanner import __version__
from layerwatch_scanner.errors import LayerwatchError
from layerwatch_scanner.layers.cache import LayerCache
from layerwatch_scanner.match.coverage import DEFAULT_MAX_AGE
from layerwatch_scanner.model import Inventory
from layerwatch_scanner.remote import result_to_wire
from layerwatch_scanner.scanning import match, scan_image
from layerwatch_scanner.sources import split_source
from layerwatch_scanner.vulndb.store import VulnDB

MAX_BODY = 8 * 1024 * 1024


@dataclass
class ServerSettings:
    db: Path
    cache: Path
    tokens: list[str]
    rate: float = 20.0  # requests per second per token
    burst: int = 40
    max_body: int = MAX_BODY


@dataclass
class _Bucket:
    tokens: float
    stamp: float = field(default_factory=time.monotonic)


class RateLimiter:
    """A token bucket per client credential."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed, else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            bucket = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.rate


def _max_age(doc: dict) -> dt.timedelta:
    """The age past which the database's data counts as stale (the client's --max-db-age;
    layerwatch's default otherwise): the answer's coverage says "stale" rather than clean."""
    value = doc.get("max_db_age_seconds")
    if value is None:
        return DEFAULT_MAX_AGE
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise HTTPException(400, "max_db_age_seconds: expected a positive number")
    return dt.timedelta(seconds=value)


def create_app(settings: ServerSettings) -> FastAPI:
    if not settings.tokens:
        raise LayerwatchError("layerwatch server needs at least one token (--token-file)")
    app = FastAPI(title="layerwatch", version=__version__,
                  description="Container-image vulnerability matching for CI: send an inventory or name an image.")
    limiter = RateLimiter(settings.rate, settings.burst)
    cache = LayerCache(settings.cache)
    local = threading.local()

    def database() -> VulnDB:
        db = getattr(local, "db", None)
        if db is None or db.path != settings.db:
            db = local.db = VulnDB.open(settings.db)
        return db

    def client(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or \
                not any(hmac.compare_digest(token.encode(), t.encode()) for t in settings.tokens):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.take(token)
        if wait:
            raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(max(1, round(wait)))})
        return token

    async def body(request: Request) -> dict:
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > settings.max_body):
            raise HTTPException(413, f"request body larger than {settings.max_body} bytes")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > settings.max_body:
                raise HTTPException(413, f"request body larger than {settings.max_body} bytes")
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise HTTPException(400, f"body: not JSON ({exc})") from exc
        if not isinstance(doc, dict):
            raise HTTPException(400, "body: expected a JSON object")
        return doc

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/v1/match")
    async def match_inventory(request: Request, _: str = Depends(client)) -> dict:
        doc = await body(request)
        raw = doc.get("inventory")
        if not isinstance(raw, dict):
            raise HTTPException(400, "inventory: expected an object (layerwatch sbom -o json's inventory)")
        try:
            inventory = Inventory.from_dict(raw)
            purls = raw.get("purls")
            if isinstance(purls, list) and len(purls) == len(inventory.packages):
                inventory.purls = [str(p) for p in purls]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise HTTPException(400, f"inventory: {type(exc).__name__}: {exc}") from exc
        max_age = _max_age(doc)
        return await asyncio.to_thread(lambda: result_to_wire(match(inventory, database(), max_age=max_age)))

    @app.post("/v1/scan")
    async def scan(request: Request, _: str = Depends(client)) -> dict:
        doc = await body(request)
        image = doc.get("image")
        if not isinstance(image, str) or not image or len(image) > 1024:
            raise HTTPException(400, "image: expected an image reference")
        try:
            kind, _ = split_source(image)
        except LayerwatchError as exc:
            raise HTTPException(400, f"image: {exc}") from exc
        if kind != "registry":  # the server's own files (dir:, oci-dir:, docker-archive:) are not for clients
            raise HTTPException(400, "image: only registry references are scanned by the server")
        max_age = _max_age(doc)
        try:
            result = await asyncio.to_thread(scan_image, image, settings.db, None, cache, None, max_age)
        except LayerwatchError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"inventory": result.inventory.to_dict(), "result": result_to_wire(result)}

    @app.get("/v1/images/{digest}")
    def stored(digest: str, _: str = Depends(client)) -> dict:
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise HTTPException(400, "digest: expected sha256:<64 hex digits>")
        inventory = cache.load_inventory(digest)
        if inventory is None:
            raise HTTPException(404, f"no report of {digest} on this server")
        result = match(inventory, database(), cache, max_age=DEFAULT_MAX_AGE)
        return {"inventory": inventory.to_dict(), "result": result_to_wire(result)}

    @app.exception_handler(LayerwatchError)
    async def layerwatch_error(request: Request, exc: LayerwatchError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    return app
