"""The deb822 port reads exactly what python-debian's `Deb822.iter_paragraphs(use_apt_pkg=False)`
reads (python-debian, the reference, is a test dependency): every real dpkg status file in the test
data, and generated input mixing fields, continuations, comments, blank and whitespace-only lines,
garbage and OpenPGP armour."""

from __future__ import annotations

from pathlib import Path

import pytest
from debian.deb822 import Deb822
from hypothesis import given, settings
from hypothesis import strategies as st
from layerwatch_scanner.catalog.deb822 import iter_paragraphs

from tests.conftest import TESTDATA

STATUS_FILES = sorted((TESTDATA / "pkgdb/dpkg").glob("**/var/lib/dpkg/status*"))


def _reference(text: str) -> list[dict[str, str]]:
    return [{str(k).lower(): v for k, v in p.items()}
            for p in Deb822.iter_paragraphs(text.splitlines(keepends=True), use_apt_pkg=False)]


def _ours(text: str) -> list[dict[str, str]]:
    return [dict(p) for p in iter_paragraphs(text.splitlines(keepends=True))]


@pytest.mark.parametrize("path", [p for p in STATUS_FILES if p.is_file()], ids=lambda p: str(p.relative_to(TESTDATA)))
def test_real_status_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    ours = _ours(text)
    assert ours == _reference(text) and ours


LINES = st.sampled_from([
    "Package: libc6", "Version: 2.36-9+deb12u4", "Status: install ok installed", "Source: glibc (2.36-9)",
    "package: lower", "Description: one", " continued", "\tcontinued with a tab", " .", "#comment",
    "# Package: commented", "", "   ", "\t", "garbage without a colon", "Key:value", "Key :  spaced value  ",
    "Empty:", ": no key", "-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA256", "-----BEGIN PGP SIGNATURE-----",
    "iQIzBAEBCAAdFiEE", "-----END PGP SIGNATURE-----", "-not armour", "Ünïcode: välue", "Dup: 1", "dup: 2",
    "x\u00a0y: nbsp in the key", "\u00a0nbsp-led line",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=40), st.sampled_from(["\n", "\r\n"]))
def test_generated_input(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    assert _ours(text) == _reference(text)


def test_case_insensitive_get() -> None:
    [para] = iter_paragraphs(["Package: a\n", "VERSION: 1\n"])
    assert (para.get("package"), para.get("Version"), para.get("Missing")) == ("a", "1", None)
