"""Red Hat CSAF VEX (https://security.access.redhat.com/data/csaf/v2/vex/): one document per CVE.

A full sync reads `archive_latest.txt`, the zstd tar archive it names, then applies
`changes.csv` (documents changed since the archive) and `deletions.csv`. Each document's product
tree maps product ids to a platform CPE (`cpe:/a:redhat:enterprise_linux:9::appstream` -> rhel:9)
and a component purl; source RPMs (`arch=src`) give the package and fixed version that matching
uses, `rpmmod` the module stream. Per-product status: fixed / known_affected / known_not_affected.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import zstandard

from ...errors import FeedError
from ...feeds.base import Delta, Feed, Getter, Record
from ...feeds.common import cvss_score, severity_word
from ...match.versions import compare
from ...vulndb.fetch import fetch
from ...vulndb.records import (
    STATUS_AFFECTED,
    STATUS_FIXED,
    STATUS_NOT_AFFECTED,
    Affected,
    Mapping,
    Range,
    VulnInfo,
)
from .streams import REPOSITORY_CPES, STREAM_CPE

_RHEL = re.compile(r"cpe:/[ao]:redhat:(?:enterprise_linux|rhel_eus|rhel_e4s|rhel_aus|rhel_tus):(\d+)")
# A minor release in its active phase is published under the main CPE, with a product id
# such as "BaseOS-9.2.0.Z.MAIN.EUS": its fixes are the EUS stream's too.
_MAIN_EUS_PRODUCT = re.compile(r"-(\d+\.\d+)\.0\.Z\.MAIN\.EUS$")
MAX_DOCUMENT = 64 * 1024 * 1024
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _walk(branches: list, names: dict[str, str], purls: dict[str, str]) -> None:
    for branch in branches or []:
        product = branch.get("product") or {}
        helper = product.get("product_identification_helper") or {}
        if product.get("product_id"):
            if helper.get("cpe"):
                names[product["product_id"]] = helper["cpe"]
            if helper.get("purl"):
                purls[product["product_id"]] = helper["purl"]
        _walk(branch.get("branches") or [], names, purls)


def _component(purl: str) -> tuple[str, str, str] | None:
    """(source package, "[E:]V-R" or "", module stream) of a source-RPM purl; None otherwise."""
    parts = urlsplit(purl)
    if not parts.path.startswith("rpm/redhat/"):
        return None
    query = parse_qs(parts.query)
    name, _, version = parts.path.removeprefix("rpm/redhat/").partition("@")
    arch = query.get("arch", [""])[0]
    # matching is by source RPM: versioned entries count only as `arch=src`; unversioned
    # (known_affected / not_affected) entries name the component, which is the source package
    if arch != "src" and (version or arch):
        return None
    epoch = query.get("epoch", ["0"])[0]
    if version and epoch not in ("", "0"):
        version = f"{epoch}:{version}"
    module = ":".join(query.get("rpmmod", [""])[0].split(":")[:2])
    return name, version, module


def _streams(cpe: str, product: str) -> tuple[str, ...]:
    """The update stream ecosystem ("rhel-eus:9.0") a platform's records also belong to."""
    stream = STREAM_CPE.match(cpe)
    if stream:
        return (f"rhel-{stream.group(1)}:{stream.group(2)}",)
    main_eus = _MAIN_EUS_PRODUCT.search(product)
    return (f"rhel-eus:{main_eus.group(1)}",) if main_eus else ()


def records_from_csaf(doc: object, doc_key: str = "") -> Iterator[Record]:
    """`doc_key`: the document's identity (its file name), recorded with its rows."""
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        return
    names: dict[str, str] = {}
    purls: dict[str, str] = {}
    tree = doc.get("product_tree") or {}
    _walk(tree.get("branches") or [], names, purls)
    relations = {}
    for rel in tree.get("relationships") or []:
        pid = (rel.get("full_product_name") or {}).get("product_id")
        if pid:
            relations[pid] = (rel.get("product_reference"), rel.get("relates_to_product_reference"))
    aggregate = severity_word(((doc.get("document") or {}).get("aggregate_severity") or {}).get("text"))
    for vuln in doc["vulnerabilities"]:
        cve = vuln.get("cve") if isinstance(vuln, dict) else None
        if not isinstance(cve, str):
            continue
        impact = {pid: severity_word(t.get("details")) for t in vuln.get("threats") or []
                  if isinstance(t, dict) and t.get("category") == "impact" for pid in t.get("product_ids") or []}
        found: dict[tuple[str, str, str], dict] = {}
        for status_key, status in (("fixed", STATUS_FIXED), ("known_affected", STATUS_AFFECTED),
                                   ("known_not_affected", STATUS_NOT_AFFECTED)):
            for pid in (vuln.get("product_status") or {}).get(status_key) or []:
                component, platform = relations.get(pid, (None, None))
                cpe = names.get(platform or "", "")
                release = _RHEL.match(cpe)
                if component in purls:
                    parsed = _component(purls[component])
                elif status != STATUS_FIXED and component and _PLAIN_NAME.match(component):
                    # older documents name unfixed components without a purl: "vim", "kernel"
                    parsed = (component.removesuffix(".src"), "", "")
                else:
                    parsed = None
                if not release or not parsed:
                    continue
                package, version, module = parsed
                # the release (every stream folded: the highest fix covers a current image),
                # and the update stream on its own, for images whose content sets name it
                for ecosystem in (f"rhel:{release.group(1)}", *_streams(cpe, platform or "")):
                    entry = found.setdefault((ecosystem, package, module),
                                             {"status": status, "fixed": [], "severity": impact.get(pid, "")})
                    if status == STATUS_FIXED and version:
                        entry["fixed"].append(version)
                        entry["status"] = STATUS_FIXED
        for (ecosystem, package, module), entry in found.items():
            ranges = []
            if entry["status"] == STATUS_FIXED:
                if not entry["fixed"]:
                    continue
                best = max(entry["fixed"], key=functools.cmp_to_key(lambda a, b: compare("rpm", a, b)))
                ranges = [Range(fixed=best)]
            yield Affected(vuln_id=cve, ecosystem=ecosystem, package=package, source="redhat",
                           status=entry["status"], ranges=ranges, module=module,
                           severity=entry["severity"] or aggregate, summary=str(vuln.get("title", ""))[:300],
                           doc=doc_key)
        for score in vuln.get("scores") or []:
            vector = ((score or {}).get("cvss_v3") or {}).get("vectorString")
            scored = cvss_score(vector) if isinstance(vector, str) else None
            if scored:
                yield VulnInfo(vuln_id=cve, cvss_score=scored[0], cvss_vector=vector, cvss_severity=scored[1])
                break


def _archive_documents(path: Path) -> Iterator[tuple[str, object]]:
    try:
        with open(path, "rb") as raw:
            stream = zstandard.ZstdDecompressor().stream_reader(raw)
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if not member.isfile() or not member.name.endswith(".json"):
                        continue
                    if member.size > MAX_DOCUMENT:
                        raise FeedError(f"redhat: archive member {member.name} of {member.size} bytes refused")
                    # read, never extracted: member names cannot escape anywhere
                    yield member.name, json.load(tar.extractfile(member))  # type: ignore[arg-type]
    except (tarfile.TarError, zstandard.ZstdError, ValueError) as exc:
        raise FeedError(f"redhat: corrupt archive {path.name} ({exc})") from exc


def _key(path: str) -> str:
    """A document's identity across the archive, changes.csv and deletions.csv: its file name."""
    return path.split("/")[-1].lower()


def _csv_rows(text: str) -> list[tuple[str, str]]:
    """(document path, RFC 3339 time) of changes.csv / deletions.csv."""
    return [(row[0], row[1] if len(row) > 1 else "") for row in csv.reader(io.StringIO(text)) if row]


def _csv_paths(path: Path) -> list[str]:
    return [rel for rel, _ in _csv_rows(path.read_text())]


def parse(url: str, path: Path) -> Iterator[Record]:
    """`url` is .../archive_latest.txt; the archive and the change lists sit beside it."""
    base = url.rsplit("/", 1)[0] + "/"
    archive_name = path.read_text().strip()
    if not re.fullmatch(r"csaf_vex_[\w.-]+\.tar\.zst", archive_name):
        raise FeedError(f"redhat: {url} does not name a csaf_vex_*.tar.zst archive")
    # One document in memory at a time (the archive holds ~20,000): the change and deletion
    # lists are read first, so superseded archive members are skipped while streaming.
    with tempfile.TemporaryDirectory(prefix="layerwatch-redhat-") as tmp:
        work = Path(tmp)
        changes = fetch(urljoin(base, "changes.csv"), work / "changes.csv", what="redhat")
        changed = _csv_paths(changes.path) if changes.path else []
        deletions = fetch(urljoin(base, "deletions.csv"), work / "deletions.csv", what="redhat")
        deleted = {_key(rel) for rel in (_csv_paths(deletions.path) if deletions.path else [])}
        superseded = deleted | {_key(rel) for rel in changed}
        archive = fetch(urljoin(base, archive_name), work / archive_name, what="redhat")
        if archive.path is None:
            raise FeedError(f"redhat: archive {archive_name} not found beside {url}")
        for name, doc in _archive_documents(archive.path):
            if _key(name) not in superseded:
                yield from records_from_csaf(doc, _key(name))
        if archive.path.is_relative_to(work):  # gigabytes: gone before the changed documents come
            archive.path.unlink()
        seen: set[str] = set()
        for rel in changed:
            key = _key(rel)
            if key in deleted or key in seen:
                continue
            seen.add(key)
            got = fetch(urljoin(base, rel), work / "doc.json", what="redhat")
            if got.path is not None:  # a change listed but since removed upstream is skipped
                yield from records_from_csaf(json.loads(got.path.read_text()), key)


# -- incremental sync: after a full one, only the documents changes.csv / deletions.csv list
# with a time after the newest one already applied are downloaded (or dropped).
_DOC_PATH = re.compile(r"^\d{4}/cve-\d{4}-\d+\.json$", re.IGNORECASE)


def _lists(url: str, get: Getter) -> tuple[list[tuple[str, str]], list[tuple[str, str]]] | None:
    if not url.startswith(("http://", "https://")):
        return None
    base = url.rsplit("/", 1)[0] + "/"
    changes, deletions = get(urljoin(base, "changes.csv")), get(urljoin(base, "deletions.csv"))
    if changes is None:
        return None
    return (_csv_rows(changes.decode("utf-8", "replace")),
            _csv_rows(deletions.decode("utf-8", "replace")) if deletions else [])


def checkpoint(url: str, get: Getter) -> dict:
    lists = _lists(url, get)
    stamps = [stamp for rows in lists for _, stamp in rows if stamp] if lists else []
    return {"synced": max(stamps)} if stamps else {}


def incremental(url: str, state: dict, get: Getter) -> Delta | None:
    since = state.get("synced")
    lists = _lists(url, get) if since else None
    if lists is None:
        return None
    changes, deletions = lists
    base = url.rsplit("/", 1)[0] + "/"
    changed = {_key(rel): rel for rel, stamp in changes if stamp > since and _DOC_PATH.match(rel)}
    deleted = {_key(rel) for rel, stamp in deletions if stamp > since}
    stamps = [stamp for rows in lists for _, stamp in rows if stamp]

    def records() -> Iterator[Record]:
        for key, rel in changed.items():
            if key in deleted:
                continue
            body = get(urljoin(base, rel))
            if body is not None:
                if len(body) > MAX_DOCUMENT:
                    raise FeedError(f"redhat: {rel} of {len(body)} bytes refused")
                try:
                    doc = json.loads(body)
                except ValueError as exc:
                    raise FeedError(f"redhat: {rel} is not valid JSON ({exc})") from exc
                yield from records_from_csaf(doc, key)

    return Delta(sorted(set(changed) | deleted), records(), {"synced": max([since, *stamps])})


# -- repository-to-cpe.json: which product CPEs each repository (content set) ships; an image's
# content manifests name its repositories (streams.py)
MAX_MAPPING = 256 * 1024 * 1024


def parse_repository_cpes(url: str, path: Path) -> Iterator[Record]:
    """`{"data": {"<repository>": {"cpes": [...]}}}`; only repositories shipping RHEL are kept."""
    if path.stat().st_size > MAX_MAPPING:
        raise FeedError(f"redhat-repositories: {url} is larger than {MAX_MAPPING} bytes")
    try:
        doc = json.loads(path.read_bytes())
    except ValueError as exc:
        raise FeedError(f"redhat-repositories: {url} is not valid JSON ({exc})") from exc
    data = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        raise FeedError(f"redhat-repositories: {url} has no \"data\" object of repositories")
    for repository, entry in data.items():
        cpes = entry.get("cpes") if isinstance(entry, dict) else None
        if not isinstance(cpes, list):
            continue
        rhel = sorted({c for c in cpes if isinstance(c, str) and _RHEL.match(c)})
        if rhel:
            yield Mapping(REPOSITORY_CPES, repository, rhel, "redhat-repositories")


FEEDS = [Feed("redhat", "https://security.access.redhat.com/data/csaf/v2/vex/archive_latest.txt", parse,
              checkpoint=checkpoint, incremental=incremental),
         Feed("redhat-repositories", "https://security.access.redhat.com/data/metrics/repository-to-cpe.json",
              parse_repository_cpes)]
