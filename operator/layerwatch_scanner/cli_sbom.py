"""`layerwatch sbom IMAGE`: the image's packages, layer by layer."""

from __future__ import annotations

import argparse

from . import cli_options as opt
from .cli import command
from .progress import progress_bar

# the catalogers, the source readers and the renderers are imported when the command runs
FORMATS = ("table", "json", "cyclonedx-json", "spdx-json")


def register(commands: argparse._SubParsersAction) -> None:
    parser = command(commands, "sbom", run, "List every OS and language package in IMAGE with its Package URL "
                     "and the layer that added it.")
    parser.add_argument("image", metavar="IMAGE", help=opt.IMAGE_HELP)
    opt.add_output(parser, FORMATS)
    opt.add_source_options(parser)


def run(args: argparse.Namespace) -> None:
    opt.check_output_file(args.file)
    from .inventory import build_inventory
    from .report.sbom import RENDERERS
    from .sources import open_source

    options = opt.source_options(args)
    layer_cache = opt.open_cache(args.cache, args.no_cache)
    source = open_source(args.image, options)
    try:
        with progress_bar() as progress:
            inventory = build_inventory(source, cache=layer_cache, progress=progress)
    finally:
        source.close()
    for warning in inventory.warnings:
        opt.warn(warning)
    if not inventory.packages:
        opt.warn(f"{args.image}: nothing was cataloged (no package database or known package files)")
    opt.emit(RENDERERS[args.output](inventory), args.file)
