"""Ubuntu: dpkg packages matched on their source package per release (`ubuntu:22.04`); a package
from Ubuntu Pro (ESM, version with `+esm`) against the Pro advisories (`ubuntu-pro:22.04`).
Advisories: the OSV export of canonical/ubuntu-security-notices (feed.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ...model import DEB
from ..base import Distribution

if TYPE_CHECKING:
    from ...model import OSInfo, Package

_OSV = re.compile(r"^Ubuntu:(?:(Pro):)?(?:FIPS[^:]*:)?(\d+\.\d+)(?::LTS)?$")


def _release(os: OSInfo) -> str | None:
    return f"ubuntu:{os.version_id}" if os.version_id else None


def _for_package(os: OSInfo, pkg: Package) -> str | None:
    if not os.version_id:
        return None
    return f"{'ubuntu-pro' if '+esm' in pkg.version else 'ubuntu'}:{os.version_id}"


def _osv(name: str) -> str | None:
    """`Ubuntu:22.04:LTS` -> ubuntu:22.04, `Ubuntu:Pro:22.04:LTS` -> ubuntu-pro:22.04."""
    m = _OSV.match(name)
    return f"{'ubuntu-pro' if m.group(1) else 'ubuntu'}:{m.group(2)}" if m else None


DISTRIBUTION = Distribution("Ubuntu", DEB, "dpkg", _release, {"ubuntu": ("ubuntu",), "ubuntu-pro": ("ubuntu",)},
                            feed_modules=(f"{__name__}.feed",), osv_ecosystem=_osv,
                            ecosystem_for_package=_for_package)
