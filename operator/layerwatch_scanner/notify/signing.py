"""Message signatures a receiver can check: `X-Layerwatch-Signature: t=<unix time>,v1=<hex>`, the
HMAC-SHA256 under the target's key of `<t>.` followed by the body bytes (the scheme Stripe and
GitHub-style webhooks use: the time in the signed text stops a replay of an old message)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Layerwatch-Signature"
TOLERANCE = 300  # seconds a receiver should accept between the time signed and its clock


def signature(key: bytes, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(key: bytes, body: bytes, header: str, now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """What a receiver does (and the tests): the signature matches and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
