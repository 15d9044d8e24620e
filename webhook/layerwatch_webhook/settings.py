"""Webhook settings, from LAYERWATCH_WEBHOOK_* environment variables (documented in docs/webhook.md)."""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

PREFIX = "LAYERWATCH_WEBHOOK_"


class WebhookSettings(BaseModel):
    host: str = "0.0.0.0"  # noqa: S104 - a webhook must listen on the pod IP
    port: int = Field(default=8443, ge=1, le=65535)
    namespace: str = "layerwatch"  # its own namespace: never evaluated
    service_name: str = "layerwatch-webhook"
    tls_secret: str = "layerwatch-webhook-tls"  # noqa: S105 - the name of a Secret, not a password
    config_name: str = "layerwatch.layerwatch.dev"  # the chart's configuration (workloads, Ignore)
    enforce_config_name: str = "layerwatch-enforce.layerwatch.dev"  # the one this webhook fills in
    enforce_failure_policy: str = Field(default="Fail", pattern="^(Fail|Ignore)$")
    tls_mode: str = Field(default="auto", pattern="^(auto|files|certManager)$")
    cert_dir: str = "/tmp/layerwatch-webhook-tls"  # noqa: S108 - an emptyDir in the pod
    kube_url: str = ""  # talk to this API URL without credentials (tests, kubectl proxy)
    kubeconfig: str = ""  # otherwise a kubeconfig, otherwise the in-cluster service account
    watch_namespaces: bool = True  # namespace labels for namespaceSelector
    manage_scope: bool = True  # keep the webhook configuration's Fail scope = namespaces under Enforce
    create_imagescans: bool = True  # ask the operator to scan images it has not seen
    ignored_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WebhookSettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            raw = env.get(PREFIX + name.upper())
            if raw is None:
                continue
            if field.annotation is bool:
                values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif name == "ignored_namespaces":
                values[name] = [n.strip() for n in raw.split(",") if n.strip()]
            else:
                values[name] = raw
        return cls.model_validate(values)
