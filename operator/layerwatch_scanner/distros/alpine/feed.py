"""Alpine secdb (https://secdb.alpinelinux.org/vX.Y/{main,community}.json): `secfixes` per package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ...errors import FeedError
from ...feeds.base import Feed, Record
from ...feeds.common import read_json
from ...vulndb.records import STATUS_FIXED, STATUS_NOT_AFFECTED, Affected, Range

BRANCHES = ["edge"] + [f"v3.{minor}" for minor in range(10, 23)]
REPOSITORIES = ["main", "community"]
_ID = re.compile(r"^(CVE-\d{4}-\d+|GHSA-[\w-]+|XSA-\d+|ZBX-\d+|[A-Z]+-\d{4}-\d+)$")


def expand(base: str) -> list[str]:
    base = base.rstrip("/")
    return [f"{base}/{branch}/{repo}.json" for branch in BRANCHES for repo in REPOSITORIES]


def parse(url: str, path: Path) -> Iterator[Record]:
    doc = read_json(path, "alpine")
    if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
        raise FeedError(f"alpine: {url}: expected a secdb object with 'packages'")
    branch = str(doc.get("distroversion", "")).lstrip("v")
    if not branch:
        raise FeedError(f"alpine: {url}: no distroversion")
    yield from secdb_records(doc, f"alpine:{branch}", "alpine")


def secdb_records(doc: dict, ecosystem: str, source: str) -> Iterator[Record]:
    """The fixes of a secdb document (Alpine's format, which Wolfi and Chainguard publish too):
    per package, `secfixes` maps the version that fixed them (`0`: never affected) to ids."""
    for item in doc["packages"]:
        pkg = item.get("pkg") if isinstance(item, dict) else None
        if not isinstance(pkg, dict) or not isinstance(pkg.get("secfixes"), dict):
            continue
        name = pkg.get("name")
        for version, ids in pkg["secfixes"].items():
            if not isinstance(ids, list):
                continue
            for entry in ids:
                # entries look like "CVE-2017-9798" or "CVE-2019-1010083 GHSA-…" (aliases side by side)
                parts = [p for p in str(entry).split() if _ID.match(p)]
                if not parts or not isinstance(name, str):
                    continue
                version = str(version)
                status = STATUS_NOT_AFFECTED if version == "0" else STATUS_FIXED
                yield Affected(vuln_id=parts[0], aliases=parts[1:], ecosystem=ecosystem, package=name,
                               source=source, status=status,
                               ranges=[] if status == STATUS_NOT_AFFECTED else [Range(fixed=version)])


FEEDS = [Feed("alpine", "https://secdb.alpinelinux.org", parse, expand=expand, optional_files=True)]
