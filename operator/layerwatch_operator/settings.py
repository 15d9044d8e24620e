"""Operator settings: LAYERWATCH_* environment variables, optionally a config file's `operator:`
section (LAYERWATCH_CONFIG); environment wins. Documented in docs/operator.md."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

_DURATION = re.compile(r"(\d+)(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | int | float) -> float:
    """"24h", "90m", "1h30m", "45s" or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {value!r}: use e.g. 24h, 90m, 1h30m")
    return float(sum(int(n) * _UNITS[u] for n, u in parts))


def _list(value: str | list[str]) -> list[str]:
    if isinstance(value, list):
        return value
    return [v.strip() for v in value.split(",") if v.strip()]


class OperatorSettings(BaseModel):
    scan_concurrency: int = Field(default=2, ge=1, le=64)
    namespaces: list[str] = Field(default_factory=list)  # empty: all namespaces
    ignore_namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    retention: float = parse_duration("24h")
    refresh_interval: float = parse_duration("6h")
    max_findings: int = Field(default=100, ge=1, le=1000)
    max_workloads: int = Field(default=50, ge=1, le=500)
    registry_allow_hosts: list[str] = Field(default_factory=list)
    registry_deny_hosts: list[str] = Field(default_factory=list)
    insecure_registries: list[str] = Field(default_factory=list)
    # feeds to update; empty: those the cluster's images need (plus kev, epss)
    sources: list[str] = Field(default_factory=list)
    db_repository: str = ""  # REGISTRY/REPO:TAG of a `layerwatch db push`ed database: pulled instead
    cache_dir: str = "/var/cache/layerwatch"
    db_path: str = ""  # default: <cache_dir>/vulndb.sqlite
    db_max_age: float = parse_duration("24h")  # older at start-up: refresh before scanning
    metrics_port: int = 8080
    health_port: int = 8081
    gc_interval: float = parse_duration("10m")
    # scan on push (push.py): off while 0
    push_port: int = Field(default=0, ge=0, le=65535)
    push_token_file: str = ""  # the bearer token registries send
    push_tls_cert: str = ""  # PEM certificate (chain) and key: HTTPS when set
    push_tls_key: str = ""

    @field_validator("retention", "refresh_interval", "db_max_age", "gc_interval", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float:
        return parse_duration(value)  # type: ignore[arg-type]

    @field_validator("namespaces", "ignore_namespaces", "registry_allow_hosts", "registry_deny_hosts",
                     "insecure_registries", "sources", mode="before")
    @classmethod
    def _lists(cls, value: object) -> list[str]:
        return _list(value)  # type: ignore[arg-type]

    @property
    def vulndb(self) -> Path:
        return Path(self.db_path) if self.db_path else Path(self.cache_dir) / "vulndb.sqlite"

    @property
    def layer_cache(self) -> Path:
        return Path(self.cache_dir) / "layers.sqlite"

    @property
    def outbox(self) -> Path:
        """Notifications waiting for delivery (kept across restarts)."""
        return Path(self.cache_dir) / "notifications.sqlite"

    @classmethod
    def load(cls, env: dict[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        config = env.get("LAYERWATCH_CONFIG")
        if config and Path(config).is_file():
            section = (yaml.safe_load(Path(config).read_text()) or {}).get("operator") or {}
            values.update({k.replace("-", "_"): v for k, v in section.items()})
        for name in cls.model_fields:
            raw = env.get("LAYERWATCH_" + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        return cls.model_validate(values)
