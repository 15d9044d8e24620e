"""`layerwatch scan IMAGE` and `layerwatch rematch`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from layerwatch_api.severity import Severity

from . import cli_options as opt
from .cli import EXIT_CODES, app
from .errors import LayerwatchError
from .paths import layer_cache_path, vulndb_path
from .progress import progress_bar

# Matching and reporting modules are imported by the commands that use them: `layerwatch sbom`
# and `--help` start faster without univers, python-debian and the report writers.
FORMATS = ("table", "json", "sarif", "cyclonedx-json")

DbPath = Annotated[Path | None, typer.Option("--db", help="vulnerability database (default ~/.cache/layerwatch)")]


_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
SEVERITIES = ("critical", "high", "medium", "low", "negligible")


def parse_fail_on(value: str | None) -> Severity | None:
    if value is None:
        return None
    if value.strip().lower() not in SEVERITIES:
        raise typer.BadParameter(f"{value!r} is not a severity; choose from Critical, High, Medium, Low, Negligible",
                                 param_hint="--fail-on")
    return Severity.parse(value)


def parse_age(value: str) -> dt.timedelta:
    """"7d", "36h", "90m" (a bare number is days)."""
    text = value.strip().lower()
    unit = text[-1:] if text[-1:] in ("d", "h", "m") else "d"
    number = text[:-1] if text[-1:] in ("d", "h", "m") else text
    try:
        amount = float(number)
    except ValueError:
        amount = -1
    if amount <= 0:
        raise typer.BadParameter(f"{value!r}: expected a positive duration such as 7d, 36h or 90m",
                                 param_hint="--max-db-age")
    return dt.timedelta(**{_UNITS[unit]: amount})


@app.command(epilog=EXIT_CODES)
def scan(
    image: Annotated[str, typer.Argument(help="registry:REF (default), oci-dir:PATH, docker-archive:PATH or dir:PATH")],
    output: Annotated[str, typer.Option("-o", "--output", help="table, json, sarif or cyclonedx-json")] = "table",
    file: Annotated[Path | None, typer.Option("--file", help="write the report here instead of stdout")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="exit 1 if a finding at or above this "
                                                "severity remains (Critical, High, Medium, Low, Negligible)")] = None,
    ignore_unfixed: Annotated[bool, typer.Option("--ignore-unfixed", help="drop findings without a fix")] = False,
    only_fixed: Annotated[bool, typer.Option("--only-fixed", help="same as --ignore-unfixed")] = False,
    allow_missing_data: Annotated[bool, typer.Option(
        "--allow-missing-data", help="go on when the database cannot vouch for part of the image (a feed missing, "
        "stale or not covering its distribution): the report lists every uncovered part under coverage")] = False,
    max_db_age: Annotated[str, typer.Option("--max-db-age", help="error when the advisory data the image needs is "
                                            "older than this (7d, 36h); a warning after 24h")] = "7d",
    offline: Annotated[bool, typer.Option("--offline", help="never touch the network for the database")] = False,
    vex: Annotated[Path | None, typer.Option("--vex", help="OpenVEX document: not_affected statements "
                                             "suppress findings", exists=True, dir_okay=False)] = None,
    db: DbPath = None,
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
    """Find the vulnerable packages in IMAGE, with fixed versions and what to rebuild.

    Never reports "clean" without data: when the database lacks the feed of the image's
    distribution or of a language ecosystem found in it, or that data is stale, the scan
    fails with exit 2 and says how to get it (or goes on with --allow-missing-data).
    """
    if output not in FORMATS:
        raise typer.BadParameter(f"unknown format {output!r}; choose from {', '.join(FORMATS)}", param_hint="-o")
    threshold = parse_fail_on(fail_on)
    max_age = parse_age(max_db_age)
    opt.check_output_file(file)
    from .report.findings import RENDERERS
    from .scanning import scan_image
    from .vex import apply_vex, load_vex

    db_path = db or vulndb_path()
    if not db_path.exists():
        hint = "`layerwatch db import FILE`" if offline else "`layerwatch db update`"
        raise LayerwatchError(f"no vulnerability database at {db_path}: run {hint} first")
    options = opt.source_options(platform, username, password_stdin, ca_cert, insecure_registry, allow_host, deny_host)
    with progress_bar() as progress:
        result = scan_image(image, db_path, options, opt.open_cache(cache, no_cache), progress, max_age)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not result.coverage.complete and not allow_missing_data:
        gaps = result.coverage.blocking
        raise LayerwatchError(f"{image}: the database cannot vouch for {len(gaps)} part(s) of this image, so it "
                              f"is not reported as clean ({'; '.join(g.message for g in gaps)}); "
                              "or pass --allow-missing-data to report what is covered")
    if ignore_unfixed or only_fixed:
        result.findings = [f for f in result.findings if f.fixed_version]
    if vex:
        result.findings, result.suppressed = apply_vex(result.findings, load_vex(vex), result.inventory.image,
                                                       result.inventory.digest)
    opt.emit(RENDERERS[output](result), file)
    if threshold and any(f.rank >= threshold.rank for f in result.findings):
        raise typer.Exit(1)


@app.command("rematch")
def rematch_command(db: DbPath = None, cache: opt.CacheDir = None) -> None:
    """Re-match every cached image against the current database; print what changed."""
    from .layers.cache import LayerCache
    from .scanning import rematch
    from .vulndb.store import VulnDB

    vulndb = VulnDB.open(db or vulndb_path())
    try:
        diffs = rematch(LayerCache(cache or layer_cache_path()), vulndb)
    finally:
        vulndb.close()
    if not diffs:
        typer.echo("no image gained or lost findings")
    for diff in diffs:
        typer.echo(f"{diff.image} ({diff.digest}): +{len(diff.added)} -{len(diff.removed)}")
        for f in diff.added:
            typer.echo(f"  + {f.id} {f.severity} in {f.package} {f.version}"
                       + (f", fixed in {f.fixed_version}" if f.fixed_version else ""))
        for f in diff.removed:
            typer.echo(f"  - {f.id} in {f.package} {f.version}")
