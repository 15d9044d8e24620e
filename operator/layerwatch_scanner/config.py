"""The optional config file (~/.config/layerwatch/config.yaml or LAYERWATCH_CONFIG) and the
LAYERWATCH_FEED_URL_<NAME> environment variables; flags win over both."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from .errors import LayerwatchError


def config_path() -> Path:
    explicit = os.environ.get("LAYERWATCH_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "layerwatch" / "config.yaml"


def load_config() -> dict:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LayerwatchError(f"config file {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise LayerwatchError(f"config file {path}: expected a mapping at the top level")
    return doc


def feed_urls() -> dict[str, str]:
    """Source name -> URL: config file `sources:` first, then LAYERWATCH_FEED_URL_OSV_PYPI=… variables."""
    urls: dict[str, str] = {}
    sources = load_config().get("sources") or {}
    if not isinstance(sources, dict):
        raise LayerwatchError(f"config file {config_path()}: 'sources' must map names to URLs")
    urls.update({str(k): str(v) for k, v in sources.items()})
    for key, value in os.environ.items():
        if key.startswith("LAYERWATCH_FEED_URL_") and value:
            urls[key.removeprefix("LAYERWATCH_FEED_URL_").lower().replace("_", "-")] = value
    return urls
