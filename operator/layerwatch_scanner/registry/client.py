"""OCI distribution / Docker Registry v2 client (HTTP in http.py).

Authentication follows the registry's `WWW-Authenticate` challenge: Basic, or Bearer with the
token dance (realm, service, scope) and a token cache keyed by scope. Redirects (to blob
storage) are followed by hand so every target passes the SSRF guard, and credentials are
never sent to a host other than the registry.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import IO
from urllib.parse import urljoin, urlsplit

from .. import __version__
from ..errors import AuthError, RegistryError
from ..streams import ChunkReader
from . import neterrors
from .credentials import Credentials, lookup
from .guard import HostGuard
from .http import Pool, Response, TransportError, basic_auth, default_ssl_context
from .reference import Reference

MAX_REDIRECTS = 5
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^\s,]+)')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for m in _CHALLENGE_PARAM.finditer(rest):
        key = m.group(1) or m.group(3)
        params[key.lower()] = m.group(2) if m.group(1) else m.group(4)
    return scheme.lower(), params


def is_local(host: str) -> bool:
    """localhost and 127.0.0.0/8 (and ::1) speak plain HTTP without being told, as with Docker."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _plain_evidence(response: Response) -> str:
    """What a plain-HTTP answer says about the server: "registry" when it is one (the registry
    API header, which registries send with every answer, or an auth challenge of their own),
    "refused" when it is not plain HTTP (a TLS server's 400 "plain HTTP sent to an HTTPS port",
    from Go and nginx, or a redirect: port 80 sending clients to https), else "unknown" (some web
    server answered: https is tried first, plain HTTP only if TLS then fails, as Docker does).
    Asking in plain HTTP first spares a plain registry the TLS handshake and the ssl import (a
    fifth of a warm rescan); credentials never go out on an answer without registry evidence."""
    if response.headers.get("docker-distribution-api-version"):
        return "registry"
    challenge = (response.headers.get("www-authenticate") or "").lower()
    if response.status_code == 401 and challenge.startswith(("bearer ", "basic ")):
        return "registry"
    if response.status_code == 400 or 300 <= response.status_code < 400:
        return "refused"
    return "unknown"


class _StreamReader(ChunkReader):
    """A file-like view of a streaming response (closed with the response)."""

    def __init__(self, response: Response, what: str):
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_raw(1 << 20)
        self._what = what
        super().__init__(self._produce)

    def _produce(self) -> bytes:
        try:
            return next(self._chunks, b"")
        except TransportError as exc:
            raise RegistryError(f"{self._what}: download failed: {exc}") from exc

    def close(self) -> None:
        self._response.close()


class RegistryClient:
    def __init__(self, registry: str, credentials: Credentials | None = None, ca_cert: str | None = None,
                 insecure: list[str] | None = None, guard: HostGuard | None = None, timeout: float = 60.0,
                 docker_config: str | None = None):
        self.registry = registry
        self.guard = guard or HostGuard()
        host, _, port = registry.partition(":")
        self.guard.check_registry(host, int(port) if port.isdigit() else None)
        self.credentials = credentials or lookup(registry, docker_config)
        self.insecure = is_local(registry) or registry in (insecure or [])
        try:
            context = default_ssl_context(ca_cert) if ca_cert else None  # None: the default CAs, on first use
        except OSError as exc:  # ssl.SSLError is one
            raise RegistryError(f"--ca-cert {ca_cert}: cannot load CA certificates ({exc})") from exc
        self._timeout = timeout
        self._http = Pool(context, timeout, {"User-Agent": f"layerwatch/{__version__}"})
        self._scheme: str | None = None
        self._plain_fallback = False  # https chosen, but plain HTTP answered: used if TLS fails
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, expiry)
        self._basic = False
        self._lock = threading.Lock()
        self.token_requests = 0  # for tests and metrics: how often the token endpoint was called

    # -- transport -------------------------------------------------------------------------------

    def _base(self) -> str:
        if self._scheme is None:
            self._scheme = self._probe_scheme()
        return f"{self._scheme}://{self.registry}"

    def _probe_scheme(self) -> str:
        """https, unless the registry may speak plain HTTP (local or --insecure-registry) and does:
        `GET /v2/` in plain HTTP, which carries no credentials (see _plain_evidence)."""
        if not self.insecure:
            return "https"
        try:  # on the client's own pool: the real requests reuse the connection
            response = self._http.request("GET", f"http://{self.registry}/v2/")
        except TransportError:  # not plain HTTP (or not there: the https request will say so)
            return "https"
        response.close()
        evidence = _plain_evidence(response)
        self._plain_fallback = evidence == "unknown"
        return "http" if evidence == "registry" else "https"

    def _first_request(self, method: str, path: str, headers: dict, body: bytes | IO[bytes] | None) -> Response | None:
        """The first request to a registry that may speak plain HTTP is itself the probe: sent in
        plain HTTP (before any challenge, so without credentials), its answer is kept when the
        registry speaks plain HTTP; None (and https from now on) when it does not."""
        if not self.insecure:
            self._scheme = "https"
            return None
        clear = {k: v for k, v in headers.items() if k.lower() != "authorization"}  # never a secret to find out
        try:
            response = self._http.request(method, f"http://{self.registry}{path}", headers=clear, body=body)
        except TransportError:
            self._scheme = "https"
            return None
        evidence = _plain_evidence(response)
        if evidence != "registry":
            response.close()
            self._scheme = "https"
            self._plain_fallback = evidence == "unknown"
            return None
        self._scheme = "http"
        return response

    def _auth_header(self, scope: str) -> dict[str, str]:
        with self._lock:
            token = self._tokens.get(scope)
            if token and token[1] > time.monotonic():
                return {"Authorization": f"Bearer {token[0]}"}
        if self._basic and self.credentials:
            return {"Authorization": basic_auth(self.credentials.username, self.credentials.password)}
        return {}

    def _authenticate(self, challenge: str, scope: str, what: str) -> None:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if not self.credentials:
                raise AuthError(f"{what}: registry {self.registry} requires credentials (basic auth); "
                                "use --username/--password-stdin or docker login")
            if self._basic:
                raise AuthError(f"{what}: registry {self.registry} refused the credentials of "
                                f"{self.credentials.username!r}")
            self._basic = True
            return
        if scheme != "bearer" or "realm" not in params:
            raise AuthError(f"{what}: unsupported authentication challenge from {self.registry}: {scheme}")
        realm = params["realm"]
        if self._scheme == "https" and not realm.startswith("https://"):
            raise AuthError(f"{what}: {self.registry} names a token service over plain HTTP ({realm}): refused, "
                            "the credentials would travel in clear")
        realm_host = urlsplit(realm).hostname or ""
        self.guard.check_redirect(realm_host)
        query = {"service": params.get("service", "")}
        if scope:
            query["scope"] = params.get("scope", scope)
        auth = (self.credentials.username, self.credentials.password) if self.credentials else None
        try:
            self.token_requests += 1
            response = self._http.request("GET", realm, params=query, auth=auth)
            body_bytes = response.content
        except TransportError as exc:
            raise AuthError(f"{what}: token service {realm}: {neterrors.describe(exc, realm_host)}") from exc
        if response.status_code in (401, 403):
            who = f"user {self.credentials.username!r}" if self.credentials else "anonymous access"
            raise AuthError(f"{what}: token service {realm} refused {who} (HTTP {response.status_code})")
        if response.status_code != 200:
            raise AuthError(f"{what}: token service {realm} answered HTTP {response.status_code}")
        try:
            body = json.loads(body_bytes)
            token = body.get("token") or body.get("access_token")
            expires = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise AuthError(f"{what}: token service {realm} sent an unreadable answer") from exc
        if not isinstance(token, str) or not token:
            raise AuthError(f"{what}: token service {realm} sent no token")
        with self._lock:
            # renew a little early: a token that expires mid-download fails the blob request
            self._tokens[scope] = (token, time.monotonic() + max(expires - 10, 1))

    def request(self, method: str, path: str, repo: str, what: str, headers: dict | None = None,
                body: bytes | IO[bytes] | None = None, push: bool = False) -> Response:
        """A request to the registry with auth, and redirects checked by the guard. `path` may
        also be an absolute URL (an upload location); `push` asks for push rights."""
        scope = f"repository:{repo}:{'pull,push' if push else 'pull'}" if repo else ""
        absolute = path.startswith(("http://", "https://"))
        for attempt in range(2):
            sent = {**(headers or {}), **self._auth_header(scope)}
            first = None
            if self._scheme is None and not absolute:
                if body is None:
                    first = self._first_request(method, path, sent, body)
                else:  # a body is never sent to find out whether TLS is spoken
                    self._scheme = self._probe_scheme()
            url = path if absolute else self._base() + path
            response = self._send(method, url, sent, what, body, first)
            if response.status_code != 401 or attempt == 1:
                break
            if urlsplit(response.url).netloc != self.registry:  # blob storage's own refusal: not ours to answer
                response.close()
                raise AuthError(f"{what}: {urlsplit(response.url).netloc} (redirected to by {self.registry}) "
                                "refused the request (HTTP 401)")
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            self._authenticate(challenge, scope, what)
        if response.status_code == 401:
            response.close()
            who = f"user {self.credentials.username!r}" if self.credentials else "anonymous access"
            raise AuthError(f"{what}: registry {self.registry} refused {who} (HTTP 401)")
        return response

    def _send(self, method: str, url: str, headers: dict, what: str, body: bytes | IO[bytes] | None = None,
              first: Response | None = None) -> Response:
        """`first`: the answer to `url` when it was already asked (_first_request). The answer
        keeps the URL it came from (`response.url`)."""
        origin = urlsplit(url)[:2]  # (scheme, host:port): credentials stay with both
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = first or self._http.request(method, url, headers=headers, body=body)
                first = None
            except TransportError as exc:
                if self._plain_fallback and url.startswith(f"https://{self.registry}/"):
                    # TLS failed where plain HTTP had answered: a plain registry without the API header
                    self._plain_fallback, self._scheme = False, "http"
                    url = f"http://{self.registry}/" + url[len(f"https://{self.registry}/"):]
                    origin = urlsplit(url)[:2]
                    continue
                raise RegistryError(f"{what}: {method} {url}: {neterrors.describe(exc, urlsplit(url).netloc)}") from exc
            self._plain_fallback = False
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                response.url = url
                return response
            target = urljoin(url, location)
            response.close()
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https"):
                raise RegistryError(f"{what}: redirect to a non-HTTP URL refused")
            self.guard.check_redirect(parts.hostname or "")
            if (parts.scheme, parts.netloc) != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise RegistryError(f"{what}: more than {MAX_REDIRECTS} redirects")

    # -- API -------------------------------------------------------------------------------------

    def get_manifest(self, ref: Reference, reference: str, accept: str) -> tuple[bytes, str]:
        what = f"{ref}"
        response = self.request("GET", f"/v2/{ref.repository}/manifests/{reference}", ref.repository, what,
                                headers={"Accept": accept})
        if response.status_code != 200:
            response.close()
        if response.status_code == 404:
            raise RegistryError(f"{what}: manifest {reference} not found in {self.registry}/{ref.repository}")
        if response.status_code != 200:
            raise RegistryError(f"{what}: registry answered HTTP {response.status_code} for manifest {reference}")
        try:
            content = response.content
        except TransportError as exc:
            raise RegistryError(f"{what}: manifest {reference}: {exc}") from exc
        return content, response.headers.get("content-type", "").split(";")[0].strip()

    def head_manifest(self, ref: Reference, accept: str) -> str:
        """The digest a tag points to (Docker-Content-Digest), without downloading the manifest."""
        response = self.request("HEAD", f"/v2/{ref.repository}/manifests/{ref.ref}", ref.repository, str(ref),
                                headers={"Accept": accept})
        response.close()
        if response.status_code == 404:
            raise RegistryError(f"{ref}: not found in {self.registry}")
        if response.status_code != 200:
            raise RegistryError(f"{ref}: registry answered HTTP {response.status_code}")
        return response.headers.get("docker-content-digest", "")

    def open_blob(self, ref: Reference, digest: str, what: str) -> IO[bytes]:
        response = self.request("GET", f"/v2/{ref.repository}/blobs/{digest}", ref.repository, what)
        if response.status_code != 200:
            response.close()
            raise RegistryError(f"{what}: registry answered HTTP {response.status_code} for blob {digest}")
        return _StreamReader(response, what)  # type: ignore[return-value]

    def close(self) -> None:
        self._http.close()
