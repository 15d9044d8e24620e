"""Which distribution an image is, from os-release and the older release files.

A pure function over {path: text}: the layer walker keeps these small files as text and the
merge hands the surviving ones here, so detection sees the image as its last layer left it.
"""

from __future__ import annotations

import re
import shlex

from ..distros.redhat.content_manifests import MAX_MANIFEST, is_content_manifest
from ..model import OSInfo

OS_RELEASE = "/etc/os-release"
USR_OS_RELEASE = "/usr/lib/os-release"
LSB_RELEASE = "/etc/lsb-release"
ALPINE_RELEASE = "/etc/alpine-release"
REDHAT_RELEASE = "/etc/redhat-release"
CENTOS_RELEASE = "/etc/centos-release"
ORACLE_RELEASE = "/etc/oracle-release"
SYSTEM_RELEASE = "/etc/system-release"
DEBIAN_VERSION = "/etc/debian_version"

OS_RELEASE_PATHS = frozenset({
    OS_RELEASE, USR_OS_RELEASE, LSB_RELEASE, ALPINE_RELEASE, REDHAT_RELEASE, CENTOS_RELEASE,
    ORACLE_RELEASE, SYSTEM_RELEASE, DEBIAN_VERSION,
})

# os-release-like files are a few hundred bytes; anything big there is not one.
MAX_OS_FILE = 64 * 1024


def os_file_limit(path: str) -> int:
    """The most bytes a file the walker keeps as text for OS detection may have; 0: not one."""
    if path in OS_RELEASE_PATHS:
        return MAX_OS_FILE
    return MAX_MANIFEST if is_content_manifest(path) else 0


DEBIAN_CODENAMES = {
    "6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster",
    "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky",
}
_CODENAME_VERSIONS = {v: k for k, v in DEBIAN_CODENAMES.items()}

# "Red Hat Enterprise Linux Server release 7.9 (Maipo)", "CentOS release 6.10 (Final)",
# "Oracle Linux Server release 7.9"
_RELEASE_LINE = re.compile(r"^(?P<name>.+?) release (?P<version>[\d.]+)")
_RELEASE_IDS = (
    ("red hat enterprise linux", "rhel"), ("centos stream", "centos"), ("centos", "centos"),
    ("oracle linux", "ol"), ("rocky linux", "rocky"), ("almalinux", "almalinux"), ("fedora", "fedora"),
    ("amazon linux", "amzn"),
)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting, as os-release(5) defines them; bad lines are skipped."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            values = shlex.split(raw)
        except ValueError:
            values = [raw.strip("'\"")]
        fields[key.strip()] = values[0] if values else ""
    return fields


def _from_os_release(fields: dict[str, str]) -> OSInfo | None:
    os_id = fields.get("ID", "").strip().lower()
    if not os_id:
        return None
    version_id = fields.get("VERSION_ID", "")
    codename = fields.get("VERSION_CODENAME") or fields.get("UBUNTU_CODENAME", "")
    if os_id in ("debian", "raspbian") and not codename:
        codename = DEBIAN_CODENAMES.get(version_id.split(".")[0], "")
        if not codename:  # "VERSION="8 (jessie)"" in older files
            m = re.search(r"\((\w+)\)", fields.get("VERSION", ""))
            codename = m.group(1) if m else ""
    return OSInfo(
        id=os_id,
        version_id=version_id,
        version_codename=codename.lower(),
        pretty_name=fields.get("PRETTY_NAME", ""),
        id_like=fields.get("ID_LIKE", "").lower().split(),
        distroless=fields.get("PRETTY_NAME", "").lower().startswith("distroless"),
    )


def _from_release_line(text: str) -> OSInfo | None:
    m = _RELEASE_LINE.match(text.strip())
    if not m:
        return None
    name = m.group("name").lower()
    for needle, os_id in _RELEASE_IDS:
        if needle in name:
            return OSInfo(id=os_id, version_id=m.group("version"), pretty_name=text.strip().splitlines()[0])
    return None


def _from_debian_version(text: str) -> OSInfo:
    value = text.strip()
    major = value.split(".")[0]
    if major.isdigit():
        return OSInfo(id="debian", version_id=major, version_codename=DEBIAN_CODENAMES.get(major, ""))
    codename = value.split("/")[0]  # "bookworm/sid" on testing
    return OSInfo(id="debian", version_id=_CODENAME_VERSIONS.get(codename, ""), version_codename=codename)


def detect_os(files: dict[str, str]) -> OSInfo | None:
    """The image's OS from the release files present, most authoritative first; None if unknown."""
    for path in (OS_RELEASE, USR_OS_RELEASE):
        if path in files:
            info = _from_os_release(parse_os_release(files[path]))
            if info:
                if info.id == "alpine" and ALPINE_RELEASE in files:
                    info.version_id = files[ALPINE_RELEASE].strip() or info.version_id
                if not info.version_codename and LSB_RELEASE in files:  # Ubuntu 14.04 has it only there
                    info.version_codename = parse_os_release(files[LSB_RELEASE]).get("DISTRIB_CODENAME", "").lower()
                return info
    if LSB_RELEASE in files:
        lsb = parse_os_release(files[LSB_RELEASE])
        if lsb.get("DISTRIB_ID"):
            return OSInfo(id=lsb["DISTRIB_ID"].lower(), version_id=lsb.get("DISTRIB_RELEASE", ""),
                          version_codename=lsb.get("DISTRIB_CODENAME", "").lower(),
                          pretty_name=lsb.get("DISTRIB_DESCRIPTION", ""))
    if ALPINE_RELEASE in files and files[ALPINE_RELEASE].strip():
        return OSInfo(id="alpine", version_id=files[ALPINE_RELEASE].strip())
    for path in (ORACLE_RELEASE, CENTOS_RELEASE, REDHAT_RELEASE, SYSTEM_RELEASE):
        if path in files:
            info = _from_release_line(files[path])
            if info:
                return info
    if DEBIAN_VERSION in files and files[DEBIAN_VERSION].strip():
        return _from_debian_version(files[DEBIAN_VERSION])
    return None
