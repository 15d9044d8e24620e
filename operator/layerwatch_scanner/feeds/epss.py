"""FIRST EPSS scores: CSV (optionally gzip'd) with a `#model_version…` comment line."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

from ..errors import FeedError
from ..vulndb.records import VulnInfo
from .base import Feed, Record


def parse(url: str, path: Path) -> Iterator[Record]:
    raw = path.read_bytes()
    try:
        text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FeedError(f"epss: {url}: unreadable ({exc})") from exc
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if not reader.fieldnames or "cve" not in reader.fieldnames or "epss" not in reader.fieldnames:
        raise FeedError(f"epss: {url}: expected columns cve,epss,percentile")
    for row in reader:
        try:
            score = float(row["epss"])
        except (TypeError, ValueError):
            continue
        if row.get("cve", "").startswith("CVE-") and 0.0 <= score <= 1.0:
            yield VulnInfo(vuln_id=row["cve"], epss=score)


FEEDS = [Feed("epss", "https://epss.cyentia.com/epss_scores-current.csv.gz", parse)]
