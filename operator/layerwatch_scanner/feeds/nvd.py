"""NVD CVE API 2.0: CVSS scores, the severity fallback when a distribution gives none.

The API is paged; a file:// URL (or a single page) is read as one page of results.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import FeedError
from ..vulndb.records import VulnInfo
from .base import Feed, Record
from .common import cvss_score, read_json

METRIC_ORDER = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")


def info_from_cve(cve: dict) -> VulnInfo | None:
    vuln_id = cve.get("id")
    if not isinstance(vuln_id, str):
        return None
    metrics = cve.get("metrics") if isinstance(cve.get("metrics"), dict) else {}
    descriptions = [d.get("value", "") for d in cve.get("descriptions") or [] if isinstance(d, dict)
                    and d.get("lang") == "en"]
    for key in METRIC_ORDER:
        entries = metrics.get(key) or []
        primary = [m for m in entries if isinstance(m, dict) and m.get("type") == "Primary"] or entries
        for metric in primary:
            vector = (metric.get("cvssData") or {}).get("vectorString") if isinstance(metric, dict) else None
            if isinstance(vector, str):
                scored = cvss_score(vector)
                if scored:
                    return VulnInfo(vuln_id=vuln_id, cvss_score=scored[0], cvss_vector=vector,
                                    cvss_severity=scored[1], description=descriptions[0] if descriptions else "")
    return None


def parse(url: str, path: Path) -> Iterator[Record]:
    doc = read_json(path, "nvd")
    if not isinstance(doc, dict):
        raise FeedError(f"nvd: {url}: expected an API 2.0 response object")
    items = doc.get("vulnerabilities")
    if items is None and "id" in doc:  # a single CVE record
        items = [{"cve": doc}]
    if not isinstance(items, list):
        raise FeedError(f"nvd: {url}: no 'vulnerabilities' list")
    for item in items:
        cve = item.get("cve") if isinstance(item, dict) else None
        if isinstance(cve, dict):
            info = info_from_cve(cve)
            if info:
                yield info


FEEDS = [Feed("nvd", "https://services.nvd.nist.gov/rest/json/cves/2.0", parse)]
