"""A real OCI registry for tests: the Debian `docker-registry` (distribution 2.8) binary,
started on 127.0.0.1 in one of three modes:

* plain HTTP, anonymous;
* TLS (certificates from trustme) with htpasswd basic auth;
* token auth: a token service run by the test issues RS256 JWTs that the registry verifies
  against the certificate in its `rootcertbundle`.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import bcrypt
import httpx
import trustme
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

USER, PASSWORD = "alice", "s3cret-pa55"
SERVICE, ISSUER = "layerwatch-test-registry", "layerwatch-test-issuer"


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenService:
    """Issues registry tokens for USER/PASSWORD; counts requests so tests can check caching."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    port: int = 0
    requests: int = 0
    refused: int = 0
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @classmethod
    def create(cls, directory: Path) -> TokenService:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "layerwatch test token signer")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                .not_valid_after(now + timedelta(days=1))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        (directory / "token-signer.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key=key, cert=cert)

    def token(self, scope: str) -> str:
        header = {"alg": "RS256", "typ": "JWT",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        now = int(time.time())
        access = []
        if scope:
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                service.requests += 1
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    service.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                query = parse_qs(urlsplit(self.path).query)
                scope = " ".join(query.get("scope", []))
                # the test pushes with the same token service: grant push too
                scope = scope.replace(":pull", ":pull,push") if scope.endswith(":pull") else scope
                body = json.dumps({"token": service.token(scope), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class Registry:
    """A running registry: where it is and how to talk to it as the tests' own client."""

    mode: str
    host: str  # "127.0.0.1:PORT"
    base_url: str
    storage: Path
    process: subprocess.Popen
    ca_path: Path | None = None
    tokens: TokenService | None = None

    @property
    def auth(self) -> tuple[str, str] | None:
        return None if self.mode == "plain" else (USER, PASSWORD)

    def client(self) -> httpx.Client:
        """An httpx client that can push (handles basic and token auth itself)."""
        return httpx.Client(verify=self.ssl_context(), auth=self._pusher_auth(),
                            timeout=30)

    def ssl_context(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.ca_path)) if self.ca_path else True

    def _pusher_auth(self) -> httpx.Auth | None:
        if self.mode == "tls-basic":
            return httpx.BasicAuth(USER, PASSWORD)
        if self.mode == "token":
            return _TokenAuth(self)
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.tokens:
            self.tokens.stop()


class _TokenAuth(httpx.Auth):
    def __init__(self, registry: Registry):
        self.registry = registry

    def auth_flow(self, request):  # type: ignore[no-untyped-def]
        response = yield request
        if response.status_code == 401:
            challenge = response.headers["WWW-Authenticate"]
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            repo_scope = params.get("scope", "")
            if repo_scope and not repo_scope.endswith("push"):
                repo_scope = repo_scope.split(":")[0] + ":" + repo_scope.split(":")[1] + ":pull,push"
            assert self.registry.tokens is not None
            token = self.registry.tokens.token(repo_scope)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def start_registry(mode: str, directory: Path, notify: list[dict] | None = None) -> Registry:
    """mode: "plain", "tls-basic" or "token"; `notify`: notification endpoints (the registry's
    `notifications.endpoints` configuration: name, url, headers, timeout, threshold, backoff)."""
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    assert Path(binary).exists(), "docker-registry is not installed (apt-get install docker-registry)"
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    storage = directory / "storage"
    config: dict = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    if notify:
        config["notifications"] = {"events": {"includereferences": True}, "endpoints": notify}
    ca_path = None
    tokens = None
    scheme = "http"
    if mode == "tls-basic":
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        server.private_key_and_cert_chain_pem.write_to_path(str(directory / "server.pem"))
        server.private_key_pem.write_to_path(str(directory / "server.key"))
        (directory / "server.crt").write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
        ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        ca_path = directory / "ca.pem"
        config["http"]["tls"] = {"certificate": str(directory / "server.crt"), "key": str(directory / "server.key")}
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        (directory / "htpasswd").write_text(f"{USER}:{hashed}\n")
        config["auth"] = {"htpasswd": {"realm": "layerwatch-test", "path": str(directory / "htpasswd")}}
        scheme = "https"
    elif mode == "token":
        tokens = TokenService.create(directory)
        tokens.start()
        config["auth"] = {"token": {"realm": f"http://127.0.0.1:{tokens.port}/token", "service": SERVICE,
                                    "issuer": ISSUER, "rootcertbundle": str(directory / "token-signer.pem")}}
    elif mode != "plain":
        raise ValueError(mode)
    (directory / "config.yml").write_text(yaml.safe_dump(config))
    log = open(directory / "registry.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen([binary, "serve", str(directory / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    base_url = f"{scheme}://127.0.0.1:{port}"
    registry = Registry(mode=mode, host=f"127.0.0.1:{port}", base_url=base_url, storage=storage, process=process,
                        ca_path=ca_path, tokens=tokens)
    deadline = time.monotonic() + 20
    with httpx.Client(verify=registry.ssl_context()) as probe:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(directory / 'registry.log').read_text()}")
            try:
                probe.get(f"{base_url}/v2/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    registry.stop()
                    raise RuntimeError("docker-registry did not start within 20 s") from None
                time.sleep(0.1)
    return registry


def blob_path(registry: Registry, digest: str) -> Path:
    """Where the registry keeps a blob on disk (to corrupt it in tests)."""
    hexdigest = digest.split(":")[1]
    return registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
