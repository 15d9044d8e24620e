"""The CRDs are generated from the models, structural, valid, and never drift."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from layerwatch_api.crds import all_crds, render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("directory", ["crds", "charts/layerwatch/crds"])
def test_committed_crds_match_the_models(directory: str) -> None:
    generated = {name: render(crd) for name, crd in all_crds().items()}
    committed = {p.name: p.read_text() for p in (ROOT / directory).glob("*.yaml")}
    assert committed == generated, f"{directory} drifted from the models: run `layerwatch crds --write {directory}`"


@pytest.mark.parametrize("name", list(all_crds()))
def test_crds_are_valid_and_structural(name: str) -> None:
    crd = yaml.safe_load(render(all_crds()[name]))
    kubernetes_validate.validate(crd, "1.35.0", strict=True)
    text = json.dumps(crd)
    for forbidden in ('"$ref"', '"anyOf"', '"title"', '"$defs"'):
        assert forbidden not in text
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["scope"] == "Cluster"


def test_imagescan_printer_columns_and_short_name() -> None:
    crd = all_crds()["imagescans.yaml"]
    assert crd["spec"]["names"]["shortNames"] == ["isc"]
    columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"] if "priority" not in c]
    assert columns == ["Image", "Critical", "High", "Medium", "Low", "Fixable", "Phase", "Age"]
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert schema["spec"]["properties"]["digest"]["pattern"] == "^(sha256:[0-9a-f]{64})?$"
    severity = schema["status"]["properties"]["vulnerabilities"]["items"]["properties"]["severity"]
    assert set(severity["enum"]) == {"Critical", "High", "Medium", "Low", "Negligible", "Unknown"}
    assert all_crds()["vulnerabilitypolicies.yaml"]["spec"]["names"]["shortNames"] == ["vpol"]
