"""``mach serve``: the job server (docs/protocol.md), assembled from its parts.

One thread, one loop (the zguide's load-balancing broker) over two ROUTER sockets:

- :mod:`~machcreator.service.router`: the client-facing socket, each sender's identity, the
  dispatch to :mod:`~machcreator.service.operations` (one handler per request type);
- :mod:`~machcreator.service.pool`: the worker processes on a private socket, their supervision
  (heartbeats, time limits, cancels, restarts with back-off) and the jobs they run;
- :mod:`~machcreator.service.store`: jobs, events and batches in SQLite;
  :mod:`~machcreator.service.jobfiles`: their folders, packages and photos;
- :mod:`~machcreator.service.waiters`: clients long-polling a job's events.

Everything a client may ask about again is in the store, so a restarted server continues where
the killed one stopped: queued jobs run, a job that was running is re-run once (then failed with
the reason) or, if its client had cancelled it, ends cancelled; half-written files are removed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import zmq

from machcreator.core.errors import MachError
from machcreator.service import portable
from machcreator.service import protocol as P
from machcreator.service.config import ServerConfig
from machcreator.service.jobfiles import JobFiles
from machcreator.service.operations import Operations
from machcreator.service.pool import PoolLimits, WorkerPool

if TYPE_CHECKING:
    from machcreator.core.models import ModelsConfig
from machcreator.service.router import ClientRouter, RouterError
from machcreator.service.store import JobStore
from machcreator.service.waiters import Waiter, Waiters

log = logging.getLogger("machcreator.service")

#: the store's note of the folder holding the worker socket (POSIX), removed by the next server
IPC_DIR_KEY = "ipc_dir"


class ServeError(MachError):
    """The server cannot start as configured (address, keys, data folder)."""


def is_loopback(endpoint: str) -> bool:
    """``tcp://127.x.x.x``, ``tcp://[::1]``, ``tcp://localhost`` or ``ipc://``: reachable only from here."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    parts = urlsplit(endpoint)
    if parts.scheme != "tcp" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False  # an interface name or a wildcard


def _models(path: Path | None) -> tuple[ModelsConfig, list[dict[str, Any]]]:
    """The workers' models config, read once here so a broken one stops the start with its one line,
    and what each model is (found, architecture, VRAM estimate; not loaded) for hello's capabilities."""
    from machcreator.core.errors import ModelLoadError
    from machcreator.core.models import load_models_config
    from machcreator.portrait.models import check_models

    try:
        models = load_models_config(path)
    except ModelLoadError as exc:
        raise ServeError(str(exc)) from None
    return models, [check.to_dict() for check in check_models(models, load=False)]


class Server:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.models, self.model_checks = _models(config.models_path)
        if not is_loopback(config.bind) and config.keys_dir is None:
            raise ServeError(f"refusing to bind {config.bind}: beyond loopback the server needs CurveZMQ keys "
                             "(`mach keys generate DIR`, then `mach serve --keys DIR`)")
        self.data = Path(config.data_dir).expanduser().absolute()
        self.data.mkdir(parents=True, exist_ok=True)
        private_folder(self.data)
        self._lock = portable.FolderLock(self.data / "server.lock")  # the same on Windows and POSIX
        try:
            self._lock.acquire()
        except portable.FolderLockBusy:
            raise ServeError(f"another `mach serve` is using {self.data}") from None
        self.store = JobStore(self.data / "jobs.sqlite")
        self.files = JobFiles(self.data)
        self.waiters = Waiters()
        self.ctx = zmq.Context()
        self.router = ClientRouter(self.ctx, config.bind, config.keys_dir)
        self.back = self.ctx.socket(zmq.ROUTER)
        self.back.setsockopt(zmq.LINGER, 0)
        self.back.setsockopt(zmq.MAXMSGSIZE, P.MAX_FRAME_BYTES)
        self.ipc_dir: Path | None = None
        limits = PoolLimits(job_timeout_s=config.job_timeout_s, stage_timeout_s=config.stage_timeout_s,
                            heartbeat_timeout_s=config.heartbeat_timeout_s, cancel_grace_s=config.cancel_grace_s,
                            max_attempts=config.max_attempts, restart_backoff_s=config.restart_backoff_s,
                            stop_wait_s=config.stop_wait_s)
        self.pool = WorkerPool(config.workers, limits, self.back, "", self.data, self.store, self.files,
                               self.job_changed, config.anny_cache, config.models_path)
        self.ops = Operations(self)
        self.stopping = False
        self.started = time.time()
        self.last_sweep = 0.0

    @property
    def endpoint(self) -> str:
        return self.router.endpoint

    @property
    def curve(self) -> bool:
        """Whether clients connect with CurveZMQ."""
        return self.router.curve

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.router.start()
        except RouterError as exc:
            raise ServeError(str(exc)) from None
        self._remove_stale_ipc_dir()
        self.pool.endpoint, self.ipc_dir = portable.bind_worker_socket(self.back)
        self.store.set_meta(IPC_DIR_KEY, str(self.ipc_dir) if self.ipc_dir else None)
        self._recover()
        self.pool.start()
        log.info("serving", extra={"endpoint": self.endpoint, "workers": self.config.workers,
                                   "curve": self.router.curve, "data": str(self.data),
                                   "worker_endpoint": self.pool.endpoint})

    def run(self) -> None:
        """Serve until a ``shutdown`` request, SIGTERM or SIGINT (Windows: SIGINT or SIGBREAK)."""
        if threading.current_thread() is threading.main_thread():
            for sig in portable.stop_signals():
                signal.signal(sig, lambda *_: setattr(self, "stopping", True))
        poller = zmq.Poller()
        poller.register(self.router.sock, zmq.POLLIN)
        poller.register(self.back, zmq.POLLIN)
        try:
            while not self.stopping:
                for sock, _ in poller.poll(self._poll_timeout_ms()):
                    # a bounded number of messages per wake-up, so neither side starves the other
                    for _ in range(100):
                        try:
                            frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        if sock is self.back:
                            self.pool.on_frames([bytes(f.buffer) for f in frames])
                        else:
                            self.router.on_frames(frames, self.ops)
                self._housekeeping()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers (a running job goes back to the queue unpenalised; a cancelled one ends
        cancelled), close the sockets, release the data folder."""
        self.pool.stop()
        self.router.close()
        self.back.close(0)
        self.ctx.term()
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
            self.store.set_meta(IPC_DIR_KEY, None)
        self.store.close()
        self._lock.release()
        log.info("stopped")

    def _recover(self) -> None:
        """After a crash: stop orphaned workers, re-queue (once), fail or cancel what was running."""
        self.pool.reap_orphans()
        for job in self.store.jobs(state="running", limit=100_000):
            self.pool.lost(job, "the server stopped while this job was running")
        for job in self.store.queued(limit=100_000):
            self.files.clean(job.job_id)

    def _remove_stale_ipc_dir(self) -> None:
        """A killed server could not remove its worker socket's folder: its successor does."""
        stale = self.store.get_meta(IPC_DIR_KEY)
        if stale and Path(stale).name.startswith(portable.IPC_DIR_PREFIX):
            shutil.rmtree(stale, ignore_errors=True)
        self.store.set_meta(IPC_DIR_KEY, None)

    # -- jobs' news and the clients waiting for it -----------------------------------------------
    def job_changed(self, job_id: str) -> None:
        """Answer every client long-polling ``job_id``."""
        for w in self.waiters.wake(job_id):
            self._answer(w)

    def wait(self, waiter: Waiter) -> None:
        for w in self.waiters.add(waiter):  # past the bound: the oldest is answered now
            self._answer(w)

    def _answer(self, w: Waiter) -> None:
        job = self.store.get(w.job_id)
        events = self.store.events(w.job_id, w.after, w.limit) if job else []
        self.router.reply(w.identity, {"type": "events", "re": w.request_id, "ok": True, "job_id": w.job_id,
                                       "state": job.state if job else "expired", "events": events})

    # -- the loop's chores ----------------------------------------------------------------------
    def _poll_timeout_ms(self) -> int:
        soonest = self.waiters.next_deadline() or time.time() + 0.2
        return max(0, min(200, int((soonest - time.time()) * 1000)))

    def _housekeeping(self) -> None:
        self.pool.supervise()
        self.pool.dispatch()
        for w in self.waiters.due():
            self._answer(w)
        # sweep often enough for short retentions, at most every 30 s
        if time.time() - self.last_sweep > min(30.0, max(0.5, self.config.retention_hours * 3600 / 4)):
            self.last_sweep = time.time()
            cutoff = time.time() - self.config.retention_hours * 3600
            for job_id in self.store.expire(cutoff):
                self.files.clean(job_id)
                self.job_changed(job_id)
                log.info("job expired", extra={"job_id": job_id})
            self.files.sweep_photos(cutoff)


def private_folder(folder: Path) -> None:
    """The data folder is the server user's alone (jobs, photos, logs): 0700 on POSIX."""
    if os.name == "posix":
        folder.chmod(0o700)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, message and the record's fields (job_id, worker...)."""

    _plain = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": round(record.created, 3), "level": record.levelname.lower(), "msg": record.getMessage()}
        out |= {k: v for k, v in record.__dict__.items() if k not in self._plain}
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def serve(config: ServerConfig, *, log_stream: Any = None, ready: Any = None) -> None:
    """Run a server until it is told to stop; logs go to ``DATA/server.log`` and ``log_stream``."""
    data = Path(config.data_dir).expanduser()
    data.mkdir(parents=True, exist_ok=True)
    private_folder(data)
    handlers: list[logging.Handler] = [logging.FileHandler(data / "server.log")]
    if log_stream is not None:
        handlers.append(logging.StreamHandler(log_stream))
    for h in handlers:
        h.setFormatter(JsonLogFormatter())
    root = logging.getLogger("machcreator.service")
    root.handlers[:] = handlers
    root.setLevel(logging.INFO)
    root.propagate = False
    server = Server(config)
    try:
        server.start()
    except BaseException:
        server.close()  # a bind or key error: release the lock, the ZAP thread and any worker
        raise
    if ready is not None:
        ready(server)
    server.run()
