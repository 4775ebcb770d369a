"""The stages' input records are their cache keys and hold exactly what each stage reads.

- Changing any attribute changes the keys of exactly the stages that read it and of the stages
  downstream of them (geometry → hair → assets → cards; geometry → textures), and no other.
- Running a stage with access tracking on shows it reads no attribute its record leaves out.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from machcreator.attributes import COLORS, Attributes, apply_overrides, literal_values, resolve
from machcreator.core.models import ModelsConfig
from machcreator.pipeline.request import GenerateRequest
from machcreator.pipeline.stages import (
    READS,
    DressInput,
    GeometryInput,
    HairInput,
    PortraitInput,
    TextureInput,
    attributes_subset,
    stage_key,
)

#: the stages each stage's output feeds (the cards are made from the dressed grooms)
#: the portrait's clue maps are drawn on the geometry's template head; what reads the portrait (the
#: photo path's stages) is keyed by its pixels, outside these records
DOWNSTREAM = {"geometry": {"hair", "assets", "cards", "textures", "portrait"}, "hair": {"assets", "cards"},
              "assets": {"cards"}, "textures": set(), "portrait": set()}
REQUEST = GenerateRequest(seed=3)
#: every slot filled, so each asset attribute (a headwear's colour too) has something to change
DRESSED = ["headwear=beanie", "glasses=round", "garments.outerwear=coat", "accessories=watch"]


def _groups() -> dict[str, type[BaseModel]]:
    out = {}
    for name, info in Attributes.model_fields.items():
        for arg in getattr(info.annotation, "__args__", (info.annotation,)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out[name] = arg
    return out


def new_values(path: str, attrs: Attributes) -> list[str]:
    """``--set`` values for ``path`` other than its current one."""
    current = attrs.get_path(path)
    if path == "accessories":
        return ["watch", "earrings,scarf", "necklace"]
    words = list(literal_values(path))
    if not words:
        group, _, leaf = path.partition(".")
        info = _groups()[group].model_fields[leaf] if leaf else Attributes.model_fields[group]
        bounds = {k: getattr(m, k) for m in info.metadata for k in ("ge", "le") if getattr(m, k, None) is not None}
        if bounds:
            lo, hi = bounds["ge"], bounds["le"]
            words = [str(lo), str((lo + hi) / 2), str(hi)]
        elif info.annotation in (bool, bool | None):
            words = ["true", "false"]
        else:  # a colour: every name the field accepts
            words = [c for c in COLORS if _accepts(attrs, path, c)]
    return [w for w in words if str(w) != str(current)]


def _accepts(attrs: Attributes, path: str, value: str) -> bool:
    try:
        apply_overrides(attrs, [f"{path}={value}"])
    except Exception:
        return False
    return True


def stage_keys(resolved: Attributes, match) -> dict[str, str]:
    geometry = GeometryInput.of(resolved)
    hair = HairInput.of(geometry, resolved, REQUEST)
    dress = DressInput(hair, tuple(match(resolved).chosen()), REQUEST.seed)
    portrait = PortraitInput.of(resolved, REQUEST, ModelsConfig())
    return {"geometry": stage_key("geometry", geometry), "hair": stage_key("hair", hair),
            "portrait": stage_key("portrait", portrait),
            "assets": stage_key("assets", dress), "cards": stage_key("cards", dress),
            "textures": stage_key("textures", TextureInput.of(geometry, resolved, REQUEST))}


def readers(path: str) -> set[str]:
    """The stages that read ``path`` (by :data:`READS`) and everything downstream of them."""
    out: set[str] = set()
    for stage, paths in READS.items():
        if any(path == p or path.startswith(p + ".") for p in paths):
            out |= {stage} | DOWNSTREAM[stage]
    return out


@pytest.fixture(scope="module")
def match():
    from machcreator.assets.encoders import get_encoder
    from machcreator.assets.library import library_paths, load_libraries
    from machcreator.assets.matching import match_assets

    library, _ = load_libraries(library_paths([]))
    encoder = get_encoder("minilm", {})
    # every attribute counts as asked for, so the matching follows each one
    return lambda attrs: match_assets("", attrs, attrs, library, encoder)


@pytest.mark.parametrize("seed", [3, 11])
def test_changing_a_field_invalidates_exactly_the_stages_that_read_it(match, seed):
    base = resolve(apply_overrides(Attributes(), DRESSED), seed)
    keys = stage_keys(base, match)
    wrong = {}
    for path in Attributes.field_paths():
        changed: set[str] = set()
        for value in new_values(path, base):
            edited = stage_keys(apply_overrides(base, [f"{path}={value}"]), match)
            changed |= {stage for stage in keys if edited[stage] != keys[stage]}
        if changed != readers(path):
            wrong[path] = {"re-ran": sorted(changed), "reads": sorted(readers(path))}
    assert wrong == {}


def test_a_subset_keeps_only_the_fields_named():
    attrs = resolve(Attributes(), 5)
    subset = attributes_subset(attrs, ("hair", "body.gender"))
    assert subset.hair == attrs.hair and subset.body.gender == attrs.body.gender
    assert subset.body.age_years is None and subset.skin.tone_ita_deg is None and subset.garments.top is None


@contextlib.contextmanager
def tracking_reads() -> Iterator[set[str]]:
    """Every ``group.field`` (or top-level field) of an Attributes read inside the block."""
    groups = {cls: name for name, cls in _groups().items()}
    read: set[str] = set()
    original = BaseModel.__getattribute__

    def getattribute(self, name):
        cls = type(self)
        if cls is Attributes and name in Attributes.model_fields and name not in _groups():
            read.add(name)
        elif cls in groups and name in cls.model_fields:
            read.add(f"{groups[cls]}.{name}")
        return original(self, name)

    BaseModel.__getattribute__ = getattribute
    try:
        yield read
    finally:
        BaseModel.__getattribute__ = original


def _outside_record(read: set[str], stage: str) -> set[str]:
    """The paths in ``read`` that ``stage``'s READS row does not name."""
    return {p for p in read if not any(p == r or p.startswith(r + ".") for r in READS[stage])}


def test_each_stage_reads_only_what_its_record_holds(fisherman_result, match):
    from machcreator.body.shape_table import anny_parameters, derived_levels
    from machcreator.hair.grooms import make_grooms
    from machcreator.portrait.prompting import portrait_prompts
    from machcreator.skin.textures import make_textures

    resolved = fisherman_result.resolved
    body = fisherman_result.character
    reads = collections.defaultdict(set)
    with tracking_reads() as read:
        anny_parameters(resolved), derived_levels(resolved)
    reads["geometry"] = set(read)
    with tracking_reads() as read:
        make_grooms(body, resolved, 7, detail=0.05)
    reads["hair"] = set(read)
    with tracking_reads() as read:
        match(resolved)
    reads["assets"] = set(read)
    with tracking_reads() as read:
        make_textures(body, resolved, 7, size=64)
    reads["textures"] = set(read)
    with tracking_reads() as read:
        portrait_prompts(resolved, "", "sd15")
    reads["portrait"] = set(read)
    assert all(reads[stage] for stage in READS)  # the tracking saw the stages read
    assert {stage: _outside_record(reads[stage], stage) for stage in READS} == {stage: set() for stage in READS}
