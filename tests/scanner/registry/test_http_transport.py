"""The registry client's HTTP/1.1 transport (registry/http.py) against answers a hostile or broken
server sends: each is a clear TransportError, never a hang, a traceback or unbounded memory;
well-formed answers in every framing (length, chunks, until close) are read exactly."""

from __future__ import annotations

import socket
import threading

import pytest
from layerwatch_scanner.registry.http import MAX_BODY_IN_MEMORY, Pool, TransportError


class RawServer:
    """Answers every connection with the given bytes (then closes, unless keep is set)."""

    def __init__(self, answer: bytes, keep: bool = False):
        self.answer, self.keep = answer, keep
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests.append(conn.recv(65536))
                try:
                    conn.sendall(self.answer)
                except OSError:
                    continue
                if self.keep:
                    conn.recv(65536)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def pool():  # noqa: ANN201
    p = Pool(None, 5.0, {"User-Agent": "test"})
    yield p
    p.close()


def _get(pool: Pool, answer: bytes, method: str = "GET") -> tuple[int, bytes]:
    server = RawServer(answer)
    try:
        response = pool.request(method, server.url + "/v2/x")
        return response.status_code, response.content
    finally:
        server.close()


@pytest.mark.parametrize(("answer", "body"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", b"hello"),
    (b"HTTP/1.0 200 OK\r\n\r\nhello until close", b"hello until close"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
    (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
])
def test_every_framing_is_read_exactly(pool: Pool, answer: bytes, body: bytes) -> None:
    status, content = _get(pool, answer)
    assert (status, content) == ((204, b"") if b"204" in answer else (200, body))


def test_head_answers_carry_a_length_but_no_body(pool: Pool) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nDocker-Content-Digest: sha256:x\r\n\r\n", keep=True)
    try:
        response = pool.request("HEAD", server.url + "/v2/x/manifests/1")
        assert response.status_code == 200 and response.headers.get("DOCKER-content-digest") == "sha256:x"
        assert response.content == b""
    finally:
        server.close()


@pytest.mark.parametrize(("answer", "message"), [
    (b"SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP answer"),
    (b"HTTP/1.1 abc OK\r\n\r\n", "malformed HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed before the end"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "malformed HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "header section larger"),
    (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 300 + b"\r\n", "more than 200 header lines"),
    (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "malformed HTTP answer"),
    (b"", "without an answer"),
])
def test_hostile_and_broken_answers_are_clear_errors(pool: Pool, answer: bytes, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        _get(pool, answer)


def test_a_body_read_whole_is_bounded(pool: Pool) -> None:
    big = MAX_BODY_IN_MEMORY + 1
    with pytest.raises(TransportError, match="larger than"):
        _get(pool, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % big + b"x" * big)


@pytest.mark.parametrize("target", ["/v2/x\r\nInjected: 1", "/v2/a b", "/v2/\x00"])
def test_request_targets_with_line_breaks_or_spaces_are_refused(pool: Pool, target: str) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    try:
        with pytest.raises(TransportError, match="space or control character"):
            pool.request("GET", server.url + target)
        with pytest.raises(TransportError, match="line break"):
            pool.request("GET", server.url + "/v2/", headers={"X-Evil": "a\r\nInjected: 1"})
        assert not server.requests  # nothing was sent
    finally:
        server.close()


def test_a_silent_server_times_out() -> None:
    sock = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: held.append(sock.accept()), daemon=True).start()
    pool = Pool(None, 0.5, {})
    try:
        with pytest.raises(TransportError, match="timed out"):
            pool.request("GET", f"http://127.0.0.1:{sock.getsockname()[1]}/v2/")
    finally:
        pool.close()
        sock.close()


def test_a_kept_alive_connection_is_reused_and_streams_in_chunks(pool: Pool) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    sock = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve() -> None:
        conn, _ = sock.accept()
        connections.append(conn)
        for _ in range(2):
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v2/blob"
    try:
        for _ in range(2):
            chunks = list(pool.request("GET", url).iter_raw(1 << 20))
            assert b"".join(chunks) == body and all(len(c) <= (1 << 20) + (1 << 18) for c in chunks)
        assert len(connections) == 1
    finally:
        sock.close()


@pytest.mark.parametrize(("answer", "message"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: " + b"a" * 300000,
     "without body data"),
    (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", "switched protocols"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * 20 + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "interim"),
])
def test_answers_that_never_end_or_change_protocol(pool: Pool, answer: bytes, message: str) -> None:
    with pytest.raises(TransportError, match=message):
        _get(pool, answer)


def test_a_header_that_is_not_latin_1_is_refused_before_sending(pool: Pool) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    try:
        with pytest.raises(TransportError, match="Latin-1"):
            pool.request("GET", server.url + "/v2/", headers={"Authorization": "Bearer \u2603"})
        assert not server.requests
    finally:
        server.close()
