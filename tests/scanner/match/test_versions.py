"""Version ordering per scheme, checked against the references' own published test data
(tests/testdata/versions/, origin in each file's header) and the cases the issue names."""

from __future__ import annotations

from pathlib import Path

import pytest
from layerwatch_scanner.match.versions import compare, is_valid, scheme

DATA = Path(__file__).parents[2] / "testdata" / "versions"
OPS = {"<": -1, "=": 0, ">": 1}

# file -> scheme. Left out on purpose: apk-v2-only.txt (apk-tools 2 behaviour; we follow
# apk-tools 3), maven-4.txt (Maven 4; we follow maven-artifact 3.9), semver-loose.txt.
VECTOR_FILES = {
    "apk.txt": "apk", "apk-v3-only.txt": "apk", "apk-generated.txt": "apk",
    "rpm.txt": "rpm", "dpkg.txt": "dpkg", "dpkg-generated.txt": "dpkg",
    "maven.txt": "maven", "maven-generated.txt": "maven", "go.txt": "go",
    "gotoolchain.txt": "go-toolchain", "gotoolchain-bare.txt": "go-toolchain",
    "pep440.txt": "pep440", "pep440-generated.txt": "pep440", "semver.txt": "semver",
    "gem.txt": "gem", "gem-generated.txt": "gem",
}
INVALID_FILES = {"apk-invalid.txt": "apk", "dpkg-invalid.txt": "dpkg", "go-invalid.txt": "go",
                 "gotoolchain-invalid.txt": "go-toolchain", "pep440-invalid.txt": "pep440",
                 "semver-invalid.txt": "semver", "gem-invalid.txt": "gem"}


def _vectors(name: str) -> list[tuple[str, str, str]]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            a, op, b = line.split(" ")
            out.append((a, op, b))
    return out


def _lines(name: str) -> list[str]:
    return [line for line in (DATA / name).read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]


@pytest.mark.parametrize(("name", "scheme_name"), sorted(VECTOR_FILES.items()))
def test_published_vectors(name: str, scheme_name: str) -> None:
    vectors = _vectors(name)
    assert len(vectors) >= 10, f"{name}: too few vectors"
    wrong = []
    for a, op, b in vectors:
        if name == "gotoolchain-bare.txt":  # internal/gover's tests, written without "go"
            a, b = "go" + a, "go" + b
        want = OPS[op]
        got = compare(scheme_name, a, b)
        back = compare(scheme_name, b, a)
        if got != want or back != -want:
            wrong.append(f"{a} {op} {b}: got {got}, reversed {back}")
    assert not wrong, f"{len(wrong)} of {len(vectors)} wrong in {name}: {wrong[:10]}"


@pytest.mark.parametrize(("name", "scheme_name"), sorted(INVALID_FILES.items()))
def test_published_invalid_versions(name: str, scheme_name: str) -> None:
    versions = _lines(name)
    assert versions
    accepted = [v for v in versions if is_valid(scheme_name, v)]
    assert not accepted, f"{scheme_name} accepted {accepted}"


def test_apk_valid_versions() -> None:
    assert all(is_valid("apk", v) for v in _lines("apk-valid.txt"))


# The cases the trust issue names: each used to be rejected or misordered.
ORDERED = [
    ("apk", "021109-r3", "=", "21109-r3"),  # the first digit group is a number even with a leading zero
    ("apk", "8.2.0", "<", "8.2.001"),  # later groups with a leading zero compare as strings
    ("apk", "0_git20230101-r0", ">", "0-r0"), ("apk", "1.2_svn2", "<", "1.2_git1"),
    ("apk", "1.2_cvs1", ">", "1.2"), ("apk", "1.2_hg1", ">", "1.2_git1"),
    ("apk", "1.0~1234-r1", ">", "1.0~1234-r0"), ("apk", "1.2_rc1", "<", "1.2"),
    ("rpm", "module+el8.4.0:1.2", "<", "1.3"), ("rpm", "1", "<", "1-"), ("rpm", "1-", "<", "1-1"),
    ("rpm", "1.0~rc1", "<", "1.0"), ("rpm", "1.0^git1", "<", "1.0.1"), ("rpm", "1.0", "<", "1.0^"),
    ("go-toolchain", "go1.21", "<", "go1.21rc1"), ("go-toolchain", "go1.21rc1", "<", "go1.21.0"),
    ("go-toolchain", "go1.21.0-bigcorp", "=", "go1.21.0"), ("go-toolchain", "go1.20", "=", "go1.20.0"),
    ("go", "go1.21", "<", "go1.21rc1"),  # toolchain spellings under the Go scheme: go/version's order
    ("go", "go1.21.3", "<", "1.21.10"),  # one toolchain, one module version: compared as v1.21.3
    ("npm", "1.0.0-rc.1", "<", "1.0.0"), ("PyPI", "1.0", "<", "1.0.post1"),  # aliases of scheme names
    ("go", "1.2.3", "=", "v1.2.3"), ("go", "v1.2.3+incompatible", "=", "v1.2.3"), ("go", "v1", "=", "v1.0.0"),
    ("maven", "5.2.25.RELEASE", "=", "5.2.25"), ("maven", "1.0.GA", "=", "1.0"), ("maven", "2.0.Final", "=", "2"),
    ("maven", "1.0.RC2", "<", "1.0-RC3"), ("maven", "1.0-RC3", "<", "1.0.1"),  # MNG-7644
    ("maven", "v1.0", "<", "1.0"),  # a leading "v" is a qualifier, not stripped
    ("dpkg", " 1.0-1 ", "=", "1.0-1"), ("dpkg", "1.0~rc1", "<", "1.0"), ("dpkg", "1:1.0", ">", "2.0"),
    ("pep440", "2004d", "<", "0.1"),  # legacy (non PEP 440) versions sort first, as pip's LegacyVersion
    ("pep440", "1.0-SNAPSHOT", "<", "1.0a1"), ("pep440", "1.0rc1", "<", "1.0"),
    ("semver", "1.0.0-beta.11", ">", "1.0.0-beta.2"), ("semver", "v1.2.3", "=", "1.2.3"),
    ("gem", "1.0.a", "<", "1.0"), ("gem", "1.0.0-rc1", "<", "1.0.0"),
]


@pytest.mark.parametrize(("scheme_name", "a", "op", "b"), ORDERED)
def test_named_cases(scheme_name: str, a: str, op: str, b: str) -> None:
    assert compare(scheme_name, a, b) == OPS[op]
    assert compare(scheme_name, b, a) == -OPS[op]


def test_schemes_that_refuse_raise_value_error_naming_the_version() -> None:
    with pytest.raises(ValueError, match="not a version"):
        compare("semver", "not a version", "1.0.0")
    with pytest.raises(ValueError, match="epoch"):
        compare("dpkg", "a:1.0", "1.0")
    with pytest.raises(ValueError, match="malformed"):
        compare("gem", "1..2", "1")


def test_validity_is_reported_where_the_reference_still_compares() -> None:
    assert not is_valid("apk", "1.0bc") and compare("apk", "1.0", "1.0bc") == -1
    assert not is_valid("go", "bad") and compare("go", "bad", "v0.0.1") == -1  # x/mod: invalid sorts first
    assert not is_valid("pep440", "2004d") and is_valid("pep440", "1.0.post1")
    assert not is_valid("rpm", "") and is_valid("rpm", "1:2.3-4.el9")
    assert is_valid("dpkg", "1.0-1") and not is_valid("dpkg", "a1.0")  # dpkg warns, still compares


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown version scheme 'cobol'"):
        scheme("cobol")
