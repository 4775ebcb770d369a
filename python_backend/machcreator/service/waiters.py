"""Clients waiting on a job's events (``events`` with ``wait_ms``): long polls, answered when the
job has news or the wait runs out. Bounded: past :data:`MAX_WAITERS` the oldest is answered now."""

from __future__ import annotations

import time
from dataclasses import dataclass

MAX_WAITERS = 10_000


@dataclass
class Waiter:
    """A client waiting (long poll) for events of a job after ``after``."""

    identity: bytes  # the client's routing id on the front socket
    request_id: str
    job_id: str
    after: int
    limit: int
    deadline: float  # Unix seconds


class Waiters:
    def __init__(self) -> None:
        self._by_job: dict[str, list[Waiter]] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, waiter: Waiter) -> list[Waiter]:
        """Wait; returns waiters that must be answered now to stay within the bound (the oldest)."""
        overflow = self._take(sorted(self._all(), key=lambda w: w.deadline)[:1]) if self._count >= MAX_WAITERS else []
        self._by_job.setdefault(waiter.job_id, []).append(waiter)
        self._count += 1
        return overflow

    def wake(self, job_id: str) -> list[Waiter]:
        """Everyone waiting on ``job_id`` (it has news)."""
        woken = self._by_job.pop(job_id, [])
        self._count -= len(woken)
        return woken

    def due(self, now: float | None = None) -> list[Waiter]:
        """Those whose wait ran out."""
        now = time.time() if now is None else now
        return self._take([w for w in self._all() if w.deadline <= now])

    def next_deadline(self) -> float | None:
        return min((w.deadline for w in self._all()), default=None)

    def _all(self) -> list[Waiter]:
        return [w for ws in self._by_job.values() for w in ws]

    def _take(self, waiters: list[Waiter]) -> list[Waiter]:
        for w in waiters:
            self._by_job[w.job_id].remove(w)
            if not self._by_job[w.job_id]:
                del self._by_job[w.job_id]
            self._count -= 1
        return waiters
