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
from typing import Any

#: first frame of every message; the number is the major protocol version
TAG = b"MACH/1"
PROTOCOL_VERSION = "1.0"

# -- limits: every one is checked before any work, and a breach gets a specific error ----------
MAX_FRAMES = 3
MAX_HEADER_BYTES = 64 * 1024
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
#: queued + running jobs one client may have
DEFAULT_MAX_JOBS_PER_CLIENT = 64

#: request ids, idempotency tokens, client names: short, printable, never a path
TOKEN_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
#: ids the server makes: ``j_`` (job) or ``b_`` (batch) and 16 hex digits
JOB_ID_PATTERN = r"^j_[0-9a-f]{16}$"
BATCH_ID_PATTERN = r"^b_[0-9a-f]{16}$"

REQUEST_TYPES = ("hello", "generate", "edit", "batch", "status", "jobs", "events", "cancel", "result", "fetch",
                 "shutdown")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled", "expired")
FINAL_STATES = ("done", "failed", "cancelled", "expired")
EVENT_KINDS = ("queued", "started", "stage_started", "stage_finished", "retrying", "done", "failed", "cancelled")

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


def decode(frames: list[bytes]) -> tuple[dict[str, Any], bytes | None]:
    """``(header, blob or None)`` of a received message, or :class:`ProtocolError`."""
    if not 2 <= len(frames) <= MAX_FRAMES:
        raise ProtocolError("bad_frames", f"a message has 2 or {MAX_FRAMES} frames, got {len(frames)}")
    if bytes(frames[0]) != TAG:
        raise ProtocolError("bad_frames", f"the first frame must be {TAG.decode()}, got {bytes(frames[0])[:16]!r}")
    raw = frames[1]
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError("too_large", f"the header is {len(raw)} bytes; the limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("bad_json", f"the header is not UTF-8 JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("bad_json", f"the header must be a JSON object, got {type(header).__name__}")
    blob = bytes(frames[2]) if len(frames) == 3 else None
    return header, blob


def request_id_of(header: Any) -> str | None:
    """The header's ``id`` if it is a valid one: an error reply echoes it only then."""
    rid = header.get("id") if isinstance(header, dict) else None
    return rid if isinstance(rid, str) and re.fullmatch(TOKEN_PATTERN, rid) else None
