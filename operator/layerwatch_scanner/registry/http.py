"""HTTP/1.1 for the registry client: sockets, with httptools (llhttp, the parser of Node.js and
uvicorn) reading the answers.

Why not httpx (which the feed downloads use): importing it costs ~150 ms (its command line pulls in
click and rich, its models the email package twice), three times the whole budget of a warm
rescan. Why not the standard library's http.client: it parses headers with the email package,
which with ssl costs ~30 ms before the first request, more than half that budget (issue 14). Here
ssl is imported only by a request that uses TLS, and the parser is a small C extension.

What is left to this module is small: keep-alive connections per host, streaming bodies, TLS with
a chosen CA file, and the proxy variables (a CONNECT tunnel for https). Answers are bounded: the
header section to 64 KiB and 200 lines, a body read whole to 8 MiB. Redirects and authentication
stay in client.py, where the SSRF guard sees every hop.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING
from urllib.parse import unquote, urlencode, urlsplit

import httptools

if TYPE_CHECKING:
    import ssl

MAX_BODY_IN_MEMORY = 8 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_LINES = 200
MAX_INTERIM = 8  # 1xx answers before the real one
_RECV_SIZE = 256 * 1024
_SMALL_REST = 65536  # an unread rest up to this size is read so the connection can be reused
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")  # what http.client refuses in a request target too
_BAD_VALUE = re.compile(r"[\r\n\x00]")


class TransportError(Exception):
    """A request that got no usable HTTP answer (DNS, refused, TLS, timeout, reset, malformed);
    the cause is chained."""


class _Stale(TransportError):
    """A kept-alive connection the server had closed before this request: retried once."""


class Headers:
    """An answer's header fields; get() is case-insensitive and returns the first value."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}
        self._all: list[tuple[str, str]] = []

    def add(self, name: str, value: str) -> None:
        self._first.setdefault(name.lower(), value)
        self._all.append((name, value))

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._all)


class _Stop(Exception):
    """Raised from the parser's callback to end an answer that has no body (HEAD, CONNECT)."""


class _Answer:
    """One answer being parsed: httptools calls these methods as it reads."""

    def __init__(self, bodyless: bool):
        self.bodyless = bodyless
        self.headers = Headers()
        self.headers_done = False
        self.complete = False
        self.body: list[bytes] = []
        self.pending = 0  # body bytes parsed but not yet handed out
        self.pending_total = 0
        self.trailing = False  # the server sent more than one answer: the connection is not reused
        self._header_bytes = 0  # of the header lines parsed
        self._fed = 0  # bytes fed while the header section is not complete
        self._idle = 0  # bytes fed after it that carried no body (chunk lines, trailers): bounded too
        self._interim = 0
        self._last = b""  # the end of the last read (a HEAD answer is reused only if it ended there)
        self._lines = 0
        self.parser = httptools.HttpResponseParser(self)

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self.trailing = True
            raise _Stop

    def on_header(self, name: bytes, value: bytes) -> None:
        self._lines += 1
        if self._lines > MAX_HEADER_LINES:
            raise TransportError(f"more than {MAX_HEADER_LINES} header lines")
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            raise TransportError(f"header section larger than {MAX_HEADER_BYTES} bytes")
        self.headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # 1xx: an interim answer; the real one follows
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise TransportError(f"more than {MAX_INTERIM} interim (1xx) answers")
            self.headers, self._lines, self._header_bytes, self._fed = Headers(), 0, 0, 0
            return
        self.headers_done = True
        if self.bodyless:
            self.complete = True
            raise _Stop

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.pending += len(body)
        self.pending_total += len(body)

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.complete = True

    # -- reading ---------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.complete:
            raise TransportError("data after the end of the answer")
        self._last = data[-4:]
        body_before, headers_before = self.pending_total, self.headers_done
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _Stop):
                return
            if isinstance(cause, TransportError):
                raise cause from None
            raise TransportError(f"malformed HTTP answer: {exc}") from exc
        except httptools.HttpParserUpgrade as exc:  # 101: a protocol a registry never switches to
            raise TransportError("the server switched protocols (HTTP 101)") from exc
        except httptools.HttpParserError as exc:
            raise TransportError(f"malformed HTTP answer: {exc}") from exc
        if not self.headers_done:  # a line still incomplete is held by the parser: bounded too
            self._fed += len(data)
            if self._fed > MAX_HEADER_BYTES:
                raise TransportError(f"header section larger than {MAX_HEADER_BYTES} bytes")
        elif headers_before:
            self._idle = 0 if self.pending_total > body_before else self._idle + len(data)
            if self._idle > MAX_HEADER_BYTES:
                raise TransportError(f"more than {MAX_HEADER_BYTES} bytes without body data (chunk trailers?)")

    def ends_at_close(self) -> bool:
        """An answer without a length or chunks: its body ends when the server closes."""
        return (self.headers_done and self.headers.get("content-length") is None
                and "chunked" not in (self.headers.get("transfer-encoding") or "").lower())

    def take(self) -> bytes:
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body, self.pending = [], 0
        return data

    def reusable(self) -> bool:
        connection = (self.headers.get("connection") or "").lower()
        if self.bodyless and self._last != b"\r\n\r\n":  # bytes after a HEAD answer's headers
            return False
        return (self.complete and not self.trailing and not self.ends_at_close() and self.parser.get_http_version() == "1.1"
                and "close" not in connection)


class Response:
    def __init__(self, sock: socket.socket, answer: _Answer, release):  # noqa: ANN001 - release(reusable: bool)
        self._sock = sock
        self._answer = answer
        self._release = release
        self.status_code = answer.parser.get_status_code()
        self.headers = answer.headers
        self.url = ""  # set by the registry client: where the answer came from
        self._content: bytes | None = None

    def _read_more(self) -> bool:
        """Parse one more read from the socket; False once the answer is complete."""
        answer = self._answer
        if answer.complete:
            return False
        try:
            data = self._sock.recv(_RECV_SIZE)
        except OSError as exc:
            self.close(reusable=False)
            raise TransportError(f"reading the answer failed: {exc}") from exc
        if not data:
            if answer.ends_at_close():
                answer.complete = True
                return False
            self.close(reusable=False)
            raise TransportError("the connection closed before the end of the answer")
        try:
            answer.feed(data)
        except TransportError:
            self.close(reusable=False)
            raise
        return True

    @property
    def content(self) -> bytes:
        if self._content is None:
            while self._read_more():
                if self._answer.pending > MAX_BODY_IN_MEMORY:
                    self.close(reusable=False)
                    raise TransportError(f"answer larger than {MAX_BODY_IN_MEMORY} bytes")
            if self._answer.pending > MAX_BODY_IN_MEMORY:
                self.close(reusable=False)
                raise TransportError(f"answer larger than {MAX_BODY_IN_MEMORY} bytes")
            self._content = self._answer.take()
            self.close()
        return self._content

    def json(self):  # noqa: ANN201
        return json.loads(self.content)

    def iter_raw(self, size: int) -> Iterator[bytes]:
        """The body in chunks of about `size` bytes (the last one shorter), as it arrives."""
        answer = self._answer
        while True:
            while answer.pending < size and self._read_more():
                pass
            if answer.pending:
                yield answer.take()
            if answer.complete and not answer.pending:
                break
        self.close()

    def close(self, reusable: bool = True) -> None:
        if self._release is None:
            return
        release, self._release = self._release, None
        answer = self._answer
        if reusable and not answer.complete:
            # a short unread body (a 401's or a redirect's) is read so the connection can be reused
            length = answer.headers.get("content-length") or ""
            if length.isdigit() and int(length) <= _SMALL_REST:
                self._release = release
                try:
                    while self._read_more():
                        pass
                except TransportError:
                    return  # closed by _read_more
                self._release = None
        answer.body, answer.pending = [], 0
        keep = reusable and answer.reusable()
        if not keep:
            self._sock.close()
        release(keep)


def basic_auth(username: str, password: str) -> str:
    """An Authorization value for Basic auth (base64 is imported only by a request that needs it)."""
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy URL from HTTPS_PROXY/HTTP_PROXY (either case), unless NO_PROXY names the host."""
    env = os.environ
    no_proxy = env.get("NO_PROXY", env.get("no_proxy", ""))
    name = (urlsplit(f"//{host}").hostname or "").lower()
    if name == "localhost" or name.startswith("127.") or name == "::1":
        return None  # a loopback host is this machine's, never the proxy's (as Go's clients do)
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*" or (entry and (name == entry.lstrip(".") or name.endswith("." + entry.lstrip(".")))):
            return None
    var = "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY"
    return env.get(var) or env.get(var.lower()) or None


def _host_port(netloc: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise TransportError(f"bad port in {netloc!r}") from exc
    if not parts.hostname:
        raise TransportError(f"no host in {netloc!r}")
    return parts.hostname, port


def _ascii(host: str) -> str | bytes:
    """An ASCII host name as bytes: the socket module then skips the idna codec (and its import)."""
    return host.encode("ascii") if host.isascii() else host


def _head(method: str, target: str, headers: dict[str, str]) -> bytes:
    if _BAD_TARGET.search(target):
        raise TransportError(f"request target {target[:80]!r} has a space or control character")
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if _BAD_VALUE.search(name) or _BAD_VALUE.search(value) or ":" in name:
            raise TransportError(f"header {name!r} has a line break")
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError as exc:
        raise TransportError(f"a request header is not Latin-1 text ({exc.reason})") from None


def _read_head(sock: socket.socket, answer: _Answer, fresh: bool) -> None:
    """Read until the answer's headers are parsed. On a reused connection, nothing at all (a
    reset or an immediate close) means the server had dropped it: _Stale."""
    started = False
    while not answer.headers_done:
        try:
            data = sock.recv(_RECV_SIZE)
        except (ConnectionResetError, BrokenPipeError) as exc:
            if not started and not fresh:
                raise _Stale(str(exc)) from exc
            raise TransportError(f"connection reset: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"{exc}") from exc
        if not data:
            if not started and not fresh:
                raise _Stale("closed by the server")
            raise TransportError("the server closed the connection without an answer")
        started = True
        answer.feed(data)


def _send(sock: socket.socket, head: bytes, body: bytes | IO[bytes] | None, fresh: bool) -> None:
    try:
        if body is None or isinstance(body, bytes):
            sock.sendall(head + (body or b""))
        else:
            sock.sendall(head)
            sock.sendfile(body)  # type: ignore[arg-type]
    except (ConnectionResetError, BrokenPipeError) as exc:
        if not fresh:
            raise _Stale(str(exc)) from exc
        raise TransportError(f"connection reset: {exc}") from exc
    except OSError as exc:
        raise TransportError(f"{exc}") from exc


class Pool:
    """Idle keep-alive connections per (scheme, host[:port]); thread-safe (one request per
    connection at a time)."""

    def __init__(self, ssl_context: ssl.SSLContext | None, timeout: float, headers: dict[str, str]):
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._headers = headers
        self._idle: dict[tuple[str, str], list[tuple[socket.socket, dict[str, str] | None]]] = {}
        self._lock = threading.Lock()

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:  # only for the first https request: loading CAs takes a while
            self._ssl_context = _shared_default_context()
        return self._ssl_context

    def _tcp(self, host: str, port: int) -> socket.socket:
        try:
            sock = socket.create_connection((_ascii(host), port), timeout=self._timeout)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a host name IDNA cannot encode
            raise TransportError(f"{exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _tls(self, sock: socket.socket, host: str) -> socket.socket:
        import ssl

        try:
            return self._context().wrap_socket(sock, server_hostname=host)
        except (OSError, ssl.SSLError, ValueError) as exc:
            sock.close()
            raise TransportError(f"{exc}") from exc

    def _connect(self, scheme: str, netloc: str) -> tuple[socket.socket, dict[str, str] | None]:
        """A new connection, and for a plain-HTTP proxy the headers it needs (requests through it
        carry the absolute URL); None when requests go straight to the host or through a tunnel."""
        host, port = _host_port(netloc, 443 if scheme == "https" else 80)
        proxy = _proxy_for(scheme, netloc)
        if not proxy:
            sock = self._tcp(host, port)
            return (self._tls(sock, host) if scheme == "https" else sock), None
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_auth = {}
        if p.username:
            proxy_auth["Proxy-Authorization"] = basic_auth(unquote(p.username), unquote(p.password or ""))
        sock = self._tcp(*_host_port(p.netloc.rpartition("@")[2], 443 if p.scheme == "https" else 80))
        if p.scheme == "https":  # Proxy-Authorization never in clear to an https proxy
            sock = self._tls(sock, p.hostname or "")
        if scheme != "https":
            return sock, proxy_auth
        try:  # a tunnel: CONNECT, then TLS with the registry through it
            target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            _send(sock, _head("CONNECT", target, {"Host": target, **proxy_auth}), None, True)
            answer = _Answer(bodyless=True)
            _read_head(sock, answer, fresh=True)
        except TransportError:
            sock.close()
            raise
        if answer.parser.get_status_code() != 200:
            sock.close()
            raise TransportError(f"proxy {p.hostname} refused the tunnel to {target} "
                                 f"(HTTP {answer.parser.get_status_code()})")
        return self._tls(sock, host), None

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None, auth: tuple[str, str] | None = None,
                body: bytes | IO[bytes] | None = None) -> Response:
        """`body`: bytes, or a seekable file sent with its Content-Length (pushes)."""
        parts = urlsplit(url)
        scheme, netloc = parts.scheme, parts.netloc
        if scheme not in ("http", "https") or not netloc:
            raise TransportError(f"not an http(s) URL: {url[:80]!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        sent = {"Host": netloc, **self._headers, **(headers or {})}
        if auth:
            sent["Authorization"] = basic_auth(*auth)
        if body is not None:
            sent["Content-Length"] = str(len(body) if isinstance(body, bytes) else os.fstat(body.fileno()).st_size)
        key = (scheme, netloc)
        direct = _head(method, target, sent)  # checked before any connection is opened
        for attempt in range(2):
            if hasattr(body, "seek"):
                body.seek(0)  # type: ignore[union-attr]
            sock, proxy_headers, reused = self._checkout(key)
            head = direct if proxy_headers is None else \
                _head(method, f"{scheme}://{netloc}{target}", {**sent, **proxy_headers})
            answer = _Answer(bodyless=method == "HEAD")
            try:
                _send(sock, head, body, fresh=not reused)
                _read_head(sock, answer, fresh=not reused)
            except _Stale as exc:
                sock.close()
                if attempt == 0:  # the server closed an idle keep-alive connection: once more
                    continue
                raise TransportError(f"connection to {netloc} closed: {exc}") from exc
            except TransportError:
                sock.close()
                raise
            idle = (sock, proxy_headers)
            return Response(sock, answer, lambda reusable, c=idle: self._checkin(key, c, reusable))
        raise AssertionError("unreachable")

    def _checkout(self, key: tuple[str, str]) -> tuple[socket.socket, dict[str, str] | None, bool]:
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
            for sock, _ in conns:
                sock.close()


@functools.lru_cache(maxsize=1)
def _shared_default_context() -> ssl.SSLContext:
    """One per process: the operator resolves and scans thousands of images, and each context
    holds its own copy of the CA store (about a megabyte)."""
    return default_ssl_context()


def default_ssl_context(cafile: str | None = None) -> ssl.SSLContext:
    """Verify against `cafile`, else SSL_CERT_FILE/SSL_CERT_DIR, else certifi's bundle (as httpx and
    Docker do), else the system's store."""
    import ssl

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

