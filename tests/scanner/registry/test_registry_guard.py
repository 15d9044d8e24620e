"""Reference parsing, the SSRF guard, redirects and manifest errors (a scripted local HTTP(S) server)."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from layerwatch_scanner.errors import (
    BlockedHostError,
    LayerwatchError,
    RegistryError,
    UnsupportedManifestError,
)
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.registry.client import is_local, parse_challenge
from layerwatch_scanner.registry.guard import HostGuard
from layerwatch_scanner.registry.reference import parse_reference
from layerwatch_scanner.sources.options import SourceOptions
from layerwatch_scanner.sources.registry import RegistrySource

from tests.support.images import Image, digest_of, file, make_layer
from tests.support.scripted import Answer, ScriptedServer

REG = "registry.example.com"


@pytest.mark.parametrize(("text", "expected"), [
    ("nginx", ("docker.io", "library/nginx", "latest", "")),
    ("nginx:1.25", ("docker.io", "library/nginx", "1.25", "")),
    ("bitnami/redis:7", ("docker.io", "bitnami/redis", "7", "")),
    ("ghcr.io/org/app:v1.2.3", ("ghcr.io", "org/app", "v1.2.3", "")),
    ("localhost:5000/app", ("localhost:5000", "app", "latest", "")),
    ("127.0.0.1:5000/a/b/c@sha256:" + "a" * 64, ("127.0.0.1:5000", "a/b/c", "", "sha256:" + "a" * 64)),
    ("quay.io/x/y:tag@sha256:" + "b" * 64, ("quay.io", "x/y", "tag", "sha256:" + "b" * 64)),
])
def test_parse_reference(text: str, expected: tuple) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected


@pytest.mark.parametrize("bad", ["UPPER/case", "app@sha256:short", "app:bad tag", "", "a//b"])
def test_bad_references(bad: str) -> None:
    with pytest.raises(LayerwatchError, match="invalid image reference"):
        parse_reference(bad)


def test_local_hosts_and_challenges() -> None:
    assert is_local("localhost:5000") and is_local("127.0.0.5:80") and is_local("[::1]:5000")
    assert not is_local("10.0.0.1:5000") and not is_local("registry.example.com")
    scheme, params = parse_challenge('Bearer realm="https://auth.example/token",service="reg",'
                                     'scope="repository:a/b:pull,push"')
    assert scheme == "bearer" and params["scope"] == "repository:a/b:pull,push" and params["service"] == "reg"


@pytest.mark.parametrize("host", ["169.254.169.254", "metadata.google.internal", "fe80::1", "[fe80::1]",
                                  "::ffff:169.254.1.1"])
def test_guard_refuses_metadata_and_link_local(host: str) -> None:
    with pytest.raises(BlockedHostError, match="refused"):
        HostGuard().check_redirect(host)


def test_allow_and_deny_lists() -> None:
    guard = HostGuard(allow=["*.example.com", "localhost:5000"], deny=["evil.example.com"])
    guard.check_registry("registry.example.com")
    guard.check_registry("localhost", 5000)
    with pytest.raises(BlockedHostError, match="deny list"):
        guard.check_registry("evil.example.com")
    with pytest.raises(BlockedHostError, match="not on the allow list"):
        guard.check_registry("docker.io")
    with pytest.raises(BlockedHostError, match="deny list"):
        RegistrySource("evil.example.com/x:1", SourceOptions(deny_hosts=["evil.*"]))


def _image() -> Image:
    return Image([make_layer([file("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                                   "Name: six\nVersion: 1.16.0\n")])])


def _routes(image: Image, repo: str = "app", blob_answer: Answer | None = None) -> dict[str, Answer]:
    routes = {"/v2/": Answer(200),
              f"/v2/{repo}/manifests/1": Answer(200, image.manifest_bytes(), {"Content-Type": image.media_type})}
    for digest, data in image.blobs().items():
        answer = blob_answer if digest == image.layers[0].digest and blob_answer is not None else Answer(200, data)
        routes[f"/v2/{repo}/blobs/{digest}"] = answer
    return routes


def test_redirect_to_blob_storage_is_followed_without_credentials(tmp_path) -> None:
    image = _image()
    with ScriptedServer({"/blob": Answer(200, image.layers[0].blob)}) as storage:
        # "localhost" and "127.0.0.1" are different hosts to the client: credentials stay behind
        target = f"http://localhost:{storage.host.split(':')[1]}/blob"
        routes = _routes(image, blob_answer=Answer(307, headers={"Location": target}))
        with ScriptedServer(routes, cert_dir=tmp_path) as registry:
            source = RegistrySource(f"{registry.host}/app:1", SourceOptions(username="u", password="p",
                                                                            ca_cert=str(registry.ca_path)))
            source.client._basic = True  # as after a Basic challenge
            inventory = build_inventory(source)
            assert [p.name for p in inventory.packages] == ["six"]
            assert registry.requests_to(f"/v2/app/blobs/{image.layers[0].digest}")[0].headers["authorization"]
            assert "authorization" not in storage.requests_to("/blob")[0].headers


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/x",
                                    "http://[fe80::1]/x"])
def test_redirect_to_metadata_is_refused(target: str, tmp_path) -> None:
    image = _image()
    with ScriptedServer(_routes(image, blob_answer=Answer(302, headers={"Location": target})),
                        cert_dir=tmp_path) as registry:
        with pytest.raises(BlockedHostError, match="refused"):
            build_inventory(RegistrySource(f"{registry.host}/app:1", SourceOptions(ca_cert=str(registry.ca_path))))


def test_redirect_loop_stops(tmp_path) -> None:
    image = _image()
    routes = _routes(image, blob_answer=Answer(302, headers={"Location": "/loop"}))
    routes["/loop"] = Answer(302, headers={"Location": "/loop"})
    with ScriptedServer(routes, cert_dir=tmp_path) as registry:
        with pytest.raises(RegistryError, match="redirects"):
            build_inventory(RegistrySource(f"{registry.host}/app:1", SourceOptions(ca_cert=str(registry.ca_path))))


@pytest.mark.parametrize(("body", "media", "message"), [
    ({"schemaVersion": 1, "name": "app", "tag": "1", "fsLayers": []},
     "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1"),
    ({"schemaVersion": 2, "mediaType": "application/vnd.example.weird+json", "config": {}, "layers": []},
     "application/vnd.example.weird+json", "unsupported manifest media type"),
    ([1, 2, 3], "application/json", "not a JSON object"),
])
def test_unsupported_manifests(body, media: str, message: str) -> None:
    routes = {"/v2/": Answer(200), "/v2/app/manifests/1": Answer(200, json.dumps(body).encode(), {"Content-Type": media})}
    with ScriptedServer(routes) as registry:
        with pytest.raises(UnsupportedManifestError, match=message):
            RegistrySource(f"{registry.host}/app:1").manifest()


def test_plain_http_only_for_local_or_insecure_hosts(monkeypatch) -> None:
    # treat the loopback server as a remote host: only --insecure-registry may then use plain HTTP
    monkeypatch.setattr("layerwatch_scanner.registry.client.is_local", lambda host: False)
    with ScriptedServer({"/v2/": Answer(200)}) as registry:
        with pytest.raises(RegistryError, match="--insecure-registry"):
            RegistrySource(f"{registry.host}/app:1").manifest()
        assert not registry.requests_to("/v2/app/manifests/1")
        with pytest.raises(RegistryError, match="not found"):
            RegistrySource(f"{registry.host}/app:1", SourceOptions(insecure_registries=[registry.host])).manifest()
        assert registry.requests_to("/v2/app/manifests/1")


def test_keep_alive_connections_are_reused_and_survive_a_server_that_closed_them() -> None:
    image = _image()
    with ScriptedServer(_routes(image)) as registry:
        source = RegistrySource(f"{registry.host}/app:1")
        source.manifest()
        source.manifest()
        # 2 x (manifest, config), on one connection: the first request was the plain-HTTP probe
        assert len(registry.seen) == 4 and len(registry.connections) == 1
        registry.drop_connections = True
        source.manifest()  # its first request finds the idle connection closed: retried on a new one
        registry.drop_connections = False
        assert source.manifest().digest == image.digest
        source.close()


def test_missing_ca_file_is_a_clear_error() -> None:
    with pytest.raises(RegistryError, match="--ca-cert /nonexistent.pem"):
        RegistrySource(f"{REG}/app:1", SourceOptions(ca_cert="/nonexistent.pem"))
def test_plain_http_goes_through_http_proxy_and_no_proxy_bypasses_it(monkeypatch) -> None:
    image = _image()
    remote = "registry.invalid:5000"  # never resolvable: only the proxy can reach it
    routes = {f"http://{remote}{path}": answer for path, answer in _routes(image).items()}
    with ScriptedServer(routes) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://user:secret@{proxy.host}")
        options = SourceOptions(insecure_registries=[remote])
        assert RegistrySource(f"{remote}/app:1", options).manifest().digest == image.digest
        seen = proxy.requests_to(f"http://{remote}/v2/app/manifests/1")
        assert seen and seen[0].headers["proxy-authorization"].startswith("Basic ")
        monkeypatch.setenv("NO_PROXY", ".invalid")
        with pytest.raises(RegistryError, match="cannot resolve registry.invalid"):
            RegistrySource(f"{remote}/app:1", options).manifest()


class ConnectProxy:
    """An HTTPS proxy: answers CONNECT host:port with 200, then relays bytes both ways."""

    def __init__(self, target: str):
        self.target = target
        self.connects: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            self.connects.append(head)
            host, _, port = self.target.partition(":")
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_https_goes_through_a_connect_tunnel(monkeypatch, tmp_path) -> None:
    image = _image()
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with ScriptedServer(_routes(image), cert_dir=tmp_path) as registry:
        port = registry.host.split(":")[1]
        proxy = ConnectProxy(registry.host)  # the proxy alone knows where registry.test is
        try:
            monkeypatch.setenv("HTTPS_PROXY", f"http://user:secret@{proxy.host}")
            source = RegistrySource(f"registry.test:{port}/app:1", SourceOptions(ca_cert=str(registry.ca_path)))
            assert source.manifest().digest == image.digest  # TLS through the tunnel, certificate checked
            assert proxy.connects and proxy.connects[0].startswith(f"CONNECT registry.test:{port} HTTP/1.1".encode())
            assert b"Proxy-Authorization: Basic " in proxy.connects[0]
            assert all("proxy-authorization" not in s.headers for s in registry.seen)  # never past the proxy
        finally:
            proxy.close()


def test_loopback_registries_never_go_through_the_proxy(monkeypatch) -> None:
    image = _image()
    with ScriptedServer(_routes(image)) as registry:
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: using it would fail
        monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
        assert RegistrySource(f"{registry.host}/app:1").manifest().digest == image.digest


def test_a_warm_rescan_asks_the_registry_only_what_the_tag_points_to(tmp_path) -> None:
    from layerwatch_scanner.layers.cache import LayerCache

    image = _image()
    cache = LayerCache(tmp_path / "cache.sqlite")
    with ScriptedServer(_routes(image)) as registry:
        first = build_inventory(RegistrySource(f"{registry.host}/app:1"), cache=cache)
        registry.seen.clear()
        again = build_inventory(RegistrySource(f"{registry.host}/app:1"), cache=cache)
        assert again.packages == first.packages
        # the config (named by digest, so immutable) came from the cache
        assert [s.path for s in registry.seen] == ["/v2/app/manifests/1"]
        # a cached copy that no longer matches its digest is not used: it is fetched again
        cache._conn().execute("UPDATE blobs SET data = ?", (b"{}",))
        cache._conn().commit()
        registry.seen.clear()
        assert build_inventory(RegistrySource(f"{registry.host}/app:1"), cache=cache).packages == first.packages
        assert registry.requests_to(f"/v2/app/blobs/{digest_of(image.config_bytes())}")


def test_a_port_80_redirect_to_https_is_not_taken_for_a_plain_registry() -> None:
    """An --insecure-registry host whose port 80 redirects to https: the client goes to https and
    never sends credentials in clear (here https fails: nothing speaks TLS on that port)."""
    routes = {"/v2/app/manifests/1": Answer(301, headers={"Location": "https://example.invalid/v2/app/manifests/1"})}
    with ScriptedServer(routes, plain_web_server=True) as web:
        source = RegistrySource(f"{web.host}/app:1", SourceOptions(username="u", password="secret"))
        source.client._basic = True  # as if a Basic challenge had been seen: the header is ready
        with pytest.raises(RegistryError):
            source.manifest()
        assert all("authorization" not in s.headers for s in web.seen)


def test_a_plain_registry_without_the_api_header_still_works() -> None:
    image = _image()
    with ScriptedServer(_routes(image), plain_web_server=True) as registry:
        assert RegistrySource(f"{registry.host}/app:1").manifest().digest == image.digest


def test_a_401_from_blob_storage_never_starts_a_token_dance(tmp_path) -> None:
    image = _image()
    challenge = {"WWW-Authenticate": 'Bearer realm="http://127.0.0.1:9/token",service="evil"'}
    with ScriptedServer({"/blob": Answer(401, headers=challenge)}) as storage:
        target = f"http://localhost:{storage.host.split(':')[1]}/blob"
        with ScriptedServer(_routes(image, blob_answer=Answer(307, headers={"Location": target}))) as registry:
            source = RegistrySource(f"{registry.host}/app:1", SourceOptions(username="u", password="secret"))
            with pytest.raises(LayerwatchError, match="redirected to by"):
                build_inventory(source)
            assert source.client.token_requests == 0
