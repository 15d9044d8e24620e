"""Report writers: sbom.py (inventories), findings.py (scans), cyclonedx.py, text.py (tables)."""

from __future__ import annotations

import json


def dump_json(doc: object) -> str:
    """Machine formats are written compact: json's C encoder does it in a fraction of the time
    of the indented (pure Python) path, which was most of rendering a large report.
    `| jq .` (or `python -m json.tool`) indents it for reading. The documents are trees built
    here, so the encoder's cycle check is skipped (a sixth of its time on a large image)."""
    return json.dumps(doc, separators=(",", ":"), check_circular=False) + "\n"
