"""Image sources by prefix: real `docker save` archives and OCI layouts, and ones built here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from layerwatch_scanner.errors import SourceError, UnsupportedManifestError
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.sources import open_source, split_source
from layerwatch_scanner.sources.options import SourceOptions

from tests.conftest import TESTDATA
from tests.support.images import (
    OCI_INDEX,
    Image,
    Index,
    digest_of,
    file,
    make_layer,
    write_docker_archive,
    write_oci_layout,
)

IMAGES = TESTDATA / "images"
APK_DB = (TESTDATA / "pkgdb/apk/alpine-3.18/lib/apk/db/installed").read_bytes()
STATUS = (TESTDATA / "pkgdb/dpkg/debian-10-nginx/var/lib/dpkg/status").read_bytes()


def test_prefixes() -> None:
    assert split_source("alpine:3.18") == ("registry", "alpine:3.18")
    assert split_source("registry:alpine:3.18") == ("registry", "alpine:3.18")
    assert split_source("oci-dir:/tmp/x") == ("oci-dir", "/tmp/x")
    assert split_source("docker-archive:a.tar") == ("docker-archive", "a.tar")
    assert split_source("dir:/") == ("dir", "/")
    with pytest.raises(SourceError, match="nothing after"):
        split_source("dir:")


def test_real_gzipped_docker_save_of_alpine() -> None:
    inventory = build_inventory(open_source(f"docker-archive:{IMAGES}/docker-save/alpine-3.10.tar.gz"))
    assert (inventory.os.id, inventory.os.version_id) == ("alpine", "3.10.4")
    assert len(inventory.packages) == 14 and len(inventory.layers) == 1
    musl = next(p for p in inventory.packages if p.name == "musl")
    assert musl.version == "1.1.22-r3" and musl.layer == inventory.layers[0]
    assert inventory.image == "alpine:3.10"


def test_real_docker_save_with_oci_index_and_manifest_json() -> None:
    source = open_source(f"docker-archive:{IMAGES}/docker-save/hello-world-oci-index.tar")
    manifest = source.manifest()
    assert len(manifest.layers) == 1 and manifest.config["architecture"] == "amd64"
    inventory = build_inventory(source)
    assert inventory.packages == [] and inventory.os is None


def test_real_trimmed_docker_save_of_nginx() -> None:
    inventory = build_inventory(open_source(f"docker-archive:{IMAGES}/docker-save/nginx-1.17-debian10-stripped.tar"))
    assert (inventory.os.id, inventory.os.version_codename) == ("debian", "buster")
    assert len(inventory.packages) == 84
    assert any("diff_ids" in w for w in inventory.warnings)


def test_real_oci_layout() -> None:
    source = open_source(f"oci-dir:{IMAGES}/oci-layout/test.oci")
    manifest = source.manifest()
    assert manifest.layers and manifest.config_digest.startswith("sha256:")
    build_inventory(source)  # every blob read verifies against its digest


def _two_platforms() -> Index:
    amd = Image([make_layer([file("lib/apk/db/installed", APK_DB)])], platform="linux/amd64")
    arm = Image([make_layer([file("var/lib/dpkg/status", STATUS)], compression="zstd")], platform="linux/arm64/v8")
    return Index([amd, arm])


def test_oci_layout_platform_selection(tmp_path: Path) -> None:
    layout = write_oci_layout(tmp_path / "l", _two_platforms())
    amd = build_inventory(open_source(f"oci-dir:{layout}"))
    arm = build_inventory(open_source(f"oci-dir:{layout}", SourceOptions(platform="linux/arm64")))
    assert {p.type for p in amd.packages} == {"apk"} and amd.platform == "linux/amd64"
    assert {p.type for p in arm.packages} == {"deb"} and arm.platform == "linux/arm64/v8"
    with pytest.raises(UnsupportedManifestError, match="no manifest for platform linux/s390x.*linux/amd64"):
        open_source(f"oci-dir:{layout}", SourceOptions(platform="linux/s390x")).manifest()


def test_oci_layout_index_pointing_to_an_index(tmp_path: Path) -> None:
    index = _two_platforms()
    layout = write_oci_layout(tmp_path / "l", index)
    # wrap: index.json -> outer index -> inner index -> manifests
    inner = index.index_bytes()
    outer = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_INDEX, "digest": digest_of(inner), "size": len(inner)}]}).encode()
    (layout / "blobs/sha256" / digest_of(outer).split(":")[1]).write_bytes(outer)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_INDEX, "digest": digest_of(outer), "size": len(outer)}]}))
    inventory = build_inventory(open_source(f"oci-dir:{layout}", SourceOptions(platform="linux/arm64")))
    assert len(inventory.packages) == 84


@pytest.mark.parametrize("gzipped", [False, True])
def test_built_docker_archive(tmp_path: Path, gzipped: bool) -> None:
    image = Image([make_layer([file("var/lib/dpkg/status", STATUS)]),
                   make_layer([file("lib/apk/db/installed", APK_DB)])], style="docker")
    archive = write_docker_archive(tmp_path / "a.tar", image, gzipped=gzipped)
    source = open_source(f"docker-archive:{archive}")
    # a plain archive's layers are read at once through separate handles; a gzip'd one in turn
    assert source.parallel_layers is not gzipped
    inventory = build_inventory(source)
    assert len(inventory.packages) == 84 + 15
    assert inventory.layers == [layer.diff_id for layer in image.layers]
    if not gzipped:  # two layers open together: each reads its own bytes, verified by digest
        manifest = source.manifest()
        first, second = (source.open_layer(layer) for layer in manifest.layers)
        while first.read(1000) + second.read(777):
            pass
        first.close()
        second.close()


def test_dir_source(tmp_path: Path) -> None:
    (tmp_path / "lib/apk/db").mkdir(parents=True)
    (tmp_path / "lib/apk/db/installed").write_bytes(APK_DB)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/alpine-release").write_text("3.18.4\n")
    inventory = build_inventory(open_source(f"dir:{tmp_path}"))
    assert inventory.os.id == "alpine" and len(inventory.packages) == 15


@pytest.mark.parametrize("spec", ["oci-dir:/nonexistent", "docker-archive:/nonexistent.tar", "dir:/nonexistent"])
def test_missing_sources_name_the_path(spec: str) -> None:
    with pytest.raises(SourceError, match="nonexistent"):
        open_source(spec).manifest()


def test_corrupt_archives(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(SourceError, match="bad.tar"):
        open_source(f"docker-archive:{bad}")
    layout = write_oci_layout(tmp_path / "l", Image([make_layer([file("a", "b")])]))
    (layout / "index.json").write_text("{ truncated")
    with pytest.raises(SourceError, match="index.json is not valid JSON"):
        open_source(f"oci-dir:{layout}").manifest()
