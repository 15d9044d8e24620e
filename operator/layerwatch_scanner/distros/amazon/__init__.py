"""Amazon Linux 2 and 2023 (and the end-of-life Amazon Linux 1): rpm packages matched on their
binary package name, as the ALAS advisories list them, per release (`amzn:2`, `amzn:2023`),
against the updateinfo of Amazon's core repositories (feed.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import RPM
from ..base import Distribution, binary_name

if TYPE_CHECKING:
    from ...model import OSInfo


def _release(os: OSInfo) -> str | None:
    version = os.version_id
    if not version:
        return None
    return "amzn:1" if "." in version else f"amzn:{version}"  # Amazon Linux 1 says "2018.03"


DISTRIBUTION = Distribution("Amazon Linux", RPM, "rpm", _release, {"amzn": ("amazon",)},
                            feed_modules=(f"{__name__}.feed",), package_name=binary_name)
