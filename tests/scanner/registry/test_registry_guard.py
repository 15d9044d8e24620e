"""Reference parsing, the SSRF guard, and manifest errors (registry answers mocked with respx)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
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

from tests.support.images import Image, file, make_layer

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


def _serve(mock: respx.Router, image: Image, blob_response=None) -> None:
    base = f"https://{REG}/v2/app"
    mock.get(f"https://{REG}/v2/").respond(200)
    mock.get(f"{base}/manifests/1").respond(200, content=image.manifest_bytes(),
                                            headers={"Content-Type": image.media_type})
    for digest, data in image.blobs().items():
        if digest == image.layers[0].digest and blob_response is not None:
            mock.get(f"{base}/blobs/{digest}").mock(return_value=blob_response)
        else:
            mock.get(f"{base}/blobs/{digest}").respond(200, content=data)


def test_redirect_to_blob_storage_is_followed_without_credentials() -> None:
    image = _image()
    with respx.mock(assert_all_called=False) as mock:
        storage = mock.get("https://storage.example.net/blob").respond(200, content=image.layers[0].blob)
        _serve(mock, image, httpx.Response(307, headers={"Location": "https://storage.example.net/blob"}))
        source = RegistrySource(f"{REG}/app:1", SourceOptions(username="u", password="p"))
        source.client._basic = True  # as after a Basic challenge
        inventory = build_inventory(source)
        assert [p.name for p in inventory.packages] == ["six"]
        assert "authorization" not in {k.lower() for k in storage.calls.last.request.headers}


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/x",
                                    "http://[fe80::1]/x"])
def test_redirect_to_metadata_is_refused(target: str) -> None:
    image = _image()
    with respx.mock(assert_all_called=False) as mock:
        metadata = mock.get(target).respond(200, content=b"secrets")
        _serve(mock, image, httpx.Response(302, headers={"Location": target}))
        with pytest.raises(BlockedHostError, match="refused"):
            build_inventory(RegistrySource(f"{REG}/app:1"))
        assert not metadata.called


def test_redirect_loop_stops() -> None:
    image = _image()
    with respx.mock(assert_all_called=False) as mock:
        mock.get("https://storage.example.net/loop").respond(302, headers={"Location": "/loop"})
        _serve(mock, image, httpx.Response(302, headers={"Location": "https://storage.example.net/loop"}))
        with pytest.raises(RegistryError, match="redirects"):
            build_inventory(RegistrySource(f"{REG}/app:1"))


@pytest.mark.parametrize(("body", "media", "message"), [
    ({"schemaVersion": 1, "name": "app", "tag": "1", "fsLayers": []},
     "application/vnd.docker.distribution.manifest.v1+prettyjws", "schema 1"),
    ({"schemaVersion": 2, "mediaType": "application/vnd.example.weird+json", "config": {}, "layers": []},
     "application/vnd.example.weird+json", "unsupported manifest media type"),
    ([1, 2, 3], "application/json", "not a JSON object"),
])
def test_unsupported_manifests(body, media: str, message: str) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"https://{REG}/v2/").respond(200)
        mock.get(f"https://{REG}/v2/app/manifests/1").respond(200, content=json.dumps(body).encode(),
                                                              headers={"Content-Type": media})
        with pytest.raises(UnsupportedManifestError, match=message):
            RegistrySource(f"{REG}/app:1").manifest()


def test_plain_http_only_for_local_or_insecure_hosts() -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"https://{REG}/v2/").mock(side_effect=httpx.ConnectError("TLS handshake failed"))
        plain = mock.get(f"http://{REG}/v2/app/manifests/1").respond(404)
        with pytest.raises(RegistryError, match="--insecure-registry"):
            RegistrySource(f"{REG}/app:1").manifest()
        assert not plain.called
        with pytest.raises(RegistryError, match="not found"):
            RegistrySource(f"{REG}/app:1", SourceOptions(insecure_registries=[REG])).manifest()
        assert plain.called


def test_missing_ca_file_is_a_clear_error() -> None:
    with pytest.raises(RegistryError, match="--ca-cert /nonexistent.pem"):
        RegistrySource(f"{REG}/app:1", SourceOptions(ca_cert="/nonexistent.pem"))
