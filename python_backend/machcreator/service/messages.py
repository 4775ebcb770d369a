"""The schema of every request the server accepts, and of the events it reports (pydantic).

``python -m machcreator.service.messages DIR`` writes one JSON schema per message to DIR
(docs/schemas/); a test keeps those files equal to these models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from machcreator.attributes import AGE_RANGE_YEARS, PROMPT_MAX_CHARS, Ancestry, Gender
from machcreator.pipeline import STAGE_NAMES
from machcreator.pipeline.request import GenerateRequest, Seed
from machcreator.service.identity import AUTH_PATTERN
from machcreator.service.protocol import (
    BATCH_ID_PATTERN, ERROR_CODES, EVENT_KINDS, REQUEST_TYPES, JOB_ID_PATTERN, JOB_STATES, MAX_BATCH_JOBS, MAX_CHUNK_BYTES,
    MAX_EVENTS_PER_REPLY, MAX_LIST_JOBS, MAX_OVERRIDES, MAX_SEQ, MAX_WAIT_MS, TOKEN_PATTERN, ProtocolError,
)

Token = Annotated[str, Field(pattern=TOKEN_PATTERN)]
JobId = Annotated[str, Field(pattern=JOB_ID_PATTERN)]
BatchId = Annotated[str, Field(pattern=BATCH_ID_PATTERN)]
Age = Annotated[float, Field(ge=AGE_RANGE_YEARS[0], le=AGE_RANGE_YEARS[1])]
Override = Annotated[str, Field(min_length=3, max_length=200, description="PATH=VALUE, e.g. hair.color=blonde")]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Token = Field(description="request id, echoed as the reply's `re`")
    client: Token | None = Field(None, description="a label for logs; who the client is comes from `auth` or its key")
    auth: str | None = Field(None, pattern=AUTH_PATTERN,
                             description="loopback without keys: the client's secret token, which its identity is "
                                         "derived from; without one a client is `anonymous` (docs/protocol.md, "
                                         "Identity)")


#: the request model's own fields (type, default, bounds, description): the wire cannot drift from it
_REQUEST = GenerateRequest.model_fields


class Options(BaseModel):
    """How to generate: the CLI's options (``GenerateRequest``'s own fields, less what only the server sets)."""

    # model_dump() names them as the request does (largest_face is photo_largest_face there)
    model_config = ConfigDict(extra="forbid")

    parser: str = _REQUEST["parser"]
    texture_size: int = _REQUEST["texture_size"]
    preview_size: int = _REQUEST["preview_size"]
    hair_detail: float = _REQUEST["hair_detail"]
    photo_largest_face: Annotated[bool, _REQUEST["photo_largest_face"], Field(alias="largest_face")]
    portrait: bool | None = _REQUEST["portrait"]


class Hello(_Message):
    type: Literal["hello"]


class Generate(_Message):
    """Queue one character. Retrying with the same ``token`` returns the same job."""

    type: Literal["generate"]
    token: Token = Field(description="idempotency key chosen by the client")
    prompt: str = Field("", max_length=PROMPT_MAX_CHARS * 2)
    seed: Seed = 0
    overrides: list[Override] = Field(default_factory=list, max_length=MAX_OVERRIDES)
    options: Options = Field(default_factory=Options)
    photo: bool = Field(False, description="a photo follows as the binary frame (JPEG or PNG)")


class Edit(_Message):
    """A new job from a finished one with changed attributes; stages the change does not touch are reused."""

    type: Literal["edit"]
    token: Token
    job_id: JobId
    overrides: list[Override] = Field(min_length=1, max_length=MAX_OVERRIDES)
    seed: Seed | None = None


class Diversity(BaseModel):
    """How random characters of a batch vary beyond their seeds (each list is cycled through)."""

    model_config = ConfigDict(extra="forbid")

    genders: list[Gender] = Field(default_factory=list, max_length=2)
    ancestries: list[Ancestry] = Field(default_factory=list, max_length=8)
    age_range: tuple[Age, Age] | None = Field(None, description="years (low, high), drawn uniformly per character")

    @model_validator(mode="after")
    def _low_before_high(self) -> "Diversity":
        if self.age_range is not None and self.age_range[0] > self.age_range[1]:
            raise ValueError("age_range is (low, high): low must not exceed high")
        return self


class RandomBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=MAX_BATCH_JOBS)
    prompt: str = Field("", max_length=PROMPT_MAX_CHARS * 2, description="what every character shares")
    seed: Seed = Field(0, description="character i gets seed + i")
    diversity: Diversity = Field(default_factory=Diversity)


class Batch(_Message):
    """N jobs under one batch id: a list of prompts, or N seeded random characters."""

    type: Literal["batch"]
    token: Token
    prompts: list[Annotated[str, Field(max_length=PROMPT_MAX_CHARS * 2)]] | None = Field(
        None, min_length=1, max_length=MAX_BATCH_JOBS)
    random: RandomBatch | None = None
    seed: Seed = 0
    overrides: list[Override] = Field(default_factory=list, max_length=MAX_OVERRIDES)
    options: Options = Field(default_factory=Options)


class Status(_Message):
    """One job, one batch, or (neither given) the server: queue, workers, counts."""

    type: Literal["status"]
    job_id: JobId | None = None
    batch_id: BatchId | None = None


class Jobs(_Message):
    type: Literal["jobs"]
    state: Literal[JOB_STATES] | None = None  # type: ignore[valid-type]
    mine: bool = Field(True, description="only this client's jobs")
    limit: int = Field(100, ge=1, le=MAX_LIST_JOBS)


class Events(_Message):
    """A job's events after ``after`` (their ``seq``); waits up to ``wait_ms`` for the first one."""

    type: Literal["events"]
    job_id: JobId
    after: int = Field(0, ge=0, le=MAX_SEQ)
    wait_ms: int = Field(0, ge=0, le=MAX_WAIT_MS)
    limit: int = Field(MAX_EVENTS_PER_REPLY, ge=1, le=MAX_EVENTS_PER_REPLY)


class Cancel(_Message):
    type: Literal["cancel"]
    job_id: JobId


class Result(_Message):
    """The finished package's files (path, bytes, sha256), manifest.json included."""

    type: Literal["result"]
    job_id: JobId


class Fetch(_Message):
    """``length`` bytes of one package file from ``offset``: the reply's binary frame."""

    type: Literal["fetch"]
    job_id: JobId
    path: str = Field(min_length=1, max_length=256, description="a path from the result reply")
    offset: int = Field(0, ge=0)
    length: int = Field(ge=1, le=MAX_CHUNK_BYTES)


class Shutdown(_Message):
    type: Literal["shutdown"]


Request = Annotated[Union[Hello, Generate, Edit, Batch, Status, Jobs, Events, Cancel, Result, Fetch, Shutdown],
                    Field(discriminator="type")]
REQUEST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Request)


class Event(BaseModel):
    """One entry of a job's event log; ``seq`` counts from 1 per job."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    job_id: JobId
    event: Literal[EVENT_KINDS]  # type: ignore[valid-type]
    time: float = Field(description="Unix seconds")
    stage: Literal[STAGE_NAMES] | None = None  # type: ignore[valid-type]
    fraction: float | None = Field(None, ge=0.0, le=1.0, description="of the whole job, as the CLI shows")
    message: str | None = None
    seconds: float | None = Field(None, description="stage_finished: how long the stage took")
    reused: bool | None = Field(None, description="stage_finished: the stage cache answered it, nothing re-ran")
    attempt: int | None = None
    worker: str | None = None
    reason: str | None = Field(None, description="failed, retrying: why")


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Literal[tuple(ERROR_CODES)]  # type: ignore[valid-type]
    message: str
    field: str | None = Field(None, description="where in the request, dotted (e.g. options.texture_size)")


class ErrorReply(BaseModel):
    """The reply to a request that could not be served; ``re`` is null when the request had no valid id."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["error"]
    re: str | None
    ok: Literal[False]
    error: ErrorBody


class Reply(BaseModel):
    """The envelope of every successful reply; the fields of each type are in docs/protocol.md."""

    model_config = ConfigDict(extra="allow")

    type: Literal[REQUEST_TYPES]  # type: ignore[valid-type]
    re: str
    ok: Literal[True]


def parse_request(header: dict[str, Any]) -> Any:
    """The typed request of a decoded header, or a ``bad_request`` :class:`ProtocolError`."""
    if header.get("type") not in REQUEST_TYPES:
        kind = header.get("type")
        raise ProtocolError("bad_request", f"unknown request type {str(kind)[:40]!r}", "type")
    try:
        return REQUEST_ADAPTER.validate_python(header)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"][1:]) or "(header)"  # loc[0] is the union's tag
        raise ProtocolError("bad_request", f"{where}: {e['msg']}", where) from None


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON schema per message: each request type, the event, the reply envelope and the error reply."""
    schemas = {model.model_fields["type"].annotation.__args__[0]: model.model_json_schema()
               for model in (Hello, Generate, Edit, Batch, Status, Jobs, Events, Cancel, Result, Fetch, Shutdown)}
    schemas["event"] = Event.model_json_schema()
    schemas["reply"] = Reply.model_json_schema()
    schemas["error"] = ErrorReply.model_json_schema()
    return schemas


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
