"""What a feed module provides: a name, a default URL, the files to fetch, and a parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..vulndb.records import Affected, VulnInfo

Record = Affected | VulnInfo


@dataclass(frozen=True)
class Feed:
    name: str
    default_url: str
    parse: Callable[[str, Path], Iterator[Record]]  # (url, downloaded file or directory) -> records
    expand: Callable[[str], list[str]] = field(default=lambda base: [base])  # base URL -> file URLs
    optional_files: bool = False  # a 404 on one of several files is "not published", not an error
