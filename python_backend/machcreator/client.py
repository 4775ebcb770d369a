"""The client of ``mach serve``: for scripts (blocking calls) and editors (a ``poll()`` that never blocks).

Needs only pyzmq and the standard library, so the Unreal editor's Python can use it::

    from machcreator.client import Client
    Client().generate_and_fetch("an old fisherman with a grey beard", "out/fisherman")

Reliability is the zguide's **Lazy Pirate** pattern: every request waits at most ``timeout_s``;
on silence the socket is closed and reopened (a fresh connection) and every unanswered request
is sent again, up to ``retries`` times, before the backend counts as unreachable. Sending again
is safe because every request is idempotent: generate, edit and batch carry a token, so the
server returns the job it already made instead of a second one.

Editors call :meth:`Client.poll` from a tick: it sends nothing that blocks, reads what has
arrived, resends what timed out, and returns :class:`Update` s (job events of watched jobs,
replies to :meth:`Client.send`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from machcreator.core.files import relative_member, replace_file, sha256_file
from machcreator.service import protocol as P
from machcreator.service.identity import user_token

DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555"
#: ``events`` long polls wait this long on the server
WATCH_WAIT_MS = 2000
#: outstanding chunk requests while downloading a file (credit-based flow, zguide chapter 7)
FETCH_WINDOW = 4


class BackendError(Exception):
    """The base of everything this module raises."""


class BackendUnavailable(BackendError):
    """No reply after every retry: the server is down, unreachable, or rejects this client's key."""


class RequestFailed(BackendError):
    """The server answered with an error; ``code`` is one of ``protocol.ERROR_CODES``."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.field = code, message, field


class JobFailed(BackendError):
    """A job ended failed, cancelled or expired instead of done."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(f"job {job['job_id']} {job['state']}" + (f": {job['error']}" if job.get("error") else ""))
        self.job = job


class ChecksumError(BackendError):
    """A downloaded file does not match its sha256 (it is deleted)."""


@dataclass
class Update:
    """What :meth:`Client.poll` hands back.

    ``kind``: ``"event"`` (a job event of a watched job, in ``data``), ``"reply"`` (the reply
    header to a :meth:`Client.send`, ``blob`` with it), or ``"error"`` (that request failed:
    ``data`` has ``code`` and ``message``; ``code == "unreachable"`` after every retry).
    """

    kind: str
    request_id: str | None
    data: dict[str, Any]
    job_id: str | None = None
    blob: bytes | None = None


@dataclass
class _Pending:
    header: dict[str, Any]
    blob: bytes | None
    timeout_s: float
    sent: float
    tries: int = 1
    watch: str | None = None  # the job whose events this request asks for


@dataclass
class _Watch:
    after: int = 0
    request_id: str | None = None
    next_try: float = 0.0
    final: bool = False


@dataclass
class Client:
    """A connection to one server. Not thread-safe: one client per thread.

    Args:
        endpoint: the server's address (``tcp://127.0.0.1:5555``).
        timeout_s: how long one try of one request waits for its reply.
        retries: tries per request before :class:`BackendUnavailable`.
        name: a label for this client in the server's logs (who it is comes from ``token`` or its key).
        server_key: the server's public key file (``server.key``): turns CurveZMQ on.
        client_key: this client's secret key file (``clients/NAME.key_secret``).
        token: on loopback without keys, the secret the server derives this client's identity from
            (its jobs are its own); default: this OS user's token file (``service.identity``).
    """

    endpoint: str = DEFAULT_ENDPOINT
    timeout_s: float = 3.0
    retries: int = 3
    name: str | None = None
    server_key: str | os.PathLike | None = None
    client_key: str | os.PathLike | None = None
    token: str | None = None
    _pending: dict[str, _Pending] = field(default_factory=dict, init=False, repr=False)
    _replies: dict[str, Update] = field(default_factory=dict, init=False, repr=False)
    _watches: dict[str, _Watch] = field(default_factory=dict, init=False, repr=False)
    _events: list[Update] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._ctx = zmq.Context.instance()
        self._curve = None
        if (self.server_key is None) != (self.client_key is None):
            raise BackendError("CurveZMQ needs both server_key (server.key) and client_key (NAME.key_secret)")
        if self.server_key is not None:
            from zmq.auth import load_certificate

            public, secret = load_certificate(self.client_key)
            server_public, _ = load_certificate(self.server_key)
            if not secret:
                raise BackendError(f"{self.client_key} holds no secret key (use the .key_secret file)")
            self._curve = (public, secret, server_public)
            self.token = None  # the key is the identity
        elif self.token is None:
            self.token = user_token()
        self._sock: zmq.Socket | None = None
        self._connect()

    # -- the socket ---------------------------------------------------------------------------
    def _connect(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IPV6, "[" in self.endpoint)  # tcp://[::1]:5555
        if self._curve is not None:
            sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self._curve
        sock.connect(self.endpoint)
        self._sock = sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- asynchronous core ----------------------------------------------------------------------
    def send(self, type: str, blob: bytes | None = None, *, timeout_s: float | None = None, **fields: Any) -> str:
        """Send a request now and return its id; its reply comes from :meth:`poll` (or :meth:`result`)."""
        request_id = uuid.uuid4().hex
        header = {"type": type, "id": request_id} | ({"client": self.name} if self.name else {})
        header |= {"auth": self.token} if self.token else {}
        header |= {k: v for k, v in fields.items() if v is not None}
        self._pending[request_id] = _Pending(header, blob, timeout_s or self.timeout_s, time.monotonic())
        self._transmit(header, blob)
        return request_id

    def _transmit(self, header: dict[str, Any], blob: bytes | None) -> None:
        try:
            self._sock.send_multipart(P.encode(header, blob), zmq.NOBLOCK)
        except zmq.Again:
            pass  # the send queue is full: the retry timer resends it

    def _pump(self, wait_ms: int) -> None:
        """Read whatever arrives within ``wait_ms``, then resend (Lazy Pirate) what timed out."""
        if self._sock.poll(wait_ms):
            while True:
                try:
                    frames = self._sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    header, blob = P.decode(frames, P.MAX_REPLY_HEADER_BYTES)
                except P.ProtocolError:
                    continue  # not from a MachCreator server: ignore
                pending = self._pending.pop(header.get("re") or "", None)
                if pending is None:
                    continue  # a reply to a request already answered or given up
                self._on_reply(header["re"], pending, header, blob)
        now = time.monotonic()
        late = [(rid, p) for rid, p in self._pending.items() if now - p.sent > p.timeout_s]
        if not late:
            return
        self._connect()  # a fresh socket: nothing of the silent connection is trusted
        for rid, p in list(self._pending.items()):
            if p.tries >= self.retries and now - p.sent > p.timeout_s:
                del self._pending[rid]
                self._on_reply(rid, p, {"type": "error", "re": rid, "ok": False, "error": {
                    "code": "unreachable", "message": f"no reply from {self.endpoint} after {p.tries} tries of "
                                                      f"{p.timeout_s:g} s (is `mach serve` running; is the key right?)"}}, None)
            else:
                p.tries += 1 if now - p.sent > p.timeout_s else 0
                p.sent = now
                self._transmit(p.header, p.blob)

    def _on_reply(self, rid: str, pending: _Pending, header: dict[str, Any], blob: bytes | None) -> None:
        ok = header.get("ok") is True
        data = header if ok else dict(header.get("error") or {"code": "internal", "message": "malformed reply"})
        update = Update("reply" if ok else "error", rid, data, header.get("job_id"), blob)
        if pending.watch is not None:
            self._on_watch_reply(pending.watch, update)
        else:
            self._replies[rid] = update

    def poll(self) -> list[Update]:
        """Never blocks: new events of watched jobs (in order), then replies to :meth:`send`."""
        self._arm_watches()
        self._pump(0)
        out = self._events + list(self._replies.values())
        self._events.clear()
        self._replies.clear()
        return out

    # -- watching jobs (editors) ----------------------------------------------------------------
    def watch(self, job_id: str, after: int = 0) -> None:
        """Have :meth:`poll` report ``job_id``'s events after ``after`` until it ends."""
        self._watches.setdefault(job_id, _Watch(after=after))

    def unwatch(self, job_id: str) -> None:
        self._watches.pop(job_id, None)

    def _arm_watches(self) -> None:
        now = time.monotonic()
        for job_id, w in self._watches.items():
            if w.request_id is None and not w.final and now >= w.next_try:
                rid = self.send("events", job_id=job_id, after=w.after, wait_ms=WATCH_WAIT_MS,
                                timeout_s=self.timeout_s + WATCH_WAIT_MS / 1000)
                self._pending[rid].watch = job_id
                w.request_id = rid

    def _on_watch_reply(self, job_id: str, update: Update) -> None:
        w = self._watches.get(job_id)
        if w is None:
            return
        w.request_id = None
        if update.kind == "error":
            w.next_try = time.monotonic() + 1.0  # keep watching; the backend may come back
            self._events.append(Update("error", None, update.data, job_id))
            return
        for event in update.data.get("events", []):
            w.after = max(w.after, event["seq"])
            self._events.append(Update("event", None, event, job_id))
        if update.data.get("state") in P.FINAL_STATES and not update.data.get("events"):
            w.final = True
            self._watches.pop(job_id, None)

    # -- blocking calls (scripts) -----------------------------------------------------------------
    def call(self, type: str, blob: bytes | None = None, *, timeout_s: float | None = None,
             **fields: Any) -> dict[str, Any]:
        """Send and wait for the reply header (the binary frame, if any, under ``"_blob"``)."""
        rid = self.send(type, blob, timeout_s=timeout_s, **fields)
        return self.result(rid)

    def result(self, request_id: str) -> dict[str, Any]:
        """Wait for the reply to :meth:`send`; raises :class:`RequestFailed` or :class:`BackendUnavailable`."""
        while request_id not in self._replies:
            if request_id not in self._pending:
                raise BackendError(f"no request {request_id} is outstanding")
            self._pump(50)
        update = self._replies.pop(request_id)
        if update.kind == "error":
            if update.data.get("code") == "unreachable":
                raise BackendUnavailable(update.data["message"])
            raise RequestFailed(update.data.get("code", "internal"), update.data.get("message", ""), update.data.get("field"))
        return update.data | ({"_blob": update.blob} if update.blob is not None else {})

    def hello(self) -> dict[str, Any]:
        return self.call("hello")

    def generate(self, prompt: str = "", *, seed: int = 0, overrides: Iterable[str] = (), photo: bytes | None = None,
                 token: str | None = None, **options: Any) -> str:
        """Queue a character; returns its job id. ``options``: texture_size, preview_size, hair_detail, parser,
        portrait."""
        if photo is not None and len(photo) > P.MAX_PHOTO_BYTES:  # the server's socket would drop us
            raise RequestFailed("too_large", f"the photo is {len(photo)} bytes; the limit is {P.MAX_PHOTO_BYTES}", "photo")
        reply = self.call("generate", photo, token=token or uuid.uuid4().hex, prompt=prompt, seed=seed,
                          overrides=list(overrides), options=options or None, photo=True if photo is not None else None)
        return reply["job_id"]

    def edit(self, job_id: str, overrides: Iterable[str], *, seed: int | None = None, token: str | None = None) -> str:
        """A new job from finished ``job_id`` with changed attributes; returns its id."""
        return self.call("edit", token=token or uuid.uuid4().hex, job_id=job_id, overrides=list(overrides),
                         seed=seed)["job_id"]

    def batch(self, prompts: list[str] | None = None, *, count: int | None = None, prompt: str = "", seed: int = 0,
              diversity: dict[str, Any] | None = None, overrides: Iterable[str] = (), token: str | None = None,
              **options: Any) -> tuple[str, list[str]]:
        """N prompts, or ``count`` seeded random characters; returns ``(batch_id, job_ids)``."""
        random = None if count is None else {"count": count, "prompt": prompt, "seed": seed,
                                             "diversity": diversity or {}}
        reply = self.call("batch", token=token or uuid.uuid4().hex, prompts=prompts, random=random, seed=seed,
                          overrides=list(overrides), options=options or None)
        return reply["batch_id"], reply["job_ids"]

    def status(self, job_id: str | None = None, *, batch_id: str | None = None) -> dict[str, Any]:
        """A job (``["job"]``), a batch (``["batch"]``) or the server's queue and workers (``["server"]``)."""
        return self.call("status", job_id=job_id, batch_id=batch_id)

    def jobs(self, state: str | None = None, *, mine: bool = True, limit: int = 100) -> list[dict[str, Any]]:
        return self.call("jobs", state=state, mine=mine, limit=limit)["jobs"]

    def cancel(self, job_id: str) -> str:
        """Cancel a job; returns its state (``cancelling`` while the worker finishes the stage it is in)."""
        return self.call("cancel", job_id=job_id)["state"]

    def events(self, job_id: str, after: int = 0, wait_ms: int = 0) -> dict[str, Any]:
        return self.call("events", job_id=job_id, after=after, wait_ms=wait_ms,
                         timeout_s=self.timeout_s + wait_ms / 1000)

    def shutdown(self) -> None:
        self.call("shutdown")

    def wait(self, job_id: str, *, on_event: Callable[[dict[str, Any]], None] | None = None,
             timeout_s: float | None = None) -> dict[str, Any]:
        """Block until the job ends; ``on_event`` sees each event once. Returns the job's status."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        after = 0
        while True:
            reply = self.events(job_id, after=after, wait_ms=WATCH_WAIT_MS)
            for event in reply["events"]:
                after = event["seq"]
                if on_event is not None:
                    on_event(event)
            if reply["state"] in P.FINAL_STATES and not reply["events"]:
                return self.status(job_id)["job"]
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {reply['state']} after {timeout_s} s")

    def fetch(self, job_id: str, dest: str | os.PathLike, *, chunk_bytes: int = P.DEFAULT_CHUNK_BYTES,
              on_progress: Callable[[int, int], None] | None = None) -> Path:
        """Download a done job's package into ``dest``; resumes ``*.part`` files, checks every sha256.

        ``on_progress(bytes_done, bytes_total)`` is told after each chunk.
        """
        files = self.call("result", job_id=job_id)["files"]
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        total = sum(f["bytes"] for f in files)
        done = 0
        for f in files:
            target = _inside(dest, f["path"])
            if target.is_file() and target.stat().st_size == f["bytes"] and sha256_file(target) == f["sha256"]:
                done += f["bytes"]
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            self._download(job_id, f, part, chunk_bytes, lambda n, base=done: on_progress and on_progress(base + n, total))
            if sha256_file(part) != f["sha256"]:
                part.unlink()
                raise ChecksumError(f"{f['path']}: the download does not match its sha256; fetch again")
            replace_file(part, target)  # retried while Windows says the old file is in use
            done += f["bytes"]
        if on_progress:
            on_progress(total, total)
        return dest

    def _download(self, job_id: str, f: dict[str, Any], part: Path, chunk_bytes: int,
                  on_progress: Callable[[int], Any]) -> None:
        size = f["bytes"]
        offset = part.stat().st_size if part.is_file() else 0  # resume: a .part is always a prefix
        if offset > size:
            part.unlink()
            offset = 0
        ahead: dict[int, str] = {}  # offset -> request id of the chunk there
        next_offset = offset
        with open(part, "ab") as out:
            while offset < size:
                while len(ahead) < FETCH_WINDOW and next_offset < size:
                    ahead[next_offset] = self.send("fetch", job_id=job_id, path=f["path"], offset=next_offset,
                                                   length=min(chunk_bytes, size - next_offset))
                    next_offset += chunk_bytes
                # replies may arrive in any order; write strictly in order so a .part is always a prefix
                chunk = self.result(ahead.pop(offset))["_blob"]
                if len(chunk) != min(chunk_bytes, size - offset):
                    raise BackendError(f"{f['path']}: the server sent {len(chunk)} bytes at {offset}; the file changed?")
                out.write(chunk)
                offset += len(chunk)
                on_progress(offset)

    def generate_and_fetch(self, prompt: str, dest: str | os.PathLike, *,
                           on_event: Callable[[dict[str, Any]], None] | None = None, **kwargs: Any) -> Path:
        """Script convenience: generate, wait, download. Raises :class:`JobFailed` if it does not finish."""
        job_id = self.generate(prompt, **kwargs)
        job = self.wait(job_id, on_event=on_event)
        if job["state"] != "done":
            raise JobFailed(job)
        return self.fetch(job_id, dest)


def _inside(root: Path, rel: str) -> Path:
    """``root/rel`` for a path the server sent, refusing one that would leave ``root``."""
    p = relative_member(rel)
    if p is None:
        raise BackendError(f"the server sent a file path that escapes the folder: {rel!r}")
    return root / p
