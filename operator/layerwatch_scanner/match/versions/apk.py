"""apk version order: a port of apk-tools 3 src/version.c (Alpine, Wolfi, Chainguard).

    digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r#}

A digit group with a leading zero ("021109", "1.02") compares as a string, as in Gentoo's
spec; `_alpha`, `_beta`, `_pre`, `_rc` sort before the release and `_cvs`, `_svn`, `_git`,
`_hg`, `_p` after it; `~hash` is a commit hash compared as a string. Like apk, an invalid
version still compares (token by token until the token types differ); `is_valid` is apk's
`apk_version_validate`.
"""

from __future__ import annotations

import functools

# token types, in apk's order (the order decides when one version runs out first)
INITIAL_DIGIT, DIGIT, LETTER, SUFFIX, SUFFIX_NO, COMMIT_HASH, REVISION_NO, END, INVALID = range(9)
# suffix values: pre-releases below NONE, post-releases above it
_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_NONE = 5
_U64 = 2**64


class _Token:
    __slots__ = ("kind", "number", "suffix", "value")

    def __init__(self) -> None:
        self.kind = INITIAL_DIGIT
        self.number = 0
        self.suffix = 0
        self.value = ""


def _digits(t: _Token, s: str, pos: int) -> int:
    end = pos
    while end < len(s) and "0" <= s[end] <= "9":
        end += 1
    t.value = s[pos:end]
    t.number = int(t.value) % _U64 if t.value else 0  # apk_blob_pull_uint wraps at 64 bits
    if not t.value:
        t.kind = INVALID
    return end


def _next(t: _Token, s: str, pos: int) -> int:
    if pos >= len(s):
        t.kind = END
        return pos
    c = s[pos]
    if "a" <= c <= "z":
        if t.kind > DIGIT:
            t.kind = INVALID
            return pos
        t.value, t.kind = c, LETTER
        return pos + 1
    if c == "." or "0" <= c <= "9":
        if c == ".":
            if t.kind > DIGIT:
                t.kind = INVALID
                return pos
            pos += 1
        if t.kind in (INITIAL_DIGIT, DIGIT):
            t.kind = DIGIT
        elif t.kind == SUFFIX:
            t.kind = SUFFIX_NO
        else:
            t.kind = INVALID
            return pos
        return _digits(t, s, pos)
    if c == "_":
        if t.kind > SUFFIX_NO:
            t.kind = INVALID
            return pos
        pos += 1
        end = pos
        while end < len(s) and "a" <= s[end] <= "z":
            end += 1
        t.value = s[pos:end]
        t.suffix = _SUFFIXES.get(t.value, 0)
        t.kind = SUFFIX if t.suffix else INVALID
        return end
    if c == "~":
        if t.kind >= COMMIT_HASH:
            t.kind = INVALID
            return pos
        pos += 1
        end = pos
        while end < len(s) and ("0" <= s[end] <= "9" or "a" <= s[end] <= "f"):
            end += 1
        t.value = s[pos:end]
        t.kind = COMMIT_HASH if t.value else INVALID
        return end
    if c == "-":
        if t.kind >= REVISION_NO or not s.startswith("-r", pos):
            t.kind = INVALID
            return pos
        t.kind = REVISION_NO
        return _digits(t, s, pos + 2)
    t.kind = INVALID
    return pos


def _token_cmp(ta: _Token, tb: _Token) -> int:
    kind = ta.kind
    if kind == DIGIT and (ta.value[:1] == "0" or tb.value[:1] == "0"):
        kind = COMMIT_HASH  # a leading zero: raw string comparison
    if kind in (INITIAL_DIGIT, DIGIT, SUFFIX_NO, REVISION_NO):
        a, b = ta.number, tb.number
    elif kind == LETTER:
        a, b = ord(ta.value[0]), ord(tb.value[0])
    elif kind == SUFFIX:
        a, b = ta.suffix, tb.suffix
    else:
        va, vb = ta.value.encode(), tb.value.encode()  # memcmp, then the shorter first
        return (va > vb) - (va < vb)
    return (a > b) - (a < b)


def compare(a: str, b: str) -> int:
    ta, tb = _Token(), _Token()
    pa, pb = _digits(ta, a, 0), _digits(tb, b, 0)
    while ta.kind == tb.kind and ta.kind < END:
        r = _token_cmp(ta, tb)
        if r:
            return r
        pa, pb = _next(ta, a, pa), _next(tb, b, pb)
    if ta.kind == tb.kind:
        return 0
    # equal so far: the longer version is greater, unless what follows is a pre-release suffix
    if ta.kind == SUFFIX and ta.suffix < _NONE:
        return -1
    if tb.kind == SUFFIX and tb.suffix < _NONE:
        return 1
    if ta.kind > tb.kind:
        return -1
    if tb.kind > ta.kind:
        return 1
    return 0


@functools.lru_cache(maxsize=65536)
def is_valid(version: str) -> bool:
    t = _Token()
    pos = _digits(t, version, 0)
    while t.kind < END:
        pos = _next(t, version, pos)
    return t.kind == END
