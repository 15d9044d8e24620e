"""The records the feed updaters write and the matchers read: the contract of the vuln DB."""

from __future__ import annotations

from dataclasses import dataclass, field

# Ecosystem keys. OS ecosystems carry the release: "debian:12", "ubuntu:22.04", "alpine:3.18",
# "rhel:9", "ubuntu-pro:22.04". Language ecosystems are OSV's names: "PyPI", "npm", "Go",
# "Maven", "RubyGems", "crates.io".

STATUS_FIXED = "fixed"  # fixed_version set: versions below it are affected
STATUS_AFFECTED = "affected"  # no fix yet (Debian "open", Red Hat "known_affected"): all versions
STATUS_NOT_AFFECTED = "not-affected"  # never reported
STATUS_WONT_FIX = "wont-fix"  # <no-dsa>/<ignored>/end-of-life: affected, no fix planned


@dataclass(slots=True)
class Range:
    """One OSV-style range in the package's own version scheme ("" = unbounded)."""

    introduced: str = ""
    fixed: str = ""
    last_affected: str = ""


@dataclass(slots=True)
class Affected:
    """One vulnerability affecting one package in one ecosystem."""

    vuln_id: str  # "CVE-2024-0727", "GHSA-…", "PYSEC-…"
    ecosystem: str
    package: str  # source package for distros (dpkg Source, apk origin, SRPM name)
    source: str  # feed name that said so: "debian", "osv-pypi", ...
    status: str = STATUS_FIXED
    ranges: list[Range] = field(default_factory=list)  # empty + affected status = every version
    versions: list[str] = field(default_factory=list)  # explicit affected versions (OSV)
    severity: str = ""  # the source's own rating, normalised name ("High") or ""
    aliases: list[str] = field(default_factory=list)
    module: str = ""  # rpm modularity stream ("ruby:2.7"), "" otherwise
    summary: str = ""
    doc: str = ""  # the feed document it came from (OSV id, CSAF file): what an incremental update replaces


@dataclass(slots=True)
class VulnInfo:
    """Per-vulnerability enrichment shared by every package it affects."""

    vuln_id: str
    cvss_score: float | None = None
    cvss_vector: str = ""
    cvss_severity: str = ""  # from NVD when the distribution gives none
    kev: bool = False
    epss: float | None = None
    description: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Mapping:
    """One entry of a lookup table a source publishes whole, such as Red Hat's
    repository-to-cpe.json (content set -> the product CPEs it ships)."""

    table: str  # "redhat-repository-cpes"
    key: str
    values: list[str]
    source: str
