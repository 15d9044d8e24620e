"""The real control plane, shared by the end-to-end tests (marked e2e: see tests/conftest.py)."""

from __future__ import annotations

import pytest
from layerwatch_api.crds import all_crds

from tests.support.k8s import ControlPlane, start_control_plane


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> ControlPlane:
    plane = start_control_plane(tmp_path_factory.mktemp("envtest"))
    for crd in all_crds().values():
        plane.apply(crd)
    plane.wait_crds_established([crd["metadata"]["name"] for crd in all_crds().values()])
    yield plane
    plane.stop()
