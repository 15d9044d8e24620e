"""Debian control-file paragraphs (deb822), as python-debian's `Deb822.iter_paragraphs` reads them
with `use_apt_pkg=False`: a line-for-line port of its pure-Python parser (python-debian 1.0,
`debian/deb822.py`: `_skip_useless_lines`, `_split_gpg_and_payload`, `_internal_parser`).

Ported rather than imported because importing python-debian costs ~24 ms (it loads
charset_normalizer, email, logging and subprocess at import), about 5% of a CI pipeline's cold scan
of a medium image, for a format of a few rules. tests/scanner/catalog/test_deb822.py checks that
it reads exactly what python-debian reads, on real status files and on generated input.

Rules: '#' lines are skipped anywhere; blank lines before a paragraph are skipped and a blank (or
whitespace-only) line ends it; `Key: value` starts a field (the value stripped), a line starting
with whitespace continues it; other lines are ignored; OpenPGP armour is stripped; keys are
case-insensitive, a repeated key keeps its last value; an empty paragraph ends the iteration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_NEW_FIELD = re.compile(r"^(?P<key>[^: \t\n\r\f\v]+)\s*:\s*(?P<data>(?:\S+(\s+\S+)*)?)\s*$")
_GPG = re.compile(rb"^-----(?P<action>BEGIN|END) PGP (?P<what>[^-]+)-----[\r\t ]*$")


class Paragraph(dict):
    """Fields by lower-cased name; `get` is case-insensitive, as python-debian's is."""

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return dict.get(self, key.lower(), default)


def _useful(lines: Iterator[str]) -> Iterator[bytes]:
    at_beginning = True
    for text in lines:
        line = text.encode()
        if line.startswith(b"#"):
            continue
        if at_beginning:
            if not line.rstrip(b"\r\n"):
                continue
            at_beginning = False
        yield line


def _payload(lines: Iterator[bytes]) -> list[bytes]:
    """One paragraph's lines without OpenPGP armour (empty at the end of the input)."""
    pre: list[bytes] = []
    payload: list[bytes] = []
    post: list[bytes] = []
    state = b"SAFE"
    first = True
    for raw in lines:
        line = raw.strip(b"\r\n")
        if first:
            if not line or line.isspace():
                continue
            first = False
        m = _GPG.match(line) if line.startswith(b"-") else None
        empty = not line or line.isspace()
        if not m:
            if state == b"SAFE":
                if not empty:
                    payload.append(line)
                elif not pre:
                    break
            elif state == b"SIGNED MESSAGE":
                if empty:
                    state = b"SAFE"
                else:
                    pre.append(line)
            elif state == b"SIGNATURE":
                post.append(line)
        else:
            if m.group("action") == b"BEGIN":
                state = m.group("what")
            elif m.group("action") == b"END":
                post.append(line)
                break
            if not empty:
                (post if payload else pre).append(line)
    return payload


def _paragraph(lines: Iterator[bytes]) -> Paragraph:
    fields = Paragraph()
    key, content = None, ""
    for raw in _payload(lines):
        line = raw.decode("utf-8")
        m = _NEW_FIELD.match(line)
        if m:
            if key:
                fields[key] = content
            key, content = m.group("key").lower(), m.group("data")
            continue
        if line and line[0].isspace() and not line.isspace():
            content += "\n" + line
    if key:
        fields[key] = content
    return fields


def iter_paragraphs(lines: Iterable[str]) -> Iterator[Paragraph]:
    """The paragraphs of `lines` (text split with str.splitlines)."""
    useful = _useful(iter(lines))
    while True:
        paragraph = _paragraph(useful)
        if not paragraph:
            return
        yield paragraph
