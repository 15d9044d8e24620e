"""SBOM reports of an inventory: table, json, cyclonedx-json, spdx-json."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from .. import __version__
from ..model import Inventory, describe_os
from ..purl import purls_of
from . import cyclonedx, dump_json
from .text import table


def render_table(inventory: Inventory) -> str:
    """Warnings go to stderr (cli_sbom), never into the report."""
    title = f"{inventory.image} ({describe_os(inventory.os)}, {len(inventory.packages)} packages)\n"
    return title + table(("NAME", "VERSION", "TYPE", "LAYER"),
                         ((p.name, p.version, p.type, p.layer.split(":")[-1][:12]) for p in inventory.packages))


def render_json(inventory: Inventory) -> str:
    doc = inventory.to_dict()
    for entry, purl in zip(doc["packages"], purls_of(inventory), strict=True):
        entry["purl"] = purl
    doc["tool"] = {"name": "layerwatch", "version": __version__}
    return dump_json(doc)


def render_cyclonedx(inventory: Inventory) -> str:
    return cyclonedx.render(inventory)


def render_spdx(inventory: Inventory) -> str:
    """SPDX 2.3 JSON. Hand-written: the format is a small JSON document and the maintained
    library (spdx-tools) would add a heavy dependency for this one writer."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    image_id = "SPDXRef-Image"
    packages = [{
        "SPDXID": image_id, "name": inventory.image, "versionInfo": inventory.digest,
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False, "primaryPackagePurpose": "CONTAINER",
    }]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": image_id}]
    for i, (pkg, purl) in enumerate(zip(inventory.packages, purls_of(inventory), strict=True)):
        spdx_id = f"SPDXRef-Package-{pkg.type}-{i}"
        packages.append({
            "SPDXID": spdx_id, "name": pkg.name, "versionInfo": pkg.version, "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False, "licenseConcluded": "NOASSERTION",
            "licenseDeclared": " AND ".join(pkg.licenses) if _spdx_expression(pkg.licenses) else "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl}],
            "sourceInfo": f"found in {pkg.path} of layer {pkg.layer}",
        })
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": spdx_id})
    doc = {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": inventory.image,
        "documentNamespace": f"https://layerwatch.dev/spdx/{inventory.digest}/{uuid.uuid4()}",
        "creationInfo": {"created": now, "creators": [f"Tool: layerwatch-{__version__}"]},
        "packages": packages, "relationships": relationships,
    }
    return dump_json(doc)


def _spdx_expression(licenses: list[str]) -> bool:
    """Only simple SPDX identifiers are declared; free text becomes NOASSERTION."""
    return bool(licenses) and all(lic.replace("-", "").replace(".", "").replace("+", "").isalnum()
                                  for lic in licenses)


RENDERERS = {
    "table": render_table,
    "json": render_json,
    "cyclonedx-json": render_cyclonedx,
    "spdx-json": render_spdx,
}
