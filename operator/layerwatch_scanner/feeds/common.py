"""Helpers shared by the feed parsers: bounded JSON reading, severity names, CVSS scoring."""

from __future__ import annotations

import gzip
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

from cvss import CVSS2, CVSS3, CVSS4

from ..errors import FeedError

MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_ZIP_MEMBERS = 2_000_000


def read_json(path: Path, what: str) -> object:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except (OSError, ValueError, EOFError) as exc:
        raise FeedError(f"{what}: {path.name} is not valid JSON ({exc})") from exc


def iter_documents(path: Path, what: str) -> Iterator[tuple[str, object]]:
    """(name, parsed document) for a zip of JSON records, a directory of JSON/YAML, or one file."""
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix in (".json", ".yaml", ".yml") and file.is_file():
                yield str(file.relative_to(path)), _load(file.read_bytes(), file.name, what)
        return
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
                if len(infos) > MAX_ZIP_MEMBERS:
                    raise FeedError(f"{what}: zip with {len(infos)} members refused")
                for info in infos:
                    if info.is_dir() or not info.filename.endswith((".json", ".yaml", ".yml")):
                        continue
                    if info.file_size > MAX_RECORD_BYTES:  # a zip bomb or garbage: one record is small
                        raise FeedError(f"{what}: zip member {info.filename} claims {info.file_size} bytes")
                    # Names are never used as paths (nothing is extracted), so "../" is harmless.
                    yield info.filename, _load(archive.read(info), info.filename, what)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise FeedError(f"{what}: corrupt zip archive ({exc})") from exc
        return
    yield path.name, read_json(path, what)


def load_document(raw: bytes, name: str, what: str) -> object:
    """One JSON (or YAML) record."""
    return _load(raw, name, what)


def _load(raw: bytes, name: str, what: str) -> object:
    try:
        if name.endswith((".yaml", ".yml")):
            import yaml

            return yaml.safe_load(raw)
        return json.loads(raw)
    except Exception as exc:  # yaml and json raise different error types
        raise FeedError(f"{what}: record {name} is not valid JSON/YAML ({exc})") from exc


SEVERITY_WORDS = {
    "critical": "Critical", "high": "High", "important": "High", "medium": "Medium", "moderate": "Medium",
    "low": "Low", "negligible": "Negligible", "unimportant": "Negligible",
}


def severity_word(value: object) -> str:
    """A source's own rating as a normalised severity name, or "" when it gives none."""
    if not isinstance(value, str):
        return ""
    return SEVERITY_WORDS.get(value.strip().rstrip("*").lower(), "")


def cvss_score(vector: str) -> tuple[float, str] | None:
    """(base score, severity name) of a CVSS v2/v3/v4 vector, via the `cvss` library."""
    try:
        if vector.startswith("CVSS:4"):
            c4 = CVSS4(vector)
            return float(c4.base_score), c4.severity.capitalize()
        if vector.startswith("CVSS:3"):
            c3 = CVSS3(vector)
            return float(c3.scores()[0]), c3.severities()[0].capitalize()
        c2 = CVSS2(vector)
        score = float(c2.scores()[0])
        return score, "High" if score >= 7 else "Medium" if score >= 4 else "Low"
    except Exception:  # the library raises several types on malformed vectors
        return None
