"""Photon's CVE metadata (https://packages.vmware.com/photon/photon_cve_metadata/), one JSON list
per release: {"cve_id", "pkg", "cve_score", "aff_ver", "res_ver"} per package and CVE."""

from __future__ import annotations

import json
import re

from layerwatch_scanner.errors import FeedError
from layerwatch_scanner.feeds.base import Feed
from layerwatch_scanner.vulndb.records import STATUS_AFFECTED, STATUS_FIXED, Affected, Range

RELEASES = ["4.0", "5.0"]
_FILE = re.compile(r"cve_data_photon(\d+\.\d+)\.json$")


def expand(base):  # noqa: ANN001, ANN201
    return [f"{base.rstrip('/')}/cve_data_photon{release}.json" for release in RELEASES]


def parse(url, path):  # noqa: ANN001, ANN201
    m = _FILE.search(url)
    if not m:
        raise FeedError(f"photon: {url}: not a cve_data_photon<release>.json")
    try:
        entries = json.loads(path.read_bytes())
    except ValueError as exc:
        raise FeedError(f"photon: {url}: not JSON ({exc})") from exc
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("cve_id") or not entry.get("pkg"):
            continue
        fixed = str(entry.get("res_ver") or "")
        score = entry.get("cve_score")
        severity = ""
        if isinstance(score, int | float):
            severity = "Critical" if score >= 9 else "High" if score >= 7 else "Medium" if score >= 4 else "Low"
        yield Affected(vuln_id=str(entry["cve_id"]), ecosystem=f"photon:{m.group(1)}", package=str(entry["pkg"]),
                       source="photon", status=STATUS_FIXED if fixed and fixed != "NA" else STATUS_AFFECTED,
                       ranges=[Range(fixed=fixed)] if fixed and fixed != "NA" else [], severity=severity)


FEEDS = [Feed("photon", "https://packages.vmware.com/photon/photon_cve_metadata", parse, expand=expand,
              optional_files=True)]
