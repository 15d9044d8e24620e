"""The vulnerability database: one SQLite file, schema-versioned, indexed for matching.

The first build writes a NEW file (VulnDBWriter) that `update.py` moves into place with
os.replace. Later updates change the file in place inside one write transaction in WAL mode
(VulnDBWriter(in_place=True)): readers keep reading the snapshot they started with and see the
new data only once it is committed whole, and an unchanged refresh writes a few rows instead
of a whole new file.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import VulnDBError

if TYPE_CHECKING:
    from .records import Affected, Mapping, Range, VulnInfo

SCHEMA_VERSION = 5  # 2: per-source ecosystems, malformed counts; 3: incremental sync state, documents;
# 4: a digest per (ecosystem, package) of what matching reads, so re-matching follows the changes;
# 5: lookup tables a source publishes (Red Hat's repository -> CPEs)
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,
    records INTEGER NOT NULL, last_success TEXT NOT NULL,
    malformed INTEGER NOT NULL DEFAULT 0, malformed_samples TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT '{}', validators TEXT NOT NULL DEFAULT '{}',
    seconds REAL NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE source_ecosystems (source TEXT NOT NULL, ecosystem TEXT NOT NULL, records INTEGER NOT NULL);
CREATE TABLE affected (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, vuln_id TEXT NOT NULL, source TEXT NOT NULL,
    status TEXT NOT NULL, ranges TEXT NOT NULL, versions TEXT NOT NULL, severity TEXT NOT NULL,
    aliases TEXT NOT NULL, module TEXT NOT NULL, summary TEXT NOT NULL, doc TEXT NOT NULL DEFAULT ''
);
CREATE TABLE package_digests (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (ecosystem, package)
) WITHOUT ROWID;
CREATE TABLE mappings (
    tbl TEXT NOT NULL, key TEXT NOT NULL, source TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (tbl, key)
) WITHOUT ROWID;
CREATE TABLE vulns (
    vuln_id TEXT PRIMARY KEY, cvss_score REAL, cvss_vector TEXT NOT NULL, cvss_severity TEXT NOT NULL,
    kev INTEGER NOT NULL, epss REAL, description TEXT NOT NULL, aliases TEXT NOT NULL
);
"""
_INDEXES = """
CREATE INDEX affected_lookup ON affected (ecosystem, package);
CREATE INDEX affected_source ON affected (source, doc);
"""


@dataclass
class SourceMeta:
    """One feed source as the database last stored it: where from, when, how much."""
    url: str
    etag: str = ""
    last_modified: str = ""
    records: int = 0
    last_success: str = ""
    malformed: int = 0  # versions in its records that the ecosystem's scheme cannot read
    malformed_samples: list[str] = field(default_factory=list)
    state: dict = field(default_factory=dict)  # the feed's incremental-sync position
    validators: dict = field(default_factory=dict)  # file URL -> [ETag, Last-Modified]
    seconds: float = 0.0  # how long its last update took
    bytes: int = 0  # and how much it downloaded


@dataclass
class DBMetadata:
    """What a database holds: schema, build time and key, and each source's state."""
    schema_version: int
    built_at: str
    sources: dict[str, SourceMeta] = field(default_factory=dict)
    build_id: str = ""  # unique per build (a copy made by `db export`/`import` keeps it)


def _ranges_json(ranges: list[Range]) -> str:
    return json.dumps([[r.introduced, r.fixed, r.last_affected] for r in ranges], separators=(",", ":"))


_INSERT_AFFECTED = "INSERT INTO affected VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"

# Everything a match of one (ecosystem, package) reads: its advisory rows and, of their ids, the
# enrichment that shows in findings (CVSS severity when the vendor gives none, aliases, KEV).
# EPSS is left out on purpose: its daily re-scoring would otherwise mark every package changed.
_ROW_SEP = "\x1e"
_DIGEST_ROWS = """
SELECT a.ecosystem, a.package, group_concat(
    a.vuln_id || x'1f' || a.source || x'1f' || a.status || x'1f' || a.ranges || x'1f' || a.versions || x'1f' ||
    a.severity || x'1f' || a.aliases || x'1f' || a.module || x'1f' || ifnull(v.cvss_severity, '') || x'1f' ||
    ifnull(v.aliases, '') || x'1f' || ifnull(v.kev, ''), x'1e')
FROM {rows} LEFT JOIN vulns v USING (vuln_id) GROUP BY a.ecosystem, a.package
"""
_DIGEST_FIELDS = ("cvss_severity", "aliases", "kev")  # of VulnInfo, as above


def _package_digest(rows: str) -> str:
    """Order-independent: SQLite's group_concat has no defined order."""
    import hashlib  # here: only writers digest

    return hashlib.blake2b(_ROW_SEP.join(sorted(rows.split(_ROW_SEP))).encode(), digest_size=12).hexdigest()


def _merge_info(current: VulnInfo, info: VulnInfo) -> None:
    """Later sources fill what earlier ones left empty."""
    if info.cvss_score is not None and current.cvss_score is None:
        current.cvss_score, current.cvss_vector = info.cvss_score, info.cvss_vector
        current.cvss_severity = info.cvss_severity
    current.kev = current.kev or info.kev
    if info.epss is not None:
        current.epss = info.epss
    current.description = current.description or info.description
    current.aliases = sorted(set(current.aliases) | set(info.aliases))


def _info_row(i: VulnInfo) -> tuple:
    return (i.vuln_id, i.cvss_score, i.cvss_vector, i.cvss_severity, int(i.kev), i.epss, i.description[:1000],
            json.dumps(i.aliases))


class VulnDBWriter:
    """Builds a new database file, or (`in_place`) changes an existing one in one transaction.
    Call close() to finish (indexes, metadata, commit) or abort() to leave it as it was."""

    def __init__(self, path: Path | str, in_place: bool = False):
        self.path = Path(path)
        self.in_place = in_place
        self._touched: set[str] = set()  # sources whose rows changed
        if in_place:
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA temp_store=FILE")
                # the packages whose digest must be recomputed (inside the savepoints: a failed
                # source's marks go with its rows)
                self._db.execute("CREATE TEMP TABLE touched (ecosystem TEXT, package TEXT, "
                                 "PRIMARY KEY (ecosystem, package)) WITHOUT ROWID")
                self._db.execute("CREATE TEMP TABLE touched_ids (vuln_id TEXT PRIMARY KEY) WITHOUT ROWID")
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:  # "database is locked" after the timeout
                self._db.close()
                raise VulnDBError(f"vulnerability database {self.path} is being updated by another process "
                                  f"({exc}); try again when it is done") from exc
            return
        if self.path.exists():
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        # a failed source is rolled back to its savepoint, so there is a journal: on disk (a
        # new file's pages have no old content to keep; the savepoints' sub-journals of pages
        # written earlier would be held in memory by journal_mode=MEMORY: hundreds of MB)
        self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.execute("PRAGMA temp_store=FILE")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")

    # -- one source at a time: a failure leaves the source's previous rows and metadata alone --
    def begin_source(self, name: str) -> None:
        self._db.execute("SAVEPOINT source")
        self._source = name

    def end_source(self, ok: bool) -> None:
        if not ok:
            self._db.execute("ROLLBACK TO SAVEPOINT source")
        self._db.execute("RELEASE SAVEPOINT source")

    def add_affected(self, rec: Affected) -> None:
        self._touched.add(rec.source)
        if self.in_place:
            self._db.execute("INSERT OR IGNORE INTO touched VALUES (?, ?)", (rec.ecosystem, rec.package))
        self._db.execute(_INSERT_AFFECTED, (
            rec.ecosystem, rec.package, rec.vuln_id, rec.source, rec.status, _ranges_json(rec.ranges),
            json.dumps(rec.versions), rec.severity, json.dumps(rec.aliases), rec.module, rec.summary[:500], rec.doc))

    def add_info(self, info: VulnInfo) -> None:
        """Merge enrichment for one id into its stored row (never held in memory: EPSS alone
        scores ~280,000 ids)."""
        row = self._db.execute("SELECT * FROM vulns WHERE vuln_id = ?", (info.vuln_id,)).fetchone()
        current = _info_from_row(row) if row else type(info)(vuln_id=info.vuln_id)
        before = [getattr(current, f) for f in _DIGEST_FIELDS]
        _merge_info(current, info)
        if self.in_place and before != [getattr(current, f) for f in _DIGEST_FIELDS]:
            self._db.execute("INSERT OR IGNORE INTO touched_ids VALUES (?)", (info.vuln_id,))
        self._db.execute("INSERT OR REPLACE INTO vulns VALUES (?,?,?,?,?,?,?,?)", _info_row(current))

    def add_mapping(self, entry: Mapping) -> None:
        self._touched.add(entry.source)
        self._db.execute("INSERT OR REPLACE INTO mappings VALUES (?, ?, ?, ?)",
                         (entry.table, entry.key, entry.source, json.dumps(entry.values)))

    def delete_source(self, source: str) -> None:
        """Drop every row of a source (it is about to be re-read whole)."""
        self._touched.add(source)
        self._db.execute("DELETE FROM mappings WHERE source = ?", (source,))
        if self.in_place:
            self._db.execute("INSERT OR IGNORE INTO touched SELECT ecosystem, package FROM affected WHERE source = ?",
                             (source,))
        self._db.execute("DELETE FROM affected WHERE source = ?", (source,))

    def delete_documents(self, source: str, docs: list[str]) -> None:
        """Drop the rows that came from these documents (an incremental update re-reads them)."""
        self._touched.add(source)
        if self.in_place:
            self._db.executemany("INSERT OR IGNORE INTO touched SELECT ecosystem, package FROM affected "
                                 "WHERE source = ? AND doc = ?", ((source, d) for d in docs))
        self._db.executemany("DELETE FROM affected WHERE source = ? AND doc = ?", ((source, d) for d in docs))

    def count(self, source: str) -> int:
        return self._db.execute("SELECT count(*) FROM affected WHERE source = ?", (source,)).fetchone()[0]

    def set_source(self, name: str, meta: SourceMeta) -> None:
        self._db.execute("INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (name, meta.url, meta.etag, meta.last_modified, meta.records, meta.last_success,
                          meta.malformed, json.dumps(meta.malformed_samples[:10]), json.dumps(meta.state),
                          json.dumps(meta.validators), meta.seconds, meta.bytes))

    def _package_digests(self) -> None:
        """A fresh build digests every package; an update only those it touched (rows added or
        deleted, or an id's enrichment changed), so readers can tell which packages changed."""
        self._digests_changed = False
        if not self.in_place:
            rows = self._db.execute(_DIGEST_ROWS.format(rows="affected a"))
            self._db.executemany("INSERT INTO package_digests VALUES (?, ?, ?)",
                                 ((e, p, _package_digest(r)) for e, p, r in rows))
            return
        self._db.execute("INSERT OR IGNORE INTO touched SELECT ecosystem, package FROM affected "
                         "WHERE vuln_id IN (SELECT vuln_id FROM touched_ids)")
        old = dict(((e, p), d) for e, p, d in self._db.execute(
            "SELECT d.* FROM touched t JOIN package_digests d USING (ecosystem, package)"))
        new = {(e, p): _package_digest(r) for e, p, r in self._db.execute(_DIGEST_ROWS.format(
            rows="touched t JOIN affected a USING (ecosystem, package)"))}
        if old == new:
            return
        self._digests_changed = True
        self._db.execute("DELETE FROM package_digests WHERE (ecosystem, package) IN (SELECT * FROM touched)")
        self._db.executemany("INSERT INTO package_digests VALUES (?, ?, ?)", ((e, p, d) for (e, p), d in new.items()))

    def abort(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            self._db.close()

    def close(self) -> None:
        if not self.in_place:
            for statement in filter(str.strip, _INDEXES.split(";")):  # executescript would commit
                self._db.execute(statement)
        self._package_digests()
        for source in sorted(self._touched):
            self._db.execute("DELETE FROM source_ecosystems WHERE source = ?", (source,))
            self._db.execute("INSERT INTO source_ecosystems SELECT source, ecosystem, count(*) FROM affected "
                             "WHERE source = ? GROUP BY 1, 2", (source,))
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('built_at', ?)",
                         (datetime.now(UTC).isoformat(timespec="seconds"),))
        if self._touched or self._digests_changed or not self.in_place:
            import uuid  # here: only a writer needs it

            # matches cached against the old content are stale now (scanning.match_key)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('build_id', ?)", (uuid.uuid4().hex,))
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.execute("COMMIT")
        if self.in_place:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for a reader
        else:
            self._db.execute("VACUUM")
            self._db.execute("PRAGMA journal_mode=WAL")  # for the in-place updates that follow
        self._db.close()


def _info_from_row(row: tuple) -> VulnInfo:
    from .records import VulnInfo  # here: a warm rescan reads no record

    return VulnInfo(vuln_id=row[0], cvss_score=row[1], cvss_vector=row[2], cvss_severity=row[3], kev=bool(row[4]),
                    epss=row[5], description=row[6], aliases=json.loads(row[7]))


def _affected_from_row(row: tuple) -> Affected:
    from .records import Affected, Range

    return Affected(
        ecosystem=row[0], package=row[1], vuln_id=row[2], source=row[3], status=row[4],
        ranges=[Range(*r) for r in json.loads(row[5])], versions=json.loads(row[6]), severity=row[7],
        aliases=json.loads(row[8]), module=row[9], summary=row[10], doc=row[11],
    )


class VulnDB:
    """Read-only view of one database file."""

    def __init__(self, path: Path, db: sqlite3.Connection):
        self.path = path
        self._db = db
        self._cache: dict[tuple[str, str], list[Affected]] = {}

    @classmethod
    def open(cls, path: Path | str) -> VulnDB:
        path = Path(path)
        if not path.is_file():
            raise VulnDBError(f"vulnerability database {path} not found: run `layerwatch db update` "
                              "(or `layerwatch db import FILE` offline)")
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise VulnDBError(f"vulnerability database {path} has schema {version}, this layerwatch reads "
                                  f"{SCHEMA_VERSION}: run `layerwatch db update`")
            db.execute("SELECT 1 FROM affected LIMIT 1").fetchone()  # readable (count(*) would scan it all)
        except sqlite3.DatabaseError as exc:
            raise VulnDBError(f"vulnerability database {path} is corrupt ({exc}): run `layerwatch db update`") from exc
        return cls(path, db)

    def affected(self, ecosystem: str, package: str) -> list[Affected]:
        key = (ecosystem, package)
        if key not in self._cache:
            rows = self._db.execute("SELECT * FROM affected WHERE ecosystem = ? AND package = ?", key).fetchall()
            self._cache[key] = [_affected_from_row(r) for r in rows]
        return self._cache[key]

    def package_digests(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(ecosystem, package) -> digest of what matching it reads; absent: no advisories."""
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(keys), 400):
            chunk = keys[start:start + 400]
            values = ",".join("(?,?)" for _ in chunk)
            flat = [v for key in chunk for v in key]
            for e, p, d in self._db.execute(f"SELECT * FROM package_digests WHERE (ecosystem, package) IN "
                                            f"(VALUES {values})", flat):
                found[(e, p)] = d
        return found

    def mapping(self, table: str, keys: list[str]) -> dict[str, list[str]]:
        """The entries of a source's lookup table for `keys` (absent keys are left out)."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM mappings WHERE tbl = ? AND key IN ({marks})",
                                               [table, *chunk]):
                found[key] = json.loads(value)
        return found

    def info(self, vuln_id: str) -> VulnInfo | None:
        row = self._db.execute("SELECT * FROM vulns WHERE vuln_id = ?", (vuln_id,)).fetchone()
        return _info_from_row(row) if row else None

    def infos(self, ids: list[str]) -> dict[str, VulnInfo]:
        found: dict[str, VulnInfo] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT * FROM vulns WHERE vuln_id IN ({marks})", chunk):
                found[row[0]] = _info_from_row(row)
        return found

    def sources_by_ecosystem(self) -> dict[str, dict[str, int]]:
        """ecosystem -> {source: records}: what coverage checks an image against."""
        held: dict[str, dict[str, int]] = {}
        for source, ecosystem, records in self._db.execute("SELECT * FROM source_ecosystems"):
            held.setdefault(ecosystem, {})[source] = records
        return held

    def ecosystems(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT ecosystem FROM affected ORDER BY 1")]

    def count(self, source: str | None = None) -> int:
        if source:
            return self._db.execute("SELECT count(*) FROM affected WHERE source = ?", (source,)).fetchone()[0]
        return self._db.execute("SELECT count(*) FROM affected").fetchone()[0]

    @property
    def build_key(self) -> str:
        """Changes whenever the matching data may have: every write of advisory rows draws a new
        build id (an unchanged refresh keeps it); a file without one is told by size and mtime."""
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('built_at', 'build_id')"))
        if meta.get("build_id"):
            return meta["build_id"]
        st = self.path.stat()
        return f"{meta.get('built_at', '')}:{st.st_size}:{st.st_mtime_ns}"

    def metadata(self) -> DBMetadata:
        built = self._db.execute("SELECT value FROM meta WHERE key = 'built_at'").fetchone()
        build_id = self._db.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
        sources = {row[0]: SourceMeta(url=row[1], etag=row[2] or "", last_modified=row[3] or "", records=row[4],
                                      last_success=row[5], malformed=row[6], malformed_samples=json.loads(row[7]),
                                      state=json.loads(row[8]), validators=json.loads(row[9]), seconds=row[10],
                                      bytes=row[11])
                   for row in self._db.execute("SELECT * FROM sources ORDER BY name")}
        return DBMetadata(schema_version=SCHEMA_VERSION, built_at=built[0] if built else "", sources=sources,
                          build_id=build_id[0] if build_id else "")

    def close(self) -> None:
        self._db.close()


def install(new: Path | str, db_path: Path) -> None:
    """Move a complete database file into place. The old file's WAL and shared-memory files
    go first: SQLite would otherwise replay the old file's last pages onto the new one."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    os.replace(new, db_path)


def snapshot(db_path: Path, target: Path) -> None:
    """A consistent, self-contained copy of a database (committed pages may still sit in its
    WAL file, so the bytes of the main file alone are not enough)."""
    source, copy = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True), sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        source.close()
        copy.close()
