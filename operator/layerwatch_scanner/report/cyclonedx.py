"""CycloneDX 1.6 JSON: the inventory as components, findings as vulnerabilities.

Hand-written and streamed as one document: cyclonedx-python-lib builds the same BOM but takes
~150 ms to import and builds an object per component and property before writing, which
dominated a warm rescan. The tests validate both documents (sbom, scan) against the official
1.6 JSON schema with that library's validator.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .. import __version__
from ..purl import purls_of
from . import dump_json

if TYPE_CHECKING:
    from ..match.findings import Finding
    from ..model import Inventory

SCHEMA = "http://cyclonedx.org/schema/bom-1.6.schema.json"


def _components(inventory: Inventory) -> tuple[list[dict], dict[str, str]]:
    """Components, and purl -> bom-ref (a purl can appear twice: two copies in two paths)."""
    components, refs = [], {}
    if inventory.os:
        components.append({"type": "operating-system", "bom-ref": f"os:{inventory.os.id}", "name": inventory.os.id,
                           "version": inventory.os.version_id})
    for i, (pkg, purl) in enumerate(zip(inventory.packages, purls_of(inventory), strict=True)):
        ref = f"{purl}#{i}"
        refs.setdefault(purl, ref)
        components.append({"type": "library", "bom-ref": ref, "name": pkg.name, "version": pkg.version,
                           "purl": purl,
                           "properties": [{"name": "layerwatch:layer", "value": pkg.layer},
                                          {"name": "layerwatch:location", "value": pkg.path}]})
    return components, refs


def _vulnerability(f: Finding, refs: dict[str, str]) -> dict:
    severity = "info" if f.severity == "Negligible" else f.severity.lower()
    entry: dict = {"id": f.id, "source": {"name": f.source},
                   "ratings": [{"source": {"name": f.source}, "severity": severity, "method": "other"}],
                   "affects": [{"ref": refs.get(f.purl, f.purl)}]}
    if f.cvss_score is not None:
        entry["ratings"].append({"score": f.cvss_score, "method": "CVSSv31" if f.cvss_severity else "other"})
    if f.fixed_version:
        entry["recommendation"] = f"Upgrade {f.package} to {f.fixed_version}"
    return entry


def _uuid4() -> str:
    """A random (version 4) UUID; the uuid module would import `platform` for it."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def render(inventory: Inventory, findings: list[Finding] | None = None) -> str:
    components, refs = _components(inventory)
    root = {"type": "container", "bom-ref": inventory.digest, "name": inventory.image, "version": inventory.digest}
    doc: dict = {
        "$schema": SCHEMA, "bomFormat": "CycloneDX", "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{_uuid4()}", "version": 1,
        "metadata": {"timestamp": datetime.now(UTC).isoformat(),
                     "tools": {"components": [{"type": "application", "name": "layerwatch", "version": __version__}]},
                     "component": root},
        "components": components,
        "dependencies": [{"ref": root["bom-ref"], "dependsOn": [c["bom-ref"] for c in components]},
                         *({"ref": c["bom-ref"]} for c in components)],
    }
    if findings is not None:
        doc["vulnerabilities"] = [_vulnerability(f, refs) for f in findings]
    return dump_json(doc)
