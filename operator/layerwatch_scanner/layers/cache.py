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
from array import array
from collections.abc import Iterator
from pathlib import Path

from ..errors import LayerwatchError
from ..model import Inventory, LayerResult

SCHEMA_VERSION = 5  # 2: a match remembers the database build and scanner it was made with;
# 3: the packages each image holds, for re-matching only what a database update changed;
# 4: decisions numbered, each image's held as a packed vector (a re-match reads no rows per package);
# 5: small content-addressed blobs (configs, manifests by digest) a warm rescan need not fetch
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
-- what matching looks up, numbered: (ecosystem, package, version, scheme, module) is a
-- "decision", shared by every image holding that package version; `outcome` is what the
-- advisories said about it at the last scan or re-match (JSON; NULL: never decided)
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, ecosystem TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL,
    scheme TEXT NOT NULL, module TEXT NOT NULL, outcome TEXT,
    UNIQUE (ecosystem, package, version, scheme, module)
);
-- each image's decisions: `ids` a packed vector of decision ids (a changed decision finds its
-- images by a scan of these vectors, in C); `rows` its packages (decision id, type, name,
-- layer), read only for the images whose findings changed
CREATE TABLE IF NOT EXISTS held (image TEXT PRIMARY KEY, ids BLOB NOT NULL, rows BLOB NOT NULL) WITHOUT ROWID;
-- the database's digest of each (ecosystem, package) at the last re-match: an update changed
-- exactly the packages whose digest now differs
CREATE TABLE IF NOT EXISTS key_state (
    ecosystem TEXT NOT NULL, package TEXT NOT NULL, digest TEXT, PRIMARY KEY (ecosystem, package)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rematch_state (id INTEGER PRIMARY KEY CHECK (id = 0), build TEXT NOT NULL);
-- builds a chain of delta re-matches proved equivalent for every stored match left standing (a
-- delta drops the matches it changed): a match made at any of them is current at any other,
-- without rewriting ten thousand match rows per refresh
CREATE TABLE IF NOT EXISTS current_builds (build TEXT PRIMARY KEY) WITHOUT ROWID;
-- image configs and manifests named by digest: immutable, so a warm rescan asks the registry
-- only for what a tag points to now (one request instead of two or three round trips)
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, media TEXT NOT NULL, data BLOB NOT NULL) WITHOUT ROWID;
"""
MAX_MEMO_BLOB = 1024 * 1024
# what a version-1 cache needs to become version 2 (a cache is never worth a "delete it" error)
_MIGRATE_1 = """
ALTER TABLE matches ADD COLUMN build TEXT NOT NULL DEFAULT '';
ALTER TABLE matches ADD COLUMN extras BLOB;
"""
# version 3 kept one row per (image, package): rebuilt from the inventories by the next re-match
_MIGRATE_3 = """
DROP TABLE IF EXISTS packages;
DROP TABLE IF EXISTS indexed;
DROP TABLE IF EXISTS decisions;
DROP TABLE IF EXISTS held;
DELETE FROM key_state;
DELETE FROM rematch_state;
"""


# Rows are zlib-compressed JSON (zlib is built in; zstandard's import alone was a tenth of a
# warm rescan). Version-1 caches wrote zstd frames: still read, so nothing is scanned again.
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class _Unreadable(ValueError):
    """A row that does not decompress or parse: a cache miss."""


def _ids(vector: bytes) -> array:
    ids = array("q")
    ids.frombytes(vector)
    return ids


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
        self._opened: list[sqlite3.Connection] = []  # every thread's, for close()
        self._lock = threading.Lock()
        conn = self._conn()
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, 1, 2, 3, 4, SCHEMA_VERSION):
                raise LayerwatchError(f"layer cache {self.path}: schema {version}, expected {SCHEMA_VERSION}; "
                                      "delete the file to rebuild it")
            if version != SCHEMA_VERSION:
                with conn:
                    if version == 1:
                        conn.executescript(_MIGRATE_1)
                    if version == 3:
                        conn.executescript(_MIGRATE_3)
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
            with self._lock:
                self._opened.append(conn)
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
        ids = {}
        for decision in {r[:5] for r in rows}:
            conn.execute("INSERT OR IGNORE INTO decisions (ecosystem, package, version, scheme, module) "
                         "VALUES (?, ?, ?, ?, ?)", decision)
            ids[decision] = conn.execute("SELECT id FROM decisions WHERE ecosystem = ? AND package = ? AND "
                                         "version = ? AND scheme = ? AND module = ?", decision).fetchone()[0]
        packed = sorted(set(ids.values()))
        conn.execute("INSERT OR REPLACE INTO held VALUES (?, ?, ?)",
                     (digest, array("q", packed).tobytes(), _pack([[ids[r[:5]], *r[5:]] for r in rows])))

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

    def get_blob(self, digest: str) -> tuple[bytes, str] | None:
        """(data, media type) of a small blob stored by digest; the caller verifies the digest."""
        row = self._conn().execute("SELECT data, media FROM blobs WHERE digest = ?", (digest,)).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def put_blob(self, digest: str, data: bytes, media: str = "") -> None:
        if len(data) <= MAX_MEMO_BLOB:
            with self._conn() as conn:
                conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", (digest, media, data))

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
        `extras`: what else was derived from it (problems, remediation), reused with it. A match
        against a database the re-matches have since moved past is not kept: `current_builds`
        would take it for current."""
        with self._conn() as conn:
            latest = conn.execute("SELECT build FROM rematch_state").fetchone()
            if latest and build != latest[0] and conn.execute(
                    "SELECT 1 FROM current_builds WHERE build = ?", (build,)).fetchone():
                return
            conn.execute("INSERT OR REPLACE INTO matches VALUES (?, ?, ?, ?, ?)",
                         (digest, _pack(findings), time.time(), build, _pack(extras or {})))

    def copy_matches(self, copies: list[tuple[str, str]]) -> None:
        """Store each (source, digest): `source`'s match for `digest` too (an image with the same
        packages and layers), in one transaction."""
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO matches SELECT ?, findings, updated, build, extras FROM matches "
                             "WHERE digest = ?", ((digest, source) for source, digest in copies))

    # -- what re-matching by delta reads and writes (rematching.py) --
    def unindexed(self) -> list[str]:
        """Inventories whose decisions are not indexed (stored by an older cache)."""
        return [r[0] for r in self._conn().execute(
            "SELECT digest FROM inventories WHERE digest NOT IN (SELECT image FROM held)")]

    def index(self, digest: str, rows: list[tuple]) -> None:
        with self._conn() as conn:
            self._index(conn, digest, rows)

    def note_decisions(self, outcomes: dict[tuple, str], digests: dict[tuple[str, str], str | None]) -> None:
        """What a scan decided, kept where nothing is known yet (a re-match compares with it)."""
        with self._conn() as conn:
            conn.executemany("INSERT INTO decisions (ecosystem, package, version, scheme, module, outcome) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET outcome = "
                             "coalesce(outcome, excluded.outcome)", ((*t, o) for t, o in outcomes.items()))
            conn.executemany("INSERT OR IGNORE INTO key_state VALUES (?, ?, ?)",
                             ((e, p, d) for (e, p), d in digests.items()))

    def rematch_build(self) -> str:
        row = self._conn().execute("SELECT build FROM rematch_state").fetchone()
        return row[0] if row else ""

    def key_state(self) -> dict[tuple[str, str], str | None]:
        return {(e, p): d for e, p, d in self._conn().execute("SELECT * FROM key_state")}

    def held_ids(self) -> set[int]:
        """Every decision some stored image holds."""
        found: set[int] = set()
        for (ids,) in self._conn().execute("SELECT ids FROM held"):
            found.update(_ids(ids))
        return found

    def decisions_of(self, keys: list[tuple[str, str]] | None) -> dict[int, tuple]:
        """id -> decision, of these packages (None: every decision an image holds)."""
        conn = self._conn()
        if keys is None:
            held = self.held_ids()
            return {r[0]: tuple(r[1:]) for r in conn.execute(
                "SELECT id, ecosystem, package, version, scheme, module FROM decisions") if r[0] in held}
        found: dict[int, tuple] = {}
        for key in keys:
            found.update((r[0], tuple(r[1:])) for r in conn.execute(
                "SELECT id, ecosystem, package, version, scheme, module FROM decisions "
                "WHERE ecosystem = ? AND package = ?", key))
        return found

    def outcomes(self, ids: list[int]) -> dict[int, str]:
        """The recorded outcome of each of these decisions (none when never decided)."""
        conn = self._conn()
        found = {}
        for i in ids:
            row = conn.execute("SELECT outcome FROM decisions WHERE id = ?", (i,)).fetchone()
            if row and row[0] is not None:
                found[i] = row[0]
        return found

    def holders(self, ids: set[int]) -> dict[str, list[int]]:
        """image -> the decisions among `ids` it holds. One pass over packed vectors: a change
        to a base layer's package reaches ten thousand images in milliseconds."""
        held: dict[str, list[int]] = {}
        if not ids:
            return held
        for image, vector in self._conn().execute("SELECT image, ids FROM held"):
            mine = ids.intersection(_ids(vector))
            if mine:
                held[image] = sorted(mine)
        return held

    def held_rows(self, digest: str) -> list[list]:
        """The image's packages as (decision id, type, name, layer)."""
        row = self._conn().execute("SELECT rows FROM held WHERE image = ?", (digest,)).fetchone()
        return _unpack(row[0]) if row else []  # type: ignore[return-value]

    def image_names(self, digests: list[str]) -> dict[str, str]:
        conn = self._conn()
        return {d: (conn.execute("SELECT image FROM inventories WHERE digest = ?", (d,)).fetchone() or [""])[0]
                for d in digests}

    def count_inventories(self) -> int:
        return self._conn().execute("SELECT count(*) FROM inventories").fetchone()[0]

    def save_rematch(self, build: str, outcomes: dict[int, str], digests: dict[tuple[str, str], str | None],
                     affected: set[str], full: bool) -> None:
        """Record a re-match at `build`: the new outcomes and digests (`full`: the whole state).
        Stored matches of images it left alone stay current at `build` (a delta proved them so:
        their build joins `current_builds`); those it changed are dropped, to be made again when
        next read."""
        with self._conn() as conn:
            old = conn.execute("SELECT build FROM rematch_state").fetchone()
            if full:
                conn.execute("UPDATE decisions SET outcome = NULL")
                conn.execute("DELETE FROM key_state")
            conn.executemany("UPDATE decisions SET outcome = ? WHERE id = ?", ((o, i) for i, o in outcomes.items()))
            conn.executemany("INSERT OR REPLACE INTO key_state VALUES (?, ?, ?)",
                             ((e, p, d) for (e, p), d in digests.items()))
            conn.executemany("DELETE FROM matches WHERE digest = ?", ((d,) for d in affected))
            if full:
                conn.execute("DELETE FROM current_builds")
            elif old and old[0] != build:
                conn.execute("INSERT OR IGNORE INTO current_builds VALUES (?)", (old[0],))
            conn.execute("INSERT OR IGNORE INTO current_builds VALUES (?)", (build,))
            conn.execute("INSERT OR REPLACE INTO rematch_state VALUES (0, ?)", (build,))

    def cached_match(self, digest: str, build: str) -> tuple[list[dict], dict] | None:
        """(findings, extras) of the image's last match, if it was made with this build (or one a
        delta re-match proved equivalent)."""
        if not build:
            return None
        conn = self._conn()
        row = conn.execute("SELECT findings, extras, build FROM matches WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            return None
        if row[2] != build and conn.execute("SELECT count(*) FROM current_builds WHERE build IN (?, ?)",
                                            (build, row[2])).fetchone()[0] < 2:
            return None
        try:
            return _unpack(row[0]), _unpack(row[1]) if row[1] else {}  # type: ignore[return-value]
        except (ValueError, TypeError):
            return None

    def close(self) -> None:
        """Close every thread's connection (the layer workers' too): the last one to close folds
        the write-ahead log back into the file, so the next process need not recover it."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()
