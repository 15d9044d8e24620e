"""`layerwatch crds`: print (or write) the CustomResourceDefinitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import app


@app.command()
def crds(write: Annotated[list[Path] | None, typer.Option("--write", help="write one file per CRD into "
                                                                          "these directories")] = None) -> None:
    """Print the ImageScan and VulnerabilityPolicy CRDs (`kubectl apply -f -` ready)."""
    from layerwatch_api.crds import all_crds, render  # pydantic schema work: only when asked

    documents = all_crds()
    if write:
        for directory in write:
            directory.mkdir(parents=True, exist_ok=True)
            for name, crd in documents.items():
                (directory / name).write_text(render(crd))
        return
    typer.echo("---\n".join(render(crd) for crd in documents.values()), nl=False)
