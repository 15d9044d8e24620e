"""dpkg version order: a port of dpkg's lib/dpkg/version.c (parseversion) and
lib/dpkg/vercmp.c (verrevcmp), as `dpkg --compare-versions` applies them.

Errors dpkg refuses (empty, embedded blanks, bad epoch, empty revision) raise ValueError;
dpkg's *warnings* (no leading digit, odd characters) still compare, as dpkg does.
"""

from __future__ import annotations

import functools

_BLANK = " \t"  # dpkg's c_isblank
_INT_MAX = 2**31 - 1
_VERSION_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+~:")
_REVISION_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~")


@functools.lru_cache(maxsize=65536)
def parse(value: str) -> tuple[int, str, str, str]:
    """(epoch, upstream, revision, warning) or ValueError with dpkg's message."""
    string = value.lstrip(_BLANK)
    if not string:
        raise ValueError(f"invalid dpkg version {value!r}: version string is empty")
    end = 0
    while end < len(string) and string[end] not in _BLANK:
        end += 1
    if string[end:].strip(_BLANK):
        raise ValueError(f"invalid dpkg version {value!r}: version string has embedded spaces")
    string = string[:end]
    epoch = 0
    colon = string.find(":")
    if colon >= 0:
        digits = 0
        sign = 1 if string[:1] in "+-" else 0  # strtol accepts a sign
        while sign + digits < len(string) and string[sign + digits].isascii() and string[sign + digits].isdigit():
            digits += 1
        if digits == 0:
            raise ValueError(f"invalid dpkg version {value!r}: epoch in version is empty")
        if sign + digits != colon:
            raise ValueError(f"invalid dpkg version {value!r}: epoch in version is not number")
        epoch = int(string[:colon])
        if epoch < 0:
            raise ValueError(f"invalid dpkg version {value!r}: epoch in version is negative")
        if epoch > _INT_MAX:
            raise ValueError(f"invalid dpkg version {value!r}: epoch in version is too big")
        string = string[colon + 1:]
        if not string:
            raise ValueError(f"invalid dpkg version {value!r}: nothing after colon in version number")
    upstream, hyphen, revision = string.rpartition("-")
    if not hyphen:
        upstream, revision = string, ""
    elif not revision:
        raise ValueError(f"invalid dpkg version {value!r}: revision number is empty")
    if not upstream:
        raise ValueError(f"invalid dpkg version {value!r}: version number is empty")
    warning = ""
    if not ("0" <= upstream[0] <= "9"):
        warning = "version number does not start with digit"
    elif any(c not in _VERSION_CHARS for c in upstream):
        warning = "invalid character in version number"
    elif any(c not in _REVISION_CHARS for c in revision):
        warning = "invalid character in revision number"
    # dpkg compares bytes: one latin-1 character per UTF-8 byte keeps that order
    return epoch, _bytes(upstream), _bytes(revision), warning


def _bytes(text: str) -> str:
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("latin-1")


def _order(c: str) -> int:
    if not c or "0" <= c <= "9":
        return 0
    if ("a" <= c <= "z") or ("A" <= c <= "Z"):
        return ord(c)
    if c == "~":
        return -1
    if ord(c) >= 128:  # dpkg reads a signed char: byte - 256, plus 256
        return ord(c)
    return ord(c) + 256


def verrevcmp(a: str, b: str) -> int:
    i = j = 0
    la, lb = len(a), len(b)
    digit = "0123456789"
    while i < la or j < lb:
        first_diff = 0
        while (i < la and a[i] not in digit) or (j < lb and b[j] not in digit):
            ac = _order(a[i] if i < la else "")
            bc = _order(b[j] if j < lb else "")
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < la and a[i] == "0":
            i += 1
        while j < lb and b[j] == "0":
            j += 1
        while i < la and j < lb and a[i] in digit and b[j] in digit:
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < la and a[i] in digit:
            return 1
        if j < lb and b[j] in digit:
            return -1
        if first_diff:
            return first_diff
    return 0


def compare(a: str, b: str) -> int:
    ea, ua, ra, _ = parse(a)
    eb, ub, rb, _ = parse(b)
    if ea != eb:
        return -1 if ea < eb else 1
    r = verrevcmp(ua, ub) or verrevcmp(ra, rb)
    return (r > 0) - (r < 0)


def is_valid(version: str) -> bool:
    try:
        return not parse(version)[3]
    except ValueError:
        return False
