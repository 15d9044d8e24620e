"""A real HTTP(S) server on 127.0.0.1 that answers from a table of scripted routes and records
every request: for registry behaviour a real docker-registry will not show (redirects to
storage or to metadata addresses, odd manifests)."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    peer: tuple  # the client's address and port: one per TCP connection


class ScriptedServer:
    def __init__(self, routes: dict[str, Answer] | None = None, cert_dir: Path | None = None,
                 plain_web_server: bool = False):
        """`routes`: "/path" -> Answer (any method; HEAD gets no body). With `cert_dir`, serve TLS
        with a trustme CA written to cert_dir/ca.pem. `plain_web_server`: answers without the
        registry API header (a web server, or a registry that leaves it out)."""
        self.plain_web_server = plain_web_server
        self.routes = routes or {}
        self.seen: list[Seen] = []
        # close each connection after its answer without saying so, as a server does that
        # drops idle keep-alive connections
        self.drop_connections = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def _answer(self) -> None:
                server.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                        self.client_address))
                answer = server.routes.get(self.path.split("?")[0], Answer(404))
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                if self.path.startswith("/v2/") and not server.plain_web_server:  # as registries answer
                    self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.body)
                if server.drop_connections:
                    self.close_connection = True

            do_GET = do_HEAD = _answer  # noqa: N815 - http.server API

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ca_path: Path | None = None
        self.scheme = "http"
        if cert_dir is not None:
            import trustme

            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost", "registry.test")  # registry.test: through a proxy
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            self.ca_path = cert_dir / "ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_path))
            self.scheme = "https"
        self.host = f"127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def connections(self) -> set[tuple]:
        return {s.peer for s in self.seen}

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path.split("?")[0] == path]
