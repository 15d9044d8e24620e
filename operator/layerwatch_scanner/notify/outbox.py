"""Messages waiting to be delivered, on disk beside the layer cache: delivery is at least once and
survives a restart (a message is deleted only after its receiver answered 2xx, and kept a
while after as the record of its dedupe key, so making it again is a no-op).

One SQLite file; every call is its own short transaction, so the operator's delivery loop and
its re-match thread can share it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, dedupe TEXT NOT NULL, payload TEXT NOT NULL,
    created REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '', delivered REAL, UNIQUE (target, dedupe)
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (delivered, next_attempt);
"""
MAX_PENDING = 10_000  # per target: beyond it the oldest undelivered messages give way
KEEP_DELIVERED = 7 * 24 * 3600.0  # seconds a delivered message's dedupe key is remembered


@dataclass(slots=True)
class Message:
    id: int
    target: str
    dedupe: str
    payload: dict
    attempts: int


class Outbox:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, target: str, payload: dict, now: float | None = None) -> bool:
        """Queue a payload (its `id` is the dedupe key); False when that key was queued before."""
        now = time.time() if now is None else now
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO messages (target, dedupe, payload, created, next_attempt) "
                                   "VALUES (?, ?, ?, ?, ?)", (target, payload["id"], json.dumps(payload), now, now))
            if cur.rowcount:
                self._db.execute("DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE target = ? AND "
                                 "delivered IS NULL ORDER BY id DESC LIMIT -1 OFFSET ?)", (target, MAX_PENDING))
            return cur.rowcount == 1

    def due(self, now: float | None = None, limit: int = 100) -> list[Message]:
        now = time.time() if now is None else now
        with self._lock:
            rows = self._db.execute("SELECT id, target, dedupe, payload, attempts FROM messages WHERE delivered IS NULL "
                                    "AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?", (now, limit)).fetchall()
        return [Message(i, t, d, json.loads(p), a) for i, t, d, p, a in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT min(next_attempt) FROM messages WHERE delivered IS NULL").fetchone()
        return row[0] if row else None

    def delivered(self, message_id: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute("UPDATE messages SET delivered = ?, attempts = attempts + 1, last_error = '' "
                             "WHERE id = ?", (now, message_id))
            self._db.execute("DELETE FROM messages WHERE delivered IS NOT NULL AND delivered < ?",
                             (now - KEEP_DELIVERED,))

    def failed(self, message_id: int, error: str, next_attempt: float) -> None:
        with self._lock:
            self._db.execute("UPDATE messages SET attempts = attempts + 1, last_error = ?, next_attempt = ? "
                             "WHERE id = ?", (error[:500], next_attempt, message_id))

    def postpone(self, message_id: int, next_attempt: float) -> None:
        """Not tried (the target's rate limit): later, without counting an attempt."""
        with self._lock:
            self._db.execute("UPDATE messages SET next_attempt = ? WHERE id = ?", (next_attempt, message_id))

    def pending(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT target, count(*) FROM messages WHERE delivered IS NULL "
                                         "GROUP BY target").fetchall())

    def drop_target(self, target: str) -> int:
        """A deleted NotificationTarget's undelivered messages go with it."""
        with self._lock:
            return self._db.execute("DELETE FROM messages WHERE target = ? AND delivered IS NULL", (target,)).rowcount
