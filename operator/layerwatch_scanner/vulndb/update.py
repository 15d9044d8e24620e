"""`layerwatch db update`: download feeds into a new database file and swap it in atomically.

A source whose download or parse fails keeps its previous records (carried over from the DB in
service) and the error is reported; a source answering 304 Not Modified is carried over too.
Readers never see a half-written file: the new one replaces the old with os.replace.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import zstandard

from ..errors import BlockedHostError, FeedError, LayerwatchError, VulnDBError
from ..feeds import all_feeds
from ..feeds.base import Feed
from ..interfaces import Progress
from ..match.ecosystems import scheme_for
from ..match.versions import is_valid
from ..registry.guard import HostGuard
from .fetch import fetch
from .records import Affected
from .store import SourceMeta, VulnDB, VulnDBWriter

# Sources updated when none are named. NVD is opt-in: its paged, rate-limited API takes hours
# without a key, and OSV/GHSA records already carry CVSS vectors.
DEFAULT_SOURCES = ["debian", "ubuntu", "alpine", "redhat", "osv-pypi", "osv-npm", "osv-go", "osv-maven", "osv-rubygems",
                   "osv-crates", "kev", "epss"]


@dataclass
class SourceResult:
    name: str
    status: str  # "updated", "not-modified", "kept" (failed, previous records kept), "failed"
    records: int = 0
    error: str = ""
    malformed: int = 0


@dataclass
class UpdateReport:
    db_path: Path
    results: list[SourceResult] = field(default_factory=list)
    installed: bool = False  # False when every source failed: the database in service is untouched

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.error]


class _Malformed:
    """Counts the versions of one source's records that their ecosystem's scheme rejects."""

    def __init__(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def check(self, record: Affected) -> None:
        name = scheme_for(record.ecosystem)
        if name is None:
            return
        for version in [v for r in record.ranges for v in (r.introduced, r.fixed, r.last_affected) if v] \
                + record.versions:
            if not is_valid(name, version):
                self.count += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{record.vuln_id} {record.package}: {version!r}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _open_previous(db_path: Path) -> VulnDB | None:
    if not db_path.exists():
        return None
    try:
        return VulnDB.open(db_path)
    except VulnDBError:
        return None  # corrupt or old schema: rebuilt from scratch


def _update_source(feed: Feed, url: str, writer: VulnDBWriter, previous: VulnDB | None, workdir: Path,
                   client: httpx.Client, progress: Progress | None) -> SourceResult:
    old_meta = previous.metadata().sources.get(feed.name) if previous else None
    urls = feed.expand(url)
    single = len(urls) == 1
    etag = old_meta.etag if (old_meta and single and old_meta.url == url) else ""
    modified = old_meta.last_modified if (old_meta and single and old_meta.url == url) else ""
    records = 0
    new_etag = new_modified = ""
    malformed = _Malformed()
    # Records stream into the new file as they are parsed (one document in memory at a time);
    # if the feed fails halfway, update_db deletes this source's rows from the new file before
    # carrying the previous ones over, so no half feed ever sits beside old records.
    for i, file_url in enumerate(urls):
        fetched = fetch(file_url, workdir / f"{feed.name}-{i}", client, etag, modified, progress,
                        what=f"{feed.name}")
        if fetched.not_modified:
            if previous is None:
                raise FeedError(f"{feed.name}: {file_url} answered 304 but there is no previous database")
            count = writer.copy_source_from(previous, feed.name)
            kept = old_meta or SourceMeta(url=url)  # its malformed-version counts stay true
            writer.set_source(feed.name, SourceMeta(url=url, etag=etag, last_modified=modified, records=count,
                                                    last_success=_now(), malformed=kept.malformed,
                                                    malformed_samples=kept.malformed_samples))
            return SourceResult(feed.name, "not-modified", count, malformed=kept.malformed)
        if fetched.missing:
            if feed.optional_files and not single:
                continue
            raise FeedError(f"{feed.name}: {file_url} not found (HTTP 404 or missing file)")
        new_etag, new_modified = fetched.etag, fetched.last_modified
        for record in feed.parse(file_url, fetched.path):  # type: ignore[arg-type]
            if isinstance(record, Affected):
                malformed.check(record)
                writer.add_affected(record)
            else:
                writer.add_info(record)
            records += 1
        if fetched.path is not None and fetched.path.is_relative_to(workdir):  # never a file:// source
            fetched.path.unlink(missing_ok=True)
    if records == 0:
        raise FeedError(f"{feed.name}: {url} yielded no records")
    writer.set_source(feed.name, SourceMeta(url=url, etag=new_etag, last_modified=new_modified, records=records,
                                            last_success=_now(), malformed=malformed.count,
                                            malformed_samples=malformed.samples))
    return SourceResult(feed.name, "updated", records, malformed=malformed.count)


def feed_client() -> httpx.Client:
    """Feeds redirect to CDNs, so redirects are followed, but every request (the first and each
    redirect target) passes the SSRF guard after DNS: never a metadata or link-local address."""
    guard = HostGuard()

    def check(request: httpx.Request) -> None:
        try:
            guard.check_redirect(request.url.host)
        except BlockedHostError as exc:
            raise FeedError(f"feed request to {request.url} refused: {exc}") from exc

    return httpx.Client(timeout=300, follow_redirects=True, event_hooks={"request": [check]})


def update_db(db_path: Path | str, sources: list[str] | None = None, urls: dict[str, str] | None = None,
              progress: Progress | None = None, client: httpx.Client | None = None) -> UpdateReport:
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    feeds = all_feeds()
    selected = sources or DEFAULT_SOURCES
    unknown = [s for s in selected if s not in feeds]
    if unknown:
        raise LayerwatchError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(feeds))}")
    urls = urls or {}
    report = UpdateReport(db_path)
    previous = _open_previous(db_path)
    fd, tmp_name = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".new", dir=db_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    own_client = client is None
    client = client or feed_client()
    try:
        writer = VulnDBWriter(tmp)
        if previous:
            writer.copy_infos_from(previous)
        with tempfile.TemporaryDirectory(prefix="layerwatch-feeds-") as workdir:
            for name, feed in sorted(feeds.items()):
                old_meta = previous.metadata().sources.get(name) if previous else None
                if name not in selected:
                    if previous and old_meta:  # untouched sources are carried over as they are
                        writer.copy_source_from(previous, name)
                        writer.set_source(name, old_meta)
                    continue
                url = urls.get(name) or (old_meta.url if old_meta else "") or feed.default_url
                try:
                    report.results.append(_update_source(feed, url, writer, previous, Path(workdir), client,
                                                         progress))
                except (FeedError, OSError) as exc:
                    writer.delete_source(name)  # whatever streamed in before the failure
                    kept = writer.copy_source_from(previous, name) if previous and old_meta else 0
                    if old_meta:
                        writer.set_source(name, old_meta)
                    report.results.append(SourceResult(name, "kept" if kept else "failed", kept, str(exc)))
        writer.close()
        if all(r.error for r in report.results):
            return report  # every source failed: never install (or replace with) a database without them
        os.replace(tmp, db_path)
        report.installed = True
    finally:
        if own_client:
            client.close()
        if previous:
            previous.close()
        tmp.unlink(missing_ok=True)
    return report


# -- export / import for air-gapped clusters -----------------------------------------------------

EXPORT_MAGIC = b"LAYERWATCH-DB\n"


def export_db(db_path: Path, target: Path) -> str:
    """One zstd-compressed file: magic, sha256 of the DB, then the DB. Returns the checksum."""
    VulnDB.open(db_path).close()  # refuse to export something unreadable
    data = db_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    target.write_bytes(EXPORT_MAGIC + digest.encode() + b"\n" + zstandard.ZstdCompressor(level=10).compress(data))
    return digest


def import_db(source: Path, db_path: Path) -> str:
    """Verify and install an exported DB; the current DB is untouched unless all checks pass."""
    blob = source.read_bytes()
    if not blob.startswith(EXPORT_MAGIC):
        raise VulnDBError(f"{source}: not a layerwatch database export")
    header_end = blob.index(b"\n", len(EXPORT_MAGIC))
    expected = blob[len(EXPORT_MAGIC):header_end].decode()
    try:
        data = zstandard.ZstdDecompressor().decompress(blob[header_end + 1:], max_output_size=8 * 1024**3)
    except zstandard.ZstdError as exc:
        raise VulnDBError(f"{source}: corrupt export ({exc}); the current database is kept") from exc
    if hashlib.sha256(data).hexdigest() != expected:
        raise VulnDBError(f"{source}: checksum mismatch; the current database is kept")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".import", dir=db_path.parent)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    try:
        VulnDB.open(tmp_name).close()
        os.replace(tmp_name, db_path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return expected
