"""Differential tests against the reference implementations themselves, run on this machine:
libdpkg (Debian's libdpkg-dev), librpm (librpm-dev), RubyGems (ruby) and node-semver (npm).

Thousands of version pairs are generated from the shapes real packages use plus random
token soup (hostile input), and each reference's verdict must equal ours. `.ci/run` installs
the references; a missing one is a test failure naming the package, not a skip.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from layerwatch_scanner.match.versions import scheme

HERE = Path(__file__).parents[2] / "support" / "reference"
PAIRS = 4000


def _num(r: random.Random) -> str:
    return r.choice(["0", "1", "2", "3", "9", "10", "11", "01", "00", "100", "20230101"])


def _dotted(r: random.Random) -> str:
    return ".".join(_num(r) for _ in range(r.randint(1, 4)))


SHAPES = {
    "dpkg": lambda r: r.choice(["", "1:", "2:"]) + _dotted(r) + r.choice(["", "~rc1", "+dfsg", "+b1", "a", "~"])
    + r.choice(["", "-1", "-0ubuntu1", "-1~deb12u1", "-1+b2", "-1.1", "-1ubuntu0.22.04.1"]),
    "rpm": lambda r: r.choice(["", "1:", "0:", "module+el8:"]) + _dotted(r) + r.choice(["", "~rc1", "^git1", "a", "_1"])
    + r.choice(["", "-1.el9", "-1.el9_1", "-0.1.fc38", "-"]),
    "gem": lambda r: _dotted(r) + r.choice(["", ".a", ".b", ".pre", ".rc1", ".beta.2", "a", "-1", "-rc.1", ".0.0"]),
    "semver": lambda r: r.choice(["", "v"]) + ".".join(r.choice(["0", "1", "2", "10"]) for _ in range(3))
    + r.choice(["", "-alpha", "-alpha.1", "-beta.11", "-rc.1", "-0.3.7", "-x-y.1", "-01a"]) + r.choice(["", "+build.1"]),
}
SOUP = {
    "dpkg": ["0", "1", "10", "01", "a", "Z", "~", "+", ".", "-", ":", "1:", "dfsg", "~rc1", " ", "é", "_"],
    "rpm": ["0", "1", "10", "01", "a", "Z", "~", "^", ".", "-", "_", "+", ":", "1:", "el9", "%"],
    "gem": ["0", "1", "10", "01", ".", "-", "a", "b", "pre", "Z", ".0", " ", "_"],
    "semver": ["0", "1", "01", ".", "-", "+", "alpha", "v", "1.2.3", "9007199254740993", " ", "="],
}


def _pairs(name: str) -> list[tuple[str, str]]:
    r = random.Random(f"layerwatch-{name}")
    out = []
    for i in range(PAIRS):
        if i % 2 == 0:
            a, b = SHAPES[name](r), SHAPES[name](r)
        else:
            a = "".join(r.choice(SOUP[name]) for _ in range(r.randint(1, 6)))
            b = a + r.choice(SOUP[name]) if r.random() < 0.3 else "".join(
                r.choice(SOUP[name]) for _ in range(r.randint(1, 6)))
        out.append((a, b if r.random() > 0.05 else a))
    return out


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: install {package} (`.ci/run` does)")
    return path


def _build(source: str, pkg_config: str, package: str, tmp_path: Path) -> list[str]:
    _need("gcc", "gcc")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", pkg_config], capture_output=True, text=True)
    if flags.returncode != 0:
        pytest.fail(f"pkg-config {pkg_config} failed: install {package} (`.ci/run` does)")
    binary = tmp_path / source.removesuffix(".c")
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(HERE / source), *flags.stdout.split()], check=True)
    return [str(binary)]


def _reference(name: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if name == "dpkg":
        return _build("dpkg_compare.c", "libdpkg", "libdpkg-dev", tmp_path), env
    if name == "rpm":
        return _build("rpm_compare.c", "rpm", "librpm-dev", tmp_path), env
    if name == "gem":
        return [_need("ruby", "ruby"), str(HERE / "gem_compare.rb")], env
    module = os.environ.get("SEMVER_MODULE") or str(Path(__file__).parents[3] / ".tools" / "node_modules" / "semver")
    if not Path(module).is_dir():
        pytest.fail(f"node-semver not found at {module}: `npm install --prefix .tools semver` (`.ci/run` does)")
    env["SEMVER_MODULE"] = module
    return [_need("node", "nodejs"), str(HERE / "semver_compare.js")], env


@pytest.mark.parametrize("name", ["dpkg", "rpm", "gem", "semver"])
def test_matches_the_reference_implementation(name: str, tmp_path: Path) -> None:
    command, env = _reference(name, tmp_path)
    pairs = [(a, b) for a, b in _pairs(name) if "\t" not in a + b]
    result = subprocess.run(command, input="".join(f"{a}\t{b}\n" for a, b in pairs), capture_output=True,
                            text=True, env=env, check=True)
    verdicts = result.stdout.split()
    assert len(verdicts) == len(pairs)
    ours = scheme(name)
    wrong = []
    for (a, b), ref in zip(pairs, verdicts, strict=True):
        try:
            mine = str(ours.compare(a, b))
        except ValueError:
            mine = "E"
        if mine != ref:
            wrong.append(f"{a!r} vs {b!r}: reference {ref}, ours {mine}")
    shaped_refused = verdicts[0::2].count("E")  # even pairs have real-package shapes
    assert shaped_refused < len(pairs) // 20, "the generator should mostly produce comparable versions"
    assert not wrong, f"{len(wrong)} of {len(pairs)} differ from the reference: {wrong[:10]}"
