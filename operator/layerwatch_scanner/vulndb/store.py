"""The vulnerability database: one SQLite file, schema-versioned, indexed for matching.

Writers always build a NEW file (VulnDBWriter); `update.py` swaps it in with os.replace, so a
reader holding the old file keeps a consistent view and never sees a half-written one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import VulnDBError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Affected, Range, VulnInfo

SCHEMA_VERSION = 2  # 2: per-source ecosystems and malformed-version counts (coverage)
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (
    name TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,
    records INTEGER NOT NULL, last_success TEXT NOT NULL,
    malformed INTEGER NOT NULL DEFAULT 0, malformed_samples TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE source_ecosystems (source TEXT NOT NULL, ecosystem TEXT NOT NULL, records INTEGER NOT NULL);
CREATE TABLE affected (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, vuln_id TEXT NOT NULL, source TEXT NOT NULL,
    status TEXT NOT NULL, ranges TEXT NOT NULL, versions TEXT NOT NULL, severity TEXT NOT NULL,
    aliases TEXT NOT NULL, module TEXT NOT NULL, summary TEXT NOT NULL
);
CREATE TABLE vulns (
    vuln_id TEXT PRIMARY KEY, cvss_score REAL, cvss_vector TEXT NOT NULL, cvss_severity TEXT NOT NULL,
    kev INTEGER NOT NULL, epss REAL, description TEXT NOT NULL, aliases TEXT NOT NULL
);
"""
_INDEXES = """
CREATE INDEX affected_lookup ON affected (ecosystem, package);
CREATE INDEX affected_source ON affected (source);
"""


@dataclass
class SourceMeta:
    url: str
    etag: str = ""
    last_modified: str = ""
    records: int = 0
    last_success: str = ""
    malformed: int = 0  # versions in its records that the ecosystem's scheme cannot read
    malformed_samples: list[str] = field(default_factory=list)


@dataclass
class DBMetadata:
    schema_version: int
    built_at: str
    sources: dict[str, SourceMeta] = field(default_factory=dict)
    build_id: str = ""  # unique per build (a copy made by `db export`/`import` keeps it)


def _ranges_json(ranges: list[Range]) -> str:
    return json.dumps([[r.introduced, r.fixed, r.last_affected] for r in ranges], separators=(",", ":"))


class VulnDBWriter:
    """Builds a new database file. Call close() to finish (indexes, metadata)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if self.path.exists():
            self.path.unlink()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.executescript(_SCHEMA)
        self._infos: dict[str, VulnInfo] = {}

    def add_affected(self, rec: Affected) -> None:
        self._db.execute(
            "INSERT INTO affected VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (rec.ecosystem, rec.package, rec.vuln_id, rec.source, rec.status, _ranges_json(rec.ranges),
             json.dumps(rec.versions), rec.severity, json.dumps(rec.aliases), rec.module, rec.summary[:500]),
        )

    def add_info(self, info: VulnInfo) -> None:
        """Merge enrichment for one id: later sources fill what earlier ones left empty."""
        current = self._infos.get(info.vuln_id)
        if current is None:
            self._infos[info.vuln_id] = type(info)(**asdict(info))
            return
        if info.cvss_score is not None and current.cvss_score is None:
            current.cvss_score, current.cvss_vector = info.cvss_score, info.cvss_vector
            current.cvss_severity = info.cvss_severity
        current.kev = current.kev or info.kev
        if info.epss is not None:
            current.epss = info.epss
        current.description = current.description or info.description
        current.aliases = sorted(set(current.aliases) | set(info.aliases))

    def copy_source_from(self, old: VulnDB, source: str) -> int:
        """Carry a source's records forward from the previous DB (used when its feed is unchanged)."""
        rows = old._db.execute("SELECT * FROM affected WHERE source = ?", (source,)).fetchall()
        self._db.executemany("INSERT INTO affected VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def delete_source(self, source: str) -> None:
        """Drop a source's rows written so far (its update failed halfway)."""
        self._db.execute("DELETE FROM affected WHERE source = ?", (source,))

    def copy_infos_from(self, old: VulnDB) -> None:
        for row in old._db.execute("SELECT * FROM vulns"):
            self.add_info(_info_from_row(row))

    def set_source(self, name: str, meta: SourceMeta) -> None:
        self._db.execute("INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?,?)",
                         (name, meta.url, meta.etag, meta.last_modified, meta.records, meta.last_success,
                          meta.malformed, json.dumps(meta.malformed_samples[:10])))

    def close(self) -> None:
        self._db.executemany(
            "INSERT INTO vulns VALUES (?,?,?,?,?,?,?,?)",
            [(i.vuln_id, i.cvss_score, i.cvss_vector, i.cvss_severity, int(i.kev), i.epss, i.description[:1000],
              json.dumps(i.aliases)) for i in self._infos.values()],
        )
        self._db.executescript(_INDEXES)
        self._db.execute("INSERT INTO source_ecosystems SELECT source, ecosystem, count(*) FROM affected GROUP BY 1, 2")
        self._db.execute("INSERT INTO meta VALUES ('built_at', ?)", (datetime.now(UTC).isoformat(timespec="seconds"),))
        import uuid  # here: only a writer needs it

        self._db.execute("INSERT INTO meta VALUES ('build_id', ?)", (uuid.uuid4().hex,))
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.commit()
        self._db.execute("VACUUM")
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
        aliases=json.loads(row[8]), module=row[9], summary=row[10],
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
            db.execute("SELECT count(*) FROM affected LIMIT 1").fetchone()
        except sqlite3.DatabaseError as exc:
            raise VulnDBError(f"vulnerability database {path} is corrupt ({exc}): run `layerwatch db update`") from exc
        return cls(path, db)

    def affected(self, ecosystem: str, package: str) -> list[Affected]:
        key = (ecosystem, package)
        if key not in self._cache:
            rows = self._db.execute("SELECT * FROM affected WHERE ecosystem = ? AND package = ?", key).fetchall()
            self._cache[key] = [_affected_from_row(r) for r in rows]
        return self._cache[key]

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
        """Changes whenever the matching data may have: a new build, or this file written in place."""
        meta = dict(self._db.execute("SELECT key, value FROM meta WHERE key IN ('built_at', 'build_id')"))
        st = self.path.stat()
        return f"{meta.get('build_id') or meta.get('built_at', '')}:{st.st_size}:{st.st_mtime_ns}"

    def metadata(self) -> DBMetadata:
        built = self._db.execute("SELECT value FROM meta WHERE key = 'built_at'").fetchone()
        build_id = self._db.execute("SELECT value FROM meta WHERE key = 'build_id'").fetchone()
        sources = {row[0]: SourceMeta(url=row[1], etag=row[2] or "", last_modified=row[3] or "", records=row[4],
                                      last_success=row[5], malformed=row[6], malformed_samples=json.loads(row[7]))
                   for row in self._db.execute("SELECT * FROM sources ORDER BY name")}
        return DBMetadata(schema_version=SCHEMA_VERSION, built_at=built[0] if built else "", sources=sources,
                          build_id=build_id[0] if build_id else "")

    def close(self) -> None:
        self._db.close()
