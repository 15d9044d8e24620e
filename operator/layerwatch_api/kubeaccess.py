"""How the operator and the webhook reach the Kubernetes API — one implementation for both.

In a pod: the API server from KUBERNETES_SERVICE_HOST/PORT, its CA and the service-account token
from /var/run/secrets/kubernetes.io/serviceaccount. The kubelet rotates that (projected) token:
it is re-read whenever the file changes, never cached for the life of the process. The token is
sent as `Bearer <token>` however the file or a library spells the scheme ("bearer ..." is how the
`kubernetes` library stores it). Elsewhere: a kubeconfig, read by the `kubernetes` library's own
loader (the maintained reference for kubeconfig handling), imported only then.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def bearer(value: str) -> str:
    """`Bearer <token>` from a raw token or from "bearer <token>" / "Bearer <token>"."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    return f"Bearer {rest.strip()}" if scheme.lower() == "bearer" and rest else f"Bearer {value}"


class TokenFile:
    """The projected service-account token, re-read when the kubelet replaces the file."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._value = ""

    def __call__(self) -> str:
        stat = self.path.stat()  # the kubelet swaps a symlinked directory: inode and mtime change
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                content = self.path.read_text().strip()
                if not content:
                    raise RuntimeError(f"service-account token file {self.path} is empty")
                self._value, self._stamp = bearer(content), stamp
            return self._value


@dataclass
class Connection:
    host: str  # https://10.96.0.1:443
    ca_file: str | None = None
    verify: bool = True
    cert_file: str | None = None
    key_file: str | None = None
    authorization: Callable[[], str | None] = field(default=lambda: None)  # "Bearer …" per request
    in_cluster: bool = False

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.verify:
            return False
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        if self.cert_file and self.key_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def in_cluster_available(sa_dir: Path = SERVICE_ACCOUNT_DIR, env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("KUBERNETES_SERVICE_HOST")) and (sa_dir / "token").is_file()


def in_cluster(sa_dir: Path = SERVICE_ACCOUNT_DIR, env: dict[str, str] | None = None) -> Connection:
    env = os.environ if env is None else env
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    ca = sa_dir / "ca.crt"
    return Connection(host=f"https://{host}:{port}", ca_file=str(ca) if ca.is_file() else None,
                      authorization=TokenFile(sa_dir / "token"), in_cluster=True)


def from_kubeconfig(path: str | None = None, context: str | None = None) -> Connection:
    from kubernetes import client as k8s_client  # ~30 MB: only when a kubeconfig is read
    from kubernetes import config as k8s_config

    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=path or None, context=context, client_configuration=cfg)
    token = cfg.api_key.get("authorization") or cfg.api_key.get("BearerToken")
    static = bearer(token) if token else None
    return Connection(host=cfg.host, ca_file=cfg.ssl_ca_cert, verify=bool(cfg.verify_ssl), cert_file=cfg.cert_file,
                      key_file=cfg.key_file, authorization=lambda: static)


def connect(kubeconfig: str | None = None, sa_dir: Path = SERVICE_ACCOUNT_DIR,
            env: dict[str, str] | None = None) -> Connection:
    """An explicit kubeconfig, else the in-cluster service account, else ~/.kube/config / KUBECONFIG."""
    if kubeconfig:
        return from_kubeconfig(kubeconfig)
    if in_cluster_available(sa_dir, env):
        return in_cluster(sa_dir, env)
    return from_kubeconfig(None)


class _Auth(httpx.Auth):
    def __init__(self, authorization: Callable[[], str | None]):
        self._authorization = authorization

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self._authorization()
        if value:
            request.headers["Authorization"] = value
        yield request


def httpx_client(conn: Connection, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(base_url=conn.host, verify=conn.ssl_context(), auth=_Auth(conn.authorization),
                        timeout=timeout)


def kubernetes_configuration(conn: Connection):  # noqa: ANN201 - kubernetes.client.Configuration
    """The same connection for the `kubernetes` library's API clients, token re-read on every call."""
    from kubernetes import client as k8s_client

    cfg = k8s_client.Configuration()
    cfg.host = conn.host
    cfg.ssl_ca_cert = conn.ca_file
    cfg.verify_ssl = conn.verify
    cfg.cert_file, cfg.key_file = conn.cert_file, conn.key_file

    def refresh(configuration) -> None:  # noqa: ANN001 - called by the library before each request
        value = conn.authorization()
        if value:
            configuration.api_key["authorization"] = value

    refresh(cfg)
    cfg.refresh_api_key_hook = refresh
    return cfg
