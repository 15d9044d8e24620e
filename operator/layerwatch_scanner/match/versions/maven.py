"""Maven versions: a port of maven-artifact 3.9 ComparableVersion (tag maven-3.9.16).

Items are numbers, qualifiers (strings) and sub-lists (opened by "-" and by a letter/digit
transition); "1.0.X2" nests like "1.0-X2" (MNG-7644); "ga", "final" and "release" equal no
qualifier ("5.2.25.RELEASE" == "5.2.25"); known qualifiers order alpha < beta < milestone <
rc = cr < snapshot < "" < sp, unknown ones after them, lexically. Any string compares; a
leading "v" is a qualifier like any other (Maven does not strip it).
"""

from __future__ import annotations

import functools

_QUALIFIERS = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"]
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))


class _Str:
    """StringItem: a qualifier."""

    __slots__ = ("value",)

    def __init__(self, value: str, followed_by_digit: bool):
        if followed_by_digit and len(value) == 1:
            value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
        self.value = _ALIASES.get(value, value)


def _comparable(qualifier: str) -> str:
    i = _QUALIFIERS.index(qualifier) if qualifier in _QUALIFIERS else -1
    return f"{len(_QUALIFIERS)}-{qualifier}" if i == -1 else str(i)


def _java_cmp(a: str, b: str) -> int:
    """String.compareTo: UTF-16 code units."""
    ea, eb = a.encode("utf-16-be", "surrogatepass"), b.encode("utf-16-be", "surrogatepass")
    return (ea > eb) - (ea < eb)


def _is_null(item: object) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, _Str):
        return _comparable(item.value) == _RELEASE_INDEX
    return len(item) == 0  # type: ignore[arg-type]


def _cmp(a: object, b: object | None) -> int:
    if isinstance(a, int):
        if b is None:
            return 0 if a == 0 else 1
        if isinstance(b, int):
            return (a > b) - (a < b)
        return 1  # 1.1 > 1-sp, 1.1 > 1-1
    if isinstance(a, _Str):
        if b is None:
            return _java_cmp(_comparable(a.value), _RELEASE_INDEX)
        if isinstance(b, int):
            return -1
        if isinstance(b, _Str):
            return _java_cmp(_comparable(a.value), _comparable(b.value))
        return -1  # 1.any < 1-1
    assert isinstance(a, list)
    if b is None:
        for item in a:  # the whole list against nothing (MNG-6964)
            r = _cmp(item, None)
            if r:
                return r
        return 0
    if isinstance(b, int):
        return -1
    if isinstance(b, _Str):
        return 1
    assert isinstance(b, list)
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else None
        right = b[i] if i < len(b) else None
        if left is None:
            r = 0 if right is None else -_cmp(right, None)
        else:
            r = _cmp(left, right)
        if r:
            return r
    return 0


def _is_digit(c: str) -> bool:
    return ord(c) <= 0xFFFF and c.isdecimal()  # Character.isDigit(char): one UTF-16 unit


def _item(is_digit: bool, buf: str) -> object:
    if is_digit:
        return int(buf.lstrip("0") or "0")  # Int/Long/BigIntegerItem order by magnitude
    return _Str(buf, False)


def _normalize(items: list) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]  # trailing nulls: 0, "", empty list
        elif not isinstance(items[i], list):
            break


@functools.lru_cache(maxsize=65536)
def parse(version: str) -> list:
    items: list = []
    version = version.lower()
    current = items
    stack = [items]
    is_digit = False
    start = 0

    def nest() -> list:
        new: list = []
        current.append(new)
        stack.append(new)
        return new

    for i, c in enumerate(version):
        if c == ".":
            current.append(0 if i == start else _item(is_digit, version[start:i]))
            start = i + 1
        elif c == "-":
            current.append(0 if i == start else _item(is_digit, version[start:i]))
            start = i + 1
            current = nest()
        elif _is_digit(c):
            if not is_digit and i > start:
                if current:  # treat .X as -X for any string qualifier X
                    current = nest()
                current.append(_Str(version[start:i], True))
                start = i
                current = nest()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_item(True, version[start:i]))
                start = i
                current = nest()
            is_digit = False
    if len(version) > start:
        if not is_digit and current:
            current = nest()
        current.append(_item(is_digit, version[start:]))
    while stack:
        _normalize(stack.pop())
    return items


def compare(a: str, b: str) -> int:
    r = _cmp(parse(a), parse(b))
    return (r > 0) - (r < 0)


def is_valid(version: str) -> bool:
    """ComparableVersion takes any string; an empty or blank one names no release."""
    return bool(version.strip())
