"""The light entry-point reader agrees with importlib.metadata on every installed package, and a
third-party plug-in package adds a distribution and a cataloger without touching layerwatch."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.plugins import _parse, entry_points


def test_same_entry_points_as_importlib_metadata_for_every_group() -> None:
    reference = importlib.metadata.entry_points()
    groups = set(reference.groups)
    assert "layerwatch.commands" in groups and "console_scripts" in groups
    for group in groups:
        expected = sorted((ep.name, ep.value.split("[")[0].strip()) for ep in reference.select(group=group))
        assert sorted((ep.name, ep.value) for ep in entry_points(group)) == expected, group


def test_commands_group_loads_the_operator_and_webhook() -> None:
    commands = {ep.name: ep.load() for ep in entry_points("layerwatch.commands")}
    assert set(commands) >= {"operator", "webhook"} and all(callable(c) for c in commands.values())


@pytest.mark.parametrize("text", ["", "no group = x:y", "[g]\nnot an entry", "[unterminated\na = b:c", "\x00\xff"])
def test_malformed_files_give_nothing_not_an_error(text: str) -> None:
    assert [ep for ep in _parse(text, "d") if ep.group == "g"] == []


# -- a third-party plug-in package (tests/plugins/layerwatch-photon, installed into the test venv) --

def _plugin_installed() -> None:
    names = {ep.name for ep in entry_points("layerwatch.distributions")}
    assert "photon" in names, ("the test plug-in is not installed: "
                               "pip install --no-deps ./tests/plugins/layerwatch-photon (README, Tests)")


def test_plugin_distribution_and_cataloger_are_discovered() -> None:
    _plugin_installed()
    from layerwatch_scanner.catalog import all_catalogers, catalogers_version
    from layerwatch_scanner.distros import for_family, for_os

    photon = for_os("photon")
    assert photon is not None and photon.name == "Photon OS" and for_family("photon") is photon
    assert "conda" in {c.name for c in all_catalogers()}
    assert "conda@layerwatch_photon=0.1.0" in catalogers_version()  # a plug-in upgrade rescans layers


def test_plugin_end_to_end(tmp_path: Path) -> None:
    """A Photon OS image with an rpm database and a conda environment, against Photon's CVE
    metadata: the plug-in's distribution, feed and cataloger do all of it."""
    _plugin_installed()
    import json
    import subprocess
    import sys

    from tests.conftest import TESTDATA
    from tests.scanner.distros.conftest import build_db, os_image, rpmdb_sqlite

    metadata = [{"cve_id": "CVE-2021-3711", "pkg": "openssl", "cve_score": 9.8,
                 "aff_ver": "all versions before 1.1.1l-1.ph4 are vulnerable", "res_ver": "1.1.1l-1.ph4"},
                {"cve_id": "CVE-2021-3712", "pkg": "openssl", "cve_score": 7.4,
                 "aff_ver": "all versions before 1.1.1l-1.ph4 are vulnerable", "res_ver": "1.1.1l-1.ph4"},
                {"cve_id": "CVE-2020-0000", "pkg": "bash", "cve_score": 5.0, "aff_ver": "NA", "res_ver": "NA"}]
    db = build_db(tmp_path, {"/photon_cve_metadata/cve_data_photon4.0.json": json.dumps(metadata).encode()},
                  {"photon": "/photon_cve_metadata"})
    rpmdb = rpmdb_sqlite([("openssl", "0", "1.1.1k", "3.ph4")])
    conda = json.dumps({"name": "numpy", "version": "1.21.0", "build": "py39h", "license": "BSD-3-Clause"}).encode()
    assert (TESTDATA / "pkgdb/os-release/photon-4.0/etc/os-release").exists()
    image = os_image(tmp_path, "photon-4.0", {"var/lib/rpm/rpmdb.sqlite": rpmdb,
                                              "opt/conda/conda-meta/numpy-1.21.0-py39h.json": conda})
    result = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "scan", image, "--db", str(db), "--cache",
                             str(tmp_path / "c.sqlite"), "-o", "json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {(f["id"], f["package"], f["fixed_version"], f["severity"]) for f in doc["findings"]} == {
        ("CVE-2021-3711", "openssl", "1.1.1l-1.ph4", "Critical"), ("CVE-2021-3712", "openssl", "1.1.1l-1.ph4", "High")}
    assert list(doc["coverage"]["covered"]) == ["photon:4.0"]
    sbom = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "sbom", image, "--cache",
                           str(tmp_path / "c.sqlite"), "-o", "json"], capture_output=True, text=True)
    assert sbom.returncode == 0, sbom.stderr
    assert any(p.get("purl", "").startswith("pkg:conda/numpy@1.21.0") for p in json.loads(sbom.stdout)["packages"])


def test_the_entry_point_index_follows_installs_and_removals(tmp_path: Path, monkeypatch) -> None:
    import layerwatch_scanner.plugins as plugins

    site = tmp_path / "site"
    dist = site / "layerwatch_extra-2.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "entry_points.txt").write_text("[layerwatch.catalogers]\nextra = layerwatch_extra:CATALOGER\n")
    monkeypatch.setenv("LAYERWATCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "path", [str(site)])
    monkeypatch.setattr(plugins, "_INDEX", None)
    assert [(e.name, e.dist_version) for e in plugins.entry_points("layerwatch.catalogers")] == [("extra", "2.0")]
    assert (tmp_path / "cache/entry-points.json").exists()
    monkeypatch.setattr(plugins, "_INDEX", None)  # a new process: read from the index file
    assert [e.name for e in plugins.entry_points("layerwatch.catalogers")] == ["extra"]
    import shutil

    shutil.rmtree(dist)  # uninstalled: the directory's time changed, the index is rebuilt
    os.utime(site, ns=(1, 1))
    monkeypatch.setattr(plugins, "_INDEX", None)
    assert plugins.entry_points("layerwatch.catalogers") == []
