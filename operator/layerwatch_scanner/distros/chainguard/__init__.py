"""Chainguard OS (the base of Chainguard's own images): apk packages matched on their origin
package against Chainguard's secdb and its OSV advisories (CGA-…), both in feed.py. Rolling
like Wolfi: one ecosystem, `chainguard`."""

from __future__ import annotations

from ...model import APK
from ..base import Distribution

DISTRIBUTION = Distribution("Chainguard", APK, "apk", lambda os: "chainguard",
                            {"chainguard": ("chainguard", "chainguard-osv")},
                            feed_modules=(f"{__name__}.feed",),
                            osv_ecosystem=lambda name: "chainguard" if name == "Chainguard" else None)
