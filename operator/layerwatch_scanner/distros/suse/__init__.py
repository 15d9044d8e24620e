"""SUSE Linux Enterprise (SLES, SLED, the BCI base images), openSUSE Leap and SUSE Linux Micro:
rpm packages matched by binary package name against SUSE's OVAL definitions (feed.py), per
release with its service pack (`sles:15.3`, `opensuse-leap:15.5`, `sl-micro:6.0`). Every SLE
product and module of one service pack shares its packages, so they share the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import RPM
from ..base import Distribution, binary_name

if TYPE_CHECKING:
    from ...model import OSInfo

FAMILIES = {"sles": "sles", "sled": "sles", "opensuse-leap": "opensuse-leap", "sl-micro": "sl-micro",
            "sle-micro": "sl-micro"}


def _release(os: OSInfo) -> str | None:
    if not os.version_id:
        return None
    version = os.version_id if "." in os.version_id else f"{os.version_id}.0"  # SLES 15 GA is 15.0
    return f"{FAMILIES[os.id]}:{version}" if os.id in FAMILIES else None


DISTRIBUTION = Distribution("SUSE", RPM, "rpm", _release,
                            {"sles": ("suse",), "opensuse-leap": ("suse",), "sl-micro": ("suse",)},
                            feed_modules=(f"{__name__}.feed",), package_name=binary_name)
