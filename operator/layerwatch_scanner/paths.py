"""Where layerwatch keeps local state: the layer cache and the vulnerability DB.

CLI default `~/.cache/layerwatch` (XDG_CACHE_HOME honoured); in the cluster a volume at
/var/cache/layerwatch, set through LAYERWATCH_CACHE_DIR / LAYERWATCH_DB_PATH.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    explicit = os.environ.get("LAYERWATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "layerwatch"


def layer_cache_path() -> Path:
    return cache_dir() / "layers.sqlite"


def vulndb_path() -> Path:
    explicit = os.environ.get("LAYERWATCH_DB_PATH")
    return Path(explicit) if explicit else cache_dir() / "vulndb.sqlite"
