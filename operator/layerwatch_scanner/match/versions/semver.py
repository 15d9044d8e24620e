"""npm versions: a port of node-semver's strict parsing and ordering (classes/semver.js,
internal/re.js, internal/identifiers.js), as `semver.compare(a, b)` without `loose`.

`v1.2.3` and surrounding whitespace are accepted like node-semver; anything else that is not
MAJOR.MINOR.PATCH[-pre][+build] raises ValueError (node-semver throws a TypeError). Build
metadata does not take part in ordering. Numeric pre-release identifiers compare as
JavaScript numbers (doubles), exactly as node-semver does.
"""

from __future__ import annotations

import functools
import re

MAX_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1
_NUM = r"0|[1-9][0-9]*"
_PRE_ID = rf"(?:{_NUM}|[0-9]*[a-zA-Z-][a-zA-Z0-9-]*)"
_FULL = re.compile(
    rf"v?({_NUM})\.({_NUM})\.({_NUM})(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))?")
_NUMERIC = re.compile(r"[0-9]+")
# String.prototype.trim: ECMAScript WhiteSpace and LineTerminator
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000\ufeff"


def _utf16_len(s: str) -> int:
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


@functools.lru_cache(maxsize=65536)
def parse(version: str) -> tuple[int, int, int, tuple[int | str, ...]]:
    if _utf16_len(version) > MAX_LENGTH:
        raise ValueError(f"invalid semver version {version[:40]!r}...: longer than {MAX_LENGTH} characters")
    m = _FULL.fullmatch(version.strip(_JS_SPACE))
    if not m:
        raise ValueError(f"invalid semver version {version!r}")
    major, minor, patch = (int(g) for g in m.group(1, 2, 3))
    if max(major, minor, patch) > MAX_SAFE_INTEGER:
        raise ValueError(f"invalid semver version {version!r}: number above 2^53-1")
    pre: list[int | str] = []
    for ident in (m.group(4) or "").split(".") if m.group(4) else []:
        if _NUMERIC.fullmatch(ident) and int(ident) < MAX_SAFE_INTEGER:
            pre.append(int(ident))
        else:
            pre.append(ident)
    return major, minor, patch, tuple(pre)


def _compare_identifiers(a: int | str, b: int | str) -> int:
    anum = isinstance(a, int) or bool(_NUMERIC.fullmatch(a))
    bnum = isinstance(b, int) or bool(_NUMERIC.fullmatch(b))
    if anum and bnum:
        a, b = float(a), float(b)  # JavaScript's unary +: IEEE doubles
    if a == b:
        return 0
    if anum and not bnum:
        return -1
    if bnum and not anum:
        return 1
    return -1 if a < b else 1  # type: ignore[operator]


def compare(a: str, b: str) -> int:
    pa, pb = parse(a), parse(b)
    for x, y in zip(pa[:3], pb[:3], strict=True):
        if x != y:
            return -1 if x < y else 1
    ra, rb = pa[3], pb[3]
    if ra and not rb:
        return -1
    if rb and not ra:
        return 1
    for i in range(max(len(ra), len(rb))):
        if i >= len(ra):
            return -1
        if i >= len(rb):
            return 1
        x, y = ra[i], rb[i]
        if type(x) is type(y) and x == y:
            continue
        return _compare_identifiers(x, y)
    return 0


def is_valid(version: str) -> bool:
    try:
        parse(version)
    except ValueError:
        return False
    return True
