"""Image references: `nginx`, `ghcr.io/org/app:1.2`, `localhost:5000/x@sha256:…`.

Normalised the way Docker does: no registry means docker.io, a one-part Docker Hub name
lives under `library/`, no tag means `latest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import LayerwatchError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference."""
    registry: str  # host[:port] as written ("docker.io", "localhost:5000")
    repository: str  # "library/nginx"
    tag: str = ""
    digest: str = ""

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def ref(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> Reference:
    original = text
    text = text.strip()
    digest = ""
    if "@" in text:
        text, digest = text.split("@", 1)
        if not _DIGEST.match(digest):
            raise LayerwatchError(f"invalid image reference {original!r}: bad digest {digest!r}")
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    else:
        registry, remainder = DOCKER_HUB, text
    tag = ""
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1:]
        if not _TAG.match(tag):
            raise LayerwatchError(f"invalid image reference {original!r}: bad tag {tag!r}")
    if registry == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    if not remainder or not _REPO.match(remainder):
        raise LayerwatchError(f"invalid image reference {original!r}: bad repository name {remainder!r}")
    if not tag and not digest:
        tag = "latest"
    return Reference(registry=registry.lower() if registry != DOCKER_HUB else registry, repository=remainder,
                     tag=tag, digest=digest)
