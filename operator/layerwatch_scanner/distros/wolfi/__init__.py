"""Wolfi, the undistro of Chainguard's images: apk packages matched on their origin package
against Wolfi's secdb (feed.py). Wolfi is rolling: one ecosystem, `wolfi`, whatever VERSION_ID
(a build date) an image carries."""

from __future__ import annotations

from ...model import APK
from ..base import Distribution

DISTRIBUTION = Distribution("Wolfi", APK, "apk", lambda os: "wolfi", {"wolfi": ("wolfi",)},
                            feed_modules=(f"{__name__}.feed",),
                            osv_ecosystem=lambda name: "wolfi" if name == "Wolfi" else None)
