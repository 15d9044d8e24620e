"""Layer walking and merging on images built in Python: whiteouts, opaque directories,
upgrades in later layers, links, compression, and hostile tars."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from layerwatch_scanner.errors import DigestMismatchError, LayerError
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.layers.cache import LayerCache
from layerwatch_scanner.layers.walk import MAX_WANTED_FILE, catalog_layer, normalize_entry_path
from layerwatch_scanner.sources.oci_layout import OCILayoutSource

from tests.conftest import TESTDATA
from tests.support.images import (
    Image,
    directory,
    file,
    hardlink,
    make_layer,
    opaque,
    raw_member,
    symlink,
    whiteout,
    write_oci_layout,
)

DPKG = TESTDATA / "pkgdb/dpkg"
STATUS_10 = (DPKG / "debian-10-nginx/var/lib/dpkg/status").read_bytes()
OS_RELEASE_12 = (TESTDATA / "pkgdb/os-release/debian-12/etc/os-release").read_bytes()
APK_DB = (TESTDATA / "pkgdb/apk/alpine-3.18/lib/apk/db/installed").read_bytes()


def dist_info(name: str, version: str) -> dict:
    return file(f"usr/lib/python3/dist-packages/{name}-{version}.dist-info/METADATA",
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def status_with(*packages: tuple[str, str]) -> bytes:
    return "".join(f"Package: {n}\nStatus: install ok installed\nVersion: {v}\nArchitecture: amd64\n\n"
                   for n, v in packages).encode()


def scan(tmp_path: Path, *layers, cache: LayerCache | None = None):
    image = Image(list(layers))
    source = OCILayoutSource(str(write_oci_layout(tmp_path / "layout", image)))
    return build_inventory(source, cache=cache), image


def by_name(inventory) -> dict:
    return {p.name: p for p in inventory.packages}


def test_inventory_equals_what_went_in_with_layer_attribution(tmp_path: Path) -> None:
    base = make_layer([directory("etc"), symlink("etc/os-release", "../usr/lib/os-release"),
                       file("usr/lib/os-release", OS_RELEASE_12),
                       file("var/lib/dpkg/status", status_with(("libc6", "2.36-9"), ("openssl", "3.0.11-1"))),
                       dist_info("requests", "2.25.0"), dist_info("six", "1.16.0")])
    upgrade = make_layer([file("var/lib/dpkg/status", status_with(("libc6", "2.36-9"), ("openssl", "3.0.15-1")))],
                         compression="zstd")
    app = make_layer([whiteout("usr/lib/python3/dist-packages/six-1.16.0.dist-info"), dist_info("flask", "3.0.0")],
                     compression="none")
    inventory, image = scan(tmp_path, base, upgrade, app)
    assert inventory.os.id == "debian" and inventory.os.version_id == "12"  # through the symlink
    packages = by_name(inventory)
    assert {(p.type, p.name, p.version) for p in inventory.packages} == {
        ("deb", "libc6", "2.36-9"), ("deb", "openssl", "3.0.15-1"),
        ("pypi", "requests", "2.25.0"), ("pypi", "flask", "3.0.0")}
    assert packages["libc6"].layer == base.digest  # unchanged by the rewrite of the status file
    assert packages["openssl"].layer == upgrade.digest  # upgraded there
    assert packages["requests"].layer == base.digest
    assert packages["flask"].layer == app.digest
    assert inventory.layers == [base.digest, upgrade.digest, app.digest]
    assert inventory.digest == image.digest


def test_opaque_directory_hides_lower_layers(tmp_path: Path) -> None:
    base = make_layer([dist_info("requests", "2.25.0"), dist_info("urllib3", "1.26.0")])
    rebuilt = make_layer([opaque("usr/lib/python3/dist-packages"), dist_info("urllib3", "2.2.0")])
    inventory, _ = scan(tmp_path, base, rebuilt)
    assert {(p.name, p.version) for p in inventory.packages} == {("urllib3", "2.2.0")}


def test_whiteout_of_a_whole_database_and_of_a_parent_dir(tmp_path: Path) -> None:
    base = make_layer([file("lib/apk/db/installed", APK_DB), dist_info("six", "1.16.0")])
    gone = make_layer([whiteout("lib/apk"), whiteout("usr/lib/python3")])
    inventory, _ = scan(tmp_path, base, gone)
    assert inventory.packages == []


def test_hard_link_to_a_wanted_file(tmp_path: Path) -> None:
    layer = make_layer([file("var/lib/dpkg/status.d/base", status_with(("base-files", "12.4"))),
                        hardlink("var/lib/dpkg/status.d/tzdata", "var/lib/dpkg/status.d/base")])
    inventory, _ = scan(tmp_path, layer)
    assert [(p.name, p.path) for p in inventory.packages] == [
        ("base-files", "/var/lib/dpkg/status.d/base"), ("base-files", "/var/lib/dpkg/status.d/tzdata")]


def test_symlink_loop_is_reported_not_followed(tmp_path: Path) -> None:
    layer = make_layer([symlink("etc/os-release", "lsb-release"), symlink("etc/lsb-release", "os-release"),
                        file("var/lib/dpkg/status", STATUS_10)])
    inventory, _ = scan(tmp_path, layer)
    assert inventory.os is None and len(inventory.packages) == 84
    assert any("symlink loop" in w for w in inventory.warnings)


def test_cached_layers_are_not_read_again(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path / "cache.sqlite")
    base = make_layer([file("var/lib/dpkg/status", STATUS_10)])
    app = make_layer([dist_info("flask", "3.0.0")])
    first, image = scan(tmp_path, base, app, cache=cache)
    source = OCILayoutSource(str(tmp_path / "layout"))
    opened = []
    original = source.open_layer
    source.open_layer = lambda layer: opened.append(layer.digest) or original(layer)  # type: ignore[method-assign]
    second = build_inventory(source, cache=cache)
    assert opened == []
    assert second.to_dict() == first.to_dict()
    assert cache.load_inventory(image.digest).to_dict() == first.to_dict()


def _hostile_layer(*members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, linkname
    return info


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/os-release", "usr/../../etc/shadow", ".."])
def test_path_traversal_entries_are_refused(tmp_path: Path, name: str) -> None:
    status = status_with(("evil", "1"))
    layer = make_layer([raw_member(_info(name, len(status)), status),
                        file("var/lib/dpkg/status", STATUS_10)])
    inventory, _ = scan(tmp_path, layer)
    assert len(inventory.packages) == 84  # the honest entries still count
    assert any("path escapes the image root" in w and layer.digest in w for w in inventory.warnings)


def test_normalize_entry_path() -> None:
    assert normalize_entry_path("./var//lib/dpkg/status") == "/var/lib/dpkg/status"
    assert normalize_entry_path("var/lib/../lib/dpkg") is None
    assert normalize_entry_path("") is None


def test_oversized_claim_is_refused_with_a_clear_message() -> None:
    # A GNU sparse header can claim a 10 GB file in a few bytes; a wanted path must never be read.
    info = _info("var/lib/dpkg/status", 10 * 1024**3)
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    layer = header + b"\x00" * 1024  # the data the header promises never comes
    from layerwatch_scanner.catalog.dpkg import CATALOGER

    with pytest.raises(LayerError, match="img layer sha256:00: truncated tar stream inside var/lib/dpkg/status"):
        catalog_layer(io.BytesIO(layer), "sha256:" + "0" * 64, [CATALOGER], "img layer sha256:00")
    assert 10 * 1024**3 > MAX_WANTED_FILE


def test_oversized_wanted_file_in_a_valid_sparse_tar(tmp_path: Path) -> None:
    # a real (sparse) 600 MB status file: refused by size, the scan continues
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(600 * 1024 * 1024)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.add(big, arcname="var/lib/dpkg/status")
        data = STATUS_10
        info = _info("var/lib/dpkg/status.d/real", len(data))
        tar.addfile(info, io.BytesIO(data))
    from layerwatch_scanner.catalog.dpkg import CATALOGER
    result = catalog_layer(io.BytesIO(buf.getvalue()), "sha256:" + "1" * 64, [CATALOGER], "img layer sha256:11")
    assert any("refused /var/lib/dpkg/status" in w and "byte limit" in w for w in result.warnings)
    assert len(result.files["/var/lib/dpkg/status.d/real"]) == 84


def test_truncated_gzip_names_the_layer(tmp_path: Path) -> None:
    layer = make_layer([file("var/lib/dpkg/status", STATUS_10 * 20)])
    with pytest.raises(LayerError, match="my-image layer sha256:ab.*truncated"):
        catalog_layer(io.BytesIO(layer.blob[: len(layer.blob) // 2]), layer.digest, [], "my-image layer sha256:ab")


def test_digest_mismatch_names_image_and_layer(tmp_path: Path) -> None:
    layer = make_layer([file("var/lib/dpkg/status", STATUS_10)])
    layout = write_oci_layout(tmp_path / "layout", Image([layer]))
    blob = layout / "blobs/sha256" / layer.digest.split(":")[1]
    tampered = make_layer([file("var/lib/dpkg/status", status_with(("evil", "1")))])
    blob.write_bytes(tampered.blob)
    with pytest.raises(DigestMismatchError, match=f"layer {layer.digest}.*does not match"):
        build_inventory(OCILayoutSource(str(layout)))


def test_cataloger_failure_is_a_warning_not_a_failed_scan(tmp_path: Path) -> None:
    layer = make_layer([file("lib/apk/db/installed", b"\x00\x00garbage"), file("var/lib/dpkg/status", STATUS_10)])
    inventory, _ = scan(tmp_path, layer)
    assert len(inventory.packages) == 84
    assert any("apk cataloger" in w and "/lib/apk/db/installed" in w for w in inventory.warnings)


def test_not_a_tar_is_a_clear_error() -> None:
    with pytest.raises(LayerError, match="the-layer"):
        catalog_layer(io.BytesIO(b"\x1f\x8b" + b"garbage" * 100), "sha256:" + "2" * 64, [], "the-layer")


def _walk(data: bytes):
    from layerwatch_scanner.catalog.dpkg import CATALOGER

    return catalog_layer(io.BytesIO(data), "sha256:" + "3" * 64, [CATALOGER], "img layer sha256:33")


def test_long_names_pax_headers_and_gnu_sparse() -> None:
    long_name = "var/lib/dpkg/status.d/" + "p" * 120  # longer than ustar's 100 bytes
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar.addfile(_info(long_name, len(STATUS_10)), io.BytesIO(STATUS_10))
    gnu = _walk(buf.getvalue())
    assert len(gnu.files["/" + long_name]) == 84  # read through a GNU long-name record
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = _info("var/lib/dpkg/status", len(STATUS_10))
        info.pax_headers = {"comment": "é" * 50}
        tar.addfile(info, io.BytesIO(STATUS_10))
    assert len(_walk(buf.getvalue()).files["/var/lib/dpkg/status"]) == 84
    # a GNU sparse header claiming 10 GB for a wanted path: refused by name, never read
    sparse = _info("var/lib/dpkg/status", 0, kind=tarfile.GNUTYPE_SPARSE)
    header = bytearray(sparse.tobuf(format=tarfile.GNU_FORMAT))
    header[483:495] = b"%011o\x00" % (10 * 1024**3)
    header[148:156] = b"        "
    header[148:156] = b"%06o\x00 " % sum(header)
    result = _walk(bytes(header) + b"\x00" * 1024)
    assert any("sparse file" in w and "10737418240" in w for w in result.warnings)


def test_hostile_tar_headers() -> None:
    header = bytearray(_info("var/lib/dpkg/status", 10).tobuf(format=tarfile.USTAR_FORMAT))
    header[0] ^= 0xFF  # checksum no longer matches
    with pytest.raises(LayerError, match="img layer sha256:33: .*checksum mismatch"):
        _walk(bytes(header) + b"\x00" * 1024)
    huge_pax = _info("././@PaxHeader", 50 * 1024 * 1024, kind=tarfile.XHDTYPE).tobuf(format=tarfile.USTAR_FORMAT)
    with pytest.raises(LayerError, match="refused tar metadata record of 52428800 bytes"):
        _walk(huge_pax + b"\x00" * 1024)
    bad_pax = b"99999 path=x\n"
    pax = _info("././@PaxHeader", len(bad_pax), kind=tarfile.XHDTYPE).tobuf(format=tarfile.USTAR_FORMAT)
    with pytest.raises(LayerError, match="corrupt PAX header"):
        _walk(pax + bad_pax.ljust(512, b"\x00") + b"\x00" * 1024)
    with pytest.raises(LayerError, match="partial header"):
        _walk(b"x" * 100)
