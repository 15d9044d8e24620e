"""Debian security tracker JSON (https://security-tracker.debian.org/tracker/data/json).

{source package: {CVE: {description, releases: {codename: {status, fixed_version, urgency}}}}}
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...catalog.osrelease import DEBIAN_CODENAMES
from ...errors import FeedError
from ...feeds.base import Feed, Record
from ...feeds.common import severity_word
from ...vulndb.records import (
    STATUS_AFFECTED,
    STATUS_FIXED,
    STATUS_NOT_AFFECTED,
    STATUS_WONT_FIX,
    Affected,
    Range,
)

CODENAME_TO_VERSION = {v: k for k, v in DEBIAN_CODENAMES.items()} | {"sid": "unstable"}


def _packages(url: str, path: Path) -> Iterator[tuple[str, object]]:
    """(source package, its CVEs) one at a time: the tracker JSON is ~40 MB, ten times that as
    Python objects, so it is read incrementally (ijson) instead of whole."""
    import gzip

    import ijson

    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        try:
            first = ijson.parse(stream)
            _, event, _ = next(first)
            if event != "start_map":
                raise FeedError(f"debian: {url}: expected an object of source packages")
            stream.seek(0)
            yield from ijson.kvitems(stream, "", use_float=True)
        except (ijson.JSONError, ijson.IncompleteJSONError, OSError, EOFError, StopIteration) as exc:
            raise FeedError(f"debian: {path.name} is not valid JSON ({exc})") from exc


def parse(url: str, path: Path) -> Iterator[Record]:
    for package, cves in _packages(url, path):
        if not isinstance(cves, dict):
            continue
        for vuln_id, entry in cves.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("releases"), dict):
                continue
            for codename, release in entry["releases"].items():
                version = CODENAME_TO_VERSION.get(codename)
                if version is None or not isinstance(release, dict):
                    continue
                record = _record(package, vuln_id, version, release, str(entry.get("description", "")))
                if record:
                    yield record


def _record(package: str, vuln_id: str, version: str, release: dict, description: str) -> Affected | None:
    status = release.get("status")
    fixed = release.get("fixed_version") or ""
    urgency = str(release.get("urgency", ""))
    base = {"vuln_id": vuln_id, "ecosystem": f"debian:{version}", "package": package, "source": "debian",
            "severity": severity_word(urgency), "summary": description}
    if status == "resolved":
        if fixed == "0":  # the tracker's way of saying this release never had the bug
            return Affected(**base, status=STATUS_NOT_AFFECTED)
        if not isinstance(fixed, str) or not fixed:
            return None
        return Affected(**base, status=STATUS_FIXED, ranges=[Range(fixed=fixed)])
    if status in ("open", "undetermined"):
        if urgency.startswith("end-of-life") or release.get("nodsa_reason") == "ignored":
            return Affected(**base, status=STATUS_WONT_FIX)
        return Affected(**base, status=STATUS_AFFECTED)
    return None


FEEDS = [Feed("debian", "https://security-tracker.debian.org/tracker/data/json", parse)]
