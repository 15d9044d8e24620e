"""Entry points of installed packages (the plug-in groups such as `layerwatch.commands`).

Why not importlib.metadata.entry_points(): importing importlib.metadata costs ~40 ms (it
brings the email package, zipfile and csv), a quarter of the `layerwatch --help` budget, and a
group lookup needs none of it: each distribution's `entry_points.txt` (the format of the
packaging specification, read the same way), first distribution on sys.path wins.
tests/scanner/test_plugins.py checks this against importlib.metadata for every installed package.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class EntryPoint:
    name: str
    value: str  # "module:attr.attr" (extras "[x]" stripped)
    group: str
    dist: str

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


def entry_points(group: str) -> list[EntryPoint]:
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
            dist = _normalise(name.rsplit(".", 1)[0].split("-")[0])
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(directory or ".", name, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            found.extend(ep for ep in _parse(text, dist) if ep.group == group)
    return found
