"""The durable outbox: one SQLite file in WAL mode.

``messages`` holds every outgoing message, committed (``synchronous=FULL``)
before its first attempt: its webhook-id (unique, so a signal is never queued
twice for an endpoint), the endpoint, the signal, the body exactly as it is
sent and signed, and its state: ``pending`` -> ``delivered`` or ``dead``
(the dead letters, kept until purged), with attempts, next attempt time and
the last status or error. ``endpoints`` holds each endpoint's settings
(references, never secrets) and whether a 410 disabled it.

Each thread opens its own :class:`Outbox`; a run holds :class:`OutboxLock`
so that no two processes deliver from one outbox.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import attrs

from rsengine.files import FileLocked, claim

STATES = ("pending", "delivered", "dead")
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL UNIQUE,
    endpoint TEXT NOT NULL,
    signal_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    signal_ts REAL NOT NULL,
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    last_attempt_at REAL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS messages_by_endpoint ON messages (endpoint, state, seq);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    disabled_at REAL,
    disabled_reason TEXT
);
"""
# One lock per outbox file for this process's writers (engine thread, workers):
# they wait on it instead of in SQLite's busy handler, which sleeps milliseconds.
_WRITERS: dict[Path, threading.Lock] = {}
COLUMNS = (
    "seq, webhook_id, endpoint, signal_id, kind, signal_ts, body, state, attempts, "
    "created_at, next_attempt_at, last_attempt_at, last_status, last_error, delivered_at"
)


@attrs.frozen
class Message:
    seq: int
    webhook_id: str
    endpoint: str
    signal_id: str
    kind: str
    signal_ts: float  # the signal's bar close, unix seconds
    body: bytes
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float
    last_attempt_at: float | None
    last_status: int | None
    last_error: str | None
    delivered_at: float | None


class Outbox:
    def __init__(self, path: str | Path, synced: bool = True):
        """``synced``: each commit is on disk when it returns (the queueing side).
        The workers' outcomes need not be: one lost to a power cut means the
        message goes again, under its webhook-id, which the receiver ignores."""
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if synced else 'NORMAL'}")
        self._lock = _WRITERS.setdefault(self.path.resolve(), threading.Lock())
        with self._lock:
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, args=()) -> sqlite3.Cursor:
        with self._lock:
            return self.db.execute(sql, args)

    # -- the engine's side: queueing ------------------------------------------------

    def add(self, webhook_id: str, endpoint: str, signal, body: bytes, now=None) -> bool:
        """Queues one message; False when its webhook-id is already in the outbox."""
        now = time.time() if now is None else now
        cursor = self._write(
            "INSERT OR IGNORE INTO messages (webhook_id, endpoint, signal_id, kind, signal_ts, "
            "body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (webhook_id, endpoint, signal.id, signal.kind, signal.ts_close / 1e9, body, now, now),
        )
        return cursor.rowcount == 1

    def state_of(self, webhook_id: str) -> str | None:
        row = self.db.execute(
            "SELECT state FROM messages WHERE webhook_id = ?", (webhook_id,)
        ).fetchone()
        return row[0] if row else None

    def save_endpoint(self, settings) -> None:
        """Records an endpoint's settings; a 410's disabling stays."""
        self._write(
            "INSERT INTO endpoints (name, settings) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET settings = excluded.settings",
            (settings.name, settings.to_json()),
        )

    # -- the worker's side: delivering ----------------------------------------------

    def head(self, endpoint: str) -> Message | None:
        """The endpoint's oldest pending message: messages go out in order."""
        row = self.db.execute(
            f"SELECT {COLUMNS} FROM messages WHERE endpoint = ? AND state = 'pending' "
            "ORDER BY seq LIMIT 1",
            (endpoint,),
        ).fetchone()
        return Message(*row) if row else None

    def record(self, seq: int, state: str, status, error, next_at: float, now: float) -> None:
        """One attempt's outcome."""
        self._write(
            "UPDATE messages SET state = ?, attempts = attempts + 1, last_attempt_at = ?, "
            "last_status = ?, last_error = ?, next_attempt_at = ?, "
            "delivered_at = CASE WHEN ? = 'delivered' THEN ? END WHERE seq = ?",
            (state, now, status, error, next_at, state, now, seq),
        )

    def expire(self, seq: int, error: str) -> None:
        """Dead without an attempt (too old to send)."""
        self._write(
            "UPDATE messages SET state = 'dead', last_error = ? WHERE seq = ?", (error, seq)
        )

    def disable(self, endpoint: str, reason: str, now=None) -> None:
        now = time.time() if now is None else now
        self._write(
            "UPDATE endpoints SET disabled_at = ?, disabled_reason = ? WHERE name = ?",
            (now, reason, endpoint),
        )

    def disabled(self, endpoint: str) -> str | None:
        row = self.db.execute(
            "SELECT disabled_reason FROM endpoints WHERE name = ? AND disabled_at IS NOT NULL",
            (endpoint,),
        ).fetchone()
        return row[0] if row else None

    def dead_letter_pending(self, endpoint: str, error: str) -> int:
        cursor = self._write(
            "UPDATE messages SET state = 'dead', last_error = ? "
            "WHERE endpoint = ? AND state = 'pending'",
            (error, endpoint),
        )
        return cursor.rowcount

    # -- the command line's side ---------------------------------------------------

    def endpoint_settings(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT name, settings FROM endpoints ORDER BY name"))

    def endpoint_rows(self) -> list[tuple]:
        return self.db.execute(
            "SELECT name, disabled_at, disabled_reason FROM endpoints ORDER BY name"
        ).fetchall()

    def counts(self) -> dict[tuple[str, str], int]:
        """(endpoint, state) -> number of messages."""
        rows = self.db.execute(
            "SELECT endpoint, state, COUNT(*) FROM messages GROUP BY endpoint, state"
        )
        return {(endpoint, state): n for endpoint, state, n in rows}

    def messages(self, states=STATES, endpoint=None, limit=None) -> list[Message]:
        sql, args = self._where(states, endpoint)
        sql = f"SELECT {COLUMNS} FROM messages WHERE {sql} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Message(*row) for row in self.db.execute(sql, args)]

    def retry_now(self, states=("dead", "pending"), endpoint=None, now=None) -> int:
        """Makes dead and pending messages due now (a dead one starts its
        schedule again) and enables the endpoints again; returns how many."""
        now = time.time() if now is None else now
        sql, args = self._where(states, endpoint)
        with self._lock:
            return self._retry_now(sql, args, endpoint, now)

    def _retry_now(self, sql, args, endpoint, now) -> int:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "UPDATE messages SET attempts = CASE WHEN state = 'dead' THEN 0 ELSE attempts END, "
                f"state = 'pending', next_attempt_at = ? WHERE {sql}",
                (now, *args),
            )
            enable = "UPDATE endpoints SET disabled_at = NULL, disabled_reason = NULL"
            if endpoint is None:
                self.db.execute(enable)
            else:
                self.db.execute(enable + " WHERE name = ?", (endpoint,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return cursor.rowcount

    def purge(self, states=("delivered", "dead"), endpoint=None) -> int:
        if "pending" in states:
            raise ValueError("pending messages are never purged: they have not been delivered")
        sql, args = self._where(states, endpoint)
        return self._write(f"DELETE FROM messages WHERE {sql}", args).rowcount

    @staticmethod
    def _where(states, endpoint) -> tuple[str, tuple]:
        states = tuple(states)
        sql = f"state IN ({', '.join('?' * len(states))})"
        if endpoint is None:
            return sql, states
        return sql + " AND endpoint = ?", (*states, endpoint)


class OutboxBusy(RuntimeError):
    """Another process delivers from this outbox."""


class OutboxLock:
    """An exclusive lock on ``<outbox>.lock``, held while a process delivers;
    the system drops it however the process ends (kill -9 included)."""

    def __init__(self, outbox: str | Path):
        self.path = Path(f"{outbox}.lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._held = claim(self.path)
        except FileLocked as exc:
            why = f"is being delivered from by another process (pid {exc.pid})"
            raise OutboxBusy(why) from None

    def release(self) -> None:
        self._held.release()
