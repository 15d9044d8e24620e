"""Go and Rust binaries, Java archives and Ruby gemspecs, from real fixtures."""

from __future__ import annotations

import io
import re
import zipfile
import zlib

import pytest
from layerwatch_scanner.catalog import golang, java, ruby, rust
from layerwatch_scanner.catalog._elf import find_section
from layerwatch_scanner.errors import CatalogError

from tests.conftest import TESTDATA
from tests.scanner.catalog.conftest import file_at

LANG = TESTDATA / "pkgdb/lang"


def test_go_build_info_with_a_replaced_module() -> None:
    binary = LANG / "go/binaries/binary_with_module_replacement-linux-amd64"
    packages = golang.CATALOGER.catalog(file_at("/usr/bin/app", binary))
    raw = binary.read_bytes()
    # independent reading: the "=>" replacement line sits in the binary as plain text
    replacement = re.search(rb"=>\t([^\t\n]+)\t([^\t\n]+)", raw)
    go_version = re.search(rb"go1\.\d+(\.\d+)?", raw[raw.find(b"\xff Go buildinf:"):]).group(0).decode()
    assert [(p.name, p.version) for p in packages] == [
        (replacement.group(1).decode(), replacement.group(2).decode()), ("stdlib", "v" + go_version[2:])]
    assert packages[0].metadata["replaced"].startswith("golang.org/x/xerrors@")


def test_go_edge_cases() -> None:
    assert golang.CATALOGER.catalog(file_at("/bin/x", LANG / "go/binaries/not-a-binary-dummy")) == []
    ldflags = golang.CATALOGER.catalog(file_at("/bin/x", LANG / "go/binaries/main-version-via-ldflags.elf"))
    assert [p.name for p in ldflags] == ["stdlib"]  # main module built as (devel): no version to match
    data = (LANG / "go/binaries/binary_with_module_replacement-linux-amd64").read_bytes()
    at = data.find(golang.MAGIC)
    with pytest.raises(CatalogError, match="/bin/x"):
        golang.CATALOGER.catalog(file_at("/bin/x", data[: at + 40]))
    assert golang.CATALOGER.wants("/usr/bin/app", 0o100755, 10_000)
    assert not golang.CATALOGER.wants("/usr/share/doc/x", 0o100644, 10_000)


def test_rust_cargo_auditable() -> None:
    binary = LANG / "rust/binaries/uses_serde_json"
    packages = {p.name: p.version for p in rust.CATALOGER.catalog(file_at("/usr/bin/uses_json", binary))}
    assert packages["serde_json"] == "1.0.135" and packages["serde"] == "1.0.217" and len(packages) == 11
    assert [p.name for p in rust.CATALOGER.catalog(file_at("/usr/bin/no_deps", LANG / "rust/binaries/no_deps"))] == [
        "no_deps"]
    data = bytearray(binary.read_bytes())
    section = find_section(bytes(data), ".dep-v0")
    at = bytes(data).find(section)
    data[at + 2:at + 40] = b"\xff" * 38  # corrupt the zlib stream inside the section
    with pytest.raises(CatalogError, match="/usr/bin/x: unreadable cargo-auditable data"):
        rust.CATALOGER.catalog(file_at("/usr/bin/x", bytes(data)))
    assert zlib.decompress(section)  # the untouched fixture really is zlib data
    assert rust.CATALOGER.catalog(file_at("/usr/bin/x", bytes(data[:64]) + b"\x00" * 100)) == []


@pytest.mark.parametrize(("jar", "expected"), [
    ("hadoop-shaded-guava-1.1.0-SNAPSHOT.jar", ("org.apache.hadoop.thirdparty", "hadoop-shaded-guava", "1.1.0-SNAPSHOT")),
    ("io.quarkus.gizmo.gizmo-1.1.jar", ("io.quarkus.gizmo", "gizmo", "1.1")),
    ("multi-license-1.0.0.jar", ("com.example", "multi-license", "1.0.0")),
    ("heuristic-1.0.0-SNAPSHOT.jar", ("", "heuristic", "1.0.0-SNAPSHOT")),
    ("test.jar", ("", "Spring Framework", "2.5.6.SEC03")),
])
def test_java_archives(jar: str, expected: tuple[str, str, str]) -> None:
    packages = java.CATALOGER.catalog(file_at(f"/app/lib/{jar}", LANG / "java/jars" / jar))
    assert (packages[0].namespace, packages[0].name, packages[0].version) == expected


def test_java_nested_archives_and_shaded_dependencies() -> None:
    nested = java.CATALOGER.catalog(file_at("/app/nested.jar", LANG / "java/jars/nested.jar"))
    assert [(p.name, p.version) for p in nested] == [("nested", "0.0.1"), ("nested2", "0.0.2"), ("nested3", "0.0.3")]
    assert nested[2].path == "/app/nested.jar!/META-INF/jars/nested2.jar!/META-INF/jars/nested3.jar"
    shaded = {p.name: p.version for p in java.CATALOGER.catalog(
        file_at("/a.jar", LANG / "java/jars/hadoop-shaded-guava-1.1.0-SNAPSHOT.jar"))}
    assert shaded["guava"] == "29.0-jre"


def test_java_zip_bomb_and_garbage() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n")
        z.writestr("lib/inner.jar", b"\x00" * (80 * 1024 * 1024))
    with pytest.raises(CatalogError, match="zip bomb"):
        java.CATALOGER.catalog(file_at("/app/bomb.jar", buf.getvalue()))
    with pytest.raises(CatalogError, match="/app/bad.jar: not a readable Java archive"):
        java.CATALOGER.catalog(file_at("/app/bad.jar", b"PK\x03\x04garbage"))


@pytest.mark.parametrize(("spec", "expected"), [
    ("rss-0.2.9.gemspec", ("rss", "0.2.9", ["BSD-2-Clause"])),
    ("bundler.gemspec", ("bundler", "2.1.4", ["MIT"])),
    ("multiple_licenses.gemspec", ("test-unit", "3.3.7", ["Ruby", "BSDL", "PSFL"])),
    ("yaml-0.2.1.gemspec", ("yaml", "0.2.1", ["Ruby", "BSD-2-Clause"])),
])
def test_ruby_gemspecs(spec: str, expected: tuple) -> None:
    path = f"/usr/lib/ruby/gems/3.1.0/specifications/{spec}"
    assert ruby.CATALOGER.wants(path, 0o100644, 100)
    [pkg] = ruby.CATALOGER.catalog(file_at(path, LANG / "ruby/specifications" / spec))
    assert (pkg.name, pkg.version, pkg.licenses) == expected


def test_ruby_refuses_code_it_cannot_read_literally() -> None:
    with pytest.raises(CatalogError, match="literal name"):
        ruby.CATALOGER.catalog(file_at("/g/specifications/x.gemspec", b"s.name = compute_name()\n"))


def test_binaries_read_in_place_through_the_layer_walker_give_the_same_packages() -> None:
    """In a layer, binaries are scanned through a seekable view (large ones from a spool file),
    not loaded whole; the result must equal reading the bytes."""
    from layerwatch_scanner.layers import walk

    from tests.support.images import file as layer_file
    from tests.support.images import make_layer

    go_bin = (LANG / "go/binaries/binary_with_module_replacement-linux-amd64").read_bytes()
    rust_bin = (LANG / "rust/binaries/uses_serde_json").read_bytes()
    layer = make_layer([layer_file("usr/bin/goapp", go_bin, mode=0o755),
                        layer_file("usr/bin/rustapp", rust_bin, mode=0o755)], compression="none")
    spool = walk.SPOOL_THRESHOLD
    try:
        walk.SPOOL_THRESHOLD = 1024 * 1024  # force the 2 MB Go binary through the spool file
        result = walk.catalog_layer(io.BytesIO(layer.blob), layer.digest, [golang.CATALOGER, rust.CATALOGER], "img")
    finally:
        walk.SPOOL_THRESHOLD = spool
    expected_go = golang.CATALOGER.catalog(file_at("/usr/bin/goapp", go_bin))
    expected_rust = rust.CATALOGER.catalog(file_at("/usr/bin/rustapp", rust_bin))
    assert [(p.name, p.version) for p in result.files["/usr/bin/goapp"]] == [(p.name, p.version) for p in expected_go]
    assert [(p.name, p.version) for p in result.files["/usr/bin/rustapp"]] == [(p.name, p.version) for p in expected_rust]
    assert expected_go and len(expected_rust) == 11 and not result.warnings
