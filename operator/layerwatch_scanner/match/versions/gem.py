"""RubyGems versions: a port of Gem::Version (lib/rubygems/version.rb): `correct?`, `new`
(strip, "-" becomes ".pre."), `canonical_segments` and `<=>`.

Segments are runs of digits (numbers) or letters (strings, so "1.0.a" is a pre-release);
trailing zeros of the numeric and of the string part are dropped ("1.0" == "1"); a string
segment sorts before a number. Malformed strings raise ValueError, as Gem::Version.new does.
"""

from __future__ import annotations

import functools
import re

_RUBY_SPACE = " \t\r\n\f\v"
_PATTERN = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.IGNORECASE | re.ASCII)


def is_valid(version: str) -> bool:
    inner = version.strip(_RUBY_SPACE)
    return not inner or _PATTERN.fullmatch(inner) is not None


@functools.lru_cache(maxsize=65536)
def canonical_segments(version: str) -> tuple:
    if not is_valid(version):
        raise ValueError(f"invalid gem version {version!r}: malformed version number string")
    text = version.strip(_RUBY_SPACE).replace("-", ".pre.") or "0"
    segments: list[int | str] = [int(s) if s[0].isdigit() else s for s in _SEGMENT.findall(text)]
    first_string = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    canonical: list[int | str] = []
    for part in (segments[:first_string], segments[first_string:]):
        while part and part[-1] == 0:
            part.pop()
        canonical.extend(part)
    return tuple(canonical)


def compare(a: str, b: str) -> int:
    if a.strip(_RUBY_SPACE) == b.strip(_RUBY_SPACE) and is_valid(a):
        return 0
    left, right = canonical_segments(a), canonical_segments(b)
    if left == right:
        return 0
    for i in range(max(len(left), len(right))):
        x = left[i] if i < len(left) else 0
        y = right[i] if i < len(right) else 0
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, int):
            return -1
        if isinstance(x, int) and isinstance(y, str):
            return 1
        if isinstance(x, str):
            bx, by = x.encode(), y.encode()  # type: ignore[union-attr]
            return (bx > by) - (bx < by)
        return (x > y) - (x < y)  # type: ignore[operator]
    return 0
