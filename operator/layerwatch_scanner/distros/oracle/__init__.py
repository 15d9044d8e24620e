"""Oracle Linux: rpm packages matched by binary package name per major release (`ol:9`) against
Oracle's own errata (ELSA) from its OVAL feed (feed.py). Ksplice user-space packages (a release
with `.ksplice`, patched live) are their own stream: they are matched only against Ksplice fixes,
and ordinary packages never against them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...model import RPM
from ..base import Distribution, major_release

if TYPE_CHECKING:
    from ...model import Package

KSPLICE = "+ksplice"  # the package-name suffix Ksplice fixes are stored under


def _name(pkg: Package) -> str:
    return pkg.name + KSPLICE if ".ksplice" in pkg.version else pkg.name


DISTRIBUTION = Distribution("Oracle Linux", RPM, "rpm", major_release("ol"), {"ol": ("oracle",)},
                            feed_modules=(f"{__name__}.feed",), package_name=_name)
