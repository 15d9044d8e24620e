"""Feed updaters, one module per advisory source. Each module exposes FEEDS: a list of Feed
objects (interfaces.FeedUpdater plus `urls()` and `parse()`); list the module here to add one."""

from __future__ import annotations

import importlib

FEED_MODULES = ["debian", "ubuntu", "alpine", "redhat", "osv", "nvd", "kev", "epss"]


def all_feeds() -> dict:
    feeds = {}
    for module in FEED_MODULES:
        for feed in importlib.import_module(f"{__name__}.{module}").FEEDS:
            feeds[feed.name] = feed
    return feeds
