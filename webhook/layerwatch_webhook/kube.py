"""An httpx client for the Kubernetes API, through the one implementation both components
share (layerwatch_api.kubeaccess): in-cluster token re-read as it rotates, or a kubeconfig."""

from __future__ import annotations

import httpx
from layerwatch_api import kubeaccess

from .settings import WebhookSettings


def api_client(settings: WebhookSettings, timeout: float = 30.0) -> httpx.Client:
    if settings.kube_url:  # tests and `kubectl proxy`: an explicit URL without credentials
        return httpx.Client(base_url=settings.kube_url, timeout=timeout)
    return kubeaccess.httpx_client(kubeaccess.connect(settings.kubeconfig or None), timeout)
