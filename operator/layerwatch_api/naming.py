"""Readable, stable names for ImageScans: `nginx-1-25-0a1b2c3d4e` (DNS-1123, ≤ 63 characters)."""

from __future__ import annotations

import hashlib
import re

from .images import normalize, split_digest


def imagescan_name(image: str, digest: str = "") -> str:
    name, pinned = split_digest(image)
    digest = digest or pinned
    repo = normalize(f"{name}@{digest}" if digest else name).split("@")[0].split("/")[-1]  # "nginx:1.25"
    readable = re.sub(r"[^a-z0-9]+", "-", repo.lower()).strip("-")[:48].strip("-") or "image"
    # the digest identifies the image; without one (a tag not yet resolved) the reference does
    suffix = digest.split(":")[-1][:10] if digest else hashlib.sha256(normalize(name).encode()).hexdigest()[:10]
    return f"{readable}-{suffix}"
