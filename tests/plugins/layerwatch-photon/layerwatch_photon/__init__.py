"""VMware Photon OS for layerwatch: rpm packages matched by name per release (`photon:4.0`)
against Photon's published CVE metadata (feed.py)."""

from __future__ import annotations

from layerwatch_scanner.distros.base import Distribution, binary_name
from layerwatch_scanner.model import RPM


def _release(os):  # noqa: ANN001, ANN202 - an OSInfo -> its ecosystem key
    return f"photon:{os.version_id}" if os.version_id else None


DISTRIBUTION = Distribution("Photon OS", RPM, "rpm", _release, {"photon": ("photon",)},
                            feed_modules=("layerwatch_photon.feed",), package_name=binary_name)
