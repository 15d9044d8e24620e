"""Fixtures shared by the scanner tests."""

from __future__ import annotations

import pytest

from tests.scanner.feeds_support import upstream_files
from tests.support.feedserver import FeedServer


@pytest.fixture
def feed_server():
    """The real feed files, served over HTTP in their upstream URL layout."""
    server = FeedServer(files=upstream_files()).start()
    yield server
    server.stop()
