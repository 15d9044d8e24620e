"""Command-line options shared by `layerwatch sbom` and `layerwatch scan`: image source and auth."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .cli import UsageError
from .errors import LayerwatchError
from .paths import layer_cache_path

if TYPE_CHECKING:
    from .layers.cache import LayerCache
    from .sources.options import SourceOptions

IMAGE_HELP = "registry:REF (default), oci-dir:PATH, docker-archive:PATH or dir:PATH"


def existing_file(value: str) -> Path:
    """An argparse type: a file that exists (not a directory)."""
    path = Path(value)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{value}: no such file")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a directory")
    return path


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="vulnerability database (default ~/.cache/layerwatch/vulndb.sqlite)")


def add_output(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    def known(value: str) -> str:
        if value not in formats:
            raise argparse.ArgumentTypeError(f"unknown format {value!r}; choose from {', '.join(formats)}")
        return value

    parser.add_argument("-o", "--output", default="table", type=known, metavar="FORMAT",
                        help=f"{', '.join(formats)} (default table)")
    parser.add_argument("--file", type=Path, help="write the report here instead of stdout")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", default="linux/amd64",
                        help="os/arch or os/arch/variant to pick from a multi-arch image (default linux/amd64)")
    add_registry_options(parser)
    parser.add_argument("--cache", type=Path, help="layer cache file (default ~/.cache/layerwatch)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the layer cache")


def add_registry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--username", help="registry user name")
    parser.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")
    parser.add_argument("--ca-cert", type=existing_file, help="PEM file of CAs to trust for the registry")
    parser.add_argument("--insecure-registry", action="append", metavar="HOST",
                        help="host or host:port reachable over plain HTTP (repeatable)")
    parser.add_argument("--allow-host", action="append", metavar="GLOB", help="only contact these registry hosts")
    parser.add_argument("--deny-host", action="append", metavar="GLOB", help="never contact these registry hosts")


def source_options(args: argparse.Namespace) -> SourceOptions:
    from .sources.options import SourceOptions

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("given but stdin is empty", "--password-stdin")
    return SourceOptions(platform=getattr(args, "platform", "linux/amd64"), username=args.username, password=password,
                         ca_cert=str(args.ca_cert) if args.ca_cert else None,
                         insecure_registries=list(args.insecure_registry or []),
                         allow_hosts=list(args.allow_host or []), deny_hosts=list(args.deny_host or []))


def open_cache(cache: Path | None, no_cache: bool) -> LayerCache | None:
    from .layers.cache import LayerCache

    return None if no_cache else LayerCache(cache or layer_cache_path())


def check_output_file(file: Path | None, option: str = "--file") -> None:
    """Refuse an unwritable output file before any work is done (a long scan must not end in a traceback)."""
    if file is None:
        return
    if file.is_dir():
        raise UsageError(f"{file} is a directory", option)
    if not file.parent.is_dir():
        raise UsageError(f"directory {file.parent} does not exist", option)


def emit(text: str, file: Path | None) -> None:
    """A report to --file (written whole, then renamed into place), or to stdout."""
    if file is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = file.with_name(f".{file.name}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(file)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LayerwatchError(f"cannot write the report to {file}: {exc.strerror or exc}") from exc


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
