"""Debian (and Raspbian, its armhf rebuild): dpkg packages matched on their source package in
the major release (`debian:12`; a testing/sid image without VERSION_ID is `debian:unstable`),
against the security tracker (feed.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import DEB
from ..base import Distribution

if TYPE_CHECKING:
    from ...model import OSInfo


def _release(os: OSInfo) -> str:
    return f"debian:{os.version_id.split('.')[0] if os.version_id else 'unstable'}"


def _osv(name: str) -> str | None:
    return "debian:" + name.split(":", 1)[1] if name.startswith("Debian:") else None


DISTRIBUTION = Distribution("Debian", DEB, "dpkg", _release, {"debian": ("debian",)},
                            feed_modules=(f"{__name__}.feed",), osv_ecosystem=_osv)
