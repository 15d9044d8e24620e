"""What a feed module provides: a name, a default URL, the files to fetch, and a parser."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..vulndb.records import Affected, Mapping, VulnInfo

Record = Affected | VulnInfo | Mapping
Getter = Callable[[str], "bytes | None"]  # GET a small file through the feed client; None on 404


@dataclass
class Delta:
    """What changed upstream since a sync position: the documents whose rows are replaced
    (deleted, then `records` added; a document with no new records stays deleted)."""

    replaced: list[str]
    records: Iterable[Record]
    state: dict  # the new position


@dataclass(frozen=True)
class Feed:
    name: str
    default_url: str
    parse: Callable[[str, Path], Iterator[Record]]  # (url, downloaded file or directory) -> records
    expand: Callable[[str], list[str]] = field(default=lambda base: [base])  # base URL -> file URLs
    optional_files: bool = False  # a 404 on one of several files is "not published", not an error
    # the file URLs read from an index the source publishes (instead of `expand`), e.g. an OSV
    # `all.json` listing one `<id>.json` per advisory
    listing: Callable[[str, Getter], list[str]] | None = None
    # Incremental sync (optional): `checkpoint(url, get)` is the upstream position read before a
    # full download; `incremental(url, state, get)` the changes since `state`, or None when they
    # cannot be told (no change list published, a file:// mirror): then the source is re-read.
    checkpoint: Callable[[str, Getter], dict] | None = None
    incremental: Callable[[str, dict, Getter], Delta | None] | None = None
    # called after each file is downloaded: a source that asks clients to space their
    # requests (NVD without an API key) sleeps there
    pace: Callable[[str], None] | None = None
