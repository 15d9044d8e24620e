"""OpenVEX input (`--vex FILE`): `not_affected` statements suppress matching findings.

A statement matches a finding when its vulnerability (name or @id) is the finding's id or an
alias, and one of its products is the finding's package (Package URL compared on type,
namespace, name and — when the product gives one — version; qualifiers ignored) or the
scanned image itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from packageurl import PackageURL

from .errors import LayerwatchError
from .match.findings import Finding


@dataclass
class Statement:
    vulnerability: set[str]
    products: list[str]
    justification: str
    impact: str


def _purl_key(purl: str, with_version: bool = True) -> tuple | None:
    try:
        p = PackageURL.from_string(purl)
    except ValueError:
        return None
    return (p.type, p.namespace or "", p.name, p.version or "") if with_version else (p.type, p.namespace or "", p.name)


def load_vex(path: Path) -> list[Statement]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LayerwatchError(f"--vex {path}: not a readable JSON document ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("statements"), list):
        raise LayerwatchError(f"--vex {path}: not an OpenVEX document (no 'statements' list)")
    statements = []
    for i, st in enumerate(doc["statements"]):
        if not isinstance(st, dict) or st.get("status") != "not_affected":
            continue
        vuln = st.get("vulnerability")
        names = {vuln.get("name", ""), vuln.get("@id", "").rsplit("/", 1)[-1]} if isinstance(vuln, dict) else {str(vuln)}
        products = []
        for product in st.get("products") or []:
            pid = product.get("@id") if isinstance(product, dict) else product
            if isinstance(pid, str):
                products.append(pid)
        if not products:
            raise LayerwatchError(f"--vex {path}: statement {i} names no products")
        statements.append(Statement(vulnerability=names - {""}, products=products,
                                    justification=str(st.get("justification", "")),
                                    impact=str(st.get("impact_statement", ""))))
    return statements


def apply_vex(findings: list[Finding], statements: list[Statement], image: str, digest: str
              ) -> tuple[list[Finding], list[Finding]]:
    """(kept findings, suppressed findings with `vex` filled in)."""
    kept, suppressed = [], []
    for finding in findings:
        ids = {finding.id, *finding.aliases}
        match = next((st for st in statements if st.vulnerability & ids and _applies(st, finding, image, digest)),
                     None)
        if match:
            finding.vex = {"status": "not_affected", "justification": match.justification,
                           **({"impact_statement": match.impact} if match.impact else {})}
            suppressed.append(finding)
        else:
            kept.append(finding)
    return kept, suppressed


def _applies(statement: Statement, finding: Finding, image: str, digest: str) -> bool:
    mine = _purl_key(finding.purl)
    for product in statement.products:
        if product in (image, digest) or product.endswith("@" + digest):
            return True
        theirs = _purl_key(product)
        if theirs is None or mine is None:
            continue
        if theirs[3]:
            if theirs == mine:
                return True
        elif theirs[:3] == mine[:3]:
            return True
    return False
