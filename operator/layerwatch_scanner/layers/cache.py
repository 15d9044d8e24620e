"""The layer cache: per-layer results keyed by (layer digest, catalogers version), and the
image inventories built from them (for `layerwatch rematch` and the operator).

SQLite in WAL mode so several processes (CLI runs, the operator's workers) can share it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import LayerwatchError
from ..model import Inventory, LayerResult

SCHEMA_VERSION = 3  # 2: a match remembers the database build and scanner it was made with;
# 3: the packages each image holds, for re-matching only what a database update changed
_SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    digest TEXT NOT NULL,
    catalogers TEXT NOT NULL,
    result BLOB NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (digest, catalogers)
);
CREATE TABLE IF NOT EXISTS inventories (
    digest TEXT PRIMARY KEY,
    image TEXT NOT NULL,
    inventory BLOB NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS matches (
    digest TEXT PRIMARY KEY,
    findings BLOB NOT NULL,
    updated REAL NOT NULL,
    build TEXT NOT NULL DEFAULT '',
    extras BLOB
);
-- what each image holds, as matching looks it up: (ecosystem, package, version, scheme,
-- module) is a "decision"; a changed advisory finds the images it concerns here
CREATE TABLE IF NOT EXISTS packages (
    image TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL,
    scheme TEXT NOT NULL, module TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, layer TEXT NOT NULL,
    -- clustered by decision: the images holding a changed one are read as one run of rows
    PRIMARY KEY (ecosystem, package, version, scheme, module, image, type, name, layer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS packages_image ON packages (image);
CREATE TABLE IF NOT EXISTS indexed (image TEXT PRIMARY KEY) WITHOUT ROWID;
-- what the advisories said about each decision at the last re-match (JSON), and the database's
-- digest of each (ecosystem, package) then: an update changed exactly the packages whose
-- digest now differs
CREATE TABLE IF NOT EXISTS decisions (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL, scheme TEXT NOT NULL,
    module TEXT NOT NULL, outcome TEXT NOT NULL, PRIMARY KEY (ecosystem, package, version, scheme, module)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_state (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, digest TEXT, PRIMARY KEY (ecosystem, package)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rematch_state (id INTEGER PRIMARY KEY CHECK (id = 0), build TEXT NOT NULL);
"""
# what a version-1 cache needs to become version 2 (a cache is never worth a "delete it" error)
_MIGRATE_1 = """
ALTER TABLE matches ADD COLUMN build TEXT NOT NULL DEFAULT '';
ALTER TABLE matches ADD COLUMN extras BLOB;
"""


# Rows are zlib-compressed JSON (zlib is built in; zstandard's import alone was a tenth of a
# warm rescan). Version-1 caches wrote zstd frames: still read, so nothing is scanned again.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Unreadable(ValueError):
    """A row that does not decompress or parse: a cache miss."""


def _pack(obj: object) -> bytes:
    return zlib.compress(json.dumps(obj, separators=(",", ":")).encode(), 3)


def _unpack(blob: bytes) -> object:
    try:
        if blob[:4] == _ZSTD_MAGIC:
            import zstandard

            return json.loads(zstandard.ZstdDecompressor().decompress(blob))
        return json.loads(zlib.decompress(blob))
    except Exception as exc:  # noqa: BLE001 - zlib.error, ZstdError, bad JSON: all just unreadable
        raise _Unreadable(str(exc)) from exc


class LayerCache:
    """Thread-safe; one connection per thread."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, 2, SCHEMA_VERSION):
                raise LayerwatchError(f"layer cache {self.path}: schema {version}, expected {SCHEMA_VERSION}; "
                                      "delete the file to rebuild it")
            if version != SCHEMA_VERSION:
                with conn:
                    if version == 1:
                        conn.executescript(_MIGRATE_1)
                    conn.executescript(_SCHEMA)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise LayerwatchError(f"layer cache {self.path} is corrupt ({exc}); delete it to rebuild") from exc

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get_layer(self, digest: str, catalogers: str) -> LayerResult | None:
        row = self._conn().execute(
            "SELECT result FROM layers WHERE digest = ? AND catalogers = ?", (digest, catalogers)
        ).fetchone()
        if row is None:
            return None
        try:
            return LayerResult.from_dict(_unpack(row[0]))  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError):
            return None  # an unreadable row is a cache miss: the layer is scanned again

    def put_layer(self, result: LayerResult, catalogers: str) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?, ?)",
                         (result.digest, catalogers, _pack(result.to_dict()), time.time()))

    def store_inventory(self, inventory: Inventory, catalogers: str = "", rows: list[tuple] | None = None) -> None:
        """`catalogers`: the version of the catalogers that made it (a warm rescan checks it);
        `rows`: its packages as matching looks them up (match.ecosystems.package_rows)."""
        doc = inventory.to_dict()
        doc["catalogers"] = catalogers
        if len(inventory.purls) == len(inventory.packages):
            doc["purls"] = inventory.purls
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO inventories VALUES (?, ?, ?, ?)",
                         (inventory.digest, inventory.image, _pack(doc), time.time()))
            if rows is not None:
                self._index(conn, inventory.digest, rows)

    @staticmethod
    def _index(conn: sqlite3.Connection, digest: str, rows: list[tuple]) -> None:
        conn.execute("DELETE FROM packages WHERE image = ?", (digest,))
        conn.executemany("INSERT OR IGNORE INTO packages (image, ecosystem, package, version, scheme, module, type, "
                         "name, layer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ((digest, *r) for r in rows))
        conn.execute("INSERT OR IGNORE INTO indexed VALUES (?)", (digest,))

    def warm_inventory(self, digest: str, layers: list[str], catalogers: str) -> Inventory | None:
        """The stored inventory of an image when it was made from these layers by these catalogers
        (a warm rescan: no layer is read, nothing merged)."""
        row = self._conn().execute("SELECT inventory FROM inventories WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            return None
        try:
            doc = _unpack(row[0])
            if doc.get("catalogers") != catalogers or doc.get("layers") != layers:  # type: ignore[union-attr]
                return None
            inventory = Inventory.from_dict(doc)  # type: ignore[arg-type]
            inventory.purls = list(doc.get("purls") or [])  # type: ignore[union-attr]
            return inventory
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def has_inventory(self, digest: str) -> bool:
        return self._conn().execute("SELECT 1 FROM inventories WHERE digest = ?", (digest,)).fetchone() is not None

    def load_inventory(self, digest: str) -> Inventory | None:
        row = self._conn().execute("SELECT inventory FROM inventories WHERE digest = ?", (digest,)).fetchone()
        return Inventory.from_dict(_unpack(row[0])) if row else None  # type: ignore[arg-type]

    def iter_inventories(self) -> Iterator[Inventory]:
        digests = [r[0] for r in self._conn().execute("SELECT digest FROM inventories ORDER BY image")]
        for digest in digests:
            inv = self.load_inventory(digest)
            if inv is not None:
                yield inv

    def store_match(self, digest: str, findings: list[dict], build: str = "", extras: dict | None = None) -> None:
        """`build`: what the match depends on besides the inventory (database build, scanner);
        `extras`: what else was derived from it (problems, remediation), reused with it."""
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO matches VALUES (?, ?, ?, ?, ?)",
                         (digest, _pack(findings), time.time(), build, _pack(extras or {})))

    # -- what re-matching by delta reads and writes (rematching.py) --
    def unindexed(self) -> list[str]:
        """Inventories stored before packages were indexed."""
        return [r[0] for r in self._conn().execute(
            "SELECT digest FROM inventories WHERE digest NOT IN (SELECT image FROM indexed)")]

    def index(self, digest: str, rows: list[tuple]) -> None:
        with self._conn() as conn:
            self._index(conn, digest, rows)

    def note_decisions(self, outcomes: dict[tuple, str], digests: dict[tuple[str, str], str | None]) -> None:
        """What a scan decided, kept where nothing is known yet (a re-match compares with it)."""
        with self._conn() as conn:
            conn.executemany("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
                             ((*t, o) for t, o in outcomes.items()))
            conn.executemany("INSERT OR IGNORE INTO key_state VALUES (?, ?, ?)",
                             ((e, p, d) for (e, p), d in digests.items()))

    def rematch_build(self) -> str:
        row = self._conn().execute("SELECT build FROM rematch_state").fetchone()
        return row[0] if row else ""

    def key_state(self) -> dict[tuple[str, str], str | None]:
        return {(e, p): d for e, p, d in self._conn().execute("SELECT * FROM key_state")}

    def all_keys(self) -> list[tuple[str, str]]:
        return self._conn().execute("SELECT DISTINCT ecosystem, package FROM packages ORDER BY 1, 2").fetchall()

    def decisions_of(self, keys: list[tuple[str, str]] | None) -> list[tuple]:
        """The distinct decisions the images hold, of these packages (None: of all)."""
        conn = self._conn()
        if keys is None:
            return conn.execute("SELECT DISTINCT ecosystem, package, version, scheme, module FROM packages").fetchall()
        found: set[tuple] = set()  # every decision an image holds has an outcome (scan or re-match)
        for key in keys:
            found.update(conn.execute("SELECT ecosystem, package, version, scheme, module FROM decisions "
                                      "WHERE ecosystem = ? AND package = ?", key))
        return sorted(found)

    def outcomes(self, decisions: list[tuple] | None) -> dict[tuple, str]:
        conn = self._conn()
        if decisions is None:
            return {tuple(r[:5]): r[5] for r in conn.execute("SELECT * FROM decisions")}
        found = {}
        for d in decisions:
            row = conn.execute("SELECT outcome FROM decisions WHERE ecosystem = ? AND package = ? AND version = ? "
                               "AND scheme = ? AND module = ?", d).fetchone()
            if row:
                found[d] = row[0]
        return found

    def holders(self, decisions: list[tuple]) -> dict[str, list[tuple]]:
        """image -> its packages (decision index, type, name, layer) among these decisions."""
        conn = self._conn()
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (i INTEGER PRIMARY KEY, ecosystem TEXT, package TEXT, "
                     "version TEXT, scheme TEXT, module TEXT)")
        conn.execute("DELETE FROM wanted")
        conn.executemany("INSERT INTO wanted VALUES (?, ?, ?, ?, ?, ?)", ((i, *d) for i, d in enumerate(decisions)))
        held: dict[str, list[tuple]] = {}
        for image, i, type_, name, layer in conn.execute(
                "SELECT p.image, w.i, p.type, p.name, p.layer FROM wanted w JOIN packages p "
                "ON p.ecosystem = w.ecosystem AND p.package = w.package AND p.version = w.version "
                "AND p.scheme = w.scheme AND p.module = w.module"):
            held.setdefault(image, []).append((i, type_, name, layer))
        conn.execute("DELETE FROM wanted")
        conn.commit()
        return held

    def image_names(self, digests: list[str]) -> dict[str, str]:
        conn = self._conn()
        return {d: (conn.execute("SELECT image FROM inventories WHERE digest = ?", (d,)).fetchone() or [""])[0]
                for d in digests}

    def count_inventories(self) -> int:
        return self._conn().execute("SELECT count(*) FROM inventories").fetchone()[0]

    def save_rematch(self, build: str, outcomes: dict[tuple, str], digests: dict[tuple[str, str], str | None],
                     affected: set[str], full: bool) -> None:
        """Record a re-match at `build`: the new outcomes and digests (`full`: the whole state).
        Stored matches of images it left alone move to `build` (a delta proved them current);
        those it changed are dropped, to be made again when next read."""
        with self._conn() as conn:
            old = conn.execute("SELECT build FROM rematch_state").fetchone()
            if full:
                conn.execute("DELETE FROM decisions")
                conn.execute("DELETE FROM key_state")
            conn.executemany("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?)",
                             ((*t, o) for t, o in outcomes.items()))
            conn.executemany("INSERT OR REPLACE INTO key_state VALUES (?, ?, ?)",
                             ((e, p, d) for (e, p), d in digests.items()))
            conn.executemany("DELETE FROM matches WHERE digest = ?", ((d,) for d in affected))
            if old and old[0] != build and not full:
                conn.execute("UPDATE matches SET build = ? WHERE build = ?", (build, old[0]))
            conn.execute("INSERT OR REPLACE INTO rematch_state VALUES (0, ?)", (build,))

    def cached_match(self, digest: str, build: str) -> tuple[list[dict], dict] | None:
        """(findings, extras) of the image's last match, if it was made with this build."""
        if not build:
            return None
        row = self._conn().execute("SELECT findings, extras FROM matches WHERE digest = ? AND build = ?",
                                   (digest, build)).fetchone()
        if row is None:
            return None
        try:
            return _unpack(row[0]), _unpack(row[1]) if row[1] else {}  # type: ignore[return-value]
        except (ValueError, TypeError):
            return None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
