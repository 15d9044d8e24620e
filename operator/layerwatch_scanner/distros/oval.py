"""OVAL definitions (the format Oracle, SUSE and Azure Linux publish their advisories in), read
as a stream and resolved: a definition's criteria name tests, a test names an rpm (object) and
a state; a state's `evr` bounds the affected versions: "less than" is the version that fixes
it, "less than or equal" the last affected one (no fix yet), "greater than" (or equal) where
the affected versions begin.

Only what matching needs is kept: per definition its id, title, rating, references, platforms
and, per package, its bounds. Each distribution's feed turns those into records with its
own ecosystem key. XML is read with defusedxml: DTDs and entities are refused.
"""

from __future__ import annotations

import bz2
import gzip
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import FeedError


@dataclass
class OvalDefinition:
    """One definition, its fixes resolved through tests, objects and states."""

    id: str
    title: str = ""
    severity: str = ""
    references: list[tuple[str, str]] = field(default_factory=list)  # (source, ref_id)
    platforms: list[str] = field(default_factory=list)
    fixes: list[tuple[str, str]] = field(default_factory=list)  # (package, version that fixes it)
    bounds: dict[str, dict[str, str]] = field(default_factory=dict)  # package -> {operation: evr}
    test_refs: list[str] = field(default_factory=list)
    comments: dict[str, str] = field(default_factory=dict)  # test_ref -> its criterion's comment
    criteria: tuple | None = None  # (operator, [children]); a child is a test_ref or a criteria
    resolved: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # test_ref -> (package, op, evr)

    def scoped_bounds(self) -> list[tuple[frozenset[str], str, str, str]]:
        """(platforms, package, operation, evr) with the platforms each bound is stated for: a
        criterion that is no package bound and says "<platform> is installed" scopes the bounds
        beside it in an AND (directly, or as the only kind in a child OR), as SUSE writes them."""
        out: list[tuple[frozenset[str], str, str, str]] = []
        if self.criteria is not None:
            self._walk(self.criteria, frozenset(), out)
        return out

    def _platform(self, child: object) -> str | None:
        if not isinstance(child, str) or child in self.resolved:
            return None
        comment = self.comments.get(child, "")
        return comment[: -len(" is installed")] if comment.endswith(" is installed") else None

    def _platforms_of(self, node: tuple) -> set[str] | None:
        """The platforms an OR of platform criteria names; None when it holds anything else."""
        names = {self._platform(c) for c in node[1]}
        return None if None in names else names  # type: ignore[return-value]

    def _walk(self, node: tuple, inherited: frozenset[str], out: list) -> None:
        operator, children = node
        scope = set()
        if operator == "AND":
            for child in children:
                if (name := self._platform(child)) is not None:
                    scope.add(name)
                elif isinstance(child, tuple) and (names := self._platforms_of(child)):
                    scope |= names
        platforms = frozenset(scope) or inherited
        for child in children:
            if isinstance(child, tuple):
                if not (operator == "AND" and self._platforms_of(child)):
                    self._walk(child, platforms, out)
            elif child in self.resolved:
                out.append((platforms, *self.resolved[child]))


BOUNDS = frozenset({"less than", "less than or equal", "greater than", "greater than or equal"})


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem.iter() if _local(c.tag) == name]


def _text(elem: ET.Element | None) -> str:
    return (elem.text or "").strip() if elem is not None else ""


MAX_DOCUMENT = 4 * 1024 * 1024 * 1024  # decompressed: Oracle's every-ELSA file is about half a GiB


class _Bounded:
    """A file object that refuses to yield more than `limit` bytes (a compression bomb)."""

    def __init__(self, raw, limit: int):  # noqa: ANN001
        self._raw, self._left = raw, limit

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n if n is not None and n >= 0 else self._left + 1)
        self._left -= len(data)
        if self._left < 0:
            raise ValueError(f"more than {MAX_DOCUMENT} bytes once decompressed")
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_document(path: Path, limit: int = MAX_DOCUMENT) -> _Bounded:
    """The file, decompressed when it is gzip or bzip2 (the way the vendors publish it)."""
    with path.open("rb") as probe:
        magic = probe.read(3)
    if magic[:2] == b"\x1f\x8b":
        return _Bounded(gzip.open(path, "rb"), limit)
    if magic == b"BZh":
        return _Bounded(bz2.open(path, "rb"), limit)
    return _Bounded(path.open("rb"), limit)


def _definition(elem: ET.Element) -> OvalDefinition:
    d = OvalDefinition(id=elem.get("id", ""))
    for child in elem:
        if _local(child.tag) != "metadata":
            continue
        for meta in child.iter():
            name = _local(meta.tag)
            if name == "title":
                d.title = " ".join(_text(meta).split())
            elif name == "severity" and not d.severity:
                d.severity = _text(meta)
            elif name == "reference":
                d.references.append((meta.get("source", ""), meta.get("ref_id", "")))
            elif name == "platform":
                d.platforms.append(_text(meta))
    for criterion in _children(elem, "criterion"):
        ref = criterion.get("test_ref")
        if ref:
            d.test_refs.append(ref)
            d.comments[ref] = criterion.get("comment", "")
    top = next((c for c in elem if _local(c.tag) == "criteria"), None)
    d.criteria = _tree(top) if top is not None else None
    return d


def _tree(criteria: ET.Element, depth: int = 0) -> tuple:
    children: list = []
    for child in criteria:
        name = _local(child.tag)
        if child.get("negate", "").lower() == "true":
            continue  # "not installed", "not affected": never a fix or a platform of one
        if name == "criterion" and child.get("test_ref"):
            children.append(child.get("test_ref"))
        elif name == "criteria" and depth < 32:  # deeper nesting is hostile, not OVAL
            children.append(_tree(child, depth + 1))
    return (criteria.get("operator", "AND").upper(), children)


def read_definitions(path: Path, what: str) -> Iterator[OvalDefinition]:
    """Every definition of an OVAL document with its fixes resolved."""
    definitions: list[OvalDefinition] = []
    tests: dict[str, tuple[str, str]] = {}  # test id -> (object id, state id)
    objects: dict[str, str] = {}  # object id -> rpm name
    states: dict[str, tuple[str, str]] = {}  # state id -> (operation, evr)
    try:
        with open_document(path) as stream:
            root = None
            for event, elem in SafeET.iterparse(stream, events=("start", "end")):
                if event == "start":
                    root = elem if root is None else root
                    continue
                name = _local(elem.tag)
                if name == "definition":
                    definitions.append(_definition(elem))
                elif name.endswith("_test") and elem.get("id"):
                    obj = next((c.get("object_ref", "") for c in elem if _local(c.tag) == "object"), "")
                    state = next((c.get("state_ref", "") for c in elem if _local(c.tag) == "state"), "")
                    tests[elem.get("id", "")] = (obj, state)
                elif name.endswith("_object") and elem.get("id"):
                    objects[elem.get("id", "")] = next((_text(c) for c in elem if _local(c.tag) == "name"), "")
                elif name.endswith("_state") and elem.get("id"):
                    evr = next((c for c in elem if _local(c.tag) == "evr"), None)
                    if evr is not None and evr.get("operation") in BOUNDS:
                        states[elem.get("id", "")] = (evr.get("operation", ""), _text(evr))
                elif name in ("variables", "generator"):  # never needed: dropped as read
                    pass
                else:
                    continue
                elem.clear()
                if root is not None and name in ("definitions", "tests", "objects", "states", "variables"):
                    root.clear()  # a section is done: its (cleared) elements go too
    except (ET.ParseError, DefusedXmlException, OSError, EOFError, ValueError, zlib.error) as exc:
        raise FeedError(f"{what}: {path.name} is not a readable OVAL document ({exc})") from exc
    for d in definitions:
        for ref in d.test_refs:
            obj, state = tests.get(ref, ("", ""))
            package, (operation, evr) = objects.get(obj, ""), states.get(state, ("", ""))
            if package and evr:
                d.resolved[ref] = (package, operation, evr)
                d.bounds.setdefault(package, {})[operation] = evr
                if operation == "less than":
                    d.fixes.append((package, evr))
        yield d
