"""The durable job queue: one SQLite database (WAL) in the server's data folder.

Every job, its event log and every batch live here, so a restarted server knows what was queued,
what was running and what each client has already been told. Only the server process opens it.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machcreator.service.protocol import FINAL_STATES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    client TEXT NOT NULL,            -- the identity that owns it (service/identity.py)
    token TEXT,                      -- the client's idempotency key (NULL for batch members)
    batch_id TEXT,
    parent TEXT,                     -- the job an edit started from
    request TEXT NOT NULL,           -- GenerateRequest as JSON
    state TEXT NOT NULL,
    stage TEXT,
    fraction REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,                     -- the worker that ran (or runs) it
    error TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    seq INTEGER NOT NULL DEFAULT 0,  -- the last event's number
    cancel_requested INTEGER NOT NULL DEFAULT 0  -- a client cancelled it while it ran
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_token ON jobs (client, token) WHERE token IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
CREATE TABLE IF NOT EXISTS events (
    job_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    token TEXT NOT NULL,
    created REAL NOT NULL,
    UNIQUE (client, token)
);
CREATE TABLE IF NOT EXISTS workers (
    name TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
#: columns added since the first schema: (name, definition), added to an older database on open
_ADDED_COLUMNS = (("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),)


@dataclass(frozen=True)
class Job:
    """One row of ``jobs``."""

    job_id: str
    client: str
    token: str | None
    batch_id: str | None
    parent: str | None
    request: dict[str, Any]
    state: str
    stage: str | None
    fraction: float
    attempts: int
    worker: str | None
    error: str | None
    created: float
    started: float | None
    finished: float | None
    seq: int
    cancel_requested: int

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def public(self) -> dict[str, Any]:
        """What a client is shown (the request without server-side parser options)."""
        request = {k: v for k, v in self.request.items() if k != "parser_options"}
        if request.get("photo"):  # the photo by its content hash, never the server's path
            request["photo"] = "sha256:" + Path(request["photo"]).stem
        return {"job_id": self.job_id, "state": self.state, "stage": self.stage, "fraction": self.fraction,
                "attempts": self.attempts, "error": self.error, "batch_id": self.batch_id, "parent": self.parent,
                "created": self.created, "started": self.started, "finished": self.finished, "events": self.seq,
                "request": request}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class JobStore:
    """Jobs, events and batches in ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        # autocommit, transactions explicit; one thread at a time (the server's loop), though not
        # always the thread that opened it (a server built in one thread may run in another)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process crash
        self.db.executescript(_SCHEMA)
        have = {r[1] for r in self.db.execute("PRAGMA table_info(jobs)")}
        for name, definition in _ADDED_COLUMNS:
            if name not in have:
                self.db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {definition}")

    def close(self) -> None:
        self.db.close()

    # -- jobs ---------------------------------------------------------------------------------
    def add_job(self, client: str, request: dict[str, Any], *, token: str | None = None,
                batch_id: str | None = None, parent: str | None = None) -> Job:
        job_id = new_id("j")
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO jobs (job_id, client, token, batch_id, parent, request, state, created) "
                "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                (job_id, client, token, batch_id, parent, json.dumps(request), time.time()))
            self._event(job_id, "queued")
        return self.get(job_id)

    def by_token(self, client: str, token: str) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE client = ? AND token = ?", (client, token)).fetchone()
        return _job(row) if row else None

    def get(self, job_id: str) -> Job | None:
        row = self.db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, *, state: str | None = None, client: str | None = None, limit: int = 100) -> list[Job]:
        where, args = [], []
        if state:
            where.append("state = ?")
            args.append(state)
        if client:
            where.append("client = ?")
            args.append(client)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.execute(sql + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [_job(r) for r in rows]

    def queued(self, limit: int = 1000) -> list[Job]:
        """Queued jobs, oldest first."""
        rows = self.db.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY created, rowid LIMIT ?",
                               (limit,)).fetchall()
        return [_job(r) for r in rows]

    def active_count(self, client: str) -> int:
        return self.db.execute("SELECT COUNT(*) FROM jobs WHERE client = ? AND state IN ('queued', 'running')",
                               (client,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def start(self, job_id: str, worker: str) -> Job:
        """Mark a queued job running on ``worker``; its attempt count goes up by one."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("UPDATE jobs SET state = 'running', worker = ?, attempts = attempts + 1, started = ?, "
                            "error = NULL WHERE job_id = ?", (worker, time.time(), job_id))
            job = self.get(job_id)
            self._event(job_id, "started", attempt=job.attempts, worker=worker)
        return self.get(job_id)

    def finish(self, job_id: str, state: str, reason: str | None = None) -> dict[str, Any] | None:
        """Move a job to a final state; returns the event that says so (None if it had ended already)."""
        with self.db:
            self.db.execute("BEGIN")
            changed = self.db.execute(
                "UPDATE jobs SET state = ?, error = ?, finished = ?, fraction = "
                "CASE WHEN ? = 'done' THEN 1.0 ELSE fraction END WHERE job_id = ? AND state IN ('queued', 'running')",
                (state, reason, time.time(), state, job_id)).rowcount
            return self._event(job_id, state, reason=reason, fraction=1.0 if state == "done" else None) if changed else None

    def request_cancel(self, job_id: str) -> None:
        """Remember that a client cancelled a running job: it ends cancelled even across a restart."""
        self.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE job_id = ?", (job_id,))

    def requeue(self, job_id: str, reason: str, *, count_attempt: bool = True) -> dict[str, Any] | None:
        """Put a running job back in the queue (its worker died, or the server is stopping)."""
        with self.db:
            self.db.execute("BEGIN")
            changed = self.db.execute(
                "UPDATE jobs SET state = 'queued', stage = NULL, fraction = 0, worker = NULL, "
                "attempts = attempts - ? WHERE job_id = ? AND state = 'running'",
                (0 if count_attempt else 1, job_id)).rowcount
            return self._event(job_id, "retrying", reason=reason) if changed else None

    def queued_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM jobs WHERE state = 'queued'").fetchone()[0]

    def expire(self, finished_before: float) -> list[str]:
        """Final jobs older than the retention become ``expired``; their events are dropped."""
        ids = [r[0] for r in self.db.execute(
            "SELECT job_id FROM jobs WHERE state IN ('done', 'failed', 'cancelled') AND finished < ?",
            (finished_before,))]
        with self.db:
            self.db.execute("BEGIN")
            for job_id in ids:
                self.db.execute("UPDATE jobs SET state = 'expired' WHERE job_id = ?", (job_id,))
                self.db.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
        return ids

    # -- events -------------------------------------------------------------------------------
    def add_event(self, job_id: str, kind: str, **fields: Any) -> dict[str, Any]:
        with self.db:
            self.db.execute("BEGIN")
            return self._event(job_id, kind, **fields)

    def _event(self, job_id: str, kind: str, **fields: Any) -> dict[str, Any]:
        seq = self.db.execute("UPDATE jobs SET seq = seq + 1 WHERE job_id = ? RETURNING seq", (job_id,)).fetchone()[0]
        body = {"seq": seq, "job_id": job_id, "event": kind, "time": round(time.time(), 3)}
        body |= {k: v for k, v in fields.items() if v is not None}
        if kind == "stage_started":
            self.db.execute("UPDATE jobs SET stage = ?, fraction = ? WHERE job_id = ?",
                            (fields["stage"], fields["fraction"], job_id))
        self.db.execute("INSERT INTO events (job_id, seq, body) VALUES (?, ?, ?)", (job_id, seq, json.dumps(body)))
        return body

    def events(self, job_id: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT body FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                               (job_id, after, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- batches ------------------------------------------------------------------------------
    def add_batch(self, client: str, token: str, requests: list[dict[str, Any]]) -> tuple[str, list[str]]:
        batch_id = new_id("b")
        job_ids = []
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO batches (batch_id, client, token, created) VALUES (?, ?, ?, ?)",
                            (batch_id, client, token, time.time()))
            for request in requests:
                job_id = new_id("j")
                self.db.execute(
                    "INSERT INTO jobs (job_id, client, batch_id, request, state, created) "
                    "VALUES (?, ?, ?, ?, 'queued', ?)", (job_id, client, batch_id, json.dumps(request), time.time()))
                self._event(job_id, "queued")
                job_ids.append(job_id)
        return batch_id, job_ids

    def batch_owner(self, batch_id: str) -> str | None:
        row = self.db.execute("SELECT client FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return row[0] if row else None

    def batch_by_token(self, client: str, token: str) -> str | None:
        row = self.db.execute("SELECT batch_id FROM batches WHERE client = ? AND token = ?", (client, token)).fetchone()
        return row[0] if row else None

    def batch_jobs(self, batch_id: str) -> list[Job] | None:
        if not self.db.execute("SELECT 1 FROM batches WHERE batch_id = ?", (batch_id,)).fetchone():
            return None
        rows = self.db.execute("SELECT * FROM jobs WHERE batch_id = ? ORDER BY rowid", (batch_id,)).fetchall()
        return [_job(r) for r in rows]

    # -- worker processes (so a restarted server can stop ones a killed server left) -------------
    def set_worker(self, name: str, pid: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO workers (name, pid, started) VALUES (?, ?, ?)", (name, pid, time.time()))

    def drop_worker(self, name: str) -> None:
        self.db.execute("DELETE FROM workers WHERE name = ?", (name,))

    def worker_pids(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT name, pid FROM workers")}

    # -- the server's own notes (e.g. its worker socket folder, removed by the next server) -------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _job(row: sqlite3.Row) -> Job:
    d = dict(row)
    d["request"] = json.loads(d["request"])
    return Job(**d)
