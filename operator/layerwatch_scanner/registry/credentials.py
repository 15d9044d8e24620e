"""Registry credentials from Docker's and Podman's config files.

Looked up in order: REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json, ~/.docker/config.json,
$XDG_RUNTIME_DIR/containers/auth.json. Entries carry `auth` (base64 "user:password") or
`username`/`password`. Docker Hub is stored under "https://index.docker.io/v1/".
"""

from __future__ import annotations

import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AuthError
from .reference import DOCKER_HUB

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    """A registry user name and password (never printed: repr hides the password)."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(username={self.username!r}, password=***)"


def config_paths(explicit: str | None = None) -> list[Path]:
    paths = []
    if explicit:
        paths.append(Path(explicit))
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("DOCKER_CONFIG"):
        paths.append(Path(os.environ["DOCKER_CONFIG"]) / "config.json")
    paths.append(Path.home() / ".docker" / "config.json")
    if os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    return paths


def _entry_credentials(entry: object, path: Path, key: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            import base64  # only when a config file names this registry

            decoded = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise AuthError(f"{path}: the 'auth' of {key} is not base64 'user:password'") from exc
        user, sep, password = decoded.partition(":")
        if not sep:
            raise AuthError(f"{path}: the 'auth' of {key} is not 'user:password'")
        return Credentials(user, password)
    if entry.get("username") and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]))
    return None


def _keys_for(registry: str) -> list[str]:
    if registry == DOCKER_HUB:
        return list(_HUB_KEYS)
    return [registry, f"https://{registry}", f"http://{registry}", f"https://{registry}/v1/", f"https://{registry}/v2/"]


def lookup(registry: str, explicit_file: str | None = None) -> Credentials | None:
    for path in config_paths(explicit_file):
        if not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise AuthError(f"{path}: not a readable JSON credentials file ({exc})") from exc
        auths = doc.get("auths") if isinstance(doc, dict) else None
        if not isinstance(auths, dict):
            continue
        for key in _keys_for(registry):
            creds = _entry_credentials(auths.get(key), path, key)
            if creds:
                return creds
    return None
