"""Code-quality gates that run with the test suite: ruff and the import-linter contracts."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed in the test environment (pip install -e .[test])"
    return found


def test_ruff_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_directions() -> None:
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_source_folders_are_not_packages() -> None:
    # A top-level `operator` package would shadow Python's stdlib `operator` module.
    assert not (ROOT / "operator" / "__init__.py").exists()
    assert not (ROOT / "webhook" / "__init__.py").exists()
