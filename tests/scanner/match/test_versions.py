"""Version ordering per ecosystem: the tricky cases each scheme documents."""

from __future__ import annotations

import pytest
from layerwatch_scanner.match.versions import compare

LESS = [
    ("dpkg", "1.0~rc1", "1.0"), ("dpkg", "2.0", "1:1.0"), ("dpkg", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1"),
    ("dpkg", "1.29b-2", "1.29b-2ubuntu0.4"), ("dpkg", "2.28-10", "2.28-10+deb10u1"),
    ("rpm", "1.0~rc1", "1.0"), ("rpm", "1.0", "1.0^git1"), ("rpm", "1.0^git1", "1.0.1"), ("rpm", "2.0-1", "1:1.0-1"),
    ("apk", "1.2.3-r1", "1.2.3-r10"), ("apk", "1.2.3_rc1", "1.2.3"), ("apk", "1.2.3", "1.2.3_p1"),
    ("apk", "1.1.1k-r0", "1.1.1l-r0"),
    ("pep440", "1.0rc1", "1.0"), ("pep440", "1.0", "1.0.post1"), ("pep440", "1.0", "1.0+local"),
    ("pep440", "2.25.0", "2.31.0"),
    ("semver", "1.0.0-alpha", "1.0.0"), ("semver", "1.0.0-beta.2", "1.0.0-beta.11"), ("semver", "4.17.15", "4.17.21"),
    ("go", "v0.0.0-20210101000000-abcdef123456", "v0.1.0"), ("go", "v1.2.3", "v1.10.0"), ("go", "go1.21.3", "1.21.10"),
    ("maven", "1.0-SNAPSHOT", "1.0"), ("maven", "2.14.1", "2.15.0"),
    ("gem", "1.0.0.rc1", "1.0.0"),
]


@pytest.mark.parametrize(("scheme", "lower", "higher"), LESS)
def test_ordering(scheme: str, lower: str, higher: str) -> None:
    assert compare(scheme, lower, higher) < 0
    assert compare(scheme, higher, lower) > 0
    assert compare(scheme, lower, lower) == 0


def test_unparseable_versions_raise_value_error() -> None:
    with pytest.raises(ValueError, match="invalid version"):
        compare("semver", "not a version", "1.0.0")
