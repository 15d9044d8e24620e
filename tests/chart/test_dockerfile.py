"""The Dockerfile's rules, checked by BuildKit's own parser (PyPI `dockerfile`). The image itself
is built from it with buildah and run on a real node by tests/node/test_chart_on_a_node.py."""

from __future__ import annotations

import dockerfile

from tests.chart.helm_support import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _stages() -> list[list[dockerfile.Command]]:
    stages: list[list[dockerfile.Command]] = []
    for cmd in dockerfile.parse_file(str(DOCKERFILE)):
        if cmd.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(cmd)
    return stages


def test_multi_stage_slim_base_and_non_root_final_stage() -> None:
    build, final = _stages()
    args = {c.value[0].split("=")[0]: c.value[0].split("=", 1)[1]
            for c in dockerfile.parse_file(str(DOCKERFILE)) if c.cmd == "ARG" and "=" in c.value[0]}
    base = args["PYTHON_IMAGE"]
    assert base.startswith("python:3.1") and "slim" in base
    assert build[0].value == ("${PYTHON_IMAGE}", "AS", "build") and final[0].value == ("${PYTHON_IMAGE}",)
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert [c.value for c in final if c.cmd == "ENTRYPOINT"] == [("layerwatch",)]


def test_final_stage_has_no_build_tools_or_healthcheck() -> None:
    _, final = _stages()
    runs = " ".join(" ".join(c.value) for c in final if c.cmd == "RUN")
    for tool in ("apt-get install", "gcc", "build-essential", "pip install"):
        assert tool not in runs
    assert not [c for c in final if c.cmd in ("HEALTHCHECK", "ADD")]
    copies = [c for c in final if c.cmd == "COPY"]
    assert copies and all(c.flags == ("--from=build",) for c in copies)
    labels = " ".join(" ".join(c.value) for c in final if c.cmd == "LABEL")
    for key in ("org.opencontainers.image.title", "org.opencontainers.image.source",
                "org.opencontainers.image.version", "org.opencontainers.image.licenses"):
        assert key in labels


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", ".tools"} <= set(ignored)
