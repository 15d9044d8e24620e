"""SBOM reports of an inventory: table, json, cyclonedx-json, spdx-json."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from .. import __version__
from ..interfaces import describe_os
from ..model import Inventory
from ..purl import purl_for


def render_table(inventory: Inventory) -> str:
    table = Table(title=f"{inventory.image} ({describe_os(inventory.os)}, {len(inventory.packages)} packages)")
    for column in ("NAME", "VERSION", "TYPE", "LAYER"):
        table.add_column(column, overflow="fold")
    for pkg in inventory.packages:
        table.add_row(pkg.name, pkg.version, pkg.type, pkg.layer.split(":")[-1][:12])
    out = io.StringIO()
    Console(file=out, width=140, force_terminal=False, color_system=None).print(table)
    return out.getvalue()  # warnings go to stderr (cli_sbom), never into the report


def render_json(inventory: Inventory) -> str:
    doc = inventory.to_dict()
    for entry, pkg in zip(doc["packages"], inventory.packages, strict=True):
        entry["purl"] = purl_for(pkg, inventory.os)
    doc["tool"] = {"name": "layerwatch", "version": __version__}
    return json.dumps(doc, indent=2)


def render_cyclonedx(inventory: Inventory) -> str:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom()
    root = Component(name=inventory.image, type=ComponentType.CONTAINER, version=inventory.digest,
                     bom_ref=inventory.digest)
    bom.metadata.component = root
    if inventory.os:
        bom.components.add(Component(name=inventory.os.id, version=inventory.os.version_id,
                                     type=ComponentType.OPERATING_SYSTEM, bom_ref=f"os:{inventory.os.id}"))
    for i, pkg in enumerate(inventory.packages):
        purl = purl_for(pkg, inventory.os)
        bom.components.add(Component(
            name=pkg.name, version=pkg.version, type=ComponentType.LIBRARY, purl=PackageURL.from_string(purl),
            bom_ref=f"{purl}#{i}",
            properties=[Property(name="layerwatch:layer", value=pkg.layer),
                        Property(name="layerwatch:location", value=pkg.path)],
        ))
    bom.register_dependency(root, list(bom.components))
    return JsonV1Dot6(bom).output_as_string(indent=2)


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
    for i, pkg in enumerate(inventory.packages):
        spdx_id = f"SPDXRef-Package-{pkg.type}-{i}"
        packages.append({
            "SPDXID": spdx_id, "name": pkg.name, "versionInfo": pkg.version, "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False, "licenseConcluded": "NOASSERTION",
            "licenseDeclared": " AND ".join(pkg.licenses) if _spdx_expression(pkg.licenses) else "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl_for(pkg, inventory.os)}],
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
    return json.dumps(doc, indent=2)


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
