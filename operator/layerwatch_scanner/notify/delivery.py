"""Send what the outbox holds: at least once, with retries, backoff and a rate limit per target.

A message is POSTed to its target's URL in the target's format, signed when the target has a
key. A 2xx answer delivers it; anything else (an error status, a refused or timed-out
connection) is retried with exponential backoff and full jitter, for as long as the target
exists. Redirects are not followed, and every request passes the SSRF guard after DNS: never a
cloud metadata or link-local address. Errors are said without the URL's path, query or
credentials (a Slack webhook URL *is* its secret).
"""

from __future__ import annotations

import random
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ..errors import BlockedHostError
from ..registry.guard import HostGuard
from .notifiers import notifier
from .outbox import Outbox
from .payloads import MAX_BODY
from .signing import HEADER, signature

TIMEOUT = 10.0
BACKOFF_BASE = 2.0  # seconds before the first retry
BACKOFF_MAX = 900.0  # and never more than this between attempts


@dataclass
class Target:
    name: str
    url: str
    format: str = "json"
    key: bytes | None = None  # HMAC key: messages are signed when set
    ca_bundle: str | None = None  # PEM
    max_per_minute: int = 60


@dataclass
class TargetStats:
    sent: int = 0
    failed: int = 0
    last_success: float | None = None
    last_error: str = ""
    last_error_at: float | None = None


def redacted(url: str) -> str:
    """scheme://host[:port]/… : enough to tell the target, nothing of its secrets."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}/…"


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: exponential, capped, with full jitter in [½, 1]."""
    ceiling = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return ceiling * (0.5 + 0.5 * (rng or random).random())


@dataclass
class _Bucket:
    """Token bucket: `rate` per minute, bursts of up to a tenth of a minute's worth."""

    rate: int
    at: float
    tokens: float = 1.0

    def take(self, now: float) -> bool:
        burst = max(1.0, self.rate / 10)
        self.tokens = min(burst, self.tokens + (now - self.at) * self.rate / 60)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Deliverer:
    def __init__(self, outbox: Outbox, guard: HostGuard | None = None):
        self.outbox = outbox
        self.guard = guard or HostGuard()
        self.stats: dict[str, TargetStats] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._clients: dict[tuple[str, str | None], httpx.Client] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _client(self, target: Target) -> httpx.Client:
        key = (target.name, target.ca_bundle)
        client = self._clients.get(key)
        if client is None:
            verify: ssl.SSLContext | bool = True
            if target.ca_bundle:
                verify = ssl.create_default_context(cadata=target.ca_bundle)
            guard = self.guard

            def check(request: httpx.Request) -> None:
                guard.check_address(request.url.host, what="notification target")

            client = httpx.Client(timeout=TIMEOUT, verify=verify, follow_redirects=False, trust_env=False,
                                  event_hooks={"request": [check]})
            self._clients[key] = client
        return client

    def _post(self, target: Target, body: bytes, content_type: str, dedupe: str, attempt: int) -> str:
        """"" when delivered, else why not (never with the URL's secrets)."""
        headers = {"Content-Type": content_type, "User-Agent": "layerwatch-notifier",
                   "X-Layerwatch-Delivery": dedupe, "X-Layerwatch-Attempt": str(attempt)}
        if target.key:
            headers[HEADER] = signature(target.key, body)
        try:
            response = self._client(target).post(target.url, content=body, headers=headers)
        except BlockedHostError as exc:
            return str(exc)
        except httpx.TimeoutException:
            return f"{redacted(target.url)}: no answer within {TIMEOUT:.0f} s"
        except httpx.HTTPError as exc:
            return f"{redacted(target.url)}: {type(exc).__name__}"
        except ssl.SSLError as exc:
            return f"{redacted(target.url)}: TLS: {exc.reason or type(exc).__name__}"
        if 200 <= response.status_code < 300:
            return ""
        return f"{redacted(target.url)} answered HTTP {response.status_code}"

    def send_due(self, targets: dict[str, Target], now: float | None = None, limit: int = 100) -> int:
        """Try every due message of a known target once; the number delivered."""
        now = time.time() if now is None else now
        sent = 0
        for message in self.outbox.due(now, limit):
            target = targets.get(message.target)
            if target is None:  # its NotificationTarget is gone (or not read yet): wait
                self.outbox.postpone(message.id, now + 30)
                continue
            bucket = self._buckets.get(target.name)
            if bucket is None or bucket.rate != target.max_per_minute:
                bucket = self._buckets[target.name] = _Bucket(target.max_per_minute, now)
            if not bucket.take(now):
                self.outbox.postpone(message.id, now + 60 / target.max_per_minute)
                continue
            stats = self.stats.setdefault(target.name, TargetStats())
            try:
                chosen = notifier(target.format)
                body = chosen.render(message.payload)
            except (KeyError, TypeError, ValueError) as exc:
                error = f"format {target.format!r}: {exc}"
            else:
                if len(body) > MAX_BODY:
                    error = f"message of {len(body)} bytes exceeds {MAX_BODY} in format {target.format}"
                else:
                    error = self._post(target, body, chosen.content_type, message.dedupe, message.attempts + 1)
            if not error:
                self.outbox.delivered(message.id)
                stats.sent += 1
                stats.last_success = time.time()
                sent += 1
            else:
                self.outbox.failed(message.id, error, now + backoff(message.attempts + 1))
                stats.failed += 1
                stats.last_error, stats.last_error_at = error, time.time()
        return sent
