"""In-cluster API access as pods have it: a service-account directory (token, ca.crt) and
KUBERNETES_SERVICE_HOST/PORT, against a real TLS server that accepts only the current token.
The kubelet rotates projected tokens by swapping the file: every client must follow."""

from __future__ import annotations

import http.server
import os
import ssl
import threading
from pathlib import Path

import pytest
import trustme
from layerwatch_api import kubeaccess


class _Api(http.server.BaseHTTPRequestHandler):
    token = ""
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        header = self.headers.get("Authorization", "")
        type(self).seen.append(header)
        ok = header == f"Bearer {type(self).token}"
        body = b'{"kind": "NamespaceList", "items": []}' if ok else b'{"kind": "Status", "code": 401}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api_server(tmp_path: Path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    ca.cert_pem.write_to_path(str(sa / "ca.crt"))
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(server.server_port)}
    _Api.seen = []
    yield sa, env
    server.shutdown()


def rotate(sa: Path, token: str) -> None:
    """As the kubelet does it: write a new file, then atomically swap it in."""
    new = sa / ".token.new"
    new.write_text(token)
    os.replace(new, sa / "token")
    _Api.token = token


def test_bearer_is_normalised_whatever_the_spelling() -> None:
    assert kubeaccess.bearer("abc") == "Bearer abc"
    assert kubeaccess.bearer("bearer abc") == "Bearer abc"  # how the kubernetes library stores it
    assert kubeaccess.bearer("Bearer abc\n") == "Bearer abc"


def test_httpx_client_follows_token_rotation(api_server) -> None:
    sa, env = api_server
    rotate(sa, "token-one")
    conn = kubeaccess.connect(sa_dir=sa, env=env)
    assert conn.in_cluster and conn.host == f"https://127.0.0.1:{env['KUBERNETES_SERVICE_PORT']}"
    with kubeaccess.httpx_client(conn) as client:
        assert client.get("/api/v1/namespaces").status_code == 200
        rotate(sa, "token-two")
        assert client.get("/api/v1/namespaces").status_code == 200
    assert _Api.seen == ["Bearer token-one", "Bearer token-two"]


def test_kubernetes_library_clients_follow_token_rotation(api_server) -> None:
    from kubernetes import client as k8s

    sa, env = api_server
    rotate(sa, "first")
    api = k8s.CoreV1Api(k8s.ApiClient(kubeaccess.kubernetes_configuration(kubeaccess.connect(sa_dir=sa, env=env))))
    api.list_namespace()
    rotate(sa, "second")
    api.list_namespace()
    assert _Api.seen == ["Bearer first", "Bearer second"]


def test_the_webhook_uses_the_in_cluster_path(api_server, monkeypatch) -> None:
    from layerwatch_webhook.kube import api_client
    from layerwatch_webhook.settings import WebhookSettings

    sa, env = api_server
    rotate(sa, "webhook-token")
    monkeypatch.setattr(kubeaccess, "SERVICE_ACCOUNT_DIR", sa)
    monkeypatch.setattr(kubeaccess.connect, "__defaults__", (None, sa, env))
    with api_client(WebhookSettings()) as client:
        assert client.get("/api/v1/namespaces").status_code == 200
    assert _Api.seen == ["Bearer webhook-token"]


def test_an_empty_token_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("")
    with pytest.raises(RuntimeError, match="token file .* is empty"):
        kubeaccess.TokenFile(tmp_path / "token")()
