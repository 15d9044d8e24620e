"""Upstream release versions, as NVD's CPE ranges and the binaries cataloger give them
("1.0.1g", "8.4.0", "3.12.0rc1", "16beta2").

No ecosystem defines their order, so it is rpm's `rpmvercmp` (rpm 4.18, rpm.py), the reference
of the most widely used generic comparison: segment by segment, numbers by value, letters by
byte order, a version with more segments newer ("1.0.1" < "1.0.1a"). Pre-release words
(alpha, beta, pre, rc, with or without a "-", "." or "_" before them) sort before the release,
as rpm makes "~" sort: "3.0.0-alpha1" -> "3.0.0~alpha1" < "3.0.0".
"""

from __future__ import annotations

import re

from .rpm import rpmvercmp

_PRE_RELEASE = re.compile(r"[-_.]?(alpha|beta|pre|rc)(?=\d|$)", re.IGNORECASE)
_VALID = re.compile(r"[0-9][0-9A-Za-z.+~_-]*")


def _normal(version: str) -> str:
    return _PRE_RELEASE.sub(lambda m: "~" + m.group(1).lower(), version.strip())


def compare(a: str, b: str) -> int:
    return rpmvercmp(_normal(a), _normal(b))


def is_valid(version: str) -> bool:
    return _VALID.fullmatch(version.strip()) is not None
