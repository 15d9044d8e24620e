"""`layerwatch db push|pull`: the database as an OCI artifact, against a real docker-registry in
every auth mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from layerwatch_scanner.errors import AuthError, RegistryError
from layerwatch_scanner.vulndb.artifact import ARTIFACT_TYPE, CONFIG_TYPE, LAYER_TYPE, pull_db, push_db
from layerwatch_scanner.vulndb.store import VulnDB
from layerwatch_scanner.vulndb.update import update_db

from tests.scanner.feeds_support import FEEDS
from tests.scanner.registry.test_registry_real import options_for, push_to, sample_image
from tests.support.registry import PASSWORD, USER, Registry


@pytest.fixture(scope="module")
def built_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "vulndb.sqlite"
    report = update_db(path, ["alpine", "kev"], {"alpine": (FEEDS / "alpine").as_uri(),
                                                 "kev": (FEEDS / "kev/valid-catalog-1.json").as_uri()})
    assert report.installed and not report.failed
    return path


@pytest.mark.parametrize("mode", ["plain_registry", "tls_registry", "token_registry"])
def test_push_then_pull_round_trip(mode: str, request: pytest.FixtureRequest, built_db: Path, tmp_path: Path) -> None:
    registry: Registry = request.getfixturevalue(mode)
    ref = f"{registry.host}/layerwatch/vulndb:3"
    digest = push_db(built_db, ref, options_for(registry))
    with registry.client() as client:
        manifest = client.get(f"{registry.base_url}/v2/layerwatch/vulndb/manifests/3",
                              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert manifest["artifactType"] == ARTIFACT_TYPE and manifest["config"]["mediaType"] == CONFIG_TYPE
    assert manifest["layers"][0]["mediaType"] == LAYER_TYPE
    target = tmp_path / "pulled.sqlite"
    assert pull_db(ref, target, options_for(registry)) == digest
    original, pulled = VulnDB.open(built_db), VulnDB.open(target)
    assert pulled.count() == original.count() > 0
    assert pulled.metadata().build_id == original.metadata().build_id  # the same build, not a rebuild
    assert pull_db(f"{registry.host}/layerwatch/vulndb@{digest}", target, options_for(registry)) == digest
    # pushing the same build again uploads nothing new and gives the same digest
    assert push_db(built_db, ref, options_for(registry)) == digest


def test_pull_refuses_what_is_not_a_database_and_keeps_the_current_one(plain_registry: Registry, built_db: Path,
                                                                       tmp_path: Path) -> None:
    push_to(plain_registry, "team/app", "1.0", sample_image())
    target = tmp_path / "db.sqlite"
    target.write_bytes(built_db.read_bytes())
    with pytest.raises(RegistryError, match="not a layerwatch database artifact"):
        pull_db(f"{plain_registry.host}/team/app:1.0", target)
    with pytest.raises(RegistryError, match="not found"):
        pull_db(f"{plain_registry.host}/layerwatch/none:1", target)
    assert VulnDB.open(target).count() == VulnDB.open(built_db).count()


def test_push_needs_the_right_credentials(tls_registry: Registry, built_db: Path) -> None:
    opts = options_for(tls_registry)
    opts.password = "wrong-password"
    with pytest.raises(AuthError, match=USER) as info:
        push_db(built_db, f"{tls_registry.host}/layerwatch/vulndb:x", opts)
    assert "wrong-password" not in str(info.value)


def test_cli_push_and_pull_with_password_on_stdin(tls_registry: Registry, built_db: Path, tmp_path: Path) -> None:
    ref = f"{tls_registry.host}/cli/vulndb:latest"
    common = ["--username", USER, "--password-stdin", "--ca-cert", str(tls_registry.ca_path)]
    push = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "db", "push", ref, "--db", str(built_db),
                           *common], input=PASSWORD + "\n", capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    target = tmp_path / "cli.sqlite"
    pull = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "db", "pull", ref, "--db", str(target),
                           *common], input=PASSWORD + "\n", capture_output=True, text=True)
    assert pull.returncode == 0, pull.stderr
    assert json.dumps(VulnDB.open(target).metadata().sources["kev"].records) == json.dumps(
        VulnDB.open(built_db).metadata().sources["kev"].records)
    assert PASSWORD not in push.stdout + push.stderr + pull.stdout + pull.stderr
    missing = subprocess.run([sys.executable, "-m", "layerwatch_scanner", "db", "pull", ref, "--db", str(target)],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "error:" in missing.stderr and "Traceback" not in missing.stderr
