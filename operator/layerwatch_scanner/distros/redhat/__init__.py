"""Red Hat Enterprise Linux (UBI images too), and CentOS as its rebuild: rpm packages matched on
their source RPM per major release (`rhel:9`) and module stream, against Red Hat's CSAF VEX
documents (feed.py); an image whose content manifests name EUS/E4S/AUS/TUS repositories is
matched against that update stream first (content_manifests.py, streams.py). CentOS has no
advisories of its own and borrows Red Hat's; the coverage report says so."""

from __future__ import annotations

from ...model import RPM
from ..base import Distribution
from .streams import STREAM_FAMILIES, expand, image_ecosystem

DISTRIBUTION = Distribution("Red Hat", RPM, "rpm", image_ecosystem,
                            {"rhel": ("redhat",), **{family: ("redhat",) for family in STREAM_FAMILIES}},
                            feed_modules=(f"{__name__}.feed",),
                            borrowed_by=frozenset({"centos"}), expand=expand)
