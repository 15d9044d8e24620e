"""`layerwatch` command line: the entry point of the console script.

Each command group lives in its own `cli_*.py` module with a `register(commands)` that adds its
sub-commands. `layerwatch operator` and `layerwatch webhook` come from the packages that
implement them through the `layerwatch.commands` entry-point group (the same `register`), so
this core never imports them.

Why argparse and not typer/click: CI runs `layerwatch scan` as a fresh process, and typer
costs ~45 ms to import and, since 0.2x, pydantic (~95 ms) to convert option values; the
standard library's parser costs a few milliseconds and never changes under us.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from .errors import LayerwatchError
from .plugins import entry_points

EXIT_CODES = """Exit codes: 0 nothing at or above the --fail-on gate; 1 the gate failed; 2 any error
(bad input, unwritable output, missing or stale advisory data)."""

# Modules under layerwatch_scanner whose register() adds commands, and the commands each adds.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "cli_sbom": ("sbom",), "cli_scan": ("scan", "rematch"), "cli_db": ("db",), "cli_crds": ("crds",),
}


class UsageError(LayerwatchError):
    """A bad option value, named: `error: --fail-on: 'x' is not a severity`."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(f"{option}: {message}" if option else message)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):  # noqa: ANN001, ANN201
        return super().add_usage(usage, actions, groups, "Usage: " if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """Errors are one line (`error: ...`, exit 2) instead of argparse's usage block."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def command(commands: argparse._SubParsersAction, name: str, run: Callable[[argparse.Namespace], int | None],
            help: str, description: str | None = None, epilog: str | None = EXIT_CODES) -> Parser:  # noqa: A002
    """A sub-command whose `run(args)` returns the exit code (None is 0)."""
    parser = commands.add_parser(name, help=help, description=description or help, epilog=epilog)
    parser.set_defaults(run=run, parser=parser)
    return parser


def group(commands: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:  # noqa: A002
    """A command with sub-commands of its own (`layerwatch db ...`); bare, it prints its help."""
    parser = commands.add_parser(name, help=help, description=help)
    parser.set_defaults(run=None, parser=parser)
    return parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)


def build_parser(argv: list[str] | None = None) -> Parser:
    """The parser for `argv`: plug-in commands are looked up only when argv does not name a core
    command (the help lists them all)."""
    parser = Parser(prog="layerwatch",
                    description="Container-image vulnerability scanning: inventory, matching, operator and webhook.",
                    epilog=EXIT_CODES)
    parser.set_defaults(run=None, parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=Parser)
    words = sys.argv[1:] if argv is None else argv
    first = next((w for w in words if not w.startswith("-")), None)
    # a core command builds only its own parser (building all with argparse's translations
    # looked up per option is a tenth of a warm rescan); anything else, the help among it, all
    named = [m for m, names in COMMAND_MODULES.items() if first in names]
    for module in named or COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module}").register(commands)
    if not named:
        for ep in entry_points("layerwatch.commands"):
            ep.load()(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Every failure ends in one line on stderr and exit 2 (1 is reserved for the
    --fail-on gate); LAYERWATCH_DEBUG=1 shows the traceback of an unexpected error."""
    try:
        args = build_parser(argv).parse_args(argv)
        if args.run is None:  # a bare `layerwatch` / `layerwatch db`: the help, exit 2
            print(args.parser.format_help(), file=sys.stderr)
            sys.exit(2)
        code = args.run(args)
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
    sys.exit(code or 0)


def entry() -> None:
    """The console script: main(), then exit without tearing the interpreter down.

    Unloading the few hundred modules a scan imports costs 15-30 ms, a third of a warm rescan,
    and there is nothing left to clean up: every command closes its files, databases and
    connections itself. Output is flushed first; a reader that went away (`| head`) is fine."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
