"""Python and npm catalogers on real metadata, lock files and installed trees."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.catalog.npm import CATALOGER as NPM
from layerwatch_scanner.catalog.python import CATALOGER as PY
from layerwatch_scanner.catalog.python import normalize_name
from layerwatch_scanner.errors import CatalogError
from layerwatch_scanner.inventory import build_inventory
from layerwatch_scanner.sources.directory import DirectorySource

from tests.conftest import TESTDATA
from tests.scanner.catalog.conftest import file_at

LANG = TESTDATA / "pkgdb" / "lang"


@pytest.mark.parametrize(("name", "expected"), [
    ("metadata-files/asyncssh-2.14.2.METADATA", ("asyncssh", "2.14.2")),
    ("metadata-files/distlib-0.3.1-py3.9.egg-info", ("distlib", "0.3.1")),
    ("metadata-files/setuptools-51.3.3-py3.8.egg-info.PKG-INFO", ("setuptools", "51.3.3")),
    ("metadata-files/pyopenssl-26.0.0.METADATA", ("pyopenssl", "26.0.0")),
    ("site-packages/Pygments-2.6.1.dist-info/METADATA", ("pygments", "2.6.1")),
    ("site-packages/typing_extensions-4.4.0.dist-info/METADATA", ("typing-extensions", "4.4.0")),
])
def test_python_metadata(name: str, expected: tuple[str, str]) -> None:
    [pkg] = PY.catalog(file_at("/usr/lib/python3/site-packages/x", LANG / "python" / name))
    assert (pkg.name, pkg.version) == expected


def test_python_wants_only_metadata_files() -> None:
    assert PY.wants("/usr/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA", 0o644, 10)
    assert PY.wants("/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO", 0o644, 10)
    assert PY.wants("/usr/lib/python3/dist-packages/distlib-0.3.1-py3.9.egg-info", 0o644, 10)
    assert not PY.wants("/app/METADATA", 0o644, 10)
    assert not PY.wants("/usr/lib/python3/site-packages/requests/__init__.py", 0o644, 10)


def test_pip_installed_tree_matches_pip_list(tmp_path: Path) -> None:
    target = tmp_path / "usr/lib/python3.11/site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    "six==1.16.0", "idna==3.7", "typing_extensions==4.12.2"], check=True, capture_output=True)
    listed = json.loads(subprocess.run([sys.executable, "-m", "pip", "list", "--format=json", "--path", str(target)],
                                       check=True, capture_output=True, text=True).stdout)
    inventory = build_inventory(DirectorySource(str(tmp_path)))
    found = {(p.name, p.version) for p in inventory.packages if p.type == "pypi"}
    assert found == {(normalize_name(p["name"]), p["version"]) for p in listed}
    assert ("typing-extensions", "4.12.2") in found


def test_python_hostile() -> None:
    with pytest.raises(CatalogError, match="without Name and Version"):
        PY.catalog(file_at("/x.dist-info/METADATA", b"Summary: nothing else\n"))
    with pytest.raises(CatalogError):
        PY.catalog(file_at("/x.dist-info/METADATA", b"\x00\x01\x02"))


@pytest.mark.parametrize(("lock", "count", "sample"), [
    ("package-lock_v1.json", 31, ("body-parser", "1.18.3")),
    ("package-lock_v2.json", 31, ("body-parser", "1.18.3")),
    ("package-lock_v3.json", 31, ("body-parser", "1.18.3")),
    ("nested-dependencies-dup.v2.json", 2, ("supports-color", "6.1.0")),
    ("alias.v2.json", 3, ("string-width", "4.2.0")),
    ("package-lock_v3_with_workspace.json", 4, ("debug", "2.6.9")),
])
def test_npm_lockfiles(lock: str, count: int, sample: tuple[str, str]) -> None:
    packages = NPM.catalog(file_at("/app/package-lock.json", LANG / "npm/package-lock" / lock))
    assert len(packages) == count
    assert sample in {(p.name, p.version) for p in packages}
    assert all(p.metadata == {"lockfile": True} for p in packages)


def test_npm_lock_versions_agree_across_formats() -> None:
    def read(name):
        return {(p.name, p.version) for p in NPM.catalog(file_at("/a/package-lock.json", LANG / "npm/package-lock" / name))}
    assert read("package-lock_v1.json") == read("package-lock_v2.json") == read("package-lock_v3.json")


def test_npm_installed_tree_wins_over_its_lockfile() -> None:
    project = LANG / "npm/project-with-node_modules"
    inventory = build_inventory(DirectorySource(str(project)))
    installed = list((project / "node_modules").rglob("package.json"))
    assert inventory.packages and all(not p.metadata.get("lockfile") for p in inventory.packages)
    # every installed package.json with a name and version is one package
    truth = set()
    for path in installed:
        doc = json.loads(path.read_text())
        if doc.get("name") and doc.get("version"):
            truth.add((doc["name"], doc["version"]))
    assert {(p.name, p.version) for p in inventory.packages} == truth


def test_npm_root_package_json_is_not_a_dependency() -> None:
    assert not NPM.wants("/app/package.json", 0o644, 100)
    assert NPM.wants("/app/node_modules/ms/package.json", 0o644, 100)
    [pkg] = NPM.catalog(file_at("/app/node_modules/accepts/package.json", LANG / "npm/package-json/accepts-package.json"))
    assert pkg.name == "accepts" and pkg.licenses == ["MIT"]


def test_npm_hostile() -> None:
    with pytest.raises(CatalogError, match="invalid JSON"):
        NPM.catalog(file_at("/a/node_modules/x/package.json", b'{"name": "x", "vers'))
    with pytest.raises(CatalogError, match="expected a JSON object"):
        NPM.catalog(file_at("/a/node_modules/x/package.json", b"[1, 2]"))
    assert NPM.catalog(file_at("/a/node_modules/x/package.json", b'{"name": 5, "version": ["1"]}')) == []
    evil = {"lockfileVersion": 3, "packages": {"node_modules/a": {"version": 7}, "node_modules/b": "nope",
                                                "node_modules/c": {"version": "file:../c"}}}
    assert NPM.catalog(file_at("/a/package-lock.json", json.dumps(evil).encode())) == []
