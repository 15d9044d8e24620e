"""Red Hat Enterprise Linux (UBI images too), and CentOS as its rebuild: rpm packages matched on
their source RPM per major release (`rhel:9`) and module stream, against Red Hat's CSAF VEX
documents (feed.py). CentOS has no advisories of its own and borrows Red Hat's; the coverage
report says so."""

from __future__ import annotations

from ...model import RPM
from ..base import Distribution, major_release

DISTRIBUTION = Distribution("Red Hat", RPM, "rpm", major_release("rhel"), {"rhel": ("redhat",)},
                            feed_modules=(f"{__name__}.feed",),
                            borrowed_by=frozenset({"centos"}))
