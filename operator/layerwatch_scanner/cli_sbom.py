"""`layerwatch sbom IMAGE`: the image's packages, layer by layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import cli_options as opt
from .cli import app
from .inventory import build_inventory
from .progress import progress_bar
from .report.sbom import RENDERERS
from .sources import open_source


@app.command()
def sbom(
    image: Annotated[str, typer.Argument(help="registry:REF (default), oci-dir:PATH, docker-archive:PATH or dir:PATH")],
    output: Annotated[str, typer.Option("-o", "--output", help="table, json, cyclonedx-json or spdx-json")] = "table",
    file: Annotated[Path | None, typer.Option("--file", help="write the report here instead of stdout")] = None,
    platform: opt.Platform = "linux/amd64",
    username: opt.Username = None,
    password_stdin: opt.PasswordStdin = False,
    ca_cert: opt.CaCert = None,
    insecure_registry: opt.Insecure = None,
    allow_host: opt.AllowHost = None,
    deny_host: opt.DenyHost = None,
    cache: opt.CacheDir = None,
    no_cache: opt.NoCache = False,
) -> None:
    """List every OS and language package in IMAGE with its Package URL and the layer that added it."""
    if output not in RENDERERS:
        raise typer.BadParameter(f"unknown format {output!r}; choose from {', '.join(RENDERERS)}", param_hint="-o")
    opt.check_output_file(file)
    options = opt.source_options(platform, username, password_stdin, ca_cert, insecure_registry, allow_host, deny_host)
    layer_cache = opt.open_cache(cache, no_cache)
    source = open_source(image, options)
    try:
        with progress_bar() as progress:
            inventory = build_inventory(source, cache=layer_cache, progress=progress)
    finally:
        source.close()
    for warning in inventory.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not inventory.packages:
        typer.echo(f"warning: {image}: nothing was cataloged (no package database or known package files)", err=True)
    opt.emit(RENDERERS[output](inventory), file)
