"""The registry client against a real docker-registry: plain, TLS + basic auth, token auth."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from layerwatch_scanner.errors import AuthError, DigestMismatchError, RegistryError
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.sources import open_source
from layerwatch_scanner.sources.options import SourceOptions
from layerwatch_scanner.sources.registry import RegistrySource, resolve

from tests.conftest import TESTDATA
from tests.support.images import Image, Index, file, make_layer, push, whiteout
from tests.support.registry import PASSWORD, USER, Registry, blob_path

STATUS = (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_bytes()
OS_RELEASE = (TESTDATA / "pkgdb/os-release/debian-10/etc/os-release").read_bytes()
APK = (TESTDATA / "pkgdb/apk/alpine-3.18/lib/apk/db/installed").read_bytes()


def sample_image(style: str = "oci") -> Image:
    base = make_layer([file("etc/os-release", OS_RELEASE), file("var/lib/dpkg/status", STATUS),
                       file("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                            "Name: six\nVersion: 1.16.0\n")])
    app = make_layer([whiteout("usr/lib/python3/dist-packages/six-1.16.0.dist-info"),
                      file("app/node_modules/lodash/package.json", '{"name": "lodash", "version": "4.17.15"}')],
                     compression="zstd" if style == "oci" else "gzip")
    return Image([base, app], style=style)


def push_to(registry: Registry, repo: str, tag: str, image) -> str:
    with registry.client() as client:
        return push(client, registry.base_url, repo, tag, image)


def options_for(registry: Registry, **extra) -> SourceOptions:
    opts = SourceOptions(ca_cert=str(registry.ca_path) if registry.ca_path else None, **extra)
    if registry.auth:
        opts.username, opts.password = registry.auth
    return opts


def check_inventory(inventory, image: Image) -> None:
    assert inventory.os.id == "debian" and inventory.os.version_id == "10"
    assert len(inventory.packages) == 85  # 84 debs + lodash; six was whited out
    lodash = next(p for p in inventory.packages if p.name == "lodash")
    assert lodash.layer == image.layers[1].digest
    assert {p.layer for p in inventory.packages if p.type == "deb"} == {image.layers[0].digest}
    assert inventory.digest == image.digest


@pytest.mark.parametrize("mode", ["plain_registry", "tls_registry", "token_registry"])
def test_push_and_scan_in_every_auth_mode(mode: str, request: pytest.FixtureRequest) -> None:
    registry: Registry = request.getfixturevalue(mode)
    image = sample_image()
    digest = push_to(registry, "team/app", "1.0", image)
    source = RegistrySource(f"{registry.host}/team/app:1.0", options_for(registry))
    try:
        manifest = source.manifest()
        assert manifest.digest == digest
        assert [layer.digest for layer in manifest.layers] == [layer.digest for layer in image.layers]
        with source.open_layer(manifest.layers[0]) as blob:
            assert blob.read() == image.layers[0].blob
        check_inventory(build_inventory(source), image)
        assert source.resolve_digest() == digest
    finally:
        source.close()


def test_token_is_requested_once_and_cached(token_registry: Registry) -> None:
    image = sample_image()
    push_to(token_registry, "cache/app", "v1", image)
    source = RegistrySource(f"{token_registry.host}/cache/app:v1", options_for(token_registry))
    before = token_registry.tokens.requests
    build_inventory(source)  # manifest, config and two layers
    assert source.client.token_requests == 1
    assert token_registry.tokens.requests - before == 1


def test_wrong_password_is_an_auth_error(tls_registry: Registry, token_registry: Registry) -> None:
    push_to(tls_registry, "auth/app", "v1", sample_image())
    push_to(token_registry, "auth/app", "v1", sample_image())
    for registry in (tls_registry, token_registry):
        opts = options_for(registry)
        opts.password = "wrong-password"
        with pytest.raises(AuthError, match=f"{USER!r}") as info:
            RegistrySource(f"{registry.host}/auth/app:v1", opts).manifest()
        assert "wrong-password" not in str(info.value)
    opts = options_for(tls_registry)
    opts.username = opts.password = None
    with pytest.raises(AuthError, match="requires credentials"):
        RegistrySource(f"{tls_registry.host}/auth/app:v1", opts).manifest()


def test_credentials_from_docker_config(tls_registry: Registry, tmp_path: Path, monkeypatch) -> None:
    push_to(tls_registry, "cfg/app", "v1", sample_image())
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {tls_registry.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    monkeypatch.setenv("HOME", str(tmp_path))
    source = RegistrySource(f"{tls_registry.host}/cfg/app:v1", SourceOptions(ca_cert=str(tls_registry.ca_path)))
    assert source.manifest().layers
    # REGISTRY_AUTH_FILE with username/password wins over DOCKER_CONFIG
    podman = tmp_path / "auth.json"
    podman.write_text(json.dumps({"auths": {tls_registry.host: {"username": USER, "password": "nope"}}}))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(podman))
    with pytest.raises(AuthError):
        RegistrySource(f"{tls_registry.host}/cfg/app:v1", SourceOptions(ca_cert=str(tls_registry.ca_path))).manifest()


def test_tls_needs_the_ca(tls_registry: Registry) -> None:
    push_to(tls_registry, "tls/app", "v1", sample_image())
    opts = options_for(tls_registry)
    opts.ca_cert = None
    # 127.0.0.1 may speak plain HTTP, but this one speaks TLS with a certificate we cannot verify:
    # the error says so (not "refused", not a DNS hint) and names the flag that fixes it
    with pytest.raises(RegistryError, match=r"not trusted.*--ca-cert"):
        RegistrySource(f"{tls_registry.host}/tls/app:v1", opts).manifest()


def test_platform_selection_and_docker_manifest_list(plain_registry: Registry) -> None:
    amd = Image([make_layer([file("lib/apk/db/installed", APK)])], platform="linux/amd64", style="docker")
    arm = Image([make_layer([file("var/lib/dpkg/status", STATUS)])], platform="linux/arm64/v8", style="docker")
    index = Index([amd, arm], style="docker")
    digest = push_to(plain_registry, "multi/app", "1", index)
    ref = f"{plain_registry.host}/multi/app:1"
    inv_amd = build_inventory(open_source(ref))
    inv_arm = build_inventory(open_source(ref, SourceOptions(platform="linux/arm64")))
    assert {p.type for p in inv_amd.packages} == {"apk"} and {p.type for p in inv_arm.packages} == {"deb"}
    assert inv_amd.digest == inv_arm.digest == digest  # an image is named by its index digest
    assert resolve(ref) == digest
    by_digest = build_inventory(open_source(f"{plain_registry.host}/multi/app@{arm.digest}"))
    assert {p.type for p in by_digest.packages} == {"deb"}


def test_corrupt_blob_in_the_registry(plain_registry: Registry) -> None:
    image = sample_image()
    push_to(plain_registry, "corrupt/app", "v1", image)
    victim = image.layers[1]
    path = blob_path(plain_registry, victim.digest)
    path.write_bytes(make_layer([file("x", "evil")], compression="zstd").blob)
    with pytest.raises(DigestMismatchError, match=f"corrupt/app:v1 layer {victim.digest}"):
        build_inventory(open_source(f"{plain_registry.host}/corrupt/app:v1"))


def test_missing_image_is_a_clear_error(plain_registry: Registry) -> None:
    with pytest.raises(RegistryError, match="not found"):
        open_source(f"{plain_registry.host}/nothing/here:v1").manifest()


def test_credentials_are_never_logged(tls_registry: Registry, caplog) -> None:
    push_to(tls_registry, "log/app", "v1", sample_image())
    caplog.set_level(logging.DEBUG)
    source = RegistrySource(f"{tls_registry.host}/log/app:v1", options_for(tls_registry))
    build_inventory(source)
    assert PASSWORD not in caplog.text
    assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() not in caplog.text
    assert PASSWORD not in repr(source.client.credentials)
