"""NuGet versions: the ordering of NuGet.Versioning (VersionComparer.Default, NuGetVersion).

MAJOR.MINOR[.PATCH[.REVISION]][-pre][+metadata]: missing numeric parts are 0 ("1.0" equals
"1.0.0.0"); a release is greater than any of its pre-releases; pre-release labels compare part by
part, numeric parts as numbers and below alphanumeric ones, alphanumeric ones ordinally and
case-insensitively; metadata takes no part. Hand-written (a few lines): no maintained Python
port of NuGet.Versioning exists.
"""

from __future__ import annotations

import functools
import re

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
                      r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
_MAX = 256


@functools.lru_cache(maxsize=65536)
def _parse(version: str) -> tuple:
    m = _VERSION.match(version.strip()) if len(version) <= _MAX else None
    if not m:
        raise ValueError(f"not a NuGet version: {version!r}")
    numbers = tuple(int(g or 0) for g in m.groups()[:4])
    labels = tuple((0, int(p), "") if p.isdigit() else (1, 0, p.upper()) for p in (m.group(5) or "").split(".")
                   if p)
    return numbers, labels


def compare(a: str, b: str) -> int:
    (na, la), (nb, lb) = _parse(a), _parse(b)
    if na != nb:
        return -1 if na < nb else 1
    if la == lb:
        return 0
    if not la or not lb:  # the release sorts after its pre-releases
        return 1 if not la else -1
    return -1 if la < lb else 1  # shorter label sets first when the rest is equal, as NuGet does


def is_valid(version: str) -> bool:
    try:
        _parse(version)
    except ValueError:
        return False
    return True
