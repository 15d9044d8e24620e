"""Helpers for cataloger tests: feed a real file to a cataloger as the layer walker would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class FileAt:
    """A file as the walker hands it over: in-image path + content."""

    path: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self) -> bytes:
        return self.data


def file_at(path: str, source: Path | bytes) -> FileAt:
    return FileAt(path, source if isinstance(source, bytes) else source.read_bytes())


@pytest.fixture
def as_file():
    return file_at
