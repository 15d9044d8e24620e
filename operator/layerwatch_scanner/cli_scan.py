"""`layerwatch scan IMAGE` and `layerwatch rematch`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from layerwatch_api.severity import Severity

from . import cli_options as opt
from .cli import UsageError, command
from .errors import LayerwatchError
from .paths import layer_cache_path, vulndb_path
from .progress import progress_bar

# Matching and reporting modules are imported by the commands that use them: `layerwatch sbom`
# and `--help` start faster without the version schemes, the feeds and the report writers.
FORMATS = ("table", "json", "sarif", "cyclonedx-json")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
SEVERITIES = ("critical", "high", "medium", "low", "negligible")


def parse_fail_on(value: str | None) -> Severity | None:
    if value is None:
        return None
    if value.strip().lower() not in SEVERITIES:
        raise UsageError(f"{value!r} is not a severity; choose from Critical, High, Medium, Low, Negligible",
                         "--fail-on")
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
        raise UsageError(f"{value!r}: expected a positive duration such as 7d, 36h or 90m", "--max-db-age")
    return dt.timedelta(**{_UNITS[unit]: amount})


def register(commands: argparse._SubParsersAction) -> None:
    parser = command(commands, "scan", scan, "Find the vulnerable packages in IMAGE, with fixed versions and what "
                     "to rebuild.", description="""Find the vulnerable packages in IMAGE, with fixed versions and what to rebuild.

Never reports "clean" without data: when the database lacks the feed of the image's
distribution or of a language ecosystem found in it, or that data is stale, the scan
fails with exit 2 and says how to get it (or goes on with --allow-missing-data).""")
    parser.add_argument("image", metavar="IMAGE", help=opt.IMAGE_HELP)
    opt.add_output(parser, FORMATS)
    parser.add_argument("--fail-on", metavar="SEVERITY", help="exit 1 if a finding at or above this severity "
                        "remains (Critical, High, Medium, Low, Negligible)")
    parser.add_argument("--server", metavar="URL", help="match against a layerwatch server (`layerwatch server`): "
                        "the image is cataloged here and only its package list is sent; no local database")
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="bearer token for --server")
    parser.add_argument("--ignore-unfixed", action="store_true", help="drop findings without a fix")
    parser.add_argument("--only-fixed", action="store_true", help="same as --ignore-unfixed")
    parser.add_argument("--allow-missing-data", action="store_true", help="go on when the database cannot vouch "
                        "for part of the image (a feed missing, stale or not covering its distribution): the "
                        "report lists every uncovered part under coverage")
    parser.add_argument("--max-db-age", default="7d", metavar="AGE", help="error when the advisory data the image "
                        "needs is older than this (7d, 36h); a warning after 24h (default 7d)")
    parser.add_argument("--offline", action="store_true", help="never touch the network for the database")
    parser.add_argument("--vex", type=opt.existing_file, metavar="FILE",
                        help="OpenVEX document: not_affected statements suppress findings")
    opt.add_db_option(parser)
    opt.add_source_options(parser)
    parser = command(commands, "rematch", rematch_command, "Re-match every cached image against the current "
                     "database (only the packages whose advisories changed since the last re-match); print "
                     "what changed.", epilog=None)
    opt.add_db_option(parser)
    parser.add_argument("--full", action="store_true", help="re-decide every package of every image")
    parser.add_argument("--cache", type=Path, help="layer cache file (default ~/.cache/layerwatch)")


def scan(args: argparse.Namespace) -> int:
    threshold = parse_fail_on(args.fail_on)
    max_age = parse_age(args.max_db_age)
    opt.check_output_file(args.file)
    from .report.findings import RENDERERS
    from .scanning import scan_image

    options = opt.source_options(args)
    if args.server:  # cataloged here, matched by the server: no local database
        from .remote import match_remote, read_token
        from .scanning import inventory_of

        token = read_token(args.token_file)
    else:
        db_path = args.db or vulndb_path()
        if not db_path.exists():
            hint = "`layerwatch db import FILE`" if args.offline else "`layerwatch db update`"
            raise LayerwatchError(f"no vulnerability database at {db_path}: run {hint} first")
    cache = opt.open_cache(args.cache, args.no_cache)
    try:
        with progress_bar() as progress:
            if args.server:
                inventory = inventory_of(args.image, options, cache, progress)
            else:
                result = scan_image(args.image, db_path, options, cache, progress, max_age)
    finally:
        if cache is not None:
            cache.close()
    if args.server:
        result = match_remote(args.server, token, inventory, max_age.total_seconds())
    for warning in result.warnings:
        opt.warn(warning)
    if not result.coverage.complete and not args.allow_missing_data:
        gaps = result.coverage.blocking
        raise LayerwatchError(f"{args.image}: the database cannot vouch for {len(gaps)} part(s) of this image, so "
                              f"it is not reported as clean ({'; '.join(g.message for g in gaps)}); "
                              "or pass --allow-missing-data to report what is covered")
    if args.ignore_unfixed or args.only_fixed:
        result.findings = [f for f in result.findings if f.fixed_version]
    if args.vex:
        from .vex import apply_vex, load_vex

        result.findings, result.suppressed = apply_vex(result.findings, load_vex(args.vex), result.inventory.image,
                                                       result.inventory.digest)
    opt.emit(RENDERERS[args.output](result), args.file)
    return 1 if threshold and any(f.rank >= threshold.rank for f in result.findings) else 0


def rematch_command(args: argparse.Namespace) -> None:
    from .layers.cache import LayerCache
    from .rematching import rematch
    from .vulndb.store import VulnDB

    vulndb = VulnDB.open(args.db or vulndb_path())
    try:
        report = rematch(LayerCache(args.cache or layer_cache_path()), vulndb, full=args.full)
    finally:
        vulndb.close()
    diffs = report.diffs
    print(f"re-matched {report.rematched} of {report.images} images ({report.mode}"
          + (f", {report.changed_packages} packages changed" if report.mode == "delta" else "")
          + f") in {report.seconds:.2f} s", file=sys.stderr)
    if not diffs:
        print("no image gained or lost findings")
    for diff in diffs:
        added, removed, modified = diff.added, diff.removed, diff.modified
        lines = [f"{diff.image} ({diff.digest}): +{len(added)} -{len(removed)}"
                 + (f" ~{len(modified)}" if modified else "")]
        lines += [f"  + {f.id} {f.severity} in {f.package} {f.version}"
                  + (f", fixed in {f.fixed_version}" if f.fixed_version else "") for f in added]
        lines += [f"  - {f.id} in {f.package} {f.version}" for f in removed]
        lines += [f"  ~ {f.id} {f.severity} in {f.package} {f.version}"
                  + (f", fixed in {f.fixed_version}" if f.fixed_version else f", {f.status or 'no fix'}")
                  for f in modified]
        sys.stdout.write("\n".join(lines) + "\n")
