"""`layerwatch` command line: the entry point of the console script.

Each command group lives in its own `cli_*.py` module and registers itself on `app`.
`layerwatch operator` and `layerwatch webhook` come from the packages that implement them
through the `layerwatch.commands` entry-point group, so this core never imports them.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

import typer

from .errors import LayerwatchError

app = typer.Typer(
    name="layerwatch",
    help="Container-image vulnerability scanning: inventory, matching, operator and webhook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)



@app.callback()
def _root() -> None:
    """layerwatch: scan container images for vulnerable packages, in CI and in the cluster."""


# Modules under layerwatch_scanner that add commands to `app` when imported.
COMMAND_MODULES: list[str] = ["cli_sbom", "cli_scan", "cli_db", "cli_crds"]


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    for ep in entry_points(group="layerwatch.commands"):
        register = ep.load()
        register(app)


def main() -> None:
    _load_commands()
    try:
        app()
    except LayerwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
