"""A worker process: one warm :class:`~machcreator.pipeline.Pipeline`, one job at a time.

The server starts workers as ``python -m machcreator.service.worker`` (a fresh interpreter on
every system, never a fork) and talks to each over a private socket: IPC on POSIX, tcp on
127.0.0.1 on Windows, where the routing id the server put in the worker's environment is what
tells the worker from any other local process. Two connections, typed messages
(service/protocol.py):

- ``jobs`` (the main thread): the worker says ``ready``, the server sends ``run``; the worker
  reports the job's ``event`` s and ``finished``;
- ``control`` (a thread of its own): a ``heartbeat`` every second from the moment the process
  starts, even mid-stage, so the server can tell a slow stage from a hung process; ``cancel`` and
  ``stop`` arrive here while the main thread is busy, and take effect at the next stage boundary.

A worker keeps the template, the parser and the stage cache between jobs, so an edit sent to the
worker that made the original re-runs only the stages downstream of the change. It dies with the
server so a killed server leaves no worker writing behind it: ``PR_SET_PDEATHSIG`` on Linux;
elsewhere (Windows, macOS, Windows mode) a watchdog thread that ends the process within a second
of the server's death, and on Windows also the server's Job Object (service/portable.py).
"""

from __future__ import annotations

import argparse
import os
import threading
import traceback
from pathlib import Path
from typing import Any

import zmq

from machcreator.core.errors import MachError
from machcreator.service import portable
from machcreator.service import protocol as P


class JobCancelled(Exception):
    """Raised from the progress callback when the server cancelled the running job."""


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


class Control(threading.Thread):
    """The control connection: heartbeats out; cancel and stop in, as flags the job checks."""

    def __init__(self, ctx: zmq.Context, connect: str, identity: bytes) -> None:
        super().__init__(name="worker-control", daemon=True)
        self.sock = ctx.socket(zmq.DEALER)  # a socket of its own: zmq sockets are not thread-safe
        self.sock.setsockopt(zmq.IDENTITY, identity + b".ctl")
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(connect)
        self.cancelled: set[str] = set()
        self.stop = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.is_set():
                self.sock.send(P.pack_worker(P.WorkerHeartbeat(os.getpid())))
                if self.sock.poll(P.HEARTBEAT_INTERVAL_S * 1000):
                    msg = P.unpack_worker(self.sock.recv())
                    if isinstance(msg, P.CancelJob):
                        self.cancelled.add(msg.job_id)
                    elif isinstance(msg, P.StopWorker):
                        self.stop.set()
        finally:
            self.sock.close(0)


class Worker:
    def __init__(self, connect: str, name: str, data_dir: Path, anny_cache: str | None,
                 parent: portable.ParentWatch | None = None, identity: str | None = None,
                 models_path: Path | None = None) -> None:
        self.parent = parent or portable.ParentWatch(os.getppid())
        self.ctx = zmq.Context()
        route = (identity or name).encode()
        self.control = Control(self.ctx, connect, route)
        self.control.start()  # heartbeats while the pipeline loads, too
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.IDENTITY, route)
        self.sock.setsockopt(zmq.LINGER, 2000)
        self.sock.connect(connect)
        self.job_id: str | None = None
        self.stage: str | None = None  # the running job's stage: a second report of it is its progress

        from machcreator.core.models import load_models_config
        from machcreator.pipeline import Pipeline

        self.pipe = Pipeline(progress=self._stage_started, stage_finished=self._stage_finished,
                             anny_cache_dir=anny_cache, hair_cache_dir=str(data_dir / "cache" / "hair"),
                             models=load_models_config(models_path))

    def send(self, message: Any) -> None:
        self.sock.send(P.pack_worker(message))

    def serve(self) -> None:
        self.pipe.warm_up()
        self.send(P.WorkerReady(os.getpid(), rss_mb()))
        while not self.control.stop.is_set():
            if not self.sock.poll(200):
                if not self.parent.alive():
                    return  # the server is gone (platforms without PDEATHSIG)
                continue
            msg = P.unpack_worker(self.sock.recv())
            if isinstance(msg, P.RunJob):
                self.run(msg)

    def close(self) -> None:
        self.control.done.set()
        self.control.join(2 * P.HEARTBEAT_INTERVAL_S)
        self.sock.close(linger=1000)
        self.ctx.term()

    def run(self, job: P.RunJob) -> None:
        from machcreator.pipeline import GenerateRequest

        self.job_id, self.stage = job.job_id, None
        state, reason = "done", None
        try:
            result = self.pipe(GenerateRequest.model_validate(job.request))
            self.pipe.write(result, Path(job.out))
        except JobCancelled:
            state = "cancelled"
        except MachError as exc:
            state, reason = "failed", str(exc)
        except Exception as exc:  # a bug: report it with the job, keep serving
            traceback.print_exc()
            state, reason = "failed", f"internal error: {type(exc).__name__}: {exc}"
        self.send(P.WorkerFinished(job.job_id, state, reason, rss_mb()))
        self.job_id = None

    # -- pipeline callbacks: report, and stop at a stage boundary if cancelled -----------------
    def _check_cancel(self) -> None:
        if self.job_id in self.control.cancelled or self.control.stop.is_set() or not self.parent.alive():
            raise JobCancelled()

    def _stage_started(self, stage: str, fraction: float, message: str) -> None:
        if self.job_id is None or stage in ("setup", "done"):
            return  # setup happens before the first job; the server itself says "done"
        self._check_cancel()  # a long stage's progress (the portrait's denoising steps) is a boundary too
        kind = "stage_progress" if stage == self.stage else "stage_started"
        self.stage = stage
        self.send(P.WorkerEvent(self.job_id, {"kind": kind, "stage": stage, "fraction": fraction,
                                              "message": message}))

    def _stage_finished(self, stage: str, seconds: float, reused: bool) -> None:
        from machcreator.pipeline import stage_span

        if self.job_id is None:
            return
        self.send(P.WorkerEvent(self.job_id, {"kind": "stage_finished", "stage": stage,
                                              "fraction": stage_span(stage)[1], "seconds": seconds,
                                              "reused": reused}))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="machcreator.service.worker")
    ap.add_argument("--connect", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--anny-cache", default=None)
    ap.add_argument("--models", type=Path, default=None, help="the models config file")
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
    worker = Worker(args.connect, args.name, args.data, args.anny_cache, parent, identity, args.models)
    try:
        worker.serve()
    finally:
        worker.close()


if __name__ == "__main__":
    main()
