"""Shared test configuration.

End-to-end tests marked `e2e` need a real Kubernetes control plane (KUBEBUILDER_ASSETS).
Without it they are deselected with a notice — except under CI=true, where that is an error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

TESTDATA = Path(__file__).parent / "testdata"
_HOME = Path(tempfile.mkdtemp(prefix="layerwatch-test-home-"))


def pytest_configure(config: pytest.Config) -> None:
    """Tests never touch the real ~/.cache, ~/.config or $HOME: every process they start,
    and the code they import, sees a throw-away home (docker config included)."""
    for var, sub in (("HOME", ""), ("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"),
                     ("DOCKER_CONFIG", ".docker")):
        path = _HOME / sub
        path.mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(path)
    (_HOME / ".docker" / "config.json").write_text('{"auths": {}}')  # tools that insist on one (buildah)
    for var in ("LAYERWATCH_CACHE_DIR", "LAYERWATCH_DB_PATH", "LAYERWATCH_CONFIG", "REGISTRY_AUTH_FILE"):
        os.environ.pop(var, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_node_tests(config, items)
    if os.environ.get("KUBEBUILDER_ASSETS"):
        return
    e2e = [item for item in items if item.get_closest_marker("e2e")]
    if not e2e:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(
            "CI=true but KUBEBUILDER_ASSETS is unset: the end-to-end tests need kube-apiserver and etcd"
        )
    items[:] = [item for item in items if not item.get_closest_marker("e2e")]
    config.hook.pytest_deselected(items=e2e)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"NOTICE: {len(e2e)} end-to-end tests deselected: set KUBEBUILDER_ASSETS to a directory "
            "with kube-apiserver and etcd to run them (see README)."
        )


def _deselect_node_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The real-node suite needs root and ../shared/k8s/node: deselected with a notice where
    they are missing — except under CI=true, where that is an error."""
    from tests.support.node import available

    node = [item for item in items if item.get_closest_marker("node")]
    why = available() if node else ""
    if not why:
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true but the real-node suite cannot run: {why}")
    items[:] = [item for item in items if not item.get_closest_marker("node")]
    config.hook.pytest_deselected(items=node)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"NOTICE: {len(node)} real-node tests deselected: {why}.")


@pytest.fixture
def testdata() -> Path:
    return TESTDATA
