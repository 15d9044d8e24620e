"""Options shared by every image source (most only matter for registries)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceOptions:
    """How to reach an image: platform, registry credentials, TLS, hosts allowed, timeout."""
    platform: str = "linux/amd64"
    username: str | None = None
    password: str | None = None  # never logged
    ca_cert: str | None = None
    insecure_registries: list[str] = field(default_factory=list)
    allow_hosts: list[str] = field(default_factory=list)
    deny_hosts: list[str] = field(default_factory=list)
    docker_config: str | None = None
    timeout: float = 60.0
