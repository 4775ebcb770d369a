"""What a user asks for: the one request model every front end builds and the pipeline runs.

Every check of a request lives here: the prompt (cleaned), the overrides (each must apply), the
parser's name, the sizes and the hair detail. The CLI takes its options' bounds from these fields,
the service's messages reuse them, and the editor reads them from this model's JSON schema, which
``mach unreal install`` ships with the plugin; so every front end refuses the same things in the same
words. ``model_copy(update=...)`` does not validate: change a request with :meth:`GenerateRequest.updated`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from machcreator.attributes import PROMPT_MAX_CHARS, Attributes, apply_overrides
from machcreator.core.errors import MachError
from machcreator.parsing import PARSER_NAMES, check_prompt

#: Largest skin texture side a request may ask for, in texels.
MAX_TEXTURE_SIZE = 4096
#: the error type of the prompt's and the overrides' own checks (the service answers it as ``bad_prompt``)
BAD_PROMPT = "bad_prompt"
#: the error type of an unknown parser name
UNKNOWN_PARSER = "unknown_parser"

Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]


def _refused(check: Any, *args: Any) -> Any:
    """``check(*args)``, its MachError as a validation error of type :data:`BAD_PROMPT` with the same one line."""
    try:
        return check(*args)
    except MachError as exc:
        raise PydanticCustomError(BAD_PROMPT, str(exc)) from None


class GenerateRequest(BaseModel):
    """What a user asks for. An empty ``prompt`` leaves every attribute to ``overrides`` and the seed."""

    model_config = ConfigDict(extra="forbid")

    # the bound holds for the cleaned text, which the validator below makes first
    prompt: str = Field("", max_length=PROMPT_MAX_CHARS, description="empty: a random character")
    seed: Seed = 0
    overrides: list[str] = Field(default_factory=list, description='["hair.color=blonde", ...]')
    parser: str = Field("embedded", max_length=32, description="one of hello's capabilities.parsers")
    parser_options: dict[str, Any] = Field(default_factory=dict)
    # 4096² already takes ~4.2 GB of RAM and a ~110 MB package on the CPU path
    texture_size: int = Field(2048, ge=64, le=MAX_TEXTURE_SIZE)
    preview_size: int = Field(512, ge=64, le=2048)
    #: share of the full scalp strand count (drafts: fewer strands, same look from afar)
    hair_detail: float = Field(1.0, ge=0.05, le=1.0)
    #: studio asset libraries (folders with a manifest.json) matched beside the built-in one
    asset_libraries: list[str] = Field(default_factory=list, max_length=16)
    #: the text encoder matching prompts to assets: the shipped MiniLM, or CLIP from local weights
    asset_encoder: Literal["minilm", "clip"] = "minilm"
    asset_encoder_options: dict[str, Any] = Field(default_factory=dict, description='{"model_dir": ...} for clip')
    #: a frontal portrait (JPEG or PNG file) the head is fitted to; the prompt makes the rest
    photo: str | None = Field(None, description="path of a JPEG or PNG portrait the head is fitted to")
    photo_largest_face: bool = Field(False, description="with a photo of several faces, fit the largest instead of "
                                                        "refusing")
    #: a learned delighter (folder with config.json + model.pt) instead of the embedded SH one
    delighter_dir: str | None = None
    #: Mach §2.1's portrait: paint a frontal portrait from the text with the backend's Stable
    #: Diffusion + ControlNet weights and fit the head to it. None: whenever the backend has them
    #: (and no photo is given); False: never; True: required (refused where the weights are missing)
    portrait: bool | None = Field(None, description="paint a reference portrait from the text (None: when the "
                                                    "backend has the weights)")

    @classmethod
    def from_user(cls, **fields: Any) -> GenerateRequest:
        """A request a person typed: it must describe someone (a prompt, an override or a photo). Only a
        random batch asks for a character left wholly to the seed; the pipeline runs either."""
        return cls.model_validate(fields, context={"from_user": True})

    def updated(self, **changes: Any) -> GenerateRequest:
        """This request with ``changes``, checked like a new one."""
        return self.model_validate(self.model_dump() | changes)

    @field_validator("prompt", mode="before")
    @classmethod
    def _clean_prompt(cls, value: Any) -> Any:
        if isinstance(value, (str, bytes)) and not value:
            return ""  # a random character: the seed draws every attribute
        return _refused(check_prompt, value)  # text or UTF-8 bytes (a prompt file), NFC and stripped

    @field_validator("overrides")
    @classmethod
    def _overrides_apply(cls, value: list[str]) -> list[str]:
        _refused(apply_overrides, Attributes(), value)
        return value

    @field_validator("parser")
    @classmethod
    def _known_parser(cls, value: str) -> str:
        if value not in PARSER_NAMES:
            raise PydanticCustomError(UNKNOWN_PARSER, "unknown parser {parser}; choose {names}",
                                      {"parser": repr(value), "names": ", ".join(PARSER_NAMES[:-1]) + " or "
                                       + PARSER_NAMES[-1]})
        return value

    @model_validator(mode="after")
    def _one_face_source(self) -> GenerateRequest:
        if self.portrait and self.photo is not None:
            raise PydanticCustomError(BAD_PROMPT, "give a photo or ask for a painted portrait, not both")
        return self

    @model_validator(mode="after")
    def _describes_someone(self, info: ValidationInfo) -> GenerateRequest:
        if (info.context or {}).get("from_user") and not (self.prompt or self.overrides or self.photo):
            _refused(check_prompt, "")  # the empty prompt's own words: describe the character
        return self


class Refusal(NamedTuple):
    """Why a request was refused: its first error."""

    kind: str  #: :data:`BAD_PROMPT`, :data:`UNKNOWN_PARSER` or pydantic's error type
    field: str  #: dotted; ``prompt`` for a request that describes nobody
    message: str  #: one line: a check's own sentence, or ``field: pydantic's message``


def refusal(exc: ValidationError) -> Refusal:
    """The first error of a :class:`GenerateRequest` that did not validate."""
    error = exc.errors(include_url=False)[0]
    # the only check of the request as a whole asks for a description: the prompt is what is missing
    field = ".".join(str(part) for part in error["loc"]) or "prompt"
    own = error["type"] in (BAD_PROMPT, UNKNOWN_PARSER)
    return Refusal(error["type"], field, error["msg"] if own else f"{field}: {error['msg']}")


def field_bounds(name: str) -> tuple[float, float]:
    """The (low, high) bounds of the numeric field ``name``, from its metadata."""
    metadata = GenerateRequest.model_fields[name].metadata
    return next(m.ge for m in metadata if isinstance(m, Ge)), next(m.le for m in metadata if isinstance(m, Le))
