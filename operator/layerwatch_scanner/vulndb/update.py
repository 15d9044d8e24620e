"""`layerwatch db update`: bring every source up to date, atomically.

The first update builds a new file and moves it into place; later ones change the file in
place in one transaction (store.py), each source in a savepoint: a source whose download or
parse fails keeps its previous records and the error is reported. A source that can say what
changed since its last sync (OSV's modified_id.csv, Red Hat's change lists) has only that
applied; others are fetched with conditional GETs and re-read only when they changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import zstandard

from .. import __version__
from ..errors import BlockedHostError, FeedError, LayerwatchError, VulnDBError
from ..feeds import all_feeds
from ..feeds.base import Feed
from ..feeds.common import MAX_RECORD_BYTES
from ..interfaces import Progress
from ..match.ecosystems import scheme_for
from ..match.versions import is_valid
from ..registry.guard import HostGuard
from .fetch import fetch
from .records import Affected, Mapping
from .store import SourceMeta, VulnDB, VulnDBWriter, install, snapshot

# Sources updated when none are named. NVD is opt-in: its paged, rate-limited API takes hours
# without a key, and OSV/GHSA records already carry CVSS vectors.
DEFAULT_SOURCES = ["debian", "ubuntu", "alpine", "redhat", "redhat-repositories", "amazon", "suse", "oracle", "rocky", "almalinux", "wolfi",
                   "chainguard", "chainguard-osv", "azurelinux", "osv-pypi", "osv-npm", "osv-go", "osv-maven",
                   "osv-rubygems", "osv-crates", "osv-nuget", "osv-packagist", "kev", "epss"]


@dataclass
class SourceResult:
    name: str
    status: str  # "updated", "not-modified", "kept" (failed, previous records kept), "failed"
    records: int = 0  # rows of the source in the database after the update, whatever the status
    error: str = ""
    malformed: int = 0
    changed: int = 0  # documents replaced by an incremental update
    seconds: float = 0.0
    bytes: int = 0


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


class _Source:
    """One source's update into `writer`: incremental when its feed can say what changed since
    the stored position, else conditional GETs and, when anything changed, a full re-read."""

    def __init__(self, feed: Feed, url: str, writer: VulnDBWriter, old: SourceMeta | None, workdir: Path,
                 client: httpx.Client, progress: Progress | None):
        self.feed, self.url, self.writer, self.workdir = feed, url, writer, workdir
        self.client, self.progress = client, progress
        self.old = old if old and old.url == url else None  # a new URL starts over
        self.downloaded = 0

    def get(self, url: str) -> bytes | None:
        """A small file (change list, one document) through the guarded client; None on 404."""
        try:
            response = self.client.get(url)
        except httpx.HTTPError as exc:
            raise FeedError(f"{self.feed.name}: {url}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise FeedError(f"{self.feed.name}: {url} answered HTTP {response.status_code}")
        if len(response.content) > MAX_RECORD_BYTES:
            raise FeedError(f"{self.feed.name}: {url} is larger than {MAX_RECORD_BYTES} bytes")
        self.downloaded += len(response.content)
        return response.content

    def run(self) -> SourceResult:
        started = time.monotonic()
        result = self._incremental() if self.old and self.old.state and self.feed.incremental else None
        if result is None:
            result = self._conditional_or_full()
        result.seconds = time.monotonic() - started
        result.bytes = self.downloaded
        meta = self._meta
        meta.seconds, meta.bytes = result.seconds, result.bytes
        self.writer.set_source(self.feed.name, meta)
        return result

    def _add(self, records, malformed: _Malformed) -> int:  # noqa: ANN001 - an iterable of records
        count = 0
        for record in records:
            if isinstance(record, Affected):
                malformed.check(record)
                self.writer.add_affected(record)
            elif isinstance(record, Mapping):
                self.writer.add_mapping(record)
            else:
                self.writer.add_info(record)
            count += 1
        return count

    def _incremental(self) -> SourceResult | None:
        assert self.old is not None and self.feed.incremental is not None
        delta = self.feed.incremental(self.url, self.old.state, self.get)
        if delta is None:
            return None
        malformed = _Malformed()
        before = self.writer.count(self.feed.name)
        if delta.replaced:
            self.writer.delete_documents(self.feed.name, delta.replaced)
        self._add(delta.records, malformed)
        # records as a full read counts them (advisory rows and enrichment), moved by the change
        total = self.old.records + self.writer.count(self.feed.name) - before
        # malformed counts: those of the last full read plus the documents read since
        self._meta = SourceMeta(url=self.url, etag=self.old.etag, last_modified=self.old.last_modified, records=total,
                                last_success=_now(), malformed=self.old.malformed + malformed.count,
                                malformed_samples=(self.old.malformed_samples + malformed.samples)[:10],
                                state=delta.state, validators=self.old.validators)
        status = "updated" if delta.replaced else "not-modified"
        return SourceResult(self.feed.name, status, total, malformed=malformed.count, changed=len(delta.replaced))

    def _conditional_or_full(self) -> SourceResult:
        name = self.feed.name
        urls = self.feed.listing(self.url, self.get) if self.feed.listing else self.feed.expand(self.url)
        validators = dict(self.old.validators) if self.old else {}
        # the sync position is read before the files: what changes while they download is
        # applied again next time (idempotent), never missed
        state = self.feed.checkpoint(self.url, self.get) if self.feed.checkpoint else {}
        fetched = {}
        for i, file_url in enumerate(urls):
            etag, modified = validators.get(file_url, ("", ""))
            fetched[file_url] = fetch(file_url, self.workdir / f"{name}-{i}", self.client, etag, modified,
                                      self.progress, what=name)
            if self.feed.pace and len(urls) > 1:
                self.feed.pace(file_url)
        # nothing changed upstream: every file answered 304, or is still not published
        if self.old and all(f.not_modified or (f.missing and u not in validators) for u, f in fetched.items()):
            self._meta = dataclasses.replace(self.old, last_success=_now())
            return SourceResult(name, "not-modified", self.old.records, malformed=self.old.malformed)
        for i, file_url in enumerate(urls):  # some changed: the whole source is read again
            if fetched[file_url].not_modified:  # unchanged, but a full read needs it
                fetched[file_url] = fetch(file_url, self.workdir / f"{name}-{i}", self.client, progress=self.progress,
                                          what=name)
            if fetched[file_url].not_modified:
                raise FeedError(f"{name}: {file_url} answered 304 to an unconditional request")
        self.writer.delete_source(name)
        malformed, records, new_validators = _Malformed(), 0, {}
        for file_url in urls:
            got = fetched[file_url]
            self.downloaded += got.size
            if got.missing:
                if self.feed.optional_files and len(urls) > 1:
                    continue
                raise FeedError(f"{name}: {file_url} not found (HTTP 404 or missing file)")
            new_validators[file_url] = (got.etag, got.last_modified)
            records += self._add(self.feed.parse(file_url, got.path), malformed)  # type: ignore[arg-type]
            if got.path is not None and got.path.is_relative_to(self.workdir):  # never a file:// source
                shutil.rmtree(got.path) if got.path.is_dir() else got.path.unlink(missing_ok=True)
        if records == 0:
            raise FeedError(f"{name}: {self.url} yielded no records")
        single = urls[0] if len(urls) == 1 else ""
        self._meta = SourceMeta(url=self.url, etag=new_validators.get(single, ("", ""))[0],
                                last_modified=new_validators.get(single, ("", ""))[1],
                                records=records, last_success=_now(), malformed=malformed.count,
                                malformed_samples=malformed.samples, state=state, validators=new_validators)
        return SourceResult(name, "updated", self._meta.records, malformed=malformed.count)


def feed_client() -> httpx.Client:
    """Feeds redirect to CDNs, so redirects are followed, but every request (the first and each
    redirect target) passes the SSRF guard after DNS: never a metadata or link-local address."""
    guard = HostGuard()

    def check(request: httpx.Request) -> None:
        try:
            guard.check_redirect(request.url.host)
        except BlockedHostError as exc:
            raise FeedError(f"feed request to {request.url} refused: {exc}") from exc

    return httpx.Client(timeout=300, follow_redirects=True, event_hooks={"request": [check]},
                        headers={"User-Agent": f"layerwatch/{__version__}"})


def update_db(db_path: Path | str, sources: list[str] | None = None, urls: dict[str, str] | None = None,
              progress: Progress | None = None, client: httpx.Client | None = None,
              on_result: Callable[[SourceResult], None] | None = None) -> UpdateReport:
    """Update `sources` (default DEFAULT_SOURCES). The first time (or when the file is from
    another schema) a new file is built and moved into place; afterwards the file is updated in
    place in one transaction. Either way a source that fails keeps its previous records, and
    when every source fails nothing is installed or changed."""
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
    old_sources = previous.metadata().sources if previous else {}
    if previous:
        previous.close()
    in_place = previous is not None
    tmp: Path | None = None
    if in_place:
        writer = VulnDBWriter(db_path, in_place=True)
    else:
        fd, tmp_name = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".new", dir=db_path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        writer = VulnDBWriter(tmp)
    own_client = client is None
    client = client or feed_client()
    finished = False
    try:
        with tempfile.TemporaryDirectory(prefix="layerwatch-feeds-") as workdir:
            for name in [n for n in sorted(feeds) if n in selected]:
                old = old_sources.get(name)
                url = urls.get(name) or (old.url if old else "") or feeds[name].default_url
                writer.begin_source(name)
                try:
                    result = _Source(feeds[name], url, writer, old, Path(workdir), client, progress).run()
                    writer.end_source(True)
                except (FeedError, OSError) as exc:
                    writer.end_source(False)  # its previous rows and metadata, untouched
                    result = SourceResult(name, "kept" if old else "failed", old.records if old else 0, str(exc))
                report.results.append(result)
                if on_result:
                    on_result(result)
        if all(r.error for r in report.results):
            writer.abort()  # every source failed: never install (or change) a database without them
            finished = True
            return report
        writer.close()
        finished = True
        if tmp is not None:
            install(tmp, db_path)
        report.installed = True
    finally:
        if not finished:
            writer.abort()
        if own_client:
            client.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return report


# -- export / import for air-gapped clusters -----------------------------------------------------

EXPORT_MAGIC = b"LAYERWATCH-DB\n"


def export_db(db_path: Path, target: Path) -> str:
    """One zstd-compressed file: magic, sha256 of the DB, then the DB. Returns the checksum."""
    VulnDB.open(db_path).close()  # refuse to export something unreadable
    with tempfile.TemporaryDirectory(prefix="layerwatch-export-") as tmp:
        copy = Path(tmp) / "db.sqlite"
        snapshot(db_path, copy)
        data = copy.read_bytes()
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
        install(tmp_name, db_path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return expected
