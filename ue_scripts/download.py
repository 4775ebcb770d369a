"""Fetch a finished job's package on a Python thread, so the editor keeps running.

The thread has its own client (a zmq socket belongs to one thread) and never touches ``unreal``:
the engine's objects live on the game thread, which polls :attr:`Download.finished`.
"""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

from machcreator.client import Client


class Download:
    def __init__(self, client: Client, job_id: str, dest: str | Path):
        self.job_id = job_id
        self.path: Path | None = None
        self.error: BaseException | None = None
        self._client = dataclasses.replace(client)  # same endpoint and keys, a socket of its own
        self._thread = threading.Thread(target=self._run, args=(Path(dest),), name=f"mach-fetch-{job_id}",
                                        daemon=True)
        self._thread.start()

    def _run(self, dest: Path) -> None:
        try:
            self.path = self._client.fetch(self.job_id, dest)
        except BaseException as exc:  # handed to the game thread, which reports it
            self.error = exc
        finally:
            self._client.close()

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def wait(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)
