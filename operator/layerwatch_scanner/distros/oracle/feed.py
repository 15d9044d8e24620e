"""Oracle Linux errata (ELSA) from https://linux.oracle.com/security/oval/com.oracle.elsa-all.xml.bz2.

Each definition names its platforms ("Oracle Linux 9") and fixes per binary package; a fix
whose version carries `.ksplice` is stored under the package's Ksplice name (see __init__.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...feeds.base import Feed, Record
from ...feeds.common import severity_word
from ...vulndb.records import STATUS_FIXED, Affected, Range
from ..oval import read_definitions
from . import KSPLICE

_PLATFORM = re.compile(r"^Oracle Linux (\d+)$")
_ELSA = re.compile(r"^ELSA-\d{4}-\d+$")


def parse(url: str, path: Path) -> Iterator[Record]:
    for d in read_definitions(path, "oracle"):
        advisory = next((ref for source, ref in d.references if source.lower() == "elsa" and _ELSA.match(ref)), "")
        if not advisory:
            continue
        cves = sorted({ref for source, ref in d.references if source == "CVE"})
        releases = sorted({m.group(1) for p in d.platforms if (m := _PLATFORM.match(p))})
        for release in releases:
            for package, fixed in sorted(set(d.fixes)):
                name = package + KSPLICE if ".ksplice" in fixed else package
                yield Affected(vuln_id=advisory, aliases=cves, ecosystem=f"ol:{release}", package=name,
                               source="oracle", status=STATUS_FIXED, ranges=[Range(fixed=fixed)],
                               severity=severity_word(d.severity), summary=d.title[:300], doc=advisory)


FEEDS = [Feed("oracle", "https://linux.oracle.com/security/oval/com.oracle.elsa-all.xml.bz2", parse)]
