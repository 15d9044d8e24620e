"""`layerwatch` command line: the entry point of the console script.

Each command group lives in its own `cli_*.py` module and registers itself on `app`.
`layerwatch operator` and `layerwatch webhook` come from the packages that implement them
through the `layerwatch.commands` entry-point group, so this core never imports them.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points

import typer

from .errors import LayerwatchError

EXIT_CODES = """Exit codes: 0 nothing at or above the --fail-on gate; 1 the gate failed; 2 any error
(bad input, unwritable output, missing or stale advisory data)."""

# Help is plain text (rich_markup_mode=None): option help such as "os/arch[/variant]" must
# never be parsed as markup, whatever rich/typer versions are installed.
app = typer.Typer(
    name="layerwatch",
    help="Container-image vulnerability scanning: inventory, matching, operator and webhook.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
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
    """Run the CLI. Every failure ends in one line on stderr and exit 2 (1 is reserved for the
    --fail-on gate); LAYERWATCH_DEBUG=1 shows the traceback of an unexpected error."""
    # click's exceptions, or the copy of click that newer typer releases vendor
    click_errors = sys.modules[typer.BadParameter.__module__]
    no_args_is_help = getattr(click_errors, "NoArgsIsHelpError", ())
    try:
        _load_commands()
        code = app(standalone_mode=False)
    except no_args_is_help as exc:  # a bare `layerwatch` / `layerwatch db`: the help, exit 2
        ctx = getattr(exc, "ctx", None)
        print(ctx.get_help() if ctx else exc, file=sys.stderr)
        sys.exit(2)
    except click_errors.ClickException as exc:  # usage errors: one line naming the option, exit 2
        _fail(exc.format_message().replace("\n", " "))
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except LayerwatchError as exc:
        _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - a bug must still not look like "vulnerable" (exit 1)
        if os.environ.get("LAYERWATCH_DEBUG"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (set LAYERWATCH_DEBUG=1 for the traceback)")
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
