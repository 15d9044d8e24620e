"""`layerwatch operator`: registered on the main CLI through the `layerwatch.commands` entry point."""

from __future__ import annotations

import argparse

from layerwatch_scanner.cli import command


def register(commands: argparse._SubParsersAction) -> None:
    parser = command(commands, "operator", run, "Run the operator: an ImageScan for every image running in the "
                     "cluster (settings: LAYERWATCH_* variables).", epilog=None)
    parser.add_argument("--verbose", action="store_true", help="debug logging")


def run(args: argparse.Namespace) -> None:
    import asyncio
    import logging

    import kopf

    from . import handlers  # noqa: F401 - registers the handlers
    from .settings import OperatorSettings

    settings = OperatorSettings.load()  # fail fast on a bad setting, before connecting
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(kopf.operator(clusterwide=not settings.namespaces, namespaces=settings.namespaces,
                              standalone=True,
                              liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz"))
