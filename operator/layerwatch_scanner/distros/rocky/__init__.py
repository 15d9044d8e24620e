"""Rocky Linux: rpm packages matched by binary package name per major release (`rocky:9`)
against Rocky's own errata (RLSA), as osv.dev exports them (feed.py): a rebuild's package
versions and fix dates differ from Red Hat's, so Red Hat's advisories are not used."""

from __future__ import annotations

from ...model import RPM
from ..base import Distribution, binary_name, major_release


def _osv(name: str) -> str | None:
    return "rocky:" + name.split(":", 1)[1] if name.startswith("Rocky Linux:") else None


DISTRIBUTION = Distribution("Rocky Linux", RPM, "rpm", major_release("rocky"), {"rocky": ("rocky",)},
                            feed_modules=(f"{__name__}.feed",), package_name=binary_name, osv_ecosystem=_osv)
