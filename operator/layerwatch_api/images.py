"""Image references as the cluster writes them, normalised for lookups (docker.io/library/…, :latest).

A small copy of Docker's rules: this package may not import the scanner's registry code, and
the webhook needs only normalisation, not parsing for network use.
"""

from __future__ import annotations


def split_digest(image: str) -> tuple[str, str]:
    name, _, digest = image.partition("@")
    return name, digest


def normalize(image: str) -> str:
    """"nginx" -> "docker.io/library/nginx:latest"; a digest, when present, is kept."""
    name, digest = split_digest(image.strip())
    first, sep, rest = name.partition("/")
    if not (sep and ("." in first or ":" in first or first == "localhost")):
        first, rest = "docker.io", name
    if first == "docker.io" and "/" not in rest:
        rest = f"library/{rest}"
    if ":" not in rest.rsplit("/", 1)[-1] and not digest:
        rest += ":latest"
    out = f"{first}/{rest}"
    return f"{out}@{digest}" if digest else out
