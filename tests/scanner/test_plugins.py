"""The light entry-point reader agrees with importlib.metadata on every installed package."""

from __future__ import annotations

import importlib.metadata

import pytest
from layerwatch_scanner.plugins import _parse, entry_points


def test_same_entry_points_as_importlib_metadata_for_every_group() -> None:
    reference = importlib.metadata.entry_points()
    groups = set(reference.groups)
    assert "layerwatch.commands" in groups and "console_scripts" in groups
    for group in groups:
        expected = sorted((ep.name, ep.value.split("[")[0].strip()) for ep in reference.select(group=group))
        assert sorted((ep.name, ep.value) for ep in entry_points(group)) == expected, group


def test_commands_group_loads_the_operator_and_webhook() -> None:
    commands = {ep.name: ep.load() for ep in entry_points("layerwatch.commands")}
    assert set(commands) >= {"operator", "webhook"} and all(callable(c) for c in commands.values())


@pytest.mark.parametrize("text", ["", "no group = x:y", "[g]\nnot an entry", "[unterminated\na = b:c", "\x00\xff"])
def test_malformed_files_give_nothing_not_an_error(text: str) -> None:
    assert [ep for ep in _parse(text, "d") if ep.group == "g"] == []
