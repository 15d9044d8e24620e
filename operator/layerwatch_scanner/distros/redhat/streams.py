"""Which Red Hat update stream an image's rpms get their fixes from.

Red Hat fixes a minor release under Extended Update Support (and E4S, AUS, TUS) with its own
builds: `curl-7.76.1-14.el9_0.9` on RHEL 9.0 EUS where RHEL 9 moved on to `-26.el9_3.2`. Judged
by the major release alone, an EUS image with every EUS fix installed looks vulnerable. An
image's content manifests name its repositories; Red Hat's repository-to-cpe.json (stored by
`db update` from the `redhat-repositories` source) maps them to product CPEs, and a stream CPE
of the image's minor release (`cpe:/o:redhat:rhel_eus:9.0::baseos`) picks the stream.

The ecosystem key of such an image carries its release and content sets,
`rhel:9@9.0/rhel-9-for-x86_64-appstream-eus-rpms+rhel-9-for-x86_64-baseos-eus-rpms`, so it is
told without the database; matching expands it to the stream, then the release:
`["rhel-eus:9.0", "rhel:9"]`, an advisory of the stream taking precedence over the release's
for the same id (a CVE the stream has no word on is judged by the release, never skipped).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...model import OSInfo
    from ...vulndb.store import VulnDB

# An update stream's own CPE ("rhel_eus:9.0"); its records are stored under "rhel-eus:9.0".
STREAM_CPE = re.compile(r"cpe:/[ao]:redhat:rhel_(eus|e4s|aus|tus):(\d+\.\d+)(?::|$)")
STREAM_FAMILIES = ("rhel-eus", "rhel-e4s", "rhel-aus", "rhel-tus")
REPOSITORY_CPES = "redhat-repository-cpes"  # the mapping table feed.py stores


def image_ecosystem(os: OSInfo) -> str | None:
    """`rhel:9`, or with content sets `rhel:9@9.0/<set>+<set>` (expanded by `expand`)."""
    major = os.version_id.split(".")[0] if os.version_id else ""
    if not major:
        return None
    if not os.content_sets:
        return f"rhel:{major}"
    return f"rhel:{major}@{os.version_id}/{'+'.join(os.content_sets)}"


def expand(ecosystem: str, db: VulnDB) -> tuple[list[str], bool]:
    """(the keys an image key stands for, most specific first; whether its content sets were
    found in the mapping)."""
    release, _, qualifier = ecosystem.partition("@")
    if not qualifier:
        return [ecosystem], True
    version_id, _, sets = qualifier.partition("/")
    mapped = db.mapping(REPOSITORY_CPES, sets.split("+"))
    minor = ".".join(version_id.split(".")[:2])
    streams = sorted({f"rhel-{m.group(1)}:{m.group(2)}" for cpes in mapped.values() for cpe in cpes
                      if (m := STREAM_CPE.match(cpe)) and m.group(2) == minor})
    return [*streams, release], bool(mapped)
