"""`layerwatch webhook`: registered on the main CLI through the `layerwatch.commands` entry point."""

from __future__ import annotations

import argparse

HELP = "Run the validating admission webhook (settings: LAYERWATCH_WEBHOOK_* variables)."


def register(commands: argparse._SubParsersAction) -> None:
    """The `layerwatch.commands` plug-in interface (the webhook never imports the scanner core):
    add a sub-parser whose defaults name `run(args) -> exit code | None`."""
    parser = commands.add_parser("webhook", help=HELP, description=HELP)
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> None:
    from .server import run as serve
    from .settings import WebhookSettings

    serve(WebhookSettings.from_env())
