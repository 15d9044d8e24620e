"""SUSE OVAL (https://ftp.suse.com/pub/projects/security/oval/): one file per product release,
e.g. `suse.linux.enterprise.server.15.xml.gz` (every service pack of SLES 15, its modules too)
and `opensuse.leap.15.5.xml.gz`. A definition is one CVE; its criteria pair "<product> is
installed" with the package bounds of that product, so each fix is stored for the release its
product names ("SUSE Linux Enterprise Server 15 SP3-LTSS" -> sles:15.3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...feeds.base import Feed, Record
from ...feeds.common import severity_word
from ...vulndb.records import STATUS_FIXED, Affected, Range
from ..oval import read_definitions

BASE = "https://ftp.suse.com/pub/projects/security/oval"
FILES = ["suse.linux.enterprise.server.15.xml.gz", "suse.linux.enterprise.micro.5.xml.gz",
         "suse.linux.micro.6.xml.gz", "opensuse.leap.15.5.xml.gz", "opensuse.leap.15.6.xml.gz"]
_SLE = re.compile(r"^SUSE Linux Enterprise (?:Server|Desktop|High Performance Computing|Module for [\w ]+?|"
                  r"Workstation Extension|Server for SAP Applications|Real Time) (\d+)(?: SP(\d+))?(?:-[A-Z]+)*$")
_MICRO = re.compile(r"^SUSE Linux (?:Enterprise )?Micro (\d+)\.(\d+)$")
_LEAP = re.compile(r"^openSUSE Leap (\d+)\.(\d+)$")
_CVE = re.compile(r"^CVE-\d{4}-\d+$")


def release_of(platform: str) -> str | None:
    """The ecosystem key of a SUSE product name; None for one no image runs (a kernel live patch)."""
    if "Live Patching" in platform:
        return None
    if m := _SLE.match(platform):
        return f"sles:{m.group(1)}.{m.group(2) or 0}"
    if m := _MICRO.match(platform):
        return f"sl-micro:{m.group(1)}.{m.group(2)}"
    if m := _LEAP.match(platform):
        return f"opensuse-leap:{m.group(1)}.{m.group(2)}"
    return None


def expand(base: str) -> list[str]:
    return [base] if base.endswith((".xml", ".xml.gz")) else [f"{base.rstrip('/')}/{name}" for name in FILES]


def parse(url: str, path: Path) -> Iterator[Record]:
    for d in read_definitions(path, "suse"):
        cve = d.title.strip() if _CVE.match(d.title.strip()) else ""
        if not cve:
            continue
        fixes: set[tuple[str, str, str]] = set()
        for platforms, package, operation, evr in d.scoped_bounds():
            if operation != "less than":
                continue
            for release in {r for p in platforms if (r := release_of(p))}:
                fixes.add((release, package, evr))
        for release, package, evr in sorted(fixes):
            yield Affected(vuln_id=cve, ecosystem=release, package=package, source="suse", status=STATUS_FIXED,
                           ranges=[Range(fixed=evr)], severity=severity_word(d.severity), doc=cve)


FEEDS = [Feed("suse", BASE, parse, expand=expand, optional_files=True)]
