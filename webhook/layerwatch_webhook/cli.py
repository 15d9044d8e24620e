"""`layerwatch webhook`: registered on the main CLI through the `layerwatch.commands` entry point."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def webhook() -> None:
        """Run the validating admission webhook (settings: LAYERWATCH_WEBHOOK_* variables)."""
        from .server import run
        from .settings import WebhookSettings

        run(WebhookSettings.from_env())
