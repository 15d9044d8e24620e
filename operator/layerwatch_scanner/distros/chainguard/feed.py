"""Chainguard: the secdb (https://packages.cgr.dev/chainguard/security.json) and the OSV
advisories (https://packages.cgr.dev/chainguard/osv/all.json, then one `<id>.json` each)."""

from __future__ import annotations

from ...feeds.base import Feed
from ...feeds.osv import osv_index_feed
from ..wolfi.feed import secdb_parser

FEEDS = [
    Feed("chainguard", "https://packages.cgr.dev/chainguard/security.json", secdb_parser("chainguard", "chainguard")),
    osv_index_feed("chainguard-osv", "https://packages.cgr.dev/chainguard/osv"),
]
