"""AlmaLinux: rpm packages matched by binary package name per major release (`almalinux:9`)
against AlmaLinux's own errata (ALSA), as osv.dev exports them (feed.py)."""

from __future__ import annotations

from ...model import RPM
from ..base import Distribution, binary_name, major_release


def _osv(name: str) -> str | None:
    return "almalinux:" + name.split(":", 1)[1] if name.startswith("AlmaLinux:") else None


DISTRIBUTION = Distribution("AlmaLinux", RPM, "rpm", major_release("almalinux"), {"almalinux": ("almalinux",)},
                            feed_modules=(f"{__name__}.feed",), package_name=binary_name, osv_ecosystem=_osv)
