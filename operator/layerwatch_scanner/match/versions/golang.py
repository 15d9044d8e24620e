"""Go module versions: a port of golang.org/x/mod/semver (Compare, IsValid).

A version spelled as Go spells its toolchain ("go1.21rc1": no module version starts with "go")
is compared as go/version does when both are; one of them alone is first turned into the
module version the Go vulnerability database gives the standard library (v1.21.0-rc.1).

OSV writes Go module versions without the leading "v" ("1.2.3"), Go writes them with it;
both are accepted. Shorthands "v1" and "v1.2" are valid (= v1.0.0, v1.2.0), build metadata
("+incompatible") is ignored. As in x/mod, an invalid version sorts before every valid one
and equal to other invalid ones — the matcher checks `is_valid` first and warns instead.
"""

from __future__ import annotations

import functools


def _ident_char(c: str) -> bool:
    return "A" <= c <= "Z" or "a" <= c <= "z" or "0" <= c <= "9" or c == "-"


def _is_num(v: str) -> bool:
    return all("0" <= c <= "9" for c in v)


def _bad_num(v: str) -> bool:
    return len(v) > 1 and v[0] == "0" and _is_num(v)


def _parse_int(v: str) -> tuple[str, str] | None:
    if not v or not ("0" <= v[0] <= "9"):
        return None
    i = 1
    while i < len(v) and "0" <= v[i] <= "9":
        i += 1
    if v[0] == "0" and i != 1:
        return None
    return v[:i], v[i:]


def _parse_dotted(v: str, prefix: str, numeric_check: bool) -> tuple[str, str] | None:
    if not v or v[0] != prefix:
        return None
    i = start = 1
    while i < len(v) and (prefix == "+" or v[i] != "+"):
        if not _ident_char(v[i]) and v[i] != ".":
            return None
        if v[i] == ".":
            if start == i or (numeric_check and _bad_num(v[start:i])):
                return None
            start = i + 1
        i += 1
    if start == i or (numeric_check and _bad_num(v[start:i])):
        return None
    return v[:i], v[i:]


@functools.lru_cache(maxsize=65536)
def parse(v: str) -> tuple[str, str, str, str] | None:
    """(major, minor, patch, prerelease) or None when x/mod/semver would not accept it."""
    if not v.startswith("v"):
        v = "v" + v  # OSV's spelling
    parsed = _parse_int(v[1:])
    if parsed is None:
        return None
    major, v = parsed
    if not v:
        return major, "0", "0", ""
    if v[0] != ".":
        return None
    parsed = _parse_int(v[1:])
    if parsed is None:
        return None
    minor, v = parsed
    if not v:
        return major, minor, "0", ""
    if v[0] != ".":
        return None
    parsed = _parse_int(v[1:])
    if parsed is None:
        return None
    patch, v = parsed
    pre = ""
    if v[:1] == "-":
        got = _parse_dotted(v, "-", True)
        if got is None:
            return None
        pre, v = got
    if v[:1] == "+":
        got = _parse_dotted(v, "+", False)
        if got is None:
            return None
        v = got[1]
    if v:
        return None
    return major, minor, patch, pre


def compare_int(x: str, y: str) -> int:
    if x == y:
        return 0
    if len(x) != len(y):
        return -1 if len(x) < len(y) else 1
    return -1 if x < y else 1


def _compare_prerelease(x: str, y: str) -> int:
    if x == y:
        return 0
    if not x:
        return 1
    if not y:
        return -1
    xs, ys = x[1:].split("."), y[1:].split(".")
    for dx, dy in zip(xs, ys, strict=False):
        if dx != dy:
            ix, iy = _is_num(dx), _is_num(dy)
            if ix != iy:
                return -1 if ix else 1
            if ix and len(dx) != len(dy):
                return -1 if len(dx) < len(dy) else 1
            return -1 if dx < dy else 1
    return -1 if len(xs) < len(ys) else 1


def compare(a: str, b: str) -> int:
    if a.startswith("go") or b.startswith("go"):
        from . import gotoolchain

        if a.startswith("go") and b.startswith("go"):
            return gotoolchain.compare(a, b)
        a = gotoolchain.to_module_version(a) or a if a.startswith("go") else a
        b = gotoolchain.to_module_version(b) or b if b.startswith("go") else b
    pa, pb = parse(a), parse(b)
    if pa is None or pb is None:
        return 0 if pa is pb else (-1 if pa is None else 1)
    for x, y in zip(pa[:3], pb[:3], strict=True):
        c = compare_int(x, y)
        if c:
            return c
    return _compare_prerelease(pa[3], pb[3])


def is_valid(version: str) -> bool:
    if version.startswith("go"):
        from . import gotoolchain

        return gotoolchain.is_valid(version)
    return parse(version) is not None

