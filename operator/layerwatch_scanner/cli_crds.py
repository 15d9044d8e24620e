"""`layerwatch crds`: print (or write) the CustomResourceDefinitions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import command


def register(commands: argparse._SubParsersAction) -> None:
    parser = command(commands, "crds", run, "Print the ImageScan, VulnerabilityPolicy and NotificationTarget CRDs "
                     "(`kubectl apply -f -` ready).", epilog=None)
    parser.add_argument("--write", type=Path, action="append", metavar="DIR",
                        help="write one file per CRD into these directories")


def run(args: argparse.Namespace) -> None:
    from layerwatch_api.crds import all_crds, render  # pydantic schema work: only when asked

    documents = all_crds()
    if args.write:
        for directory in args.write:
            directory.mkdir(parents=True, exist_ok=True)
            for name, crd in documents.items():
                (directory / name).write_text(render(crd))
        return
    sys.stdout.write("---\n".join(render(crd) for crd in documents.values()))
