"""An httpx client for the Kubernetes API: explicit URL, kubeconfig, or in-cluster credentials.

Credentials are read with the `kubernetes` library's config loaders (the maintained reference
for kubeconfig handling); requests themselves go through httpx so watches can stream.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from .settings import WebhookSettings

IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def _from_configuration(cfg, timeout: float) -> httpx.Client:  # noqa: ANN001 - kubernetes.client.Configuration
    verify: ssl.SSLContext | bool = True
    if cfg.ssl_ca_cert:
        verify = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
    if not cfg.verify_ssl:
        verify = False
    if cfg.cert_file and cfg.key_file and isinstance(verify, ssl.SSLContext):
        verify.load_cert_chain(cfg.cert_file, cfg.key_file)
    headers = {}
    token = cfg.api_key.get("authorization") or cfg.api_key.get("BearerToken")
    if token:
        headers["Authorization"] = token if token.startswith("Bearer ") else f"Bearer {token}"
    return httpx.Client(base_url=cfg.host, verify=verify, headers=headers, timeout=timeout)


def api_client(settings: WebhookSettings, timeout: float = 30.0) -> httpx.Client:
    if settings.kube_url:
        return httpx.Client(base_url=settings.kube_url, timeout=timeout)
    # imported here: the kubernetes package costs ~30 MB, and only kubeconfig reading needs it
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config

    cfg = k8s_client.Configuration()
    if settings.kubeconfig:
        k8s_config.load_kube_config(config_file=settings.kubeconfig, client_configuration=cfg)
    elif IN_CLUSTER_TOKEN.exists():
        k8s_config.load_incluster_config(client_configuration=cfg)
    else:
        k8s_config.load_kube_config(client_configuration=cfg)
    return _from_configuration(cfg, timeout)
