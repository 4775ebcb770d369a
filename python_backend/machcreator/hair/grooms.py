"""The hair stage: every groom of a character (scalp hair, eyebrows, eyelashes, facial hair).

``make_grooms`` reads the resolved attributes, grows each groom on the character's head
(:mod:`growth`, :mod:`face`), colours it with the melanin model (:mod:`color`), and returns
:class:`machcreator.character.Groom` records. The scalp groom, the expensive one, is cached on
disk by a hash of everything that shapes it (the head's geometry, the style, its overrides and
the seed): a style is grown on first use and re-read afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np

from machcreator.attributes import Attributes
from machcreator.character import GROOM_NAMES, Character, Groom
from machcreator.hair.collision import BodyField, body_field, push_out
from machcreator.hair.melanin import point_colors, strand_colors
from machcreator.hair.face_grooms import LASHES, grow_eyebrows, grow_eyelashes, grow_facial_hair
from machcreator.hair.growth import CM, SKIN_CLEARANCE_M, Growth, Strands, grow_children, grow_guides, root_lengths_cm
from machcreator.hair.scalp import head_frame, scalp_roots
from machcreator.core.hair_styles import get_style
from machcreator.core.rng import seeded_rng

CACHE_ENV = "MACH_HAIR_CACHE"
#: bump when the generator changes what it makes: old cache entries are then ignored.
GENERATOR_VERSION = 9
#: rendered scalp strands of long styles at density 0.5 (thicker hair has more), and guides.
SCALP_STRANDS = 100_000
SCALP_GUIDES = 2_400
#: guides (= ropes) of roped styles: dreadlocks ~1.5 cm apart, cornrow sections.
ROPES = {"dreadlocks": 260, "cornrows": 420}
#: strand diameters at the root (metres) and the tip's share of it.
ROOT_WIDTH_M = {"scalp": 7.5e-5, "eyebrows": 1.0e-4, "eyelashes": 1.2e-4, "facial_hair": 1.1e-4}
TIP_SHARE = 0.35


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "machcreator" / "grooms")


def character_field(character: Character) -> BodyField:
    """The body's signed distance field (head, neck, shoulders, torso) for this character."""
    head, body = character.part("head"), character.part("body")
    return body_field(np.concatenate([head.positions, body.positions]),
                      np.concatenate([head.normals, body.normals]), head.positions)


def scalp_strand_count(length_cm: float, density: float) -> int:
    """Rendered scalp strands: ~10^5 for long hair (thinner for thin hair), fewer for crops whose
    strands are short (they cover the same scalp with fewer, the way Unreal's short grooms do)."""
    if length_cm <= 0:
        return 0
    full = SCALP_STRANDS if length_cm >= 15 else int(SCALP_STRANDS * (0.45 + 0.55 * length_cm / 15))
    return int(full * np.clip(0.8 + 0.4 * density, 0.8, 1.2))


def make_grooms(character: Character, attrs: Attributes, seed: int, *, field: BodyField | None = None,
                cache_dir: Path | None = None, detail: float = 1.0) -> list[Groom]:
    """All grooms of a character with resolved ``attrs``, in :data:`GROOM_NAMES` order.

    Args:
        character: needs the "head" and "body" parts and the facial landmarks.
        attrs: resolved attributes (hair, eyebrows, facial hair, body.gender are read).
        seed: random seed; equal inputs give equal strands.
        field: the body's signed distance field (built from the character when None).
        cache_dir: where scalp grooms are cached (None: ``MACH_HAIR_CACHE`` or ~/.cache).
        detail: share of the full strand count (0.05..1): fewer, proportionally thicker strands
            for quick drafts; 1 is the production groom (~10^5 scalp strands for long hair).
    """
    if not 0.05 <= detail <= 1.0:
        raise ValueError(f"hair detail must be within 0.05..1, got {detail}")
    if attrs.hair.style is None or attrs.hair.color is None:
        raise ValueError("grooms need resolved attributes (hair.style is unspecified): call resolve() first")
    frame = head_frame(character)
    head = character.part("head")
    field = field if field is not None else character_field(character)
    rng = lambda salt: seeded_rng(seed, f"hair/{salt}")  # noqa: E731  one stream per groom and layer
    grooms: dict[str, Groom] = {}

    hair = attrs.hair
    style = get_style(hair.style)
    if style.length_cm > 0 and (hair.length_cm or 0) > 0:
        growth = Growth(style=style, length_cm=float(hair.length_cm), curl=float(hair.curl), part=hair.part,
                        bangs=hair.bangs, volume=float(hair.volume), hairline=hair.hairline)
        key = _scalp_key(character, growth, float(hair.density), seed, detail)
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        cached = _read_cache(folder, key)
        if cached is None:
            cached = _grow_scalp(character, growth, float(hair.density), detail, field, rng("scalp"))
            _write_cache(folder, key, cached)
        strands, roots_uv, guide = cached
        root_c, tip_c = strand_colors(hair.color, len(strands.counts), rng("scalp/color"), highlights=hair.highlights or "none")
        grooms["scalp"] = _groom("scalp", strands, roots_uv, guide, root_c, tip_c, detail ** -0.5,
                                 {"style": style.name, **style.labels(), "length_cm": growth.length_cm, "curl": growth.curl,
                                  "part": growth.part, "bangs": growth.bangs, "volume": growth.volume,
                                  "hairline": growth.hairline, "density": hair.density, "color": hair.color,
                                  "highlights": hair.highlights})

    brows = attrs.eyebrows
    roots, strands = grow_eyebrows(head, frame, field, brows.type, float(brows.thickness), rng("eyebrows"))
    root_c, tip_c = strand_colors(brows.color, len(roots), rng("eyebrows/color"))
    grooms["eyebrows"] = _groom("eyebrows", strands, roots.uv, np.zeros(len(roots), bool), root_c, tip_c, 1.0,
                                {"type": brows.type, "thickness": brows.thickness, "color": brows.color})

    # longer lashes on women, shorter with old age; a child's eye is smaller, so are its lashes
    age = float(attrs.body.age_years)
    lash_scale = (1.15 if attrs.body.gender == "female" else 1.0) * (
        0.75 + 0.25 * float(np.clip((age - 4.0) / 12.0, 0, 1)) - 0.2 * float(np.clip((age - 60) / 30, 0, 1)))
    roots, strands = grow_eyelashes(head, frame, lash_scale, rng("eyelashes"))
    lash_color = "black" if brows.color in ("black", "dark_brown", "brown", "auburn", "grey", "white", "salt_and_pepper") else "dark_brown"
    root_c, tip_c = strand_colors(lash_color, len(roots), rng("eyelashes/color"), variation=0.08)
    grooms["eyelashes"] = _groom("eyelashes", strands, roots.uv, np.zeros(len(roots), bool), root_c, tip_c, 1.0,
                                 {"upper_per_eye": LASHES["upper"][0], "lower_per_eye": LASHES["lower"][0], "color": lash_color})

    beard = attrs.facial_hair
    grown = grow_facial_hair(head, frame, field, beard.type, float(beard.length_cm or 0.0), rng("facial_hair"),
                             density=float(beard.density if beard.density is not None else 0.75))
    if grown is not None:
        roots, strands = grown
        root_c, tip_c = strand_colors(beard.color, len(roots), rng("facial_hair/color"))
        grooms["facial_hair"] = _groom("facial_hair", strands, roots.uv, np.zeros(len(roots), bool), root_c, tip_c, 1.0,
                                       {"type": beard.type, "length_cm": beard.length_cm, "color": beard.color,
                                        "density": beard.density})
    return [grooms[name] for name in GROOM_NAMES if name in grooms]


def _grow_scalp(character: Character, growth: Growth, density: float, detail: float, field: BodyField,
                rng: np.random.Generator) -> tuple[Strands, np.ndarray, np.ndarray]:
    """Guides then children on the head's scalp; returns (strands, root UVs (S, 2), guide flags (S,))
    with the guides (resampled to 12 points) after the rendered strands."""
    frame = head_frame(character)
    head = character.part("head")
    # locks and rows are few, thick ropes: one guide each
    guides_wanted = ROPES.get(growth.style.gather, max(400, int(SCALP_GUIDES * detail)))
    guide_roots = scalp_roots(head, frame, growth.hairline, density, guides_wanted, rng)
    guide_cm = root_lengths_cm(guide_roots, growth, frame, rng)
    guides = grow_guides(guide_roots, guide_cm, growth, frame, field, rng)
    child_roots = scalp_roots(head, frame, growth.hairline, density,
                              int(detail * scalp_strand_count(growth.length_cm, density)), rng)
    children = grow_children(child_roots, guides, guide_roots.positions, guide_cm * CM, growth, field, rng)
    # children take their length from the guides, which follow the length map; the short side
    # hair of a fade needs the map at each child's own root too
    guide_pts = guides[:, np.round(np.linspace(0, guides.shape[1] - 1, 12)).astype(int)]
    # fewer points cut corners: keep the resampled guides off the skin too (roots stay)
    guide_pts[:, 1:] = push_out(guide_pts[:, 1:].reshape(-1, 3), field, SKIN_CLEARANCE_M, iterations=8).reshape(-1, 11, 3)
    guide_pts = guide_pts.reshape(-1, 3)
    strands = Strands(points=np.concatenate([children.points, guide_pts]),
                      counts=np.concatenate([children.counts, np.full(len(guides), 12, np.int32)]),
                      clump=np.concatenate([children.clump, np.arange(len(guides), dtype=np.int32)]))
    uv = np.concatenate([child_roots.uv, guide_roots.uv])
    guide = np.concatenate([np.zeros(len(child_roots), bool), np.ones(len(guide_roots), bool)])
    return strands, uv, guide


def _groom(name: str, strands: Strands, root_uv: np.ndarray, guide: np.ndarray, root_c: np.ndarray,
           tip_c: np.ndarray, width_scale: float, labels: dict) -> Groom:
    counts = strands.counts.astype(np.int32)
    first = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    t = ((np.arange(int(counts.sum())) - first) / np.maximum(np.repeat(counts, counts) - 1, 1)).astype(np.float32)
    widths = (width_scale * ROOT_WIDTH_M[name] * (1.0 - (1.0 - TIP_SHARE) * t ** 1.5)).astype(np.float32)
    return Groom(name=name, points=strands.points.astype(np.float32), counts=counts, widths=widths,
                 colors=point_colors(root_c, tip_c, counts), root_uv=np.clip(root_uv, 0.0, 1.0).astype(np.float32),
                 guide=guide.astype(bool), clump_id=strands.clump.astype(np.int32),
                 group_id=GROOM_NAMES.index(name), labels=labels)


# --- the scalp groom cache --------------------------------------------------------------------

def _scalp_key(character: Character, growth: Growth, density: float, seed: int, detail: float) -> str:
    head = character.part("head")
    geometry = hashlib.sha256(np.ascontiguousarray(head.positions, np.float32).tobytes()).hexdigest()
    spec = {"v": GENERATOR_VERSION, "geometry": geometry, "growth": asdict(growth), "density": density, "seed": seed,
            "detail": detail}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _read_cache(folder: Path, key: str) -> tuple[Strands, np.ndarray, np.ndarray] | None:
    path = folder / f"scalp-{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            return (Strands(points=z["points"], counts=z["counts"], clump=z["clump"]), z["uv"], z["guide"])
    except (OSError, ValueError, KeyError):  # a truncated or foreign file: grow it again
        path.unlink(missing_ok=True)
        return None


def _write_cache(folder: Path, key: str, value: tuple[Strands, np.ndarray, np.ndarray]) -> None:
    strands, uv, guide = value
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".scalp-{key}.{os.getpid()}.npz"
        np.savez(tmp, points=strands.points, counts=strands.counts, clump=strands.clump, uv=uv, guide=guide)
        tmp.replace(folder / f"scalp-{key}.npz")
    except OSError as exc:  # a read-only cache only costs speed
        warnings.warn(f"hair cache not written ({folder}): {exc}", stacklevel=2)
