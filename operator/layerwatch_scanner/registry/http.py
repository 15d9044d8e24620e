"""HTTP/1.1 for the registry client, on the standard library's http.client.

Why not httpx (which the feed downloads use): importing it costs ~150 ms on this kind of
machine (its command line pulls in click and rich, its models the email package twice), three
times the whole budget of a warm rescan, and a registry client needs little of it: keep-alive
connections per host, streaming bodies, TLS with a chosen CA file, and the proxy variables.
Redirects and authentication stay in client.py, where the SSRF guard sees every hop.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import os
import ssl
import threading
from collections.abc import Iterator
from typing import IO
from urllib.parse import unquote, urlencode, urlsplit

# http.client refuses header lines over 64 KiB itself; a body we read whole is bounded here
MAX_BODY_IN_MEMORY = 8 * 1024 * 1024
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.BadStatusLine)


class TransportError(Exception):
    """A request that got no HTTP answer (DNS, refused, TLS, timeout, reset); the cause is chained."""


class Response:
    def __init__(self, raw: http.client.HTTPResponse, release):  # noqa: ANN001 - release(reusable: bool)
        self._raw = raw
        self._release = release
        self.status_code = raw.status
        self.headers = raw.headers  # an email.message.Message: .get() is case-insensitive
        self._content: bytes | None = None

    @property
    def content(self) -> bytes:
        if self._content is None:
            try:
                data = self._raw.read(MAX_BODY_IN_MEMORY + 1)
            except (OSError, http.client.HTTPException) as exc:
                self.close(reusable=False)
                raise TransportError(f"reading the answer failed: {exc}") from exc
            if len(data) > MAX_BODY_IN_MEMORY:
                self.close(reusable=False)
                raise TransportError(f"answer larger than {MAX_BODY_IN_MEMORY} bytes")
            self._content = data
            self.close()
        return self._content

    def json(self):  # noqa: ANN201
        return json.loads(self.content)

    def iter_raw(self, size: int) -> Iterator[bytes]:
        try:
            while chunk := self._raw.read(size):
                yield chunk
        except (OSError, http.client.HTTPException) as exc:
            self.close(reusable=False)
            raise TransportError(f"download interrupted: {exc}") from exc
        self.close()

    def close(self, reusable: bool = True) -> None:
        if self._release is None:
            return
        release, self._release = self._release, None
        raw = self._raw
        # a connection is reused only when its answer was read to the end; a short unread body
        # (a 401's or a redirect's) is read so the connection can be
        done = raw.isclosed() or raw.length == 0
        if not done and reusable and raw.length is not None and raw.length <= 65536:
            try:
                raw.read()
                done = True
            except (OSError, http.client.HTTPException):
                pass
        raw.close()
        release(reusable and done)


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy URL from HTTPS_PROXY/HTTP_PROXY (either case), unless NO_PROXY names the host."""
    env = os.environ
    no_proxy = env.get("NO_PROXY", env.get("no_proxy", ""))
    name = host.rsplit(":", 1)[0].strip("[]").lower()
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*" or (entry and (name == entry.lstrip(".") or name.endswith("." + entry.lstrip(".")))):
            return None
    var = "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY"
    return env.get(var) or env.get(var.lower()) or None


class Pool:
    """Idle keep-alive connections per (scheme, host[:port]); thread-safe (one request per
    connection at a time, as http.client requires)."""

    def __init__(self, ssl_context: ssl.SSLContext | None, timeout: float, headers: dict[str, str]):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._headers = headers
        self._idle: dict[tuple[str, str], list[tuple]] = {}  # (connection, proxy headers)
        self._lock = threading.Lock()

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:  # only for the first https request: loading CAs takes a while
            self._ssl_context = _shared_default_context()
        return self._ssl_context

    def _connect(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, dict[str, str] | None]:
        """A new connection, and for a plain-HTTP proxy the headers it needs (requests through it
        carry the absolute URL); None when requests go straight to the host or through a tunnel."""
        proxy = _proxy_for(scheme, netloc)
        if proxy:
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            proxy_auth = {}
            if p.username:
                pair = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
                proxy_auth["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode()
            if scheme == "https":
                conn = http.client.HTTPSConnection(p.hostname, p.port or 80, timeout=self._timeout,
                                                   context=self._context())
                conn.set_tunnel(netloc, headers=proxy_auth)
                return conn, None
            return http.client.HTTPConnection(p.hostname, p.port or 80, timeout=self._timeout), proxy_auth
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=self._timeout, context=self._context()), None
        return http.client.HTTPConnection(netloc, timeout=self._timeout), None

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
                body: bytes | IO[bytes] | None = None) -> Response:
        """`body`: bytes, or a seekable file sent with its Content-Length (pushes)."""
        parts = urlsplit(url)
        scheme, netloc = parts.scheme, parts.netloc
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        sent = {**self._headers, **(headers or {})}
        if auth:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if body is not None:
            sent["Content-Length"] = str(len(body) if isinstance(body, bytes) else os.fstat(body.fileno()).st_size)
        key = (scheme, netloc)
        for attempt in range(2):
            if hasattr(body, "seek"):
                body.seek(0)  # type: ignore[union-attr]
            conn, proxy_headers, reused = self._checkout(key)
            try:
                if proxy_headers is None:
                    conn.request(method, target, body=body, headers=sent)
                else:
                    conn.request(method, f"{scheme}://{netloc}{target}", body=body, headers={**sent, **proxy_headers})
                raw = conn.getresponse()
            except _STALE as exc:
                conn.close()
                if reused and attempt == 0:  # the server closed an idle keep-alive connection: once more
                    continue
                raise TransportError(f"connection to {netloc} closed: {exc}") from exc
            except (OSError, http.client.HTTPException, ValueError) as exc:
                conn.close()
                raise TransportError(f"{exc}") from exc
            if method == "HEAD":
                raw.length = 0  # http.client leaves nothing to read after a HEAD
            idle = (conn, proxy_headers)
            return Response(raw, lambda reusable, c=idle: self._checkin(key, c, reusable))
        raise AssertionError("unreachable")

    def _checkout(self, key: tuple[str, str]) -> tuple[http.client.HTTPConnection, dict[str, str] | None, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return (*idle.pop(), True)
        return (*self._connect(*key), False)

    def _checkin(self, key: tuple[str, str], idle: tuple, reusable: bool) -> None:
        if not reusable:
            idle[0].close()
            return
        with self._lock:
            self._idle.setdefault(key, []).append(idle)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _ in conns:
                conn.close()


@functools.lru_cache(maxsize=1)
def _shared_default_context() -> ssl.SSLContext:
    """One per process: the operator resolves and scans thousands of images, and each context
    holds its own copy of the CA store (about a megabyte)."""
    return default_ssl_context()


def default_ssl_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verify against `cafile`, else SSL_CERT_FILE/SSL_CERT_DIR, else certifi's bundle (as httpx and
    Docker do), else the system's store."""
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE") or None,
                                          capath=os.environ.get("SSL_CERT_DIR") or None)
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())
