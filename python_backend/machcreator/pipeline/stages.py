"""The stages' inputs: one frozen, typed record per cached stage, built from exactly what it reads.

Each record is both the stage's argument and its cache key (:func:`stage_key`). A record holds the
record of every stage whose output its stage takes (hair holds geometry's, textures hold
geometry's), so an edit re-runs exactly the stages that read the changed field and the stages
downstream of them. Attributes enter as subsets (:func:`attributes_subset` of the paths in
:data:`READS`): every field a stage does not read is left unspecified, so a stage that starts
reading a field its row does not name sees None and fails loudly instead of answering from a stale
cache entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel

from machcreator.attributes import Attributes
from machcreator.body.shape_table import AnnyParameters, anny_parameters, derived_levels
from machcreator.pipeline.request import GenerateRequest

if TYPE_CHECKING:
    from machcreator.assets.matching import SlotChoice
    from machcreator.core.models import ModelsConfig

#: The attribute paths each stage reads (a group's name: all of its fields). Geometry reads them
#: through anny's shape table (:mod:`machcreator.body.shape_table`); the assets stage matches on its
#: paths in the prompt's specified attributes and the resolved ones.
READS: dict[str, tuple[str, ...]] = {
    "geometry": ("body.gender", "body.age_years", "body.height", "body.weight", "body.muscle", "body.ancestry",
                 "face", "eyes.shape", "eyes.size", "eyes.spacing", "eyebrows.type", "eyebrows.thickness",
                 "nose", "lips"),
    "hair": ("hair", "eyebrows", "facial_hair", "body.gender", "body.age_years"),
    "assets": ("garments", "glasses", "headwear", "headwear_color", "accessories"),
    "portrait": ("body.gender", "body.age_years", "body.ancestry", "skin", "eyes.iris_color", "hair.color",
                 "hair.highlights", "hair.style", "facial_hair.type", "facial_hair.color", "makeup", "glasses",
                 "headwear"),
    "textures": ("body.gender", "body.age_years", "skin", "makeup", "eyes.iris_color", "eyebrows",
                 "hair.style", "hair.color", "hair.part", "hair.bangs", "hair.hairline",
                 "facial_hair.type", "facial_hair.color"),
}


def attributes_subset(attrs: Attributes, paths: tuple[str, ...]) -> Attributes:
    """``attrs`` with only ``paths`` kept (``"hair"``: the whole group; ``"hair.color"``: one field)."""
    groups: dict[str, Any] = {}
    for path in paths:
        group, _, name = path.partition(".")
        value = getattr(attrs, group)
        if not name:
            groups[group] = value.model_copy(deep=True) if isinstance(value, BaseModel) else value
            continue
        fields = groups.setdefault(group, {})
        fields[name] = getattr(value, name)
    for group, fields in groups.items():
        if isinstance(fields, dict):  # single fields of a group; the rest stays unspecified
            groups[group] = type(getattr(attrs, group)).model_construct(**fields)
    return Attributes.model_construct(**groups)


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: records field by field, pydantic models dumped, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__} | fields
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, np.generic):
        return value.item()
    return value


def stage_key(stage: str, inputs: Any) -> str:
    """The cache key of ``stage`` run on ``inputs``: SHA-256 of the stage name and the record's data."""
    text = json.dumps(_plain(inputs), sort_keys=True, allow_nan=False)
    return hashlib.sha256(f"{stage}:{text}".encode()).hexdigest()


@dataclass(frozen=True)
class ParseInput:
    """Mach §2.1: the prompt read by one parser (the parser's options are local paths and names)."""

    prompt: str
    parser: str
    parser_options: str  # canonical JSON of GenerateRequest.parser_options

    @classmethod
    def of(cls, request: GenerateRequest) -> ParseInput:
        return cls(request.prompt, request.parser, json.dumps(request.parser_options, sort_keys=True))


@dataclass(frozen=True)
class PhotoInput:
    """The portrait (its decoded pixels' SHA-256 and shape) and whether the largest of several faces is fitted."""

    pixels_sha256: str
    shape: tuple[int, ...]
    largest_face: bool

    @classmethod
    def of(cls, rgb: np.ndarray, largest_face: bool) -> PhotoInput:
        return cls(hashlib.sha256(rgb.tobytes()).hexdigest(), tuple(rgb.shape), largest_face)


@dataclass(frozen=True)
class PortraitInput:
    """Mach §2.1: the portrait painted from the text. Its clue maps come from the geometry's template
    head; the prompt from the attributes it reads and the user's words; the weights and sampler from
    the backend's models config (their paths: the user's own files)."""

    geometry: GeometryInput
    attributes: Attributes  # READS["portrait"] only
    prompt: str
    seed: int
    models: ModelsConfig

    @classmethod
    def of(cls, resolved: Attributes, request: GenerateRequest, models: ModelsConfig) -> PortraitInput:
        return cls(GeometryInput.of(resolved), attributes_subset(resolved, READS["portrait"]), request.prompt,
                   request.seed, models)


@dataclass(frozen=True)
class GeometryInput:
    """Mach §2.2: anny's parameters and the soft-tissue ageing (0..1); with a photo, the parameters
    are the fit's prior (the prompt's face, its open features neutral) and the head is fitted to it."""

    parameters: AnnyParameters
    ageing: float
    photo: PhotoInput | None = None

    @classmethod
    def of(cls, resolved: Attributes, photo: PhotoInput | None = None) -> GeometryInput:
        """From resolved attributes (with a photo: the neutral-face prior, see ``photo.head.neutral_face``)."""
        shape = attributes_subset(resolved, READS["geometry"])
        return cls(anny_parameters(shape), derived_levels(shape)["ageing"], photo)


@dataclass(frozen=True)
class HairInput:
    """The strand grooms: grown on the geometry's body from the hair, brow and beard attributes."""

    geometry: GeometryInput
    attributes: Attributes  # READS["hair"] only
    seed: int
    detail: float  # share of the full scalp strand count

    @classmethod
    def of(cls, geometry: GeometryInput, resolved: Attributes, request: GenerateRequest) -> HairInput:
        return cls(geometry, attributes_subset(resolved, READS["hair"]), request.seed, request.hair_detail)


@dataclass(frozen=True)
class DressInput:
    """Mach §2.5: the matched assets fitted in layers on the body, the grooms tucked under them.
    The hair cards are made from the tucked grooms, so they share this input."""

    hair: HairInput
    choices: tuple[SlotChoice, ...]  # each asset's entry holds its files' SHA-256
    seed: int


@dataclass(frozen=True)
class TextureInput:
    """Mach §2.3-2.4 (embedded: procedural): skin, eyes and teeth painted on the geometry's UVs."""

    geometry: GeometryInput
    attributes: Attributes  # READS["textures"] only
    seed: int
    size: int  # skin texture side, texels

    @classmethod
    def of(cls, geometry: GeometryInput, resolved: Attributes, request: GenerateRequest) -> TextureInput:
        return cls(geometry, attributes_subset(resolved, READS["textures"]), request.seed, request.texture_size)


@dataclass(frozen=True)
class HeadTextureInput:
    """With a photo: its albedo on the head, delit and completed with the procedural skin."""

    textures: TextureInput
    delighter_dir: str | None
    glasses: bool  # glasses worn in the photo (their rims are masked out of the albedo)
