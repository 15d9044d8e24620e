"""Version ordering per ecosystem, from maintained libraries.

dpkg uses python-debian (the Debian project's own implementation); the others use univers.
Checked cases (tests/scanner/match/test_versions.py): epochs, `~` pre-releases (dpkg, rpm),
rpm `^` post-release snapshots, apk `_rc`/`_p`/`-rN` suffixes and letter versions, PEP 440
pre/post/local, semver pre-releases with numeric identifiers, Go pseudo-versions and the
optional `v`, Maven qualifiers (SNAPSHOT < release), RubyGems pre-releases. No library bug was
found in these; Go versions without a leading "v" (as Go's toolchain reports "go1.21.3") are
normalised before comparing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from debian.debian_support import Version as DebianVersion
from univers import versions as uv

Compare = Callable[[str, str], int]


def _cmp(parse: Callable[[str], object]) -> Compare:
    @functools.lru_cache(maxsize=65536)
    def parsed(value: str) -> object:
        try:
            return parse(value)
        except Exception as exc:  # univers raises several types on malformed input
            raise ValueError(f"invalid version {value!r}: {exc}") from exc

    def compare(a: str, b: str) -> int:
        va, vb = parsed(a), parsed(b)
        return (va > vb) - (va < vb)  # type: ignore[operator]

    return compare


def _go(value: str) -> object:
    value = value.removeprefix("go")
    return uv.GolangVersion(value if value.startswith("v") else f"v{value}")


SCHEMES: dict[str, Compare] = {
    "dpkg": _cmp(DebianVersion),
    "rpm": _cmp(uv.RpmVersion),
    "apk": _cmp(uv.AlpineLinuxVersion),
    "pep440": _cmp(uv.PypiVersion),
    "semver": _cmp(uv.SemverVersion),
    "maven": _cmp(uv.MavenVersion),
    "go": _cmp(_go),
    "gem": _cmp(uv.RubygemsVersion),
}


def compare(scheme: str, a: str, b: str) -> int:
    return SCHEMES[scheme](a, b)
