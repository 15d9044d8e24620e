"""Composer (Packagist) versions: composer/semver's VersionParser::normalize, then PHP's
version_compare(), which is how Composer orders versions (Comparator::compare).

Normalising strips a leading "v", pads the number to four parts ("1.2" -> "1.2.0.0") and spells
stability suffixes as Composer does (-alpha, -beta, -RC, -patch; "-stable" drops). version_compare
splits on ".", "-", "_", "+" and between digits and letters; parts compare as numbers, or by the
special forms dev < alpha = a < beta = b < RC = rc < (a number) < pl = p, matched as prefixes
("patch" is "p"); any other word sorts below all of them. Hand-written: no maintained Python port of either exists.
"""

from __future__ import annotations

import functools
import re

_NORMAL = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
                     r"(?:[._-]?(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?$", re.I)
_STABILITY = {"stable": "", "beta": "beta", "b": "beta", "rc": "RC", "alpha": "alpha", "a": "alpha",
              "patch": "patch", "pl": "patch", "p": "patch"}
# php_version_compare's special forms, matched as prefixes in this order ("patch" is "p")
_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3), ("#", 4), ("pl", 5),
          ("p", 5))
_PARTS = re.compile(r"\d+|[^\d._+-]+")
_MAX = 256


@functools.lru_cache(maxsize=65536)
def normalize(version: str) -> str:
    m = _NORMAL.match(version.strip()) if len(version) <= _MAX else None
    if not m:
        raise ValueError(f"not a Composer version: {version!r}")
    numbers = ".".join(g or "0" for g in m.groups()[:4])
    suffix = ""
    if m.group(5):
        stability = _STABILITY[m.group(5).lower()]
        if stability:
            suffix = f"-{stability}{(m.group(6) or '').lstrip('.-')}"
    if m.group(7):
        suffix += "-dev"
    return numbers + suffix


def _form(part: str) -> int:
    return next((order for name, order in _FORMS if part.startswith(name)), -1)


def _compare_parts(a: list[str], b: list[str]) -> int:
    """php_version_compare on canonical parts."""
    for i in range(max(len(a), len(b))):
        if i >= len(a):  # a ran out: a number beyond is greater, else it is compared with "#"
            return -1 if b[i].isdigit() else (1 if _form("#") > _form(b[i]) else -1 if _form("#") < _form(b[i]) else 0)
        if i >= len(b):
            return 1 if a[i].isdigit() else (-1 if _form("#") > _form(a[i]) else 1 if _form("#") < _form(a[i]) else 0)
        x, y = a[i], b[i]
        if x.isdigit() and y.isdigit():
            c = (int(x) > int(y)) - (int(x) < int(y))
        elif not x.isdigit() and not y.isdigit():
            c = (_form(x) > _form(y)) - (_form(x) < _form(y))
        else:  # a number against a word: the number is "#"
            fx, fy = _form("#" if x.isdigit() else x), _form("#" if y.isdigit() else y)
            c = (fx > fy) - (fx < fy)
        if c:
            return c
    return 0


def compare(a: str, b: str) -> int:
    return _compare_parts(_PARTS.findall(normalize(a)), _PARTS.findall(normalize(b)))


def is_valid(version: str) -> bool:
    try:
        normalize(version)
    except ValueError:
        return False
    return True
