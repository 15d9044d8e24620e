"""`layerwatch db update|status|export|import`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import app
from .cli_options import check_output_file
from .config import feed_urls
from .errors import LayerwatchError
from .paths import vulndb_path
from .progress import progress_bar

db_app = typer.Typer(help="Download, inspect and move the vulnerability database.", no_args_is_help=True,
                     rich_markup_mode=None)
app.add_typer(db_app, name="db")
DbPath = Annotated[Path | None, typer.Option("--db", help="database file (default ~/.cache/layerwatch/vulndb.sqlite)")]


@db_app.command()
def update(
    source: Annotated[list[str] | None, typer.Option("--source", help="only these sources (repeatable)")] = None,
    source_url: Annotated[list[str] | None, typer.Option("--source-url", help="NAME=URL (http, https, file)")] = None,
    db: DbPath = None,
) -> None:
    """Download the advisory feeds into a new database and swap it in atomically."""
    from .vulndb.update import update_db

    urls = feed_urls()
    for item in source_url or []:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise typer.BadParameter(f"{item!r}: expected NAME=URL", param_hint="--source-url")
        urls[name] = url
    path = db or vulndb_path()
    with progress_bar() as progress:
        report = update_db(path, source or None, urls, progress)
    for r in report.results:
        line = f"{r.name:<14} {r.status:<13} {r.records:>8} records"
        if r.malformed:
            line += f"  ({r.malformed} versions the scheme cannot read: `layerwatch db status`)"
        typer.echo(line + (f"  error: {r.error}" if r.error else ""))
    if not report.installed:
        kept = "the database in service is unchanged" if path.exists() else "no database was created"
        raise LayerwatchError(f"every source failed, {kept} ({path})")
    typer.echo(f"database: {path}")
    if report.failed:
        names = ", ".join(r.name for r in report.failed)
        raise LayerwatchError(f"{len(report.failed)} source(s) failed ({names}); their previous records, if any, "
                              f"were kept and `layerwatch scan` reports images that need them as not covered")


@db_app.command()
def status(db: DbPath = None) -> None:
    """When the database was built and what each source contributed."""
    from .vulndb.store import VulnDB

    path = db or vulndb_path()
    vulndb = VulnDB.open(path)
    meta = vulndb.metadata()
    typer.echo(f"database:   {path}\nbuilt at:   {meta.built_at}\nschema:     {meta.schema_version}")
    for name, src in meta.sources.items():
        typer.echo(f"{name:<14} {src.records:>8} records  last success {src.last_success}  {src.url}")
        if src.malformed:
            typer.echo(f"{'':<14} {src.malformed} versions its ecosystem's scheme cannot read, e.g. "
                       + "; ".join(src.malformed_samples[:3]))
    vulndb.close()


@db_app.command("export")
def export_command(target: Path, db: DbPath = None) -> None:
    """Write the database to one compressed, checksummed file (for air-gapped clusters)."""
    from .vulndb.update import export_db

    check_output_file(target, param_hint="TARGET")
    digest = export_db(db or vulndb_path(), target)
    typer.echo(f"exported to {target} (sha256 {digest})")


@db_app.command("import")
def import_command(source: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], db: DbPath = None) -> None:
    """Verify and install a database exported with `layerwatch db export`."""
    from .vulndb.update import import_db

    digest = import_db(source, db or vulndb_path())
    typer.echo(f"imported {source} (sha256 {digest})")
