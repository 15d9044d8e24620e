"""Real docker-registry processes, one per mode, shared by the registry tests."""

from __future__ import annotations

import pytest

from tests.support.registry import Registry, start_registry


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory) -> Registry:
    registry = start_registry("plain", tmp_path_factory.mktemp("registry-plain"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory) -> Registry:
    registry = start_registry("tls-basic", tmp_path_factory.mktemp("registry-tls"))
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory) -> Registry:
    registry = start_registry("token", tmp_path_factory.mktemp("registry-token"))
    yield registry
    registry.stop()
