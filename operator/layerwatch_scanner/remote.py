"""A scan matched by a layerwatch server (`layerwatch scan --server URL`): the image is pulled and
cataloged here, and only its package list goes to the server's `POST /v1/match`, as Trivy's
client/server mode does; private images never leave CI and CI carries no database.

The wire format of a match (version 1) is shared with the server (layerwatch_server): findings,
advice, coverage, the versions no scheme could read, and what the database holds. The client
renders it with the same renderers as a local scan, so every output format and exit code is the
same.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LayerwatchError

if TYPE_CHECKING:
    from .model import Inventory
    from .scanning import ScanResult

WIRE_VERSION = 1
MAX_ANSWER = 64 * 1024 * 1024


def result_to_wire(result: ScanResult) -> dict:
    meta = result.database
    return {
        "version": WIRE_VERSION,
        "findings": [f.to_dict() for f in result.findings],
        "remediation": [a.to_dict() for a in result.remediation],
        "coverage": result.coverage.to_dict(),
        "problems": list(result.problems),
        "database": {"schema_version": meta.schema_version, "built_at": meta.built_at, "build_id": meta.build_id,
                     "sources": {name: {"url": s.url, "records": s.records, "last_success": s.last_success}
                                 for name, s in meta.sources.items()}},
    }


def result_from_wire(inventory: Inventory, doc: dict) -> ScanResult:
    from .match.coverage import Coverage
    from .match.findings import Finding
    from .match.remediation import LayerAdvice
    from .scanning import ScanResult
    from .vulndb.store import DBMetadata, SourceMeta

    if not isinstance(doc, dict) or doc.get("version") != WIRE_VERSION:
        raise LayerwatchError(f"the server answered match format {doc.get('version') if isinstance(doc, dict) else '?'}"
                              f", this layerwatch reads {WIRE_VERSION}: use the same layerwatch version on both")
    try:
        db = doc["database"]
        meta = DBMetadata(schema_version=int(db["schema_version"]), built_at=str(db["built_at"]),
                          build_id=str(db.get("build_id", "")),
                          sources={n: SourceMeta(url=s["url"], records=s["records"], last_success=s["last_success"])
                                   for n, s in db["sources"].items()})
        return ScanResult(inventory, [Finding.from_dict(f) for f in doc["findings"]],
                          [LayerAdvice.from_dict(a) for a in doc["remediation"]], meta,
                          Coverage.from_dict(doc["coverage"]), list(doc["problems"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LayerwatchError(f"the server's answer is not a readable match ({type(exc).__name__}: {exc})") from exc


def read_token(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        token = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise LayerwatchError(f"--token-file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError:
        raise LayerwatchError(f"--token-file {path} is not a token (expected one line of ASCII text)") from None
    if not token or not token.isprintable() or " " in token:
        raise LayerwatchError(f"--token-file {path} is not a token (expected one line of ASCII text, no spaces)")
    return token


def match_remote(server: str, token: str, inventory: Inventory, max_age_seconds: float | None = None,
                 timeout: float = 120.0) -> ScanResult:
    """POST the inventory to `server`/v1/match; the answer as a ScanResult. `max_age_seconds`:
    the `--max-db-age` the server judges its data by, as a local scan would (its coverage then
    says "stale", never clean). Every failure is one line naming the server and what it said."""
    import httpx

    from .purl import purls_of

    purls_of(inventory)
    doc = inventory.to_dict()
    doc["purls"] = inventory.purls
    url = server.rstrip("/") + "/v1/match"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        body = {"inventory": doc} if max_age_seconds is None else {"inventory": doc, "max_db_age_seconds": max_age_seconds}
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise LayerwatchError(f"layerwatch server {server}: {type(exc).__name__}: {exc}") from exc
    if response.status_code in (401, 403):
        raise LayerwatchError(f"layerwatch server {server} refused the token (HTTP {response.status_code}): "
                              "pass --token-file with a token it accepts")
    if response.status_code != 200:
        try:
            reason = response.json().get("detail", "")
        except ValueError:
            reason = response.text[:200]
        raise LayerwatchError(f"layerwatch server {server} answered HTTP {response.status_code}: {reason}")
    if len(response.content) > MAX_ANSWER:
        raise LayerwatchError(f"layerwatch server {server}: answer larger than {MAX_ANSWER} bytes")
    try:
        answer = response.json()
    except ValueError as exc:
        raise LayerwatchError(f"layerwatch server {server}: the answer is not JSON") from exc
    return result_from_wire(inventory, answer)
