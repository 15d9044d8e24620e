"""A local HTTP server for feed files, in the upstream URL layout, with ETag / Last-Modified
(conditional GET) and fault injection (status codes, truncated bodies)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class FeedServer:
    files: dict[str, bytes] = field(default_factory=dict)  # "/path" -> body
    faults: dict[str, int] = field(default_factory=dict)  # "/path" -> HTTP status to answer instead
    truncate: set[str] = field(default_factory=set)  # paths whose body is cut in half
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, "200"/"304"/...)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FeedServer:
        feeds = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                path = urlsplit(self.path).path
                if self.path in feeds.files or self.path in feeds.faults:  # a query answered on its own
                    path = self.path
                if path in feeds.faults:
                    feeds.requests.append((path, str(feeds.faults[path])))
                    self.send_response(feeds.faults[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = feeds.files.get(path)
                if body is None:
                    feeds.requests.append((path, "404"))
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    feeds.requests.append((path, "304"))
                    self.send_response(304)
                    self.end_headers()
                    return
                if path in feeds.truncate:
                    body = body[: len(body) // 2]
                feeds.requests.append((path, "200"))
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(usegmt=True))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
