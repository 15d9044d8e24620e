"""Go toolchain versions ("go1.21", "go1.21rc1", "go1.21.0"): a port of Go's go/version
(Compare, IsValid) and internal/gover (golang/go commit 337f922, which also reads
pre-releases of patch releases such as go1.21.3rc1).

The language version go1.21 sorts before its release candidates, which sort before go1.21.0;
from 1.21 on a missing patch differs from ".0". A "-suffix" (go1.21.0-bigcorp) is ignored.
Malformed versions sort before well-formed ones and equal to each other, as in Go.
"""

from __future__ import annotations

import functools
import re

from .golang import compare_int


def _cut_int(x: str) -> tuple[str, str] | None:
    i = 0
    while i < len(x) and "0" <= x[i] <= "9":
        i += 1
    if i == 0 or (x[0] == "0" and i != 1):
        return None
    return x[:i], x[i:]


_ZERO = ("", "", "", "", "")


@functools.lru_cache(maxsize=65536)
def parse(x: str) -> tuple[str, str, str, str, str]:
    """(major, minor, patch, kind, pre) as gover.Parse; all "" when malformed."""
    got = _cut_int(x)
    if got is None:
        return _ZERO
    major, x = got
    if not x:
        return major, "0", "0", "", ""
    if x[0] != ".":
        return _ZERO
    got = _cut_int(x[1:])
    if got is None:
        return _ZERO
    minor, x = got
    if not x:
        return major, minor, "0" if compare_int(minor, "21") < 0 else "", "", ""
    if x[0] == ".":
        got = _cut_int(x[1:])
        if got is None:
            return _ZERO
        patch, x = got
        if not x:
            return major, minor, patch, "", ""
        pre = _pre_release(x)  # newer Go: pre-releases of patch releases (1.21.3rc1)
        return (major, minor, patch, *pre) if pre else _ZERO
    pre = _pre_release(x)
    return (major, minor, "", *pre) if pre else _ZERO


def _pre_release(x: str) -> tuple[str, str] | None:
    i = 0
    while i < len(x) and not ("0" <= x[i] <= "9"):
        if not ("a" <= x[i] <= "z"):
            return None
        i += 1
    if i == 0:
        return None
    kind, x = x[:i], x[i:]
    if not x:
        return kind, ""
    got = _cut_int(x)
    if got is None or got[1]:
        return None
    return kind, got[0]


def _strip_go(v: str) -> str:
    v = v.split("-", 1)[0]
    return v[2:] if v.startswith("go") else ""


def compare(a: str, b: str) -> int:
    va, vb = parse(_strip_go(a)), parse(_strip_go(b))
    for i in (0, 1, 2):
        c = compare_int(va[i], vb[i])
        if c:
            return c
    if va[3] != vb[3]:  # "" < alpha < beta < rc; for a patch release alpha < beta < rc < ""
        c = -1 if va[3] < vb[3] else 1
        if va[2]:
            c = 1 if not va[3] else -1 if not vb[3] else c
        return c
    return compare_int(va[4], vb[4])


def is_valid(version: str) -> bool:
    return parse(_strip_go(version)) != _ZERO


_TAG = re.compile(r"go(\d+\.\d+)(\.\d+|)((beta|rc|-pre)(\d+))?", re.ASCII)


def to_module_version(tag: str) -> str:
    """Go's own version of its toolchain ("go1.21rc1", "go1.22.0 X:boringcrypto") as the module
    version the Go vulnerability database gives the standard library ("v1.21.0-rc.1"); "" when
    it is not a release. Port of golang.org/x/vuln internal/semver.GoTagToSemver."""
    tag = (tag.split() or [""])[0]
    if tag == "go1":
        return "v1.0.0"
    m = _TAG.fullmatch(tag)
    if not m or tag == "go1.0":
        return ""
    version = "v" + m.group(1) + (m.group(2) or ".0")
    if m.group(3):
        version += ("" if m.group(4).startswith("-") else "-") + m.group(4) + "." + m.group(5)
    return version
