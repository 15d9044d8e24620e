"""Python package versions: PEP 440 as PyPA's `packaging` implements it (the reference).

Strings that are not PEP 440 (old releases on PyPI: "2004d", "1.0-SNAPSHOT", "0.3.4-dev")
are ordered as pip ordered them before it dropped them: packaging 21's LegacyVersion
(setuptools' historic scheme, ported below), which sorts every legacy string before every
PEP 440 version. Nothing raises; `is_valid` says whether the string is PEP 440.
"""

from __future__ import annotations

import functools
import re

from packaging.version import InvalidVersion, Version

# packaging 21.3 packaging/version.py: _legacy_version_component_re and its replacement map
_LEGACY_COMPONENT = re.compile(r"(\d+ | [a-z]+ | \.| -)", re.VERBOSE)
_LEGACY_REPLACE = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}


def _legacy_parts(s: str):  # noqa: ANN202 - generator of sort-key parts
    for part in _LEGACY_COMPONENT.split(s):
        part = _LEGACY_REPLACE.get(part, part)
        if not part or part == ".":
            continue
        if part[:1] in "0123456789":
            yield part.zfill(8)  # pad for numeric comparison
        else:
            yield "*" + part
    yield "*final"  # alpha/beta/candidate before final


def _legacy_key(version: str) -> tuple:
    parts: list[str] = []
    for part in _legacy_parts(version.lower()):
        if part.startswith("*"):
            if part < "*final":  # remove "-" before a pre-release tag
                while parts and parts[-1] == "*final-":
                    parts.pop()
            while parts and parts[-1] == "00000000":  # trailing zeros of each numeric series
                parts.pop()
        parts.append(part)
    return tuple(parts)


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> tuple:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, _legacy_key(version))  # epoch -1 in packaging 21: before every PEP 440 version


def compare(a: str, b: str) -> int:
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)


def is_valid(version: str) -> bool:
    return _key(version)[0] == 1
