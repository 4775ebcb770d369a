"""What a user asks for: the one request model every front end builds and the pipeline runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Largest skin texture side a request may ask for, in texels.
MAX_TEXTURE_SIZE = 4096


class GenerateRequest(BaseModel):
    """What a user asks for. An empty ``prompt`` leaves every attribute to ``overrides`` and the seed."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = ""
    seed: int = Field(0, ge=0, le=2**32 - 1)
    overrides: list[str] = Field(default_factory=list, description='["hair.color=blonde", ...]')
    parser: str = "embedded"
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
    #: with several faces in the photo, fit the largest instead of refusing
    photo_largest_face: bool = False
    #: a learned delighter (folder with config.json + model.pt) instead of the embedded SH one
    delighter_dir: str | None = None
