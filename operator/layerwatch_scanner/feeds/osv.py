"""OSV records (https://ossf.github.io/osv-schema/): the language ecosystems' bulk exports from
osv.dev, the GitHub Advisory Database, and distributions' OSV exports (their folders in distros/
name the OSV ecosystems they publish under).

Ranges of type ECOSYSTEM and SEMVER are kept in the package's own version scheme; GIT ranges
name commits, not releases, and cannot be matched against an installed version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path

from ..catalog.python import normalize_name
from ..errors import FeedError
from ..vulndb.records import STATUS_AFFECTED, STATUS_FIXED, Affected, Range, VulnInfo
from .base import Delta, Feed, Getter, Record
from .common import cvss_score, iter_documents, load_document, severity_word

OSV_BASE = "https://osv-vulnerabilities.storage.googleapis.com"
ERRATA_PREFIXES = ("RLSA-", "ALSA-")  # Rocky's and AlmaLinux's
LANGUAGE_ECOSYSTEMS = {"PyPI": "pypi", "npm": "npm", "Go": "go", "Maven": "maven", "RubyGems": "rubygems",
                       "crates.io": "crates", "NuGet": "nuget", "Packagist": "packagist"}


@functools.cache
def ecosystem_key(osv_ecosystem: str) -> str | None:
    """Our ecosystem key for an OSV ecosystem name; None for ones we do not match."""
    if osv_ecosystem in LANGUAGE_ECOSYSTEMS:
        return osv_ecosystem
    from ..distros import all_distributions

    for distribution in all_distributions():
        key = distribution.osv_ecosystem(osv_ecosystem) if distribution.osv_ecosystem else None
        if key:
            return key
    return None


def package_key(ecosystem: str, name: str) -> str:
    if ecosystem == "PyPI":
        return normalize_name(name)
    return name.lower() if ecosystem in ("NuGet", "Packagist") else name  # case-insensitive names


def _ranges(affected: dict) -> list[Range]:
    out: list[Range] = []
    for rng in affected.get("ranges") or []:
        if not isinstance(rng, dict) or rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        current: Range | None = None
        for event in rng.get("events") or []:
            if not isinstance(event, dict):
                continue
            if "introduced" in event:
                current = Range(introduced="" if str(event["introduced"]) == "0" else str(event["introduced"]))
                out.append(current)
            elif current is not None and "fixed" in event:
                current.fixed = str(event["fixed"])
                current = None
            elif current is not None and "last_affected" in event:
                current.last_affected = str(event["last_affected"])
                current = None
    return out


def _severity(doc: dict) -> str:
    specific = doc.get("database_specific")
    if isinstance(specific, dict) and severity_word(specific.get("severity")):
        return severity_word(specific.get("severity"))  # GHSA's own rating
    for sev in doc.get("severity") or []:
        if isinstance(sev, dict) and sev.get("type") == "Ubuntu":
            return severity_word(sev.get("score"))  # Ubuntu's priority
    return ""


def records_from_osv(doc: object, source: str) -> Iterator[Record]:
    """Affected records (one per package and ecosystem) and the CVSS of one OSV document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str) or doc.get("withdrawn"):
        return
    vuln_id = osv_id = doc["id"]
    # "upstream" (OSV 1.7: the CVE a distribution's own advisory is about) counts as an alias
    aliases = [a for key in ("aliases", "upstream") if isinstance(doc.get(key), list) for a in doc[key]
               if isinstance(a, str)]
    related = [a for a in (doc.get("related") or []) if isinstance(a, str)]
    if vuln_id.startswith("UBUNTU-CVE-"):  # Ubuntu names records after the CVE: match them as the CVE
        aliases = [vuln_id, *aliases, *[r for r in related if r.startswith("USN-")]]
        vuln_id = vuln_id.removeprefix("UBUNTU-")
    severity = _severity(doc)
    if vuln_id.startswith(ERRATA_PREFIXES):
        # a rebuild's errata (Red Hat's convention): "related" lists the CVEs it fixes, and the
        # summary starts with the rating ("Moderate: ruby:3.3 security update")
        aliases = [*aliases, *[r for r in related if r.startswith("CVE-") and r not in aliases]]
        severity = severity or severity_word(str(doc.get("summary") or "").partition(":")[0])
    summary = str(doc.get("summary") or doc.get("details") or "")[:300]
    for affected in doc.get("affected") or []:
        if not isinstance(affected, dict) or not isinstance(affected.get("package"), dict):
            continue
        osv_eco, name = affected["package"].get("ecosystem"), affected["package"].get("name")
        if not isinstance(osv_eco, str) or not isinstance(name, str):
            continue
        ecosystem = ecosystem_key(osv_eco)
        if ecosystem is None:
            continue
        ranges = _ranges(affected)
        versions = [str(v) for v in affected.get("versions") or [] if isinstance(v, str | int | float)]
        if not ranges and not versions:
            continue
        status = STATUS_FIXED if any(r.fixed for r in ranges) else STATUS_AFFECTED
        yield Affected(vuln_id=vuln_id, ecosystem=ecosystem, package=package_key(osv_eco, name), source=source,
                       status=status, ranges=ranges, versions=versions, severity=severity, aliases=aliases,
                       summary=summary, doc=osv_id)
    for sev in doc.get("severity") or []:
        if isinstance(sev, dict) and str(sev.get("type", "")).startswith("CVSS") and isinstance(sev.get("score"), str):
            scored = cvss_score(sev["score"])
            if scored:
                yield VulnInfo(vuln_id=vuln_id, cvss_score=scored[0], cvss_vector=sev["score"],
                               cvss_severity=scored[1], aliases=aliases, description=summary)
                break


def _parser(source: str):  # noqa: ANN202 - returns the parse callable for one feed
    def parse(url: str, path: Path) -> Iterator[Record]:
        for _name, doc in iter_documents(path, source):
            yield from records_from_osv(doc, source)
    return parse


# -- incremental sync: osv.dev publishes `modified_id.csv` (newest first: "<RFC 3339>,<id>")
# beside each ecosystem's all.zip, and every record as `<id>.json` in the same folder.
_OSV_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _modified(url: str, get: Getter) -> list[tuple[str, str]] | None:
    if not url.startswith(("http://", "https://")) or not url.endswith("/all.zip"):
        return None  # a mirror without the change list (file://, a single zip): re-read whole
    body = get(url.rsplit("/", 1)[0] + "/modified_id.csv")
    if body is None:
        return None
    rows = []
    for line in body.decode("utf-8", "replace").splitlines():
        stamp, _, osv_id = line.strip().partition(",")
        if stamp and _OSV_ID.match(osv_id):  # an id becomes a URL path: nothing else gets through
            rows.append((stamp, osv_id))
    return rows


def checkpoint(url: str, get: Getter) -> dict:
    rows = _modified(url, get)
    return {"modified": max(stamp for stamp, _ in rows)} if rows else {}


def _incremental(source: str):  # noqa: ANN202
    def incremental(url: str, state: dict, get: Getter) -> Delta | None:
        since = state.get("modified")
        rows = _modified(url, get) if since else None
        if not rows:
            return None
        changed = list(dict.fromkeys(osv_id for stamp, osv_id in rows if stamp > since))
        base = url.rsplit("/", 1)[0]

        def records() -> Iterator[Record]:
            for osv_id in changed:
                body = get(f"{base}/{osv_id}.json")
                if body is not None:  # listed but gone: its rows stay deleted
                    yield from records_from_osv(load_document(body, f"{osv_id}.json", source), source)

        return Delta(changed, records(), {"modified": max(since, max(stamp for stamp, _ in rows))})
    return incremental


def osv_feed(name: str, url: str) -> Feed:
    return Feed(name, url, _parser(name), checkpoint=checkpoint, incremental=_incremental(name))


MAX_INDEX_ENTRIES = 500_000


def _index_listing(base: str, get: Getter) -> list[str]:
    """`<base>/all.json` ([{"id", "modified"}, ...], as Chainguard publishes it) -> one URL per record."""
    base = base.rstrip("/")
    body = get(f"{base}/all.json")
    if body is None:
        raise FeedError(f"{base}/all.json not found (HTTP 404)")
    entries = load_document(body, "all.json", base)
    if not isinstance(entries, list) or len(entries) > MAX_INDEX_ENTRIES:
        raise FeedError(f"{base}/all.json: expected a list of at most {MAX_INDEX_ENTRIES} {{id, modified}} entries")
    ids = [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]
    # an id becomes a URL path: nothing but an OSV id gets through
    return [f"{base}/{osv_id}.json" for osv_id in dict.fromkeys(ids) if _OSV_ID.match(osv_id)]


def osv_index_feed(name: str, base: str) -> Feed:
    """OSV records published one file each, listed by an `all.json` index."""
    return Feed(name, base, _parser(name), listing=_index_listing, optional_files=True)


FEEDS = [osv_feed(f"osv-{short}", f"{OSV_BASE}/{eco}/all.zip") for eco, short in LANGUAGE_ECOSYSTEMS.items()]
FEEDS.append(Feed("ghsa", "https://github.com/github/advisory-database/archive/refs/heads/main.zip",
                  _parser("ghsa")))
