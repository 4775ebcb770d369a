"""What the server does for each request type: the dispatch table :data:`OPERATIONS`.

Every handler gets the typed request (service/messages.py), the binary frame if its operation
takes one, and the :class:`~machcreator.service.identity.ClientIdentity` the router derived. It
returns the reply's fields (with a binary frame: a ``(fields, bytes)`` pair), or ``None`` for a
long poll answered later. Jobs and batches belong to the identity that made them: another client
is told ``not_found``, as if they did not exist; an admin sees everything.

generate, edit and batch check the whole request (prompt, overrides, parser, photo, limits)
before anything is stored or queued.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from machcreator import __version__
from machcreator.service import protocol as P
from machcreator.service.config import ServerConfig
from machcreator.service.identity import ClientIdentity
from machcreator.service.jobfiles import JobFiles
from machcreator.service.pool import WorkerPool
from machcreator.service.store import Job, JobStore
from machcreator.service.waiters import Waiter

if TYPE_CHECKING:
    from machcreator.core.models import ModelsConfig

log = logging.getLogger("machcreator.service")

Reply = dict[str, Any] | tuple[dict[str, Any], bytes] | None


def check_photo(data: bytes) -> None:
    """A photo must be a JPEG or PNG within the size limits."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > P.MAX_PHOTO_BYTES:
        raise P.ProtocolError("too_large", f"the photo is {len(data)} bytes; the limit is {P.MAX_PHOTO_BYTES}", "photo")
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


class Broker(Protocol):
    """What the handlers use of the server that assembles them (:class:`~machcreator.service.server.Server`)."""

    config: ServerConfig
    #: the workers' models config, and what ``check_models`` found of each model (not loaded)
    models: ModelsConfig
    model_checks: list[dict[str, Any]]
    store: JobStore
    files: JobFiles
    pool: WorkerPool
    started: float
    stopping: bool

    @property
    def endpoint(self) -> str: ...

    @property
    def curve(self) -> bool: ...

    def job_changed(self, job_id: str) -> None: ...

    def wait(self, waiter: Waiter) -> None: ...


class Operations:
    """The handlers, over the server's parts (store, files, pool, waiters, config)."""

    def __init__(self, server: Broker) -> None:
        self.server = server
        self.store = server.store

    # -- ownership ------------------------------------------------------------------------------
    def job(self, job_id: str, who: ClientIdentity) -> Job:
        job = self.store.get(job_id)
        if job is None or not who.may_see(job.client):
            raise P.ProtocolError("not_found", f"no job {job_id}", "job_id")
        return job

    def done_job(self, job_id: str, who: ClientIdentity) -> Job:
        job = self.job(job_id, who)
        if job.state != "done":
            raise P.ProtocolError("conflict", f"job {job_id} is {job.state}"
                                  + (f": {job.error}" if job.error else "") + "; only a done job has files")
        return job

    # -- creating jobs ----------------------------------------------------------------------------
    def request(self, fields: dict[str, Any], random: bool = False) -> dict[str, Any]:
        """A checked ``GenerateRequest`` (as stored) from its ``fields``, with this server's options of the
        parser they name; only a random character may come without prompt, overrides or photo."""
        from pydantic import ValidationError

        from machcreator.pipeline.request import BAD_PROMPT, GenerateRequest, refusal

        parsers, parser = self.server.config.parsers, fields["parser"]
        if parser not in parsers:
            raise P.ProtocolError("unsupported", f"parser {parser!r} is not configured on this server "
                                  f"(available: {', '.join(sorted(parsers))})", "options.parser")
        if fields.get("portrait") and not self.server.models.portrait_configured:
            raise P.ProtocolError("unsupported", "this server has no Stable Diffusion weights to paint a portrait "
                                  "with (hello's capabilities.portrait is false)", "options.portrait")
        fields = fields | {"parser_options": parsers[parser]}
        try:
            request = GenerateRequest.model_validate(fields) if random else GenerateRequest.from_user(**fields)
        except ValidationError as exc:
            why = refusal(exc)
            raise P.ProtocolError("bad_prompt" if why.kind == BAD_PROMPT else "bad_request", why.message,
                                  why.field) from None
        return request.model_dump(mode="json")

    def admit(self, who: ClientIdentity, n: int) -> None:
        config = self.server.config
        if self.server.stopping:
            raise P.ProtocolError("shutting_down", "the server is shutting down and takes no new jobs")
        active = self.store.active_count(who.id)
        if active + n > config.max_jobs_per_client:
            raise P.ProtocolError("limit", f"this client has {active} queued or running jobs; the limit is "
                                  f"{config.max_jobs_per_client} (asked for {n} more)")
        queued = self.store.queued_count()
        if queued + n > config.max_queued_jobs:
            raise P.ProtocolError("limit", f"the server's queue holds {queued} jobs; its limit is "
                                  f"{config.max_queued_jobs} (asked for {n} more): try again later")

    def generate(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        if bool(req.photo) != (blob is not None):
            raise P.ProtocolError("bad_frames", "`photo: true` goes with exactly one binary frame (the image)"
                                  if req.photo else "a binary frame came without `photo: true`", "photo")
        if (job := self.store.by_token(who.id, req.token)) is not None:
            return {"job_id": job.job_id, "created": False, "state": job.state}
        files = self.server.files
        if blob is not None:
            check_photo(blob)
        # the photo's path is its content hash: known before it is written, written once admitted
        photo = str(files.photo_path(blob)) if blob is not None else None
        request = self.request(req.options.model_dump() | {"prompt": req.prompt, "seed": req.seed,
                                                           "overrides": list(req.overrides), "photo": photo})
        self.admit(who, 1)
        if blob is not None:
            files.store_photo(blob)
        job = self.store.add_job(who.id, request, token=req.token)
        log.info("job queued", extra={"job_id": job.job_id, "client": who.label})
        self.server.pool.dispatch()
        return {"job_id": job.job_id, "created": True, "state": self.store.get(job.job_id).state}

    def edit(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        if (job := self.store.by_token(who.id, req.token)) is not None:
            return {"job_id": job.job_id, "created": False, "state": job.state, "parent": job.parent}
        parent = self.job(req.job_id, who)
        if parent.state != "done":
            raise P.ProtocolError("conflict", f"job {parent.job_id} is {parent.state}; only a finished job can be edited")
        base = parent.request
        photo = base.get("photo")
        if photo is not None:
            if not Path(photo).is_file():
                raise P.ProtocolError("not_found", f"the photo of job {parent.job_id} has expired; send it again "
                                      "with generate", "job_id")
        request = self.request(base | {"seed": base["seed"] if req.seed is None else req.seed,
                                       "overrides": list(base["overrides"]) + list(req.overrides)})
        self.admit(who, 1)
        if photo is not None:
            Path(photo).touch()  # in use again: the sweep keeps it
        job = self.store.add_job(who.id, request, token=req.token, parent=parent.job_id)
        log.info("edit queued", extra={"job_id": job.job_id, "parent": parent.job_id, "client": who.label})
        self.server.pool.dispatch()
        return {"job_id": job.job_id, "created": True, "state": self.store.get(job.job_id).state,
                "parent": parent.job_id}

    def batch(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        import numpy as np

        if (batch_id := self.store.batch_by_token(who.id, req.token)) is not None:
            return {"batch_id": batch_id, "job_ids": [j.job_id for j in self.store.batch_jobs(batch_id)],
                    "created": False}
        if (req.prompts is None) == (req.random is None):
            raise P.ProtocolError("bad_request", "a batch has either `prompts` or `random`", "prompts")
        requests, options = [], req.options.model_dump()
        if req.prompts is not None:
            for i, prompt in enumerate(req.prompts):
                try:
                    requests.append(self.request(options | {"prompt": prompt, "seed": req.seed + i,
                                                            "overrides": list(req.overrides)}))
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
                requests.append(self.request(options | {"prompt": r.prompt, "seed": seed,
                                                        "overrides": drawn + list(req.overrides)}, random=True))
        self.admit(who, len(requests))
        batch_id, job_ids = self.store.add_batch(who.id, req.token, requests)
        log.info("batch queued", extra={"batch_id": batch_id, "jobs": len(job_ids), "client": who.label})
        self.server.pool.dispatch()
        return {"batch_id": batch_id, "job_ids": job_ids, "created": True}

    # -- reading -------------------------------------------------------------------------------
    def hello(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        from machcreator.core.hair_styles import STYLES
        from machcreator.pipeline import STAGE_NAMES

        config, pool = self.server.config, self.server.pool.summary()
        models = self.server.models
        return {"protocol": P.PROTOCOL_VERSION, "server": f"MachCreator {__version__}", "client": who.label,
                "admin": who.admin,
                "capabilities": {
                    "parsers": sorted(config.parsers), "hair_styles": sorted(STYLES), "assets": [],
                    "photo": True, "stages": list(STAGE_NAMES), "curve": self.server.curve,
                    "portrait": models.portrait_configured, "models": self.server.model_checks,
                    "workers": pool["alive"], "pool": pool,
                    "limits": {"max_frame_bytes": P.MAX_FRAME_BYTES, "max_header_bytes": P.MAX_HEADER_BYTES,
                               "max_photo_bytes": P.MAX_PHOTO_BYTES, "max_chunk_bytes": P.MAX_CHUNK_BYTES,
                               "max_batch_jobs": P.MAX_BATCH_JOBS, "max_jobs_per_client": config.max_jobs_per_client,
                               "max_queued_jobs": config.max_queued_jobs, "max_wait_ms": P.MAX_WAIT_MS,
                               "job_timeout_s": config.job_timeout_s, "stage_timeout_s": config.stage_timeout_s,
                               "heartbeat_timeout_s": config.heartbeat_timeout_s,
                               "cancel_grace_s": config.cancel_grace_s, "max_attempts": config.max_attempts}}}

    def status(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        import psutil

        if req.job_id:
            job = self.job(req.job_id, who)
            out = {"job": job.public()}
            if job.state == "queued":
                out["job"]["queue_position"] = next(
                    (i for i, q in enumerate(self.store.queued()) if q.job_id == job.job_id), None)
            return out
        if req.batch_id:
            owner = self.store.batch_owner(req.batch_id)
            if owner is None or not who.may_see(owner):
                raise P.ProtocolError("not_found", f"no batch {req.batch_id}", "batch_id")
            jobs = self.store.batch_jobs(req.batch_id)
            counts: dict[str, int] = {}
            for j in jobs:
                counts[j.state] = counts.get(j.state, 0) + 1
            return {"batch": {"batch_id": req.batch_id, "counts": counts, "jobs": [j.public() for j in jobs]}}
        server = self.server
        visible = self._visible(who)
        return {"server": {
            "version": __version__, "protocol": P.PROTOCOL_VERSION, "endpoint": server.endpoint,
            "uptime_s": round(time.time() - server.started, 1),
            "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
            "counts": self.store.counts(),  # every client's, as numbers only
            "queue": [j.job_id for j in self.store.queued(limit=10_000) if who.may_see(j.client)][:50],
            "workers": server.pool.describe(visible), "pool": server.pool.summary()}}

    def _visible(self, who: ClientIdentity) -> Callable[[str], bool]:
        if who.admin:
            return lambda job_id: True
        return lambda job_id: (job := self.store.get(job_id)) is not None and job.client == who.id

    def jobs(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        if not req.mine and not who.admin:
            raise P.ProtocolError("forbidden", "only an admin may list other clients' jobs (ask with mine=true)",
                                  "mine")
        jobs = self.store.jobs(state=req.state, client=who.id if req.mine else None, limit=req.limit)
        return {"jobs": [j.public() for j in jobs]}

    def events(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        job = self.job(req.job_id, who)
        events = self.store.events(job.job_id, req.after, req.limit)
        if events or job.final or req.wait_ms == 0:
            return {"job_id": job.job_id, "state": job.state, "events": events}
        self.server.wait(Waiter(identity, req.id, job.job_id, req.after, req.limit, time.time() + req.wait_ms / 1000))
        return None

    def result(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        job = self.done_job(req.job_id, who)
        files = self.server.files.files(job.job_id)
        return {"job_id": job.job_id, "chunk_bytes": P.DEFAULT_CHUNK_BYTES,
                "files": [{k: v for k, v in f.items() if k != "file"} for f in files.values()]}

    def fetch(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        job = self.done_job(req.job_id, who)
        entry = self.server.files.files(job.job_id).get(req.path)  # a client's path is only ever a lookup key
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

    # -- changing ------------------------------------------------------------------------------
    def cancel(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        job = self.job(req.job_id, who)
        if job.state == "queued":
            self.store.finish(job.job_id, "cancelled", "cancelled by its client before it started")
            self.server.job_changed(job.job_id)
            log.info("job cancelled", extra={"job_id": job.job_id, "client": who.label})
        elif job.state == "running":
            self.server.pool.cancel(job)
            log.info("job cancelling", extra={"job_id": job.job_id, "client": who.label})
            job = self.store.get(job.job_id)
            return {"job_id": job.job_id, "state": "cancelling" if job.state == "running" else job.state}
        return {"job_id": job.job_id, "state": self.store.get(job.job_id).state}

    def shutdown(self, req: Any, blob: bytes | None, who: ClientIdentity, identity: bytes) -> Reply:
        log.info("shutdown requested", extra={"client": who.label})
        self.server.stopping = True
        return {"state": "stopping"}


@dataclass(frozen=True)
class Operation:
    """One request type: its handler, whether it may carry a binary frame, whether only an admin may."""

    handler: Callable[[Operations, Any, bytes | None, ClientIdentity, bytes], Reply]
    takes_blob: bool = False
    admin: bool = False


OPERATIONS: dict[str, Operation] = {
    "hello": Operation(Operations.hello),
    "generate": Operation(Operations.generate, takes_blob=True),
    "edit": Operation(Operations.edit),
    "batch": Operation(Operations.batch),
    "status": Operation(Operations.status),
    "jobs": Operation(Operations.jobs),
    "events": Operation(Operations.events),
    "cancel": Operation(Operations.cancel),
    "result": Operation(Operations.result),
    "fetch": Operation(Operations.fetch),
    "shutdown": Operation(Operations.shutdown, admin=True),
}
