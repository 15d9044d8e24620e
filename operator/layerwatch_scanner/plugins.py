"""Entry points of installed packages (the plug-in groups such as `layerwatch.commands`).

Why not importlib.metadata.entry_points(): importing importlib.metadata costs ~40 ms (it
brings the email package, zipfile and csv), a quarter of the `layerwatch --help` budget, and a
group lookup needs none of it: each distribution's `entry_points.txt` (the format of the
packaging specification, read the same way), first distribution on sys.path wins.
tests/scanner/test_plugins.py checks this against importlib.metadata for every installed package.

Reading every installed distribution's file costs a few milliseconds, a tenth of a warm rescan,
which needs the plug-in catalogers (their versions are part of the layer-cache key). So the
index of all groups is kept in the cache directory, keyed by the modification times of the
sys.path directories: installing or removing a distribution adds or removes its `.dist-info`
directory, which changes its parent's time, and the index is read afresh.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str  # "module:attr.attr" (extras "[x]" stripped)
    group: str
    dist: str
    dist_version: str = ""  # of the distribution that declares it (a plug-in cataloger's cache key)

    def load(self):  # noqa: ANN201
        module, _, attrs = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _parse(text: str, dist: str) -> list[EntryPoint]:
    found, group = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition("=")
        if group and sep:
            found.append(EntryPoint(name.strip(), value.split("[")[0].strip(), group, dist))
    return found


def _scan() -> list[EntryPoint]:
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for directory in sys.path:
        try:
            names = sorted(os.listdir(directory or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            stem = name.rsplit(".", 1)[0]
            dist = _normalise(stem.split("-")[0])
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(directory or ".", name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            version = stem.split("-")[1] if "-" in stem else ""
            found.extend(EntryPoint(ep.name, ep.value, ep.group, dist, version) for ep in _parse(text, dist))
    return found


def _fingerprint() -> list:
    stamps = []
    for directory in sys.path:
        try:
            stamps.append([directory, os.stat(directory or ".").st_mtime_ns])
        except OSError:
            stamps.append([directory, None])
    return stamps


_INDEX: list[EntryPoint] | None = None


def _index() -> list[EntryPoint]:
    global _INDEX
    if _INDEX is not None:
        return _INDEX
    from .paths import cache_dir

    path = cache_dir() / "entry-points.json"
    stamps = _fingerprint()
    try:
        doc = json.loads(path.read_text())
        if doc.get("fingerprint") == stamps:
            _INDEX = [EntryPoint(*row) for row in doc["entry_points"]]
            return _INDEX
    except (OSError, ValueError, TypeError, KeyError):
        pass
    _INDEX = _scan()
    try:  # a cache only: an unwritable directory just means scanning each time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fingerprint": stamps, "entry_points": [
            [ep.name, ep.value, ep.group, ep.dist, ep.dist_version] for ep in _INDEX]}))
        os.replace(tmp, path)
    except OSError:
        pass
    return _INDEX


def entry_points(group: str) -> list[EntryPoint]:
    return [ep for ep in _index() if ep.group == group]
