"""Alpine Linux: apk packages matched on their origin (source) package per branch (`alpine:3.18`;
a `_alpha`/`_beta` VERSION_ID is `alpine:edge`), against the Alpine secdb (feed.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import APK
from ..base import Distribution

if TYPE_CHECKING:
    from ...model import OSInfo


def _release(os: OSInfo) -> str | None:
    if not os.version_id:
        return None
    if "_alpha" in os.version_id or "_beta" in os.version_id:
        return "alpine:edge"
    return "alpine:" + ".".join(os.version_id.split(".")[:2])


def _osv(name: str) -> str | None:
    return "alpine:" + name.split(":v", 1)[1] if name.startswith("Alpine:v") else None


DISTRIBUTION = Distribution("Alpine Linux", APK, "apk", _release, {"alpine": ("alpine",)},
                            feed_modules=(f"{__name__}.feed",), osv_ecosystem=_osv)
