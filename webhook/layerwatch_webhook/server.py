"""Run the webhook: TLS material, the cluster view, uvicorn (one worker: decisions are in memory)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import uvicorn

from .app import ScanRequester, create_app
from .kube import api_client
from .registration import Registrar
from .settings import WebhookSettings
from .tls import Bundle, ensure_secret_bundle, new_bundle, patch_ca_bundle
from .view import ClusterView

log = logging.getLogger(__name__)
RENEWAL_CHECK_SECONDS = 6 * 3600


def tls_files(settings: WebhookSettings) -> tuple[Path, Path, Bundle | None]:
    cert_dir = Path(settings.cert_dir)
    if settings.tls_mode == "certManager":  # mounted by cert-manager; it also injects the caBundle
        return cert_dir / "tls.crt", cert_dir / "tls.key", None
    if settings.tls_mode == "files":
        existing = cert_dir / "tls.crt"
        if existing.exists():
            return existing, cert_dir / "tls.key", None
        bundle = new_bundle(settings.service_name, settings.namespace)
    else:
        with api_client(settings) as client:
            bundle = ensure_secret_bundle(client, settings.namespace, settings.tls_secret, settings.service_name)
            patch_ca_bundle(client, settings.config_name, bundle.ca_cert)
    cert, key, _ = bundle.write(cert_dir)
    return cert, key, bundle


async def _renew_forever(server: uvicorn.Server, settings: WebhookSettings) -> None:
    """Swap in a renewed certificate on the live SSL context: new handshakes use it, open
    connections are untouched, nothing restarts."""
    while True:
        await asyncio.sleep(RENEWAL_CHECK_SECONDS)
        try:
            cert, key, _ = await asyncio.to_thread(tls_files, settings)
            if server.config.ssl is not None:
                server.config.ssl.load_cert_chain(str(cert), str(key))
        except Exception as exc:  # keep serving with the current certificate; try again later
            log.warning("certificate renewal check failed: %s", exc)


def run(settings: WebhookSettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cert, key, bundle = tls_files(settings)
    # the Fail scope needs namespace labels: managing it implies watching namespaces
    view = ClusterView(lambda: api_client(settings), watch_namespaces=settings.watch_namespaces or settings.manage_scope)
    view.start()
    registrar = None
    if settings.manage_scope:
        registrar = Registrar(view, lambda: api_client(settings), settings.config_name, settings.enforce_config_name,
                              settings.enforce_failure_policy, [settings.namespace, *settings.ignored_namespaces],
                              bundle.ca_cert if bundle and settings.tls_mode == "auto" else None)
        registrar.start()
    app = create_app(settings, view, ScanRequester(view, lambda: api_client(settings)),
                     delegated=registrar.delegated if registrar else None)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, ssl_certfile=str(cert), ssl_keyfile=str(key),
                            workers=1, log_level="warning", access_log=False)
    server = uvicorn.Server(config)

    async def main() -> None:
        renewal = asyncio.create_task(_renew_forever(server, settings)) if settings.tls_mode == "auto" else None
        await server.serve()
        if renewal:
            renewal.cancel()

    asyncio.run(main())
    if registrar:
        registrar.stop()
    view.stop()
