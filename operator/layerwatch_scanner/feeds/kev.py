"""CISA Known Exploited Vulnerabilities catalog: a flag on each listed CVE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import FeedError
from ..vulndb.records import VulnInfo
from .base import Feed, Record
from .common import read_json


def parse(url: str, path: Path) -> Iterator[Record]:
    doc = read_json(path, "kev")
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise FeedError(f"kev: {url}: expected a catalog with 'vulnerabilities'")
    for item in doc["vulnerabilities"]:
        if isinstance(item, dict) and isinstance(item.get("cveID"), str):
            yield VulnInfo(vuln_id=item["cveID"], kev=True)


FEEDS = [Feed("kev", "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json", parse)]
