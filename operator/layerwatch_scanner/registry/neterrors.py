"""Network failures told apart, each with the hint that fits it: a DNS failure is not a TLS
problem, and a refused connection is not an authentication one."""

from __future__ import annotations

import socket
import sys


def _ssl_error(cause: BaseException, name: str = "SSLError") -> bool:
    """isinstance against ssl's classes, without importing ssl: a process that never imported it
    never spoke TLS."""
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(cause, getattr(ssl, name))


def _chain(exc: BaseException):  # noqa: ANN202 - the exception and its causes, outermost first
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe(exc: BaseException, host: str) -> str:
    """One line for a failed connection to `host` (host[:port])."""
    for cause in _chain(exc):
        if isinstance(cause, socket.gaierror) or "Name or service not known" in str(cause) \
                or "Temporary failure in name resolution" in str(cause):
            return f"cannot resolve {host.rsplit(':', 1)[0]} (DNS lookup failed): check the name and the resolver"
        if _untrusted(cause):
            return (f"TLS certificate of {host} not trusted ({cause}): pass --ca-cert FILE for a private CA")
        if _ssl_error(cause) or any(word in str(cause) for word in ("WRONG_VERSION_NUMBER", "TLS", "SSL")):
            return (f"TLS handshake with {host} failed ({cause}): a registry that serves plain HTTP must be named "
                    "with --insecure-registry")
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return f"connection to {host} refused: is the registry running and the port right?"
        # httpx's timeouts (feeds) by name: importing httpx here would slow every scan's start
        if isinstance(cause, socket.timeout | TimeoutError) or type(cause).__name__.endswith("Timeout"):
            return f"connection to {host} timed out"
    return f"connection to {host} failed: {exc}"


def _untrusted(cause: BaseException) -> bool:
    return _ssl_error(cause, "SSLCertVerificationError") or "CERTIFICATE_VERIFY_FAILED" in str(cause)


def is_untrusted_certificate(exc: BaseException) -> bool:
    return any(_untrusted(c) for c in _chain(exc))
