"""`layerwatch server`: registered on the main CLI through the `layerwatch.commands` entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Serve the JSON API for CI: match inventories (scan --server) and scan images (OpenAPI at /docs)."


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("server", help=HELP, description=HELP)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--db", type=Path, help="vulnerability database (default ~/.cache/layerwatch/vulndb.sqlite)")
    parser.add_argument("--cache", type=Path, help="layer cache (default ~/.cache/layerwatch/layers.sqlite)")
    parser.add_argument("--token-file", type=Path, required=True, action="append",
                        help="a file holding a bearer token clients must send (repeatable)")
    parser.add_argument("--rate", type=float, default=20.0,
                        help="requests per second each token may make, bursts of twice that (default 20)")
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", type=Path, help="and this key")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> None:
    import uvicorn
    from layerwatch_scanner.errors import LayerwatchError
    from layerwatch_scanner.paths import layer_cache_path, vulndb_path
    from layerwatch_scanner.remote import read_token

    from .app import ServerSettings, create_app

    if args.rate <= 0:
        raise LayerwatchError("--rate: expected a positive number of requests per second")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise LayerwatchError("--tls-cert and --tls-key go together")
    db = args.db or vulndb_path()
    if not db.exists():
        raise LayerwatchError(f"no vulnerability database at {db}: run `layerwatch db update` first")
    settings = ServerSettings(db=db, cache=args.cache or layer_cache_path(),
                              tokens=[read_token(path) for path in args.token_file],
                              rate=args.rate, burst=max(1, int(args.rate * 2)))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning",
                ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
                ssl_keyfile=str(args.tls_key) if args.tls_key else None)
