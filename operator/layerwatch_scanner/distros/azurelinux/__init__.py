"""Azure Linux (3.0) and its predecessor CBL-Mariner (1.0, 2.0): rpm packages matched on their
source package per release (`azurelinux:3.0`, `mariner:2.0`) against Microsoft's OVAL
definitions, one file per release (feed.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import RPM
from ..base import Distribution

if TYPE_CHECKING:
    from ...model import OSInfo


def _release(os: OSInfo) -> str | None:
    if not os.version_id:
        return None
    return f"{'mariner' if os.id == 'mariner' else 'azurelinux'}:{'.'.join(os.version_id.split('.')[:2])}"


DISTRIBUTION = Distribution("Azure Linux", RPM, "rpm", _release,
                            {"azurelinux": ("azurelinux",), "mariner": ("azurelinux",)},
                            feed_modules=(f"{__name__}.feed",))
