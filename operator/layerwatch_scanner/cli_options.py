"""Command-line options shared by `layerwatch sbom` and `layerwatch scan`: image source and auth."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .errors import LayerwatchError
from .layers.cache import LayerCache
from .paths import layer_cache_path
from .sources.options import SourceOptions

Platform = Annotated[str, typer.Option("--platform", help="os/arch or os/arch/variant to pick from a multi-arch image")]
Username = Annotated[str | None, typer.Option("--username", "-u", help="registry user name")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the registry password from stdin")]
CaCert = Annotated[Path | None, typer.Option("--ca-cert", help="PEM file of CAs to trust for the registry",
                                             exists=True, dir_okay=False)]
Insecure = Annotated[list[str] | None, typer.Option("--insecure-registry",
                                                    help="host or host:port reachable over plain HTTP (repeatable)")]
AllowHost = Annotated[list[str] | None, typer.Option("--allow-host", help="only contact these registry hosts (glob)")]
DenyHost = Annotated[list[str] | None, typer.Option("--deny-host", help="never contact these registry hosts (glob)")]
CacheDir = Annotated[Path | None, typer.Option("--cache", help="layer cache file (default ~/.cache/layerwatch)")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="do not read or write the layer cache")]


def source_options(platform: str, username: str | None, password_stdin: bool, ca_cert: Path | None,
                   insecure: list[str] | None, allow: list[str] | None, deny: list[str] | None) -> SourceOptions:
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise typer.BadParameter("--password-stdin given but stdin is empty")
    return SourceOptions(platform=platform, username=username, password=password,
                         ca_cert=str(ca_cert) if ca_cert else None, insecure_registries=list(insecure or []),
                         allow_hosts=list(allow or []), deny_hosts=list(deny or []))


def open_cache(cache: Path | None, no_cache: bool) -> LayerCache | None:
    return None if no_cache else LayerCache(cache or layer_cache_path())


def check_output_file(file: Path | None, param_hint: str = "--file") -> None:
    """Refuse an unwritable output file before any work is done (a long scan must not end in a traceback)."""
    if file is None:
        return
    if file.is_dir():
        raise typer.BadParameter(f"{file} is a directory", param_hint=param_hint)
    if not file.parent.is_dir():
        raise typer.BadParameter(f"directory {file.parent} does not exist", param_hint=param_hint)


def emit(text: str, file: Path | None) -> None:
    """A report to --file (written whole, then renamed into place), or to stdout."""
    if file is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    tmp = file.with_name(f".{file.name}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(file)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LayerwatchError(f"cannot write the report to {file}: {exc.strerror or exc}") from exc
