"""Wolfi secdb (https://packages.wolfi.dev/os/security.json): Alpine's secdb format, without a
release (Wolfi is rolling)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...errors import FeedError
from ...feeds.base import Feed, Record
from ...feeds.common import read_json
from ..alpine.feed import secdb_records


def secdb_parser(source: str, ecosystem: str):  # noqa: ANN201 - a Feed.parse
    def parse(url: str, path: Path) -> Iterator[Record]:
        doc = read_json(path, source)
        if not isinstance(doc, dict) or not isinstance(doc.get("packages"), list):
            raise FeedError(f"{source}: {url}: expected a secdb object with 'packages'")
        yield from secdb_records(doc, ecosystem, source)
    return parse


FEEDS = [Feed("wolfi", "https://packages.wolfi.dev/os/security.json", secdb_parser("wolfi", "wolfi"))]
