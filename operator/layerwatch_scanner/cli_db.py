"""`layerwatch db update|status|export|import`."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli import UsageError, command, group
from .cli_options import add_db_option, add_registry_options, check_output_file, existing_file, source_options
from .errors import LayerwatchError
from .paths import vulndb_path
from .progress import progress_bar


def register(commands: argparse._SubParsersAction) -> None:
    db = group(commands, "db", "Download, inspect and move the vulnerability database.")
    parser = command(db, "update", update, "Download the advisory feeds into a new database and swap it in "
                     "atomically.")
    parser.add_argument("--source", action="append", metavar="NAME", help="only these sources (repeatable)")
    parser.add_argument("--source-url", action="append", metavar="NAME=URL", help="NAME=URL (http, https, file)")
    add_db_option(parser)
    add_db_option(command(db, "status", status, "When the database was built and what each source contributed."))
    parser = command(db, "export", export_command, "Write the database to one compressed, checksummed file "
                     "(for air-gapped clusters).")
    parser.add_argument("target", metavar="TARGET", type=Path)
    add_db_option(parser)
    parser = command(db, "import", import_command, "Verify and install a database exported with "
                     "`layerwatch db export`.")
    parser.add_argument("source", metavar="SOURCE", type=existing_file)
    add_db_option(parser)
    parser = command(db, "push", push_command, "Push the database to a registry as an OCI artifact "
                     "(REGISTRY/REPO:TAG), for clusters that pull it instead of downloading feeds.")
    parser.add_argument("reference", metavar="REGISTRY/REPO:TAG")
    add_db_option(parser)
    add_registry_options(parser)
    parser = command(db, "pull", pull_command, "Pull a database pushed with `layerwatch db push`, verify it "
                     "and swap it in.")
    parser.add_argument("reference", metavar="REGISTRY/REPO:TAG")
    add_db_option(parser)
    add_registry_options(parser)


def update(args: argparse.Namespace) -> None:
    from .config import feed_urls
    from .vulndb.update import update_db

    urls = feed_urls()
    for item in args.source_url or []:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise UsageError(f"{item!r}: expected NAME=URL", "--source-url")
        urls[name] = url
    path = args.db or vulndb_path()
    def show(r) -> None:  # noqa: ANN001 - one line per source as soon as it is done
        line = f"{r.name:<14} {r.status:<13} {r.records:>8} records {r.seconds:>7.1f} s {r.bytes / 1e6:>8.1f} MB"
        if r.changed:
            line += f"  ({r.changed} documents changed)"
        if r.malformed:
            line += f"  ({r.malformed} versions the scheme cannot read: `layerwatch db status`)"
        print(line + (f"  error: {r.error}" if r.error else ""), flush=True)

    with progress_bar() as progress:
        report = update_db(path, args.source or None, urls, progress, on_result=show)
    if not report.installed:
        kept = "the database in service is unchanged" if path.exists() else "no database was created"
        raise LayerwatchError(f"every source failed, {kept} ({path})")
    print(f"database: {path}")
    if report.failed:
        names = ", ".join(r.name for r in report.failed)
        raise LayerwatchError(f"{len(report.failed)} source(s) failed ({names}); their previous records, if any, "
                              f"were kept and `layerwatch scan` reports images that need them as not covered")


def status(args: argparse.Namespace) -> None:
    from .vulndb.store import VulnDB

    path = args.db or vulndb_path()
    vulndb = VulnDB.open(path)
    meta = vulndb.metadata()
    print(f"database:   {path}\nbuilt at:   {meta.built_at}\nschema:     {meta.schema_version}")
    for name, src in meta.sources.items():
        print(f"{name:<14} {src.records:>8} records  last success {src.last_success}  "
              f"took {src.seconds:.1f} s, {src.bytes / 1e6:.1f} MB  {src.url}")
        if src.malformed:
            print(f"{'':<14} {src.malformed} versions its ecosystem's scheme cannot read, e.g. "
                       + "; ".join(src.malformed_samples[:3]))
    vulndb.close()


def export_command(args: argparse.Namespace) -> None:
    from .vulndb.update import export_db

    check_output_file(args.target, "TARGET")
    digest = export_db(args.db or vulndb_path(), args.target)
    print(f"exported to {args.target} (sha256 {digest})")


def import_command(args: argparse.Namespace) -> None:
    from .vulndb.update import import_db

    digest = import_db(args.source, args.db or vulndb_path())
    print(f"imported {args.source} (sha256 {digest})")


def push_command(args: argparse.Namespace) -> None:
    from .vulndb.artifact import push_db

    digest = push_db(args.db or vulndb_path(), args.reference, source_options(args))
    print(f"pushed {args.reference}@{digest}")


def pull_command(args: argparse.Namespace) -> None:
    from .vulndb.artifact import pull_db

    path = args.db or vulndb_path()
    digest = pull_db(args.reference, path, source_options(args))
    print(f"pulled {args.reference}@{digest} into {path}")
