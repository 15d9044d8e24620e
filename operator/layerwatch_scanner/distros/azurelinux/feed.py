"""Azure Linux and CBL-Mariner OVAL (github.com/microsoft/AzureLinuxVulnerabilityData): one
definition per CVE and source package. "less than" bounds are fixes; "less than or equal" an
affected version with no fix yet (`patchable` false); "greater than" where affected versions
begin (taken as inclusive: a version equal to the bound is reported, never missed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...errors import FeedError
from ...feeds.base import Feed, Record
from ...feeds.common import severity_word
from ...vulndb.records import STATUS_AFFECTED, STATUS_FIXED, Affected, Range
from ..oval import read_definitions

BASE = "https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main"
FILES = ["azurelinux-3.0-oval.xml", "cbl-mariner-2.0-oval.xml", "cbl-mariner-1.0-oval.xml"]
_FILE = re.compile(r"(azurelinux|cbl-mariner)-(\d+\.\d+)-oval")
_CVE = re.compile(r"^CVE-\d{4}-\d+$")


def expand(base: str) -> list[str]:
    return [base] if base.endswith(".xml") else [f"{base.rstrip('/')}/{name}" for name in FILES]


def parse(url: str, path: Path) -> Iterator[Record]:
    m = _FILE.search(url.rsplit("/", 1)[-1])
    if not m:
        raise FeedError(f"azurelinux: {url}: the file name names no release (azurelinux-3.0-oval.xml)")
    ecosystem = f"{'mariner' if m.group(1) == 'cbl-mariner' else 'azurelinux'}:{m.group(2)}"
    for d in read_definitions(path, "azurelinux"):
        cve = next((ref for source, ref in d.references if source == "CVE" and _CVE.match(ref)), "")
        if not cve:
            continue
        for package, bounds in sorted(d.bounds.items()):
            fixed, last = bounds.get("less than", ""), bounds.get("less than or equal", "")
            if not fixed and not last:
                continue
            introduced = bounds.get("greater than or equal") or bounds.get("greater than", "")
            yield Affected(vuln_id=cve, ecosystem=ecosystem, package=package, source="azurelinux",
                           status=STATUS_FIXED if fixed else STATUS_AFFECTED,
                           ranges=[Range(introduced=introduced, fixed=fixed, last_affected="" if fixed else last)],
                           severity=severity_word(d.severity), summary=d.title[:300], doc=cve)


FEEDS = [Feed("azurelinux", BASE, parse, expand=expand, optional_files=True)]
