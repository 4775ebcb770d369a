"""``mach serve``: the job server (docs/protocol.md).

One thread, one loop, two ROUTER sockets (the zguide's load-balancing broker):

- the front socket faces clients (``--bind``, loopback by default; any other address needs
  CurveZMQ keys, checked by a ZAP handler against the authorised client keys);
- the back socket faces the worker processes, each holding a warm pipeline: a private IPC path on
  POSIX, tcp on 127.0.0.1 on Windows (service/portable.py), where a worker is known by the secret
  routing id the server gave it. An idle worker gets the oldest queued job; an edit waits for the
  worker that made its parent, whose stage cache turns it into a partial re-run.

Everything a client may ask about again (jobs, their events, batches) is in the SQLite store, so
a restarted server continues where the killed one stopped: queued jobs run, a job that was
running is re-run once (then failed with the reason), and its half-written files are removed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import logging
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zmq

from machcreator import __version__
from machcreator.errors import MachError
from machcreator.service import portable
from machcreator.service import protocol as P
from machcreator.service.messages import Options, parse_request
from machcreator.service.store import Job, JobStore

log = logging.getLogger("machcreator.service")

MAX_WAITERS = 10_000
#: a worker that dies this many times within a minute is not restarted again
MAX_WORKER_DEATHS_PER_MINUTE = 5


class ServeError(MachError):
    """The server cannot start as configured (address, keys, data folder)."""


@dataclass
class ServerConfig:
    """How ``mach serve`` runs. ``parsers`` maps a parser name to its options (local paths)."""

    data_dir: Path
    bind: str = "tcp://127.0.0.1:5555"
    workers: int = 1
    keys_dir: Path | None = None
    retention_hours: float = 24.0
    max_jobs_per_client: int = P.DEFAULT_MAX_JOBS_PER_CLIENT
    #: a job whose worker or server died mid-run is tried at most this often in all
    max_attempts: int = 2
    parsers: dict[str, dict[str, Any]] = field(default_factory=lambda: {"embedded": {}})
    anny_cache: str | None = None


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


@dataclass
class WorkerProc:
    name: str
    proc: subprocess.Popen
    #: its socket's routing id: the name and a secret only it was told (its environment)
    route: bytes = b""
    state: str = "starting"  # starting | idle | busy
    job_id: str | None = None
    cancel_sent: bool = False
    rss_mb: float = 0.0
    jobs_done: int = 0
    started: float = field(default_factory=time.time)


@dataclass
class Waiter:
    """A client waiting (long poll) for events of a job."""

    identity: bytes
    request_id: str
    job_id: str
    after: int
    limit: int
    deadline: float


class Server:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        if not is_loopback(config.bind) and config.keys_dir is None:
            raise ServeError(f"refusing to bind {config.bind}: beyond loopback the server needs CurveZMQ keys "
                             "(`mach keys generate DIR`, then `mach serve --keys DIR`)")
        self.data = Path(config.data_dir).expanduser().absolute()
        self.jobs_dir = self.data / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        # photos by content (an edit of a photo job reuses its parent's), swept with the jobs
        self.photos_dir = self.data / "photos"
        self.photos_dir.mkdir(exist_ok=True)
        self._lock = portable.FolderLock(self.data / "server.lock")  # the same on Windows and POSIX
        try:
            self._lock.acquire()
        except portable.FolderLockBusy:
            raise ServeError(f"another `mach serve` is using {self.data}") from None
        self.store = JobStore(self.data / "jobs.sqlite")
        self.ctx = zmq.Context()
        self.auth = None
        self.front: zmq.Socket | None = None
        self.back: zmq.Socket | None = None
        self.ipc_dir: Path | None = None
        self.worker_endpoint = ""
        self.workers: dict[str, WorkerProc] = {}
        self.routes: dict[bytes, str] = {}  # a worker's routing id -> its name
        self.job = portable.KillOnCloseJob()  # Windows: the workers die with the server
        self.worker_deaths: deque[float] = deque(maxlen=MAX_WORKER_DEATHS_PER_MINUTE)
        self.spawned = 0
        self.waiters: dict[str, list[Waiter]] = {}
        self.n_waiters = 0
        self.file_lists: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
        self.stopping = False
        self.started = time.time()
        self.last_sweep = 0.0
        self.endpoint = config.bind

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.front = self.ctx.socket(zmq.ROUTER)
        self.front.setsockopt(zmq.LINGER, 0)
        self.front.setsockopt(zmq.MAXMSGSIZE, P.MAX_FRAME_BYTES)
        if self.config.keys_dir is not None:
            self._start_curve()
        try:
            self.front.bind(self.config.bind)
        except zmq.ZMQError as exc:
            raise ServeError(f"cannot bind {self.config.bind}: {exc}") from None
        self.endpoint = self.front.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.back = self.ctx.socket(zmq.ROUTER)
        self.back.setsockopt(zmq.LINGER, 0)
        self.back.setsockopt(zmq.MAXMSGSIZE, P.MAX_FRAME_BYTES)
        self.worker_endpoint, self.ipc_dir = portable.bind_worker_socket(self.back)
        self._recover()
        for _ in range(self.config.workers):
            self._spawn_worker()
        log.info("serving", extra={"endpoint": self.endpoint, "workers": self.config.workers,
                                   "curve": self.config.keys_dir is not None, "data": str(self.data),
                                   "worker_endpoint": self.worker_endpoint})

    def _start_curve(self) -> None:
        from zmq.auth.thread import ThreadAuthenticator

        from machcreator.service.keys import load_server_keys

        keys = load_server_keys(self.config.keys_dir)
        self.auth = ThreadAuthenticator(self.ctx, log=logging.getLogger("machcreator.service.zap"))
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(keys.authorized_dir))
        self.front.curve_secretkey = keys.secret
        self.front.curve_publickey = keys.public
        self.front.curve_server = True

    def run(self) -> None:
        """Serve until a ``shutdown`` request, SIGTERM or SIGINT (Windows: SIGINT or SIGBREAK)."""
        if threading.current_thread() is threading.main_thread():
            for sig in portable.stop_signals():
                signal.signal(sig, lambda *_: setattr(self, "stopping", True))
        poller = zmq.Poller()
        poller.register(self.front, zmq.POLLIN)
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
                        if sock is self.front:
                            self._on_client(frames)
                        else:
                            self._on_worker([bytes(f.buffer) for f in frames])
                self._housekeeping()
        finally:
            self.close()

    def close(self) -> None:
        """Stop workers; a job they were running goes back to the queue, unpenalised."""
        for w in list(self.workers.values()):
            if w.proc.poll() is None:
                try:
                    self.back.send_multipart([w.route, json.dumps({"type": "stop"}).encode()], zmq.NOBLOCK)
                except zmq.ZMQError:
                    pass
        deadline = time.time() + 10
        for w in list(self.workers.values()):
            try:
                w.proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
            if w.job_id:
                self.store.requeue(w.job_id, "the server stopped; the job runs again when it restarts",
                                   count_attempt=False)
                self._clean_job_dir(w.job_id)
            self.store.drop_worker(w.name)
        self.workers.clear()
        self.routes.clear()
        if self.auth is not None:
            self.auth.stop()
        for sock in (self.front, self.back):
            if sock is not None:
                sock.close(0)
        self.ctx.term()
        if self.ipc_dir is not None:
            shutil.rmtree(self.ipc_dir, ignore_errors=True)
        self.store.close()
        self._lock.release()
        log.info("stopped")

    def _recover(self) -> None:
        """After a crash: stop orphaned workers, re-queue (once) or fail what was running."""
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
        for job in self.store.jobs(state="running", limit=100_000):
            self._lost(job, "the server stopped while this job was running")
        for job in self.store.queued(limit=100_000):
            self._clean_job_dir(job.job_id)

    # -- workers ------------------------------------------------------------------------------
    def _spawn_worker(self) -> None:
        self.spawned += 1
        name = f"w{self.spawned}"
        route = f"{name}.{secrets.token_hex(16)}"
        # a fresh interpreter (`python -m`), never a fork: the same on Windows; its routing id goes
        # in its environment, which other users cannot read; UTF-8 text files on Windows too
        cmd = [sys.executable, "-m", "machcreator.service.worker", "--connect", self.worker_endpoint,
               "--name", name, "--data", str(self.data), "--parent-pid", str(os.getpid())]
        if self.config.anny_cache:
            cmd += ["--anny-cache", self.config.anny_cache]
        env = dict(os.environ, **{portable.WORKER_ID_ENV: route})
        env.setdefault("PYTHONUTF8", "1")
        log_file = open(self.data / f"worker-{name}.log", "ab")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                **portable.worker_popen_kwargs())
        log_file.close()
        self.job.add(proc)
        self.workers[name] = WorkerProc(name, proc, route.encode())
        self.routes[route.encode()] = name
        self.store.set_worker(name, proc.pid)
        log.info("worker started", extra={"worker": name, "pid": proc.pid})

    def _on_worker(self, frames: list[bytes]) -> None:
        name = self.routes.get(frames[0])  # an unknown routing id is not one of our workers: ignored
        w = self.workers.get(name) if name is not None else None
        if w is None or len(frames) != 2:
            return
        msg = json.loads(frames[1])
        kind = msg.get("type")
        if kind == "ready":
            w.state, w.rss_mb = "idle", msg.get("rss_mb", 0.0)
            log.info("worker ready", extra={"worker": name, "rss_mb": w.rss_mb})
        elif kind == "event" and msg.get("job_id") == w.job_id:
            e = msg["event"]
            body = self.store.add_event(w.job_id, e.pop("kind"), **e)
            self._wake(w.job_id)
            if body["event"] == "stage_finished":
                log.info("stage finished", extra={"job_id": w.job_id, "stage": body["stage"],
                                                  "seconds": body.get("seconds"), "reused": body.get("reused")})
        elif kind == "finished" and msg.get("job_id") == w.job_id:
            job_id, state, reason = w.job_id, msg["state"], msg.get("reason")
            w.state, w.job_id, w.cancel_sent, w.rss_mb = "idle", None, False, msg.get("rss_mb", w.rss_mb)
            w.jobs_done += 1
            if state != "done":
                self._clean_job_dir(job_id)
            self.store.finish(job_id, state, reason)
            self._wake(job_id)
            log.info(f"job {state}", extra={"job_id": job_id, "worker": name, "reason": reason})

    def _check_workers(self) -> None:
        for w in list(self.workers.values()):
            code = w.proc.poll()
            if code is None:
                continue
            del self.workers[w.name]
            self.routes.pop(w.route, None)
            self.store.drop_worker(w.name)
            self.worker_deaths.append(time.time())
            log.error("worker died", extra={"worker": w.name, "exit_code": code, "job_id": w.job_id})
            if w.job_id:
                job = self.store.get(w.job_id)
                self._lost(job, f"its worker process died (exit code {code})")
            recent = [t for t in self.worker_deaths if t > time.time() - 60]
            if self.stopping:
                continue
            if len(recent) >= MAX_WORKER_DEATHS_PER_MINUTE:
                log.error("workers keep dying; not restarting", extra={"deaths_last_minute": len(recent)})
            else:
                self._spawn_worker()

    def _lost(self, job: Job, reason: str) -> None:
        """A running job lost its worker: run it again if it has tries left, else fail it."""
        self._clean_job_dir(job.job_id)
        if job.attempts < self.config.max_attempts:
            self.store.requeue(job.job_id, f"{reason}; running it again")
        else:
            self.store.finish(job.job_id, "failed", f"{reason} (attempt {job.attempts} of {self.config.max_attempts})")
        self._wake(job.job_id)
        log.warning("job lost", extra={"job_id": job.job_id, "reason": reason, "attempts": job.attempts})

    def _dispatch(self) -> None:
        idle = [w for w in self.workers.values() if w.state == "idle"]
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
            self._clean_job_dir(job.job_id)
            self.store.start(job.job_id, w.name)
            w.state, w.job_id, w.cancel_sent = "busy", job.job_id, False
            self.back.send_multipart([w.route, json.dumps(
                {"type": "run", "job_id": job.job_id, "request": job.request,
                 "out": str(self._package_dir(job.job_id))}).encode()])
            self._wake(job.job_id)
            log.info("job started", extra={"job_id": job.job_id, "worker": w.name})

    # -- files --------------------------------------------------------------------------------
    def _job_dir(self, job_id: str) -> Path:
        # job ids are the server's own (j_ + 16 hex digits), checked by the schema: never a client's name
        return self.jobs_dir / job_id

    def _package_dir(self, job_id: str) -> Path:
        return self._job_dir(job_id) / "package"

    def _store_photo(self, blob: bytes) -> str:
        """Keep a checked photo for its job (and its edits) under its content hash; its path."""
        import hashlib

        path = self.photos_dir / f"{hashlib.sha256(blob).hexdigest()}.img"
        if not path.is_file():
            tmp = path.with_suffix(f".{os.getpid()}.partial")
            tmp.write_bytes(blob)
            tmp.replace(path)
        path.touch()
        return str(path)

    def _clean_job_dir(self, job_id: str) -> None:
        self.file_lists.pop(job_id, None)
        shutil.rmtree(self._job_dir(job_id), ignore_errors=True)

    def _files(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The finished package's files by path: the manifest's list plus manifest.json itself."""
        from machcreator.export.package import MANIFEST, read_manifest, safe_member
        from machcreator.files import sha256_file

        if job_id not in self.file_lists:
            pkg = self._package_dir(job_id)
            manifest = read_manifest(pkg)
            files = {f.path: {"path": f.path, "bytes": f.bytes, "sha256": f.sha256,
                              "file": safe_member(pkg, f.path)} for f in manifest.files}
            m = pkg / MANIFEST
            files[MANIFEST] = {"path": MANIFEST, "bytes": m.stat().st_size, "sha256": sha256_file(m), "file": m}
            self.file_lists[job_id] = files
            while len(self.file_lists) > 64:
                self.file_lists.popitem(last=False)
        return self.file_lists[job_id]

    # -- clients ------------------------------------------------------------------------------
    def _on_client(self, frames: list[zmq.Frame]) -> None:
        identity = bytes(frames[0].buffer)
        user = frames[-1].get("User-Id") if self.auth is not None else None
        header: Any = None
        try:
            header, blob = P.decode([bytes(f.buffer) for f in frames[1:]])
            request = parse_request(header)
            client = user or request.client or identity.hex()
            reply = getattr(self, f"_do_{request.type}")(request, blob, client, identity)
        except P.ProtocolError as exc:
            self._reply(identity, {"type": "error", "re": P.request_id_of(header), "ok": False,
                                   "error": exc.as_error()})
            return
        except Exception as exc:  # a bug must not take the server down
            log.exception("internal error")
            self._reply(identity, {"type": "error", "re": P.request_id_of(header), "ok": False,
                                   "error": {"code": "internal", "message": f"{type(exc).__name__}: {exc}"}})
            return
        if reply is not None:
            header_out, blob_out = reply if isinstance(reply, tuple) else (reply, None)
            self._reply(identity, {"type": request.type, "re": request.id, "ok": True} | header_out, blob_out)

    def _reply(self, identity: bytes, header: dict[str, Any], blob: bytes | None = None) -> None:
        try:
            self.front.send_multipart([identity, *P.encode(header, blob)], zmq.NOBLOCK)
        except zmq.Again:
            pass  # the client is gone or not reading: it will ask again (Lazy Pirate)

    def _do_hello(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        from machcreator.hair.styles import STYLES
        from machcreator.pipeline import STAGE_NAMES

        return {"protocol": P.PROTOCOL_VERSION, "server": f"MachCreator {__version__}", "client": client,
                "capabilities": {
                    "parsers": sorted(self.config.parsers), "hair_styles": sorted(STYLES), "assets": [],
                    "photo": True, "stages": list(STAGE_NAMES), "curve": self.auth is not None,
                    "workers": self.config.workers,
                    "limits": {"max_frame_bytes": P.MAX_FRAME_BYTES, "max_header_bytes": P.MAX_HEADER_BYTES,
                               "max_photo_bytes": P.MAX_PHOTO_BYTES, "max_chunk_bytes": P.MAX_CHUNK_BYTES,
                               "max_batch_jobs": P.MAX_BATCH_JOBS, "max_jobs_per_client": self.config.max_jobs_per_client,
                               "max_wait_ms": P.MAX_WAIT_MS}}}

    # generate / edit / batch: checked completely before anything is queued
    def _request(self, prompt: str, seed: int, overrides: list[str], options: Options,
                 random: bool = False, photo: str | None = None) -> dict[str, Any]:
        """A checked ``GenerateRequest``; only a random character may come without prompt or overrides."""
        from machcreator.attributes import Attributes, apply_overrides
        from machcreator.parsing import check_prompt
        from machcreator.pipeline import GenerateRequest

        if options.parser not in self.config.parsers:
            raise P.ProtocolError("unsupported", f"parser {options.parser!r} is not configured on this server "
                                  f"(available: {', '.join(sorted(self.config.parsers))})", "options.parser")
        try:
            clean = check_prompt(prompt) if (prompt or not (overrides or random or photo)) else ""
        except MachError as exc:
            raise P.ProtocolError("bad_prompt", str(exc), "prompt") from None
        try:
            apply_overrides(Attributes(), overrides)
        except MachError as exc:
            raise P.ProtocolError("bad_prompt", str(exc), "overrides") from None
        return GenerateRequest(prompt=clean, seed=seed, overrides=overrides, parser=options.parser,
                               parser_options=self.config.parsers[options.parser],
                               texture_size=options.texture_size, preview_size=options.preview_size,
                               hair_detail=options.hair_detail, photo=photo,
                               photo_largest_face=options.largest_face).model_dump(mode="json")

    def _admit(self, client: str, n: int) -> None:
        if self.stopping:
            raise P.ProtocolError("shutting_down", "the server is shutting down and takes no new jobs")
        active = self.store.active_count(client)
        if active + n > self.config.max_jobs_per_client:
            raise P.ProtocolError("limit", f"this client has {active} queued or running jobs; the limit is "
                                  f"{self.config.max_jobs_per_client} (asked for {n} more)")

    def _do_generate(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        if bool(req.photo) != (blob is not None):
            raise P.ProtocolError("bad_frames", "`photo: true` goes with exactly one binary frame (the image)"
                                  if req.photo else "a binary frame came without `photo: true`", "photo")
        if (job := self.store.by_token(client, req.token)) is not None:
            return {"job_id": job.job_id, "created": False, "state": job.state}
        if blob is not None:
            if len(blob) > P.MAX_PHOTO_BYTES:
                raise P.ProtocolError("too_large", f"the photo is {len(blob)} bytes; the limit is {P.MAX_PHOTO_BYTES}",
                                      "photo")
            check_photo(blob)
        photo = self._store_photo(blob) if blob is not None else None
        request = self._request(req.prompt, req.seed, list(req.overrides), req.options, photo=photo)
        self._admit(client, 1)
        job = self.store.add_job(client, request, token=req.token)
        log.info("job queued", extra={"job_id": job.job_id, "client": client})
        self._dispatch()
        return {"job_id": job.job_id, "created": True, "state": self.store.get(job.job_id).state}

    def _do_edit(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        if (job := self.store.by_token(client, req.token)) is not None:
            return {"job_id": job.job_id, "created": False, "state": job.state, "parent": job.parent}
        parent = self._job(req.job_id)
        if parent.state != "done":
            raise P.ProtocolError("conflict", f"job {parent.job_id} is {parent.state}; only a finished job can be edited")
        base = parent.request
        options = Options(parser=base["parser"], texture_size=base["texture_size"],
                          preview_size=base["preview_size"], hair_detail=base["hair_detail"],
                          largest_face=base.get("photo_largest_face", False))
        photo = base.get("photo")
        if photo is not None:
            if not Path(photo).is_file():
                raise P.ProtocolError("not_found", f"the photo of job {parent.job_id} has expired; send it again with generate",
                                      "job_id")
            Path(photo).touch()  # in use again: the sweep keeps it
        request = self._request(base["prompt"], base["seed"] if req.seed is None else req.seed,
                                list(base["overrides"]) + list(req.overrides), options, photo=photo)
        self._admit(client, 1)
        job = self.store.add_job(client, request, token=req.token, parent=parent.job_id)
        log.info("edit queued", extra={"job_id": job.job_id, "parent": parent.job_id, "client": client})
        self._dispatch()
        return {"job_id": job.job_id, "created": True, "state": self.store.get(job.job_id).state,
                "parent": parent.job_id}

    def _do_batch(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        import numpy as np

        if (batch_id := self.store.batch_by_token(client, req.token)) is not None:
            return {"batch_id": batch_id, "job_ids": [j.job_id for j in self.store.batch_jobs(batch_id)],
                    "created": False}
        if (req.prompts is None) == (req.random is None):
            raise P.ProtocolError("bad_request", "a batch has either `prompts` or `random`", "prompts")
        requests = []
        if req.prompts is not None:
            for i, prompt in enumerate(req.prompts):
                try:
                    requests.append(self._request(prompt, req.seed + i, list(req.overrides), req.options))
                except P.ProtocolError as exc:
                    raise P.ProtocolError(exc.code, f"prompts[{i}]: {exc.message}", f"prompts.{i}") from None
        else:
            r, d = req.random, req.random.diversity
            for i in range(r.count):
                seed = (r.seed + i) % 2**32
                drawn = []
                if d.genders:
                    drawn.append(f"body.gender={d.genders[i % len(d.genders)]}")
                if d.ancestries:
                    drawn.append(f"body.ancestry={d.ancestries[i % len(d.ancestries)]}")
                if d.age_range is not None:
                    age = np.random.default_rng(seed).uniform(*d.age_range)
                    drawn.append(f"body.age_years={age:.1f}")
                # the client's own overrides come last: they win over the diversity draw
                requests.append(self._request(r.prompt, seed, drawn + list(req.overrides), req.options, random=True))
        self._admit(client, len(requests))
        batch_id, job_ids = self.store.add_batch(client, req.token, requests)
        log.info("batch queued", extra={"batch_id": batch_id, "jobs": len(job_ids), "client": client})
        self._dispatch()
        return {"batch_id": batch_id, "job_ids": job_ids, "created": True}

    def _job(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise P.ProtocolError("not_found", f"no job {job_id}", "job_id")
        return job

    def _do_status(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        import psutil

        if req.job_id:
            job = self._job(req.job_id)
            out = {"job": job.public()}
            if job.state == "queued":
                out["job"]["queue_position"] = next(
                    (i for i, q in enumerate(self.store.queued()) if q.job_id == job.job_id), None)
            return out
        if req.batch_id:
            jobs = self.store.batch_jobs(req.batch_id)
            if jobs is None:
                raise P.ProtocolError("not_found", f"no batch {req.batch_id}", "batch_id")
            counts: dict[str, int] = {}
            for j in jobs:
                counts[j.state] = counts.get(j.state, 0) + 1
            return {"batch": {"batch_id": req.batch_id, "counts": counts, "jobs": [j.public() for j in jobs]}}
        return {"server": {
            "version": __version__, "protocol": P.PROTOCOL_VERSION, "endpoint": self.endpoint,
            "uptime_s": round(time.time() - self.started, 1), "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            "counts": self.store.counts(), "queue": [j.job_id for j in self.store.queued(limit=50)],
            "workers": [{"name": w.name, "pid": w.proc.pid, "state": w.state, "job_id": w.job_id, "rss_mb": w.rss_mb,
                         "jobs_done": w.jobs_done, "uptime_s": round(time.time() - w.started, 1)}
                        for w in self.workers.values()]}}

    def _do_jobs(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        jobs = self.store.jobs(state=req.state, client=client if req.mine else None, limit=req.limit)
        return {"jobs": [j.public() for j in jobs]}

    def _do_events(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any] | None:
        job = self._job(req.job_id)
        events = self.store.events(job.job_id, req.after, req.limit)
        if events or job.final or req.wait_ms == 0:
            return {"job_id": job.job_id, "state": job.state, "events": events}
        if self.n_waiters >= MAX_WAITERS:  # answer the oldest now rather than grow without bound
            self._flush_waiters(oldest=True)
        self.waiters.setdefault(job.job_id, []).append(
            Waiter(identity, req.id, job.job_id, req.after, req.limit, time.time() + req.wait_ms / 1000))
        self.n_waiters += 1
        return None

    def _wake(self, job_id: str) -> None:
        for w in self.waiters.pop(job_id, []):
            self.n_waiters -= 1
            self._answer(w)

    def _answer(self, w: Waiter) -> None:
        job = self.store.get(w.job_id)
        events = self.store.events(w.job_id, w.after, w.limit) if job else []
        self._reply(w.identity, {"type": "events", "re": w.request_id, "ok": True, "job_id": w.job_id,
                                 "state": job.state if job else "expired", "events": events})

    def _flush_waiters(self, *, oldest: bool = False) -> None:
        now = time.time()
        every = [w for ws in self.waiters.values() for w in ws]
        due = sorted(every, key=lambda w: w.deadline)[:1] if oldest else [w for w in every if w.deadline <= now]
        for w in due:
            self.waiters[w.job_id].remove(w)
            if not self.waiters[w.job_id]:
                del self.waiters[w.job_id]
            self.n_waiters -= 1
            self._answer(w)

    def _do_cancel(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        job = self._job(req.job_id)
        if job.state == "queued":
            self.store.finish(job.job_id, "cancelled", "cancelled by a client before it started")
            self._wake(job.job_id)
            log.info("job cancelled", extra={"job_id": job.job_id, "client": client})
        elif job.state == "running":
            w = self.workers.get(job.worker or "")
            if w is not None and w.job_id == job.job_id and not w.cancel_sent:
                self.back.send_multipart([w.route, json.dumps({"type": "cancel", "job_id": job.job_id}).encode()])
                w.cancel_sent = True
                log.info("job cancelling", extra={"job_id": job.job_id, "client": client})
            return {"job_id": job.job_id, "state": "cancelling"}
        return {"job_id": job.job_id, "state": self.store.get(job.job_id).state}

    def _done_job(self, job_id: str) -> Job:
        job = self._job(job_id)
        if job.state != "done":
            raise P.ProtocolError("conflict", f"job {job_id} is {job.state}"
                                  + (f": {job.error}" if job.error else "") + "; only a done job has files")
        return job

    def _do_result(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        job = self._done_job(req.job_id)
        files = self._files(job.job_id)
        return {"job_id": job.job_id, "chunk_bytes": P.DEFAULT_CHUNK_BYTES,
                "files": [{k: v for k, v in f.items() if k != "file"} for f in files.values()]}

    def _do_fetch(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> tuple[dict[str, Any], bytes]:
        job = self._done_job(req.job_id)
        entry = self._files(job.job_id).get(req.path)  # a client's path is only ever a lookup key
        if entry is None:
            raise P.ProtocolError("not_found", f"job {job.job_id} has no file {req.path[:80]!r}", "path")
        if req.offset > entry["bytes"]:
            raise P.ProtocolError("bad_request", f"offset {req.offset} is past the end ({entry['bytes']} bytes)",
                                  "offset")
        with open(entry["file"], "rb") as f:
            f.seek(req.offset)
            chunk = f.read(req.length)
        return {"job_id": job.job_id, "path": entry["path"], "offset": req.offset, "length": len(chunk),
                "file_bytes": entry["bytes"], "sha256": entry["sha256"]}, chunk

    def _do_shutdown(self, req: Any, blob: bytes | None, client: str, identity: bytes) -> dict[str, Any]:
        log.info("shutdown requested", extra={"client": client})
        self.stopping = True
        return {"state": "stopping"}

    # -- the loop's chores ----------------------------------------------------------------------
    def _poll_timeout_ms(self) -> int:
        soonest = min((w.deadline for ws in self.waiters.values() for w in ws), default=time.time() + 0.2)
        return max(0, min(200, int((soonest - time.time()) * 1000)))

    def _housekeeping(self) -> None:
        self._check_workers()
        self._dispatch()
        self._flush_waiters()
        # sweep often enough for short retentions, at most every 30 s
        if time.time() - self.last_sweep > min(30.0, max(0.5, self.config.retention_hours * 3600 / 4)):
            self.last_sweep = time.time()
            cutoff = time.time() - self.config.retention_hours * 3600
            for job_id in self.store.expire(cutoff):
                self._clean_job_dir(job_id)
                log.info("job expired", extra={"job_id": job_id})
            for photo in self.photos_dir.glob("*.img"):
                if photo.stat().st_mtime < cutoff:
                    photo.unlink(missing_ok=True)


def check_photo(data: bytes) -> None:
    """A photo must be a JPEG or PNG within the size limits."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "PNG"):
                raise P.ProtocolError("bad_request", f"the photo is {img.format}; send a JPEG or PNG", "photo")
            if max(img.size) > P.MAX_PHOTO_SIDE_PX:
                raise P.ProtocolError("too_large", f"the photo is {img.size[0]}x{img.size[1]} px; the limit is "
                                      f"{P.MAX_PHOTO_SIDE_PX} px a side", "photo")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise P.ProtocolError("bad_request", f"the photo is not a readable image: {exc}", "photo") from None


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
