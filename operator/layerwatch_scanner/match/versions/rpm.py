"""rpm version order: a port of rpm 4.18's rpmvercmp() (rpmio/rpmvercmp.c) and of how
rpmverParse()/rpmverCmp() (lib/rpmver.c) split and compare [epoch:]version[-release].

The epoch is only the leading digits before a colon ("foo:1.2" has no epoch: it is all
version, as in modular metadata); a missing release sorts before any release, even an empty
one ("1" < "1-" < "1-1"), as rpmverCmp's compare_values does. Nothing raises: rpm compares
any string.
"""

from __future__ import annotations

import functools


def _alnum(c: str) -> bool:
    return ("0" <= c <= "9") or ("a" <= c <= "z") or ("A" <= c <= "Z")


def rpmvercmp(a: str, b: str) -> int:
    if a == b:
        return 0
    one, two = a, b
    i = j = 0
    la, lb = len(one), len(two)
    while i < la or j < lb:
        while i < la and not _alnum(one[i]) and one[i] not in "~^":
            i += 1
        while j < lb and not _alnum(two[j]) and two[j] not in "~^":
            j += 1
        c1 = one[i] if i < la else ""
        c2 = two[j] if j < lb else ""
        # tilde sorts before everything, even the end of the string
        if c1 == "~" or c2 == "~":
            if c1 != "~":
                return 1
            if c2 != "~":
                return -1
            i += 1
            j += 1
            continue
        # caret sorts after the end of the string but before anything else
        if c1 == "^" or c2 == "^":
            if not c1:
                return -1
            if not c2:
                return 1
            if c1 != "^":
                return 1
            if c2 != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (c1 and c2):
            break
        s1, s2 = i, j
        if "0" <= c1 <= "9":
            while i < la and "0" <= one[i] <= "9":
                i += 1
            while j < lb and "0" <= two[j] <= "9":
                j += 1
            isnum = True
        else:
            while i < la and (("a" <= one[i] <= "z") or ("A" <= one[i] <= "Z")):
                i += 1
            while j < lb and (("a" <= two[j] <= "z") or ("A" <= two[j] <= "Z")):
                j += 1
            isnum = False
        seg1, seg2 = one[s1:i], two[s2:j]
        if not seg2:  # different segment types: numeric beats alpha
            return 1 if isnum else -1
        if isnum:
            seg1, seg2 = seg1.lstrip("0"), seg2.lstrip("0")
            if len(seg1) != len(seg2):
                return 1 if len(seg1) > len(seg2) else -1
        if seg1 != seg2:
            return -1 if seg1 < seg2 else 1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@functools.lru_cache(maxsize=65536)
def parse_evr(evr: str) -> tuple[str | None, str, str | None]:
    """(epoch or None, version, release or None) as rpmverParse splits them."""
    digits = 0
    while digits < len(evr) and "0" <= evr[digits] <= "9":
        digits += 1
    dash = evr.rfind("-", digits)
    epoch: str | None = None
    start = 0
    if digits < len(evr) and evr[digits] == ":":
        epoch = evr[:digits] or "0"
        start = digits + 1
    if dash >= 0:
        return epoch, evr[start:dash], evr[dash + 1:]
    return epoch, evr[start:], None


def compare(a: str, b: str) -> int:
    ea, va, ra = parse_evr(a)
    eb, vb, rb = parse_evr(b)
    return rpmvercmp(ea or "0", eb or "0") or rpmvercmp(va, vb) or _compare_values(ra, rb)


def _compare_values(a: str | None, b: str | None) -> int:
    if a is None or b is None:
        return 0 if a is b else (-1 if a is None else 1)
    return rpmvercmp(a, b)


def is_valid(version: str) -> bool:
    """rpm accepts any EVR; an empty version is the one thing no package carries."""
    return bool(parse_evr(version)[1])
