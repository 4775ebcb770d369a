"""The wire format of ``mach serve`` (docs/protocol.md): frames, limits, error codes.

Standard library only, so the client (and the Unreal editor, which has no pydantic) can use it.

Every message, both ways, is 2 or 3 ZeroMQ frames::

    [b"MACH/1", header (UTF-8 JSON object), optional binary frame (a photo; a file chunk)]

A client talks through a DEALER socket to the server's ROUTER, so replies may come in any order:
each request header carries an ``id`` and its reply echoes it as ``re``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

#: first frame of every message; the number is the major protocol version
TAG = b"MACH/1"
PROTOCOL_VERSION = "1.0"

# -- limits: every one is checked before any work, and a breach gets a specific error ----------
MAX_FRAMES = 3
MAX_HEADER_BYTES = 64 * 1024
#: a reply's header may be larger: a list of 500 jobs, 1000 events (a client reads it with this bound)
MAX_REPLY_HEADER_BYTES = 8 * 1024 * 1024
MAX_PHOTO_BYTES = 16 * 1024 * 1024
MAX_PHOTO_SIDE_PX = 8192
#: one frame's limit, set on the server's socket too (libzmq drops the peer beyond it)
MAX_FRAME_BYTES = MAX_PHOTO_BYTES + MAX_HEADER_BYTES
MAX_CHUNK_BYTES = 8 * 1024 * 1024
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
MAX_BATCH_JOBS = 100
MAX_WAIT_MS = 10_000
MAX_EVENTS_PER_REPLY = 1000
MAX_LIST_JOBS = 500
MAX_OVERRIDES = 64
#: how deep a header's JSON may nest (every real request is at most 4 deep)
MAX_JSON_DEPTH = 32
#: the largest event number a client may name (``events.after``); SQLite integers are 64-bit
MAX_SEQ = 2**31 - 1
#: queued + running jobs one client may have
DEFAULT_MAX_JOBS_PER_CLIENT = 64
#: queued jobs of all clients together (a bound however many identities a loopback user makes)
DEFAULT_MAX_QUEUED_JOBS = 1000

# -- time limits: every job ends (hello's capabilities.limits has the server's own values) ------
#: a job running longer than this is stopped (its worker killed), then retried or failed
DEFAULT_JOB_TIMEOUT_S = 1800.0
#: one stage running longer than this is stopped the same way
DEFAULT_STAGE_TIMEOUT_S = 600.0
#: a worker sends a heartbeat this often, from a thread of its own, even mid-stage
HEARTBEAT_INTERVAL_S = 1.0
#: a worker not heard from for this long is hung (a deadlock, SIGSTOP): it is killed
DEFAULT_HEARTBEAT_TIMEOUT_S = 20.0
#: a cancelled job stops at its next stage boundary; past this grace its worker is killed
DEFAULT_CANCEL_GRACE_S = 15.0

#: request ids, idempotency tokens, client names: short, printable, never a path
TOKEN_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
#: ids the server makes: ``j_`` (job) or ``b_`` (batch) and 16 hex digits
JOB_ID_PATTERN = r"^j_[0-9a-f]{16}$"
BATCH_ID_PATTERN = r"^b_[0-9a-f]{16}$"

REQUEST_TYPES = ("hello", "generate", "edit", "batch", "status", "jobs", "events", "cancel", "result", "fetch",
                 "shutdown")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "expired")
FINAL_STATES = ("done", "failed", "cancelled", "expired")
EVENT_KINDS = ("queued", "started", "stage_started", "stage_progress", "stage_finished", "retrying", "done", "failed",
               "cancelled")

#: error codes a reply may carry (``error.code``)
ERROR_CODES = {
    "bad_frames": "wrong tag or number of frames",
    "bad_json": "the header is not a UTF-8 JSON object",
    "too_large": "a frame, the header, a photo or a batch is over its limit",
    "bad_request": "the header does not match the schema of its type (error.field says where)",
    "bad_prompt": "the prompt or an attribute override is not acceptable",
    "not_found": "no such job, batch or file (or it expired)",
    "conflict": "the job is not in a state that allows this (e.g. fetching a running job)",
    "limit": "too many queued or running jobs for this client",
    "unsupported": "the server does not offer this (see hello's capabilities)",
    "shutting_down": "the server is stopping and takes no new jobs",
    "forbidden": "only an admin may do this (shutdown, other clients' jobs)",
    "internal": "a bug in the server; the message says what",
}


class ProtocolError(Exception):
    """A message the other side must not have sent; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message} | ({"field": self.field} if self.field else {})


def encode(header: dict[str, Any], blob: bytes | memoryview | None = None) -> list[bytes | memoryview]:
    """The frames of one message: tag, compact JSON header, and the binary frame if any."""
    frames: list[bytes | memoryview] = [TAG, json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()]
    if blob is not None:
        frames.append(blob)
    return frames


def decode(frames: list[bytes], max_header_bytes: int = MAX_HEADER_BYTES) -> tuple[dict[str, Any], bytes | None]:
    """``(header, blob or None)`` of a received message, or :class:`ProtocolError`; a client
    reading a reply passes :data:`MAX_REPLY_HEADER_BYTES`."""
    if not 2 <= len(frames) <= MAX_FRAMES:
        raise ProtocolError("bad_frames", f"a message has 2 or {MAX_FRAMES} frames, got {len(frames)}")
    if bytes(frames[0]) != TAG:
        raise ProtocolError("bad_frames", f"the first frame must be {TAG.decode()}, got {bytes(frames[0])[:16]!r}")
    raw = frames[1]
    if len(raw) > max_header_bytes:
        raise ProtocolError("too_large", f"the header is {len(raw)} bytes; the limit is {max_header_bytes}")
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("bad_json", f"the header is not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("bad_json", f"the header nests deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(header, dict):
        raise ProtocolError("bad_json", f"the header must be a JSON object, got {type(header).__name__}")
    if json_depth(header) > MAX_JSON_DEPTH:
        raise ProtocolError("bad_json", f"the header nests deeper than {MAX_JSON_DEPTH} levels")
    blob = bytes(frames[2]) if len(frames) == 3 else None
    return header, blob


def json_depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (v.values() if isinstance(v, dict) else v))
    return deepest


def request_id_of(header: Any) -> str | None:
    """The header's ``id`` if it is a valid one: an error reply echoes it only then."""
    rid = header.get("id") if isinstance(header, dict) else None
    return rid if isinstance(rid, str) and re.fullmatch(TOKEN_PATTERN, rid) else None


# -- the server and its workers --------------------------------------------------------------------
# One JSON frame each way on the server's private worker socket. A worker has two connections:
# ``jobs`` (its routing id) for runs and their reports, and ``control`` (routing id + ".ctl"),
# served by a thread of its own, for heartbeats, cancels and stop: they get through mid-stage.

@dataclass(frozen=True)
class WorkerReady:
    """worker -> server (jobs): the pipeline is warm; send a job."""

    pid: int
    rss_mb: float


@dataclass(frozen=True)
class WorkerHeartbeat:
    """worker -> server (control), every :data:`HEARTBEAT_INTERVAL_S`, from its first second."""

    pid: int


@dataclass(frozen=True)
class WorkerEvent:
    """worker -> server (jobs): one progress event of the running job (``kind``, ``stage``...)."""

    job_id: str
    event: dict


@dataclass(frozen=True)
class WorkerFinished:
    """worker -> server (jobs): the job ended ``done``, ``failed`` or ``cancelled``."""

    job_id: str
    state: str
    reason: str | None
    rss_mb: float


@dataclass(frozen=True)
class RunJob:
    """server -> worker (jobs): make the character of ``request`` (a GenerateRequest) into ``out``."""

    job_id: str
    request: dict
    out: str


@dataclass(frozen=True)
class CancelJob:
    """server -> worker (control): stop ``job_id`` at its next stage boundary."""

    job_id: str


@dataclass(frozen=True)
class StopWorker:
    """server -> worker (control): end the running job, if any, and exit."""


WORKER_MESSAGES: dict[str, type] = {
    "ready": WorkerReady, "heartbeat": WorkerHeartbeat, "event": WorkerEvent, "finished": WorkerFinished,
    "run": RunJob, "cancel": CancelJob, "stop": StopWorker}
_WORKER_TYPES = {cls: name for name, cls in WORKER_MESSAGES.items()}


def pack_worker(message: Any) -> bytes:
    """The frame of one worker message."""
    return json.dumps({"type": _WORKER_TYPES[type(message)]} | asdict(message)).encode()


def unpack_worker(frame: bytes) -> Any:
    """The typed worker message of ``frame``, or :class:`ProtocolError` for anything else."""
    try:
        body = json.loads(frame)
        cls = WORKER_MESSAGES[body.pop("type")]
        names = {f.name for f in fields(cls)}
        if set(body) != names:
            raise ValueError(f"fields {sorted(body)} are not {sorted(names)}")
        return cls(**body)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError("bad_frames", f"not a worker message: {exc}") from None
