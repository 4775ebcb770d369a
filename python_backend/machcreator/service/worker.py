"""A worker process: one warm :class:`~machcreator.pipeline.Pipeline`, one job at a time.

The server starts workers as ``python -m machcreator.service.worker`` (a fresh interpreter on
every system, never a fork) and talks to each over a private socket: IPC on POSIX, tcp on
127.0.0.1 on Windows, where the routing id the server put in the worker's environment is what
tells the worker from any other local process (the zguide's load-balancing broker: a worker says
``ready``, the server hands it a job). Everything on that socket is one JSON frame::

    worker -> server  {"type": "ready", "pid", "rss_mb"}
                      {"type": "event", "job_id", "event": {kind, stage, fraction, ...}}
                      {"type": "finished", "job_id", "state": done|failed|cancelled, "reason", "rss_mb"}
    server -> worker  {"type": "run", "job_id", "request", "out"}
                      {"type": "cancel", "job_id"}
                      {"type": "stop"}

A worker keeps the template, the parser and the stage cache between jobs, so an edit sent to the
worker that made the original re-runs only the stages downstream of the change. It stops a
cancelled job at the next stage boundary, and dies with the server so a killed server leaves no
worker writing behind it: ``PR_SET_PDEATHSIG`` on Linux; elsewhere (Windows, macOS, Windows mode)
a watchdog thread that ends the process within a second of the server's death, and on Windows
also the server's Job Object (service/portable.py).
"""

from __future__ import annotations

import argparse
import json
import os
import traceback
from pathlib import Path
from typing import Any

import zmq

from machcreator.errors import MachError
from machcreator.service import portable


class JobCancelled(Exception):
    """Raised from the progress callback when the server cancelled the running job."""


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


class Worker:
    def __init__(self, connect: str, name: str, data_dir: Path, anny_cache: str | None,
                 parent: portable.ParentWatch | None = None, identity: str | None = None) -> None:
        from machcreator.pipeline import Pipeline

        self.parent = parent or portable.ParentWatch(os.getppid())
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, (identity or name).encode())
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.connect(connect)
        self.job_id: str | None = None
        self.cancelled = False
        self.stopping = False
        self.pipe = Pipeline(progress=self._stage_started, stage_finished=self._stage_finished,
                             anny_cache_dir=anny_cache, hair_cache_dir=str(data_dir / "cache" / "hair"))

    def send(self, message: dict[str, Any]) -> None:
        self.sock.send(json.dumps(message).encode())

    def serve(self) -> None:
        self.pipe.warm_up()
        self.send({"type": "ready", "pid": os.getpid(), "rss_mb": rss_mb()})
        while not self.stopping:
            if not self.sock.poll(1000):
                if not self.parent.alive():
                    return  # the server is gone (platforms without PDEATHSIG)
                continue
            message = json.loads(self.sock.recv())
            if message["type"] == "stop":
                return
            if message["type"] == "run":
                self.run(message)

    def run(self, message: dict[str, Any]) -> None:
        from machcreator.pipeline import GenerateRequest

        self.job_id, self.cancelled = message["job_id"], False
        state, reason = "done", None
        try:
            result = self.pipe(GenerateRequest.model_validate(message["request"]))
            self.pipe.write(result, Path(message["out"]))
        except JobCancelled:
            state = "cancelled"
        except MachError as exc:
            state, reason = "failed", str(exc)
        except Exception as exc:  # a bug: report it with the job, keep serving
            traceback.print_exc()
            state, reason = "failed", f"internal error: {type(exc).__name__}: {exc}"
        self.send({"type": "finished", "job_id": self.job_id, "state": state, "reason": reason, "rss_mb": rss_mb()})
        self.job_id = None

    # -- pipeline callbacks: report, and stop at a stage boundary if cancelled -----------------
    def _check_messages(self) -> None:
        while self.sock.poll(0):
            message = json.loads(self.sock.recv())
            if message["type"] == "cancel" and message.get("job_id") == self.job_id:
                self.cancelled = True
            elif message["type"] == "stop":  # the server is stopping: end this job, then exit
                self.cancelled = self.stopping = True
        if self.cancelled or not self.parent.alive():
            raise JobCancelled()

    def _stage_started(self, stage: str, fraction: float, message: str) -> None:
        if self.job_id is None or stage in ("setup", "done"):
            return  # setup happens before the first job; the server itself says "done"
        self._check_messages()
        self.send({"type": "event", "job_id": self.job_id,
                   "event": {"kind": "stage_started", "stage": stage, "fraction": fraction, "message": message}})

    def _stage_finished(self, stage: str, seconds: float, reused: bool) -> None:
        from machcreator.pipeline import stage_span

        if self.job_id is None:
            return
        end = stage_span(stage)[1]
        self.send({"type": "event", "job_id": self.job_id,
                   "event": {"kind": "stage_finished", "stage": stage, "fraction": end, "seconds": seconds,
                             "reused": reused}})


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="machcreator.service.worker")
    ap.add_argument("--connect", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--anny-cache", default=None)
    ap.add_argument("--parent-pid", type=int, default=None, help="the server (default: the parent process)")
    args = ap.parse_args(argv)
    parent = portable.ParentWatch(args.parent_pid or os.getppid())
    if not portable.die_with_parent():
        parent.watchdog()  # no PDEATHSIG here: end within a second of the server, even mid-stage
    if not parent.alive():
        return  # the server died before it could take this one with it
    portable.ignore_console_signals()  # Ctrl-C in the server's terminal is the server's
    portable.use_spawn()
    # the routing id is a secret between this process and the server: no child inherits it
    identity = os.environ.pop(portable.WORKER_ID_ENV, None)
    worker = Worker(args.connect, args.name, args.data, args.anny_cache, parent, identity)
    try:
        worker.serve()
    finally:
        worker.sock.close(linger=1000)
        worker.ctx.term()


if __name__ == "__main__":
    main()
