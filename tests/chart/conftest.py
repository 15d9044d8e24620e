"""Fixtures for the chart tests: the real `helm` binary and rendered manifests."""

from __future__ import annotations

import pytest

from tests.chart.helm_support import ALL_FEATURES, find_tool, render


@pytest.fixture(scope="session")
def helm() -> str:
    return find_tool("helm")


@pytest.fixture(scope="session")
def default_manifests(helm: str) -> list[dict]:
    return render(helm)


@pytest.fixture(scope="session")
def full_manifests(helm: str) -> list[dict]:
    return render(helm, *ALL_FEATURES)
