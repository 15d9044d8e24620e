"""Amazon Linux Security Advisories (ALAS) from the `updateinfo.xml.gz` of each release's core
repository: cdn.amazonlinux.com publishes a `mirror.list` per release, whose repository's
`repodata/repomd.xml` names the updateinfo file (its name carries a checksum, so a changed file
is a new URL). A mirror can be given as the updateinfo URL itself.

Each `<update type="security">` (id `ALAS2-2023-2100`, `ALAS2023-2024-500`, `ALAS-2018-1000`)
lists its CVEs as references and the fixed binary packages with epoch, version and release.
XML is read with defusedxml: a document with a DTD or entities (external ones, "billion
laughs") is refused, as no updateinfo has them.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ...errors import FeedError
from ...feeds.base import Feed, Getter, Record
from ...feeds.common import severity_word
from ...vulndb.records import STATUS_FIXED, Affected, Range

BASE = "https://cdn.amazonlinux.com"
MIRROR_LISTS = {"2": "/2/core/latest/x86_64/mirror.list", "2023": "/al2023/core/mirrors/latest/x86_64/mirror.list"}
_ID = re.compile(r"^ALAS(2023|2)?[A-Z0-9.]*-\d{4}-\d+$")
_REPO = "{http://linux.duke.edu/metadata/repo}"


def listing(base: str, get: Getter) -> list[str]:
    """The updateinfo URL of each release, through its mirror list and repomd.xml."""
    if base.endswith((".xml", ".xml.gz")):
        return [base]
    urls = []
    for release, path in MIRROR_LISTS.items():
        body = get(base.rstrip("/") + path)
        lines = [line.strip() for line in (body or b"").decode("utf-8", "replace").splitlines() if line.strip()]
        if not lines or not lines[0].startswith(("http://", "https://")):
            raise FeedError(f"amazon: Amazon Linux {release}: {base}{path} names no repository")
        repo = lines[0].rstrip("/") + "/"
        repomd = get(repo + "repodata/repomd.xml")
        if repomd is None:
            raise FeedError(f"amazon: Amazon Linux {release}: {repo}repodata/repomd.xml not found")
        try:
            root = SafeET.fromstring(repomd)
        except (ET.ParseError, DefusedXmlException) as exc:
            raise FeedError(f"amazon: {repo}repodata/repomd.xml is not XML ({exc})") from exc
        hrefs = [data.find(f"{_REPO}location").get("href", "") for data in root.iter(f"{_REPO}data")
                 if data.get("type") == "updateinfo" and data.find(f"{_REPO}location") is not None]
        if not hrefs or not hrefs[0]:
            raise FeedError(f"amazon: {repo}repodata/repomd.xml names no updateinfo")
        urls.append(urljoin(repo, hrefs[0]))
    return urls


def _release(advisory: str) -> str | None:
    m = _ID.match(advisory)
    if not m:
        return None
    return m.group(1) or "1"


def _evr(package: ET.Element) -> str:
    epoch, version, release = package.get("epoch") or "0", package.get("version"), package.get("release")
    if not version or not release:
        return ""
    return f"{version}-{release}" if epoch == "0" else f"{epoch}:{version}-{release}"


def parse(url: str, path: Path) -> Iterator[Record]:
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            yield from _updates(gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw)
    except (ET.ParseError, DefusedXmlException, OSError, EOFError, zlib.error) as exc:  # BadGzipFile: an OSError
        raise FeedError(f"amazon: {url}: not a readable updateinfo ({exc})") from exc


def _updates(stream) -> Iterator[Record]:  # noqa: ANN001 - a binary file
    for _, elem in SafeET.iterparse(stream, events=("end",)):
        if elem.tag != "update":
            continue
        advisory = (elem.findtext("id") or "").strip()
        release = _release(advisory)
        if elem.get("type") == "security" and release:
            cves = sorted({r.get("id", "") for r in elem.iter("reference") if r.get("type") == "cve"} - {""})
            severity = severity_word(elem.findtext("severity") or "")
            fixed = {(p.get("name") or "", _evr(p)) for p in elem.iter("package")}
            for name, evr in sorted(fixed):
                if name and evr:
                    yield Affected(vuln_id=advisory, aliases=cves, ecosystem=f"amzn:{release}", package=name,
                                   source="amazon", status=STATUS_FIXED, ranges=[Range(fixed=evr)],
                                   severity=severity, summary=(elem.findtext("title") or "")[:300])
        elem.clear()  # the file is read as it streams: a parsed update is dropped


FEEDS = [Feed("amazon", BASE, parse, listing=listing)]
