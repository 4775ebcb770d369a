"""The worker processes: started, supervised, restarted, and the jobs they run.

Each worker is a fresh interpreter (``python -m machcreator.service.worker``, never a fork) with a
warm pipeline, on the server's private worker socket with two connections (service/protocol.py):
``jobs`` for runs and their reports, ``control`` for heartbeats, cancels and stop, served by a
thread of its own so that it answers mid-stage. An idle worker gets the oldest queued job; an edit
waits for the worker that made its parent, whose stage cache turns it into a partial re-run.

:meth:`WorkerPool.supervise` runs every turn of the server's loop, so every job ends:

- a worker that died: its job runs again, or fails with the reason once it has lost its worker
  ``max_attempts`` times; the worker is restarted after a back-off that doubles with the deaths of
  the last minute (0.5 s up to 30 s) and never gives up;
- a worker not heard from for ``heartbeat_timeout_s`` (a deadlock, a stopped process), a job past
  ``job_timeout_s``, a stage past ``stage_timeout_s``: the worker is killed, and the job treated the
  same way, with that reason;
- a cancelled job whose worker has not stopped within ``cancel_grace_s``: the worker is killed and
  the job ends cancelled.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from machcreator.service import portable
from machcreator.service import protocol as P
from machcreator.service.config import DEFAULT_RESTART_BACKOFF_S, DEFAULT_STOP_WAIT_S
from machcreator.service.jobfiles import JobFiles
from machcreator.service.store import Job, JobStore

log = logging.getLogger("machcreator.service")

#: the first restart after a death waits this long; each further death within a minute doubles it
#: (PoolLimits.restart_backoff_s, from ServerConfig: this value in production)
BACKOFF_BASE_S = DEFAULT_RESTART_BACKOFF_S
BACKOFF_MAX_S = 30.0
#: how long a graceful stop waits for the workers before killing them (PoolLimits.stop_wait_s)
STOP_WAIT_S = DEFAULT_STOP_WAIT_S
#: a starting worker may be silent this long: a C extension's import can hold the GIL for a while
STARTING_SILENCE_S = 120.0
#: the store's count of workers ever started on this data folder (their names: w1, w2, ...)
WORKERS_SPAWNED_KEY = "workers_spawned"


@dataclass(frozen=True)
class PoolLimits:
    """The time limits the pool enforces (seconds; ``ServerConfig`` carries the server's own)."""

    job_timeout_s: float = P.DEFAULT_JOB_TIMEOUT_S
    stage_timeout_s: float = P.DEFAULT_STAGE_TIMEOUT_S
    heartbeat_timeout_s: float = P.DEFAULT_HEARTBEAT_TIMEOUT_S
    cancel_grace_s: float = P.DEFAULT_CANCEL_GRACE_S
    max_attempts: int = 2
    restart_backoff_s: float = BACKOFF_BASE_S
    stop_wait_s: float = STOP_WAIT_S


@dataclass
class WorkerProc:
    name: str
    proc: subprocess.Popen
    #: its jobs connection's routing id: the name and a secret only it was told (its environment)
    route: bytes
    state: str = "starting"  # starting | idle | busy
    job_id: str | None = None
    job_started: float = 0.0  # time.monotonic()
    stage: str | None = None
    stage_started: float = 0.0
    cancel_sent: float | None = None
    last_heard: float = field(default_factory=time.monotonic)
    #: set when the pool killed it: (what its job becomes: "cancelled" or "lost", why)
    killed: tuple[str, str] | None = None
    rss_mb: float = 0.0
    jobs_done: int = 0
    started: float = field(default_factory=time.time)

    @property
    def control_route(self) -> bytes:
        return self.route + b".ctl"


class WorkerPool:
    """``size`` workers on ``back`` (the server's bound ROUTER for them), kept alive."""

    def __init__(self, size: int, limits: PoolLimits, back: zmq.Socket, endpoint: str, data: Path,
                 store: JobStore, files: JobFiles, on_job_change: Callable[[str], None],
                 anny_cache: str | None = None, models_path: Path | None = None) -> None:
        self.size, self.limits, self.back, self.endpoint, self.data = size, limits, back, endpoint, data
        self.store, self.files, self.on_job_change, self.anny_cache = store, files, on_job_change, anny_cache
        self.models_path = models_path
        self.workers: dict[str, WorkerProc] = {}
        self.routes: dict[bytes, str] = {}  # either routing id of a worker -> its name
        self.job_object = portable.KillOnCloseJob()  # Windows: the workers die with the server
        self.deaths: deque[float] = deque(maxlen=64)  # monotonic times of unplanned deaths
        self.restarts_due: list[float] = []
        self.restarts = 0
        self.stopping = False

    # -- processes ------------------------------------------------------------------------------
    def start(self) -> None:
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> None:
        # names stay unique across restarts of the server: an edit waits for the worker named as
        # its parent's, which must be the process holding that parent's stage cache
        n = int(self.store.get_meta(WORKERS_SPAWNED_KEY) or 0) + 1
        self.store.set_meta(WORKERS_SPAWNED_KEY, str(n))
        name = f"w{n}"
        route = f"{name}.{secrets.token_hex(16)}"
        # a fresh interpreter (`python -m`), never a fork: the same on Windows; its routing id goes
        # in its environment, which other users cannot read; UTF-8 text files on Windows too
        cmd = [sys.executable, "-m", "machcreator.service.worker", "--connect", self.endpoint,
               "--name", name, "--data", str(self.data), "--parent-pid", str(os.getpid())]
        if self.anny_cache:
            cmd += ["--anny-cache", self.anny_cache]
        if self.models_path:
            cmd += ["--models", str(self.models_path)]
        env = dict(os.environ, **{portable.WORKER_ID_ENV: route})
        env.setdefault("PYTHONUTF8", "1")
        with open(self.data / f"worker-{name}.log", "ab") as log_file:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                    env=env, **portable.worker_popen_kwargs())
        self.job_object.add(proc)
        w = WorkerProc(name, proc, route.encode())
        self.workers[name] = w
        self.routes[w.route] = self.routes[w.control_route] = name
        self.store.set_worker(name, proc.pid)
        log.info("worker started", extra={"worker": name, "pid": proc.pid})

    def reap_orphans(self) -> None:
        """After a crash: stop the workers a killed server left (by pid, if they are ours)."""
        import psutil

        for name, pid in self.store.worker_pids().items():
            try:
                proc = psutil.Process(pid)
                if "machcreator.service.worker" in " ".join(proc.cmdline()):
                    proc.kill()
                    proc.wait(5)
            except (psutil.Error, OSError):
                pass
            self.store.drop_worker(name)

    def _kill(self, w: WorkerProc, outcome: str, reason: str) -> None:
        """Kill a worker; :meth:`supervise` sees it die and ends its job as ``outcome`` says."""
        if w.killed is None:
            w.killed = (outcome, reason)
            log.warning("killing worker", extra={"worker": w.name, "job_id": w.job_id, "reason": reason})
            w.proc.kill()  # SIGKILL / TerminateProcess: a stopped or deadlocked process ends too

    def _send(self, route: bytes, message: Any) -> None:
        try:
            self.back.send_multipart([route, P.pack_worker(message)], zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # the worker is gone: supervise() notices

    # -- what workers say ------------------------------------------------------------------------
    def on_frames(self, frames: list[bytes]) -> None:
        name = self.routes.get(frames[0])  # an unknown routing id is not one of our workers: ignored
        w = self.workers.get(name) if name is not None else None
        if w is None or len(frames) != 2:
            return
        try:
            msg = P.unpack_worker(frames[1])
        except P.ProtocolError as exc:
            log.error("bad worker message", extra={"worker": name, "error": exc.message})
            return
        w.last_heard = time.monotonic()
        if isinstance(msg, P.WorkerReady):
            w.state, w.rss_mb = "idle", msg.rss_mb
            log.info("worker ready", extra={"worker": name, "rss_mb": w.rss_mb})
        elif isinstance(msg, P.WorkerEvent) and msg.job_id == w.job_id:
            e = dict(msg.event)
            body = self.store.add_event(w.job_id, e.pop("kind"), **e)
            if body["event"] == "stage_started":
                w.stage, w.stage_started = body["stage"], time.monotonic()
            elif body["event"] == "stage_finished":
                log.info("stage finished", extra={"job_id": w.job_id, "stage": body["stage"],
                                                  "seconds": body.get("seconds"), "reused": body.get("reused")})
            self.on_job_change(w.job_id)
        elif isinstance(msg, P.WorkerFinished) and msg.job_id == w.job_id:
            job_id = w.job_id
            w.state, w.job_id, w.stage, w.cancel_sent, w.rss_mb = "idle", None, None, None, msg.rss_mb
            w.jobs_done += 1
            if msg.state != "done":
                self.files.clean(job_id)
            reason = msg.reason or ("cancelled by its client" if msg.state == "cancelled" else None)
            self.store.finish(job_id, msg.state, reason)
            self.on_job_change(job_id)
            log.info(f"job {msg.state}", extra={"job_id": job_id, "worker": name, "reason": reason})

    # -- jobs ----------------------------------------------------------------------------------
    def dispatch(self) -> None:
        """Hand queued jobs, oldest first, to idle workers."""
        idle = [w for w in self.workers.values() if w.state == "idle" and w.killed is None]
        if not idle or self.stopping:
            return
        alive = set(self.workers)
        for job in self.store.queued(limit=200):
            if not idle:
                return
            # an edit goes to the worker that holds its parent's stages, if that worker lives
            parent = self.store.get(job.parent) if job.parent else None
            home = parent.worker if parent and parent.worker in alive else None
            w = next((w for w in idle if home in (None, w.name)), None)
            if w is None:
                continue
            idle.remove(w)
            self.files.clean(job.job_id)
            self.store.start(job.job_id, w.name)
            w.state, w.job_id, w.stage, w.cancel_sent = "busy", job.job_id, None, None
            w.job_started = time.monotonic()
            self._send(w.route, P.RunJob(job.job_id, job.request, str(self.files.package_dir(job.job_id))))
            self.on_job_change(job.job_id)
            log.info("job started", extra={"job_id": job.job_id, "worker": w.name})

    def cancel(self, job: Job) -> None:
        """Cancel a running job: remembered (a restart keeps it), then told to its worker."""
        self.store.request_cancel(job.job_id)
        w = self.workers.get(job.worker or "")
        if w is None or w.job_id != job.job_id:
            self.store.finish(job.job_id, "cancelled", "cancelled by its client")  # no worker holds it
            self.on_job_change(job.job_id)
        elif w.cancel_sent is None:
            self._send(w.control_route, P.CancelJob(job.job_id))
            w.cancel_sent = time.monotonic()

    def lost(self, job: Job, reason: str) -> None:
        """A running job lost its worker: run it again if it has tries left, else fail it."""
        self.files.clean(job.job_id)
        if job.cancel_requested:
            self.store.finish(job.job_id, "cancelled", f"cancelled by its client ({reason})")
        elif job.attempts < self.limits.max_attempts:
            self.store.requeue(job.job_id, f"{reason}; running it again")
        else:
            self.store.finish(job.job_id, "failed",
                              f"{reason} (attempt {job.attempts} of {self.limits.max_attempts})")
        self.on_job_change(job.job_id)
        log.warning("job lost", extra={"job_id": job.job_id, "reason": reason, "attempts": job.attempts})

    # -- supervision -----------------------------------------------------------------------------
    def supervise(self) -> None:
        now = time.monotonic()
        lim = self.limits
        for w in list(self.workers.values()):
            code = w.proc.poll()
            if code is not None:
                self._on_death(w, code, now)
                continue
            silent = now - w.last_heard
            if silent > (lim.heartbeat_timeout_s if w.state != "starting" else
                         max(lim.heartbeat_timeout_s, STARTING_SILENCE_S)):
                self._kill(w, "lost", f"its worker stopped answering (no heartbeat for {silent:.0f} s)")
            elif w.state == "busy":
                if w.cancel_sent is not None and now - w.cancel_sent > lim.cancel_grace_s:
                    self._kill(w, "cancelled", f"cancelled by its client; its worker did not stop within "
                                               f"{lim.cancel_grace_s:g} s and was killed")
                elif now - w.job_started > lim.job_timeout_s:
                    self._kill(w, "lost", f"the job ran past its time limit of {lim.job_timeout_s:g} s")
                elif w.stage and now - w.stage_started > lim.stage_timeout_s:
                    self._kill(w, "lost", f"stage {w.stage} ran past its time limit of {lim.stage_timeout_s:g} s")
        if not self.stopping:
            for due in [t for t in self.restarts_due if t <= now]:
                self.restarts_due.remove(due)
                self.restarts += 1
                self._spawn()

    def _on_death(self, w: WorkerProc, code: int, now: float) -> None:
        del self.workers[w.name]
        self.routes.pop(w.route, None)
        self.routes.pop(w.control_route, None)
        self.store.drop_worker(w.name)
        job = self.store.get(w.job_id) if w.job_id else None
        outcome, reason = w.killed or ("lost", f"its worker process died (exit code {code})")
        log.error("worker died", extra={"worker": w.name, "exit_code": code, "job_id": w.job_id, "reason": reason})
        delay = 0.0
        if outcome == "cancelled":
            if job is not None:
                self.files.clean(job.job_id)
                self.store.finish(job.job_id, "cancelled", reason)
                self.on_job_change(job.job_id)
        else:
            if job is not None:
                self.lost(job, reason)
            self.deaths.append(now)
            recent = sum(1 for t in self.deaths if t > now - 60)
            delay = min(BACKOFF_MAX_S, self.limits.restart_backoff_s * 2 ** (recent - 1))
        if not self.stopping:
            self.restarts_due.append(now + delay)
            log.info("worker restart scheduled", extra={"worker": w.name, "in_s": round(delay, 2)})

    def next_restart_in(self) -> float | None:
        return max(0.0, min(self.restarts_due) - time.monotonic()) if self.restarts_due else None

    def stop(self) -> None:
        """Stop every worker; a job one was running goes back to the queue unpenalised, unless its
        client cancelled it: then it ends cancelled (as it would have)."""
        self.stopping = True
        for w in self.workers.values():
            if w.proc.poll() is None:
                self._send(w.control_route, P.StopWorker())
        deadline = time.monotonic() + self.limits.stop_wait_s
        for w in list(self.workers.values()):
            try:
                w.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
            job = self.store.get(w.job_id) if w.job_id else None
            if job is not None and job.state == "running":
                self.files.clean(job.job_id)
                if job.cancel_requested:
                    self.store.finish(job.job_id, "cancelled", "cancelled by its client")
                else:
                    self.store.requeue(job.job_id, "the server stopped; the job runs again when it restarts",
                                       count_attempt=False)
            self.store.drop_worker(w.name)
        self.workers.clear()
        self.routes.clear()

    # -- reporting -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The pool as it is: live workers by state, restarts pending (hello and status)."""
        states = [w.state for w in self.workers.values() if w.killed is None]
        now = time.monotonic()
        nxt = self.next_restart_in()
        return {"configured": self.size, "alive": len(states), "ready": states.count("idle"),
                "busy": states.count("busy"), "starting": states.count("starting"),
                "restarting": len(self.restarts_due), "next_restart_s": None if nxt is None else round(nxt, 1),
                "restarts": self.restarts, "deaths_last_minute": sum(1 for t in self.deaths if t > now - 60)}

    def describe(self, may_see: Callable[[str], bool]) -> list[dict[str, Any]]:
        """One entry per live worker; a job id only where the asking client may see that job."""
        out = []
        for w in self.workers.values():
            job_id = w.job_id if w.job_id and may_see(w.job_id) else None
            out.append({"name": w.name, "pid": w.proc.pid, "state": w.state, "job_id": job_id,
                        "stage": w.stage if job_id else None, "rss_mb": w.rss_mb, "jobs_done": w.jobs_done,
                        "uptime_s": round(time.time() - w.started, 1)})
        return out
