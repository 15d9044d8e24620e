"""NVD CVE API 2.0: CVSS scores (the severity fallback when a distribution gives none), and the
CPE ranges of the software the binaries cataloger recognises (catalog/binaries.py), the one
source that speaks of upstream releases rather than a distribution's builds.

By default only those products' CVEs are read: one query per product
(`virtualMatchString=cpe:2.3:a:openssl:openssl`), paged as the API pages (at most 2,000 per
page), paced as NVD asks clients without an API key to be (one request per 6 seconds). A URL
with a query, a file:// URL or a single page is read as one page of results.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from ..errors import FeedError
from ..vulndb.records import STATUS_AFFECTED, Affected, Range, VulnInfo
from .base import Feed, Getter, Record
from .common import cvss_score, read_json

PAGE = 2000  # the API's largest page
NVD_HOST = "services.nvd.nist.gov"
PACE_SECONDS = 6.0  # NVD's advice to clients without an API key

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


def _products() -> dict[tuple[str, str], str]:
    from ..catalog.binaries import NVD_PRODUCTS

    return {tuple(cpe.split(":")): package for package, cpes in NVD_PRODUCTS.items() for cpe in cpes}


def _summary(cve: dict) -> str:
    english = [d.get("value", "") for d in cve.get("descriptions") or [] if isinstance(d, dict) and d.get("lang") == "en"]
    return str(english[0])[:300] if english else ""


def _bound(match: dict, key: str) -> str:
    value = match.get(key)
    return value if isinstance(value, str) and len(value) <= 100 else ""


def affected_from_cve(cve: dict, products: dict[tuple[str, str], str]) -> Iterator[Affected]:
    """The binaries' packages this CVE's vulnerable CPE matches name, as ranges of upstream
    releases (ecosystem "generic", scheme "upstream"). A platform a configuration requires
    ("openssl running on fedora") is not asked for: the software itself is affected."""
    vuln_id = cve.get("id")
    found: dict[str, Affected] = {}
    for config in cve.get("configurations") or []:
        for node in (config.get("nodes") or []) if isinstance(config, dict) else []:
            if not isinstance(node, dict) or node.get("negate"):
                continue
            for match in node.get("cpeMatch") or []:
                if not isinstance(match, dict) or match.get("vulnerable") is not True:
                    continue
                parts = str(match.get("criteria", "")).split(":")
                if len(parts) < 7 or parts[2] != "a" or (parts[3], parts[4]) not in products:
                    continue
                package = products[(parts[3], parts[4])]
                record = found.setdefault(package, Affected(vuln_id=vuln_id, ecosystem="generic", package=package,
                                                            source="nvd", status=STATUS_AFFECTED, doc=vuln_id,
                                                            summary=_summary(cve)))
                version, update = parts[5], parts[6]
                if version not in ("*", "-", ""):  # one release named: "1.0.1", update "beta1"
                    record.versions.append(version if update in ("*", "-", "") else f"{version}-{update}")
                    continue
                # a start that excludes its version is taken as including it: one release more
                introduced = _bound(match, "versionStartIncluding") or _bound(match, "versionStartExcluding")
                rng = Range(introduced=introduced, fixed=_bound(match, "versionEndExcluding"),
                            last_affected=_bound(match, "versionEndIncluding"))
                if rng.fixed or rng.last_affected or rng.introduced:
                    record.ranges.append(rng)
                else:  # every release
                    record.ranges.append(Range())
    for record in found.values():
        if any(r.fixed for r in record.ranges):
            record.status = "fixed"
        yield record


def parse(url: str, path: Path) -> Iterator[Record]:
    doc = read_json(path, "nvd")
    if not isinstance(doc, dict):
        raise FeedError(f"nvd: {url}: expected an API 2.0 response object")
    items = doc.get("vulnerabilities")
    if items is None and "id" in doc:  # a single CVE record
        items = [{"cve": doc}]
    if not isinstance(items, list):
        raise FeedError(f"nvd: {url}: no 'vulnerabilities' list")
    products = _products()
    for item in items:
        cve = item.get("cve") if isinstance(item, dict) else None
        if isinstance(cve, dict) and isinstance(cve.get("id"), str):
            info = info_from_cve(cve)
            if info:
                yield info
            yield from affected_from_cve(cve, products)


def _pace(url: str) -> None:
    if urlsplit(url).hostname == NVD_HOST:
        time.sleep(PACE_SECONDS)


def listing(url: str, get: Getter) -> list[str]:
    """One URL per page of each product's CVEs; a URL with a query (or not http) as it is."""
    parts = urlsplit(url)
    if parts.query or parts.scheme not in ("http", "https"):
        return [url]
    pages = []
    for vendor, product in sorted(_products()):
        query = {"virtualMatchString": f"cpe:2.3:a:{vendor}:{product}"}
        body = get(f"{url}?{urlencode({**query, 'resultsPerPage': 1, 'startIndex': 0})}")
        _pace(url)
        try:
            total = int(json.loads(body or b"{}").get("totalResults", 0))
        except (ValueError, AttributeError, TypeError) as exc:
            raise FeedError(f"nvd: {url}: the count of {vendor}:{product} CVEs is unreadable ({exc})") from exc
        pages += [f"{url}?{urlencode({**query, 'resultsPerPage': PAGE, 'startIndex': start})}"
                  for start in range(0, total, PAGE)]
    return pages


FEEDS = [Feed("nvd", "https://services.nvd.nist.gov/rest/json/cves/2.0", parse, listing=listing, pace=_pace)]
