""".NET (`*.deps.json`) and PHP (`vendor/composer/installed.json`, Composer 1 and 2) packages:
cataloged from syft's published fixtures, then matched end to end against GHSA's NuGet and
Packagist advisories (fixtures under tests/testdata/feeds/ghsa)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.catalog.dotnet import CATALOGER as DOTNET
from layerwatch_scanner.catalog.php import CATALOGER as PHP
from layerwatch_scanner.errors import CatalogError
from layerwatch_scanner.match.versions import compare

from tests.conftest import TESTDATA
from tests.support.images import Image, file, make_layer, write_oci_layout

LANG = TESTDATA / "pkgdb/lang"
GHSA = TESTDATA / "feeds/ghsa/advisories"


class _File:
    def __init__(self, path: str, data: bytes):
        self.path, self._data = path, data

    def read(self, n: int = -1) -> bytes:
        return self._data


def test_deps_json_lists_nuget_packages_not_projects() -> None:
    data = (LANG / "dotnet/TestLibrary.deps.json").read_bytes()
    packages = DOTNET.catalog(_File("/app/TestLibrary.deps.json", data))
    names = {(p.name, p.version) for p in packages}
    assert ("Newtonsoft.Json", "13.0.1") in names and ("AWSSDK.Core", "3.7.10.6") in names
    assert not any(name in ("TestLibrary", "TestCommon") for name, _ in names)  # "type": "project"
    assert len(packages) == 12 and all(p.metadata["runtimeTarget"] == ".NETCoreApp,Version=v6.0" for p in packages)


@pytest.mark.parametrize("layout", ["composer_1", "composer_2"])
def test_installed_json_both_layouts(layout: str) -> None:
    data = (LANG / f"php/{layout}/installed.json").read_bytes()
    packages = PHP.catalog(_File("/app/vendor/composer/installed.json", data))
    assert [(p.name, p.version) for p in packages] == [("asm89/stack-cors", "1.3.0"), ("behat/mink", "v1.8.1")]
    assert [p.metadata.get("dev", False) for p in packages] == [False, layout == "composer_2"]


@pytest.mark.parametrize(("cataloger", "data"), [
    (DOTNET, b"{not json"), (DOTNET, b'{"libraries": []}'), (DOTNET, b"[1, 2]"),
    (PHP, b'{"packages": {"a": 1}}'), (PHP, b"\xff\xfe"), (PHP, b'"a string"'),
])
def test_malformed_files_are_catalog_errors(cataloger, data: bytes) -> None:  # noqa: ANN001
    with pytest.raises(CatalogError):
        cataloger.catalog(_File("/app/x.deps.json", data))


@pytest.mark.parametrize(("scheme", "a", "b", "expected"), [
    # NuGet.Versioning (VersionComparer.Default): 4 parts, pre-releases below the release,
    # labels numeric-below-alphanumeric and case-insensitive, metadata ignored
    ("nuget", "1.0", "1.0.0.0", 0), ("nuget", "1.0.0-beta", "1.0.0", -1), ("nuget", "1.0.0-alpha.2", "1.0.0-alpha.10", -1),
    ("nuget", "1.0.0-ALPHA", "1.0.0-alpha", 0), ("nuget", "21.12.22.1", "21.12.22", 1), ("nuget", "1.0.0-1", "1.0.0-a", -1),
    ("nuget", "1.0.0+build.5", "1.0.0", 0), ("nuget", "1.0.0-alpha", "1.0.0-alpha.1", -1),
    # composer/semver Comparator (normalize + PHP version_compare)
    ("composer", "v1.8.1", "1.8.1", 0), ("composer", "1.0.0-beta2", "1.0.0", -1), ("composer", "1.0.0-RC1", "1.0.0-beta3", 1),
    ("composer", "1.0.0-alpha", "1.0.0-dev", 1), ("composer", "1.0.0-patch1", "1.0.0", 1), ("composer", "4.4.46", "4.4.5", 1),
    ("composer", "1.2", "1.2.0.0", 0), ("composer", "2.0.0-rc.1", "2.0.0-RC1", 0), ("composer", "1.0.0-b2", "1.0.0-beta1", 1),
])
def test_version_order(scheme: str, a: str, b: str, expected: int) -> None:
    result = compare(scheme, a, b)
    assert (result > 0) - (result < 0) == expected


def test_dotnet_and_php_apps_end_to_end(tmp_path: Path) -> None:
    deps = json.loads((LANG / "dotnet/TestLibrary.deps.json").read_text())
    # the app also ships two real packages with advisories in the fixtures
    deps["libraries"]["AjaxNetProfessional/21.10.30.1"] = {"type": "package", "serviceable": True}
    # GHSA spells it Microsoft.NetCore.App.Runtime.linux-arm: NuGet ids are case-insensitive
    deps["libraries"]["Microsoft.NETCore.App.Runtime.linux-arm/9.0.5"] = {"type": "runtimepack", "serviceable": False}
    installed = json.loads((LANG / "php/composer_2/installed.json").read_text())
    installed["packages"] += [{"name": "microsoft/microsoft-graph-core", "version": "2.0.1"},
                              {"name": "contao/core-bundle", "version": "4.4.40"},
                              {"name": "microweber/microweber", "version": "1.2.12"}]  # the fixed release
    image = write_oci_layout(tmp_path / "image", Image([make_layer([
        file("app/TestLibrary.deps.json", json.dumps(deps).encode()),
        file("var/www/vendor/composer/installed.json", json.dumps(installed).encode())])]))
    db = tmp_path / "db.sqlite"
    run = [sys.executable, "-m", "layerwatch_scanner"]
    update = subprocess.run([*run, "db", "update", "--db", str(db), "--source", "ghsa", "--source-url",
                             f"ghsa={GHSA.as_uri()}"], capture_output=True, text=True)
    assert update.returncode == 0, update.stderr
    scan = subprocess.run([*run, "scan", f"oci-dir:{image}", "--db", str(db), "--cache", str(tmp_path / "c.sqlite"),
                           "-o", "json"], capture_output=True, text=True)
    assert scan.returncode == 0, scan.stderr
    doc = json.loads(scan.stdout)
    found = {(f["id"], f["package"], f["version"], f["fixed_version"]) for f in doc["findings"]}
    assert found == {
        ("GHSA-8v6j-gc74-fmpp", "AjaxNetProfessional", "21.10.30.1", "21.12.22.1"),
        ("GHSA-266m-wp2v-x7mq", "Microsoft.NETCore.App.Runtime.linux-arm", "9.0.5", "9.0.6"),
        ("GHSA-mhhp-c3cm-2r86", "microsoft/microsoft-graph-core", "2.0.1", "2.0.2"),
        ("GHSA-wjx8-cgrm-hh8p", "contao/core-bundle", "4.4.40", "4.4.46"),
    }
    assert set(doc["coverage"]["covered"]) == {"NuGet", "Packagist"}
