"""Feed updaters: a distribution's live in its folder (distros/<name>/feed.py), the language
ecosystems' and the global ones (OSV, NVD, KEV, EPSS) here, one module per source. Each module
exposes FEEDS: a list of Feed objects (feeds/base.py)."""

from __future__ import annotations

import importlib

FEED_MODULES = ["osv", "nvd", "kev", "epss"]


def all_feeds() -> dict:
    from ..distros import all_distributions

    modules = [f"{__name__}.{m}" for m in FEED_MODULES]
    modules += [m for d in all_distributions() for m in d.feed_modules]
    feeds = {}
    for module in dict.fromkeys(modules):
        for feed in importlib.import_module(module).FEEDS:
            feeds[feed.name] = feed
    return feeds
