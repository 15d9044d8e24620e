"""The shared OVAL reader (distros/oval.py) with hostile and unusual documents."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from layerwatch_scanner.distros.oval import read_definitions
from layerwatch_scanner.errors import FeedError

from tests.scanner.distros.conftest import FEEDS

NS = 'xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:l="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux"'


def _doc(criteria: str) -> bytes:
    return f"""<oval_definitions {NS}><definitions><definition id="d1"><metadata><title>CVE-2024-1</title>
<affected><platform>P</platform></affected></metadata><criteria operator="AND">{criteria}</criteria></definition>
</definitions><tests>
<l:rpminfo_test id="t1"><l:object object_ref="o1"/><l:state state_ref="s1"/></l:rpminfo_test>
<l:rpminfo_test id="t2"><l:object object_ref="o2"/><l:state state_ref="s2"/></l:rpminfo_test>
</tests><objects><l:rpminfo_object id="o1"><l:name>openssl</l:name></l:rpminfo_object>
<l:rpminfo_object id="o2"><l:name>sles-release</l:name></l:rpminfo_object></objects>
<states><l:rpminfo_state id="s1"><l:evr datatype="evr_string" operation="less than">0:3.0.8-1</l:evr></l:rpminfo_state>
<l:rpminfo_state id="s2"><l:version operation="equals">15.3</l:version></l:rpminfo_state></states>
</oval_definitions>""".encode()


def _read(tmp_path: Path, data: bytes) -> list:
    path = tmp_path / "oval.xml"
    path.write_bytes(data)
    return list(read_definitions(path, "test"))


def test_bounds_are_scoped_to_the_platform_criterion_beside_them(tmp_path: Path) -> None:
    [d] = _read(tmp_path, _doc('<criterion test_ref="t2" comment="SLES 15 SP3 is installed"/>'
                               '<criterion test_ref="t1" comment="openssl is &lt;3.0.8-1"/>'))
    assert d.scoped_bounds() == [(frozenset({"SLES 15 SP3"}), "openssl", "less than", "0:3.0.8-1")]


def test_negated_criteria_are_neither_fixes_nor_platforms(tmp_path: Path) -> None:
    [d] = _read(tmp_path, _doc('<criterion test_ref="t2" negate="true" comment="SLES 15 SP3 is installed"/>'
                               '<criterion test_ref="t1" negate="true" comment="openssl is &lt;3.0.8-1"/>'))
    assert d.scoped_bounds() == []


@pytest.mark.parametrize("data", [
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate",  # a gzip header over a corrupt stream
    b"<oval_definitions><definitions><definition id='x'>",  # truncated
    b'<!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><oval_definitions>&x;</oval_definitions>',
])
def test_malformed_and_hostile_documents_are_feed_errors(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(FeedError, match="not a readable OVAL document"):
        _read(tmp_path, data)


def test_a_compression_bomb_is_bounded(tmp_path: Path) -> None:
    from layerwatch_scanner.distros import oval

    path = tmp_path / "bomb.xml.gz"
    path.write_bytes(gzip.compress(b"<oval_definitions>" + b" " * (2 * 1024 * 1024) + b"</oval_definitions>"))
    real = oval.open_document
    try:
        oval.open_document = lambda p, limit=1024 * 1024: real(p, limit)  # a 1 MiB cap for the test
        with pytest.raises(FeedError, match="decompressed"):
            list(read_definitions(path, "test"))
    finally:
        oval.open_document = real


def test_the_real_fixtures_still_read(tmp_path: Path) -> None:
    assert len(list(read_definitions(FEEDS / "oracle-oval/ELSA-2007-0057.xml", "oracle"))) == 1
