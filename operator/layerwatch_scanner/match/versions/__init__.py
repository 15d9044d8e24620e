"""Version ordering per ecosystem, exactly as each ecosystem's reference implementation orders.

One module per scheme. Each exposes `compare(a, b) -> int` (<0, 0, >0; raises ValueError only
where the reference refuses to compare, e.g. node-semver on a non-semver string) and
`is_valid(v) -> bool` (the reference's own validity check: apk, rpm and Maven compare any
string, so a version can be comparable yet malformed — the matcher warns about those).

| scheme        | reference                                            | how                            |
|---------------|------------------------------------------------------|--------------------------------|
| dpkg          | dpkg lib/dpkg/version.c (parseversion, verrevcmp)    | ported                         |
| rpm           | rpm 4.18 rpmio/rpmvercmp.c, lib/rpmver.c             | ported                         |
| apk           | apk-tools 3 src/version.c                            | ported                         |
| pep440        | packaging (PyPA's reference); legacy strings as pip  | library + ported LegacyVersion |
| semver        | node-semver (npm) classes/semver.js, strict parsing  | ported                         |
| go            | golang.org/x/mod/semver (OSV omits the leading "v")  | ported                         |
| go-toolchain  | Go's go/version (internal/gover)                     | ported                         |
| maven         | maven-artifact 3.9 ComparableVersion                 | ported                         |
| gem           | RubyGems Gem::Version                                | ported                         |
| upstream      | rpm's rpmvercmp, pre-release words as "~" (NVD CPEs) | rpm.py                         |

Ported rather than taken from a library because the maintained multi-ecosystem library
(univers) disagrees with these references on real version strings (apk leading zeros and
`_git`/`~hash`, rpm non-numeric epochs, Go toolchain versions, Maven `release`/MNG-7644).
Test vectors from the references' own suites are under tests/testdata/versions/.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from types import ModuleType

Compare = Callable[[str, str], int]

# scheme name -> module (imported on first use: `layerwatch --help` needs none of them)
SCHEME_MODULES = {
    "dpkg": "dpkg", "rpm": "rpm", "apk": "apk", "pep440": "pep440", "semver": "semver", "go": "golang",
    "go-toolchain": "gotoolchain", "maven": "maven", "gem": "gem", "nuget": "nuget", "composer": "composer",
    "upstream": "upstream",
}


# Other names for the same schemes: package types (purl) and OSV ecosystem names.
ALIASES = {
    "deb": "dpkg", "debian": "dpkg", "ubuntu": "dpkg", "rhel": "rpm", "redhat": "rpm", "alpine": "apk",
    "wolfi": "apk", "pypi": "pep440", "python": "pep440", "npm": "semver", "cargo": "semver",
    "crates.io": "semver", "golang": "go", "gomod": "go", "gem": "gem", "rubygems": "gem", "ruby": "gem",
    "toolchain": "go-toolchain", "gotoolchain": "go-toolchain", "packagist": "composer", "php": "composer",
}


@functools.cache
def scheme(name: str) -> ModuleType:
    key = name if name in SCHEME_MODULES else ALIASES.get(name.lower(), name.lower())
    try:
        module = SCHEME_MODULES[key]
    except KeyError:
        raise ValueError(f"unknown version scheme {name!r}") from None
    return importlib.import_module(f"{__name__}.{module}")


def compare(name: str, a: str, b: str) -> int:
    """<0, 0 or >0 as the scheme's reference orders a and b."""
    return scheme(name).compare(a, b)


def is_valid(name: str, version: str) -> bool:
    """Whether the scheme's reference accepts `version` as well-formed."""
    return scheme(name).is_valid(version)


def sort_key(name: str) -> Callable[[str], object]:
    return functools.cmp_to_key(scheme(name).compare)
