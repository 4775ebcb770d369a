"""Hair painted on the skin: the dense root layer under the grooms (scalp, brows, lash line, beard).

Under any real-time groom the skin carries the hair's colour, so a character never looks bald or
brow-less where strands thin out. Each region comes with a 3D flow direction so painted strands
run the right way.
"""

from __future__ import annotations

import cv2
import numpy as np

from machcreator.attributes import COLORS, Attributes
from machcreator.core.color import srgb_decode
from machcreator.core.ramps import smoothstep
from machcreator.skin.noise import upsample
from machcreator.hair.face_grooms import brow_weight
from machcreator.hair.scalp import HeadFrame, scalp_weight
from machcreator.skin.position_map import PositionMap, norm


#: strand visibility by hairstyle: how much of the scalp the hair colour covers.
_SCALP_COVER = {"bald": 0.0, "shaved": 0.55, "buzz": 0.8}
#: styles whose sides are shaved to a shadow (the strip on top keeps the full colour).
_SHAVED_SIDES = ("mohawk", "undercut")
#: roughness of painted hair: a soft sheen, glossier than skin.
HAIR_ROUGHNESS = 0.45
BEARD_COVER = {"none": 0.0, "stubble": 0.0, "mustache": 0.9, "goatee": 0.9,
                "short_beard": 0.8, "full_beard": 0.95, "long_beard": 0.95}


def hair_regions(p: np.ndarray, n: np.ndarray, frame: HeadFrame, masks: dict[str, np.ndarray],
                 attrs: Attributes) -> dict[str, np.ndarray]:
    """Painted-hair coverage (...) 0..1 of surface points (..., 3) and its flow direction (..., 3).

    "scalp", "brows", "lashes" are coverages; "hair_flow" the unit 3D direction strands point in
    (away from the crown on the scalp, outwards along the brows, downwards in a beard).
    """
    u = frame.unit
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    eye_z, ear_y = frame.eye_z, frame.ear_y
    noise = np.sin(x / (0.09 * u) + 1.3) * np.cos(y / (0.13 * u)) + 0.5 * np.sin((x + y) / (0.05 * u))

    # scalp: the groom's own scalp (same hairline), the dense root layer under the strands
    style = attrs.hair.style or "short"
    cover = _SCALP_COVER.get(style, 1.0)
    flat_p, flat_n = p.reshape(-1, 3), n.reshape(-1, 3)
    scalp = cover * scalp_weight(flat_p, flat_n, frame, attrs.hair.hairline or "normal").reshape(x.shape)
    scalp *= 1.0 - np.clip(1.5 * masks["ears"], 0, 1)
    if attrs.hair.part in ("left", "right", "center") and cover >= 1.0:
        offset = {"left": 0.3, "right": -0.3, "center": 0.0}[attrs.hair.part] * u
        # from the front hairline back to the crown, where the parting fades out
        parting = smoothstep(0.03 * u, 0.0, np.abs(x - offset)) * smoothstep(ear_y + 0.4 * u, ear_y - 0.2 * u, y)
        scalp *= 1.0 - 0.8 * parting
    if attrs.hair.bangs == "fringe" and cover >= 1.0:
        # a fringe: hair reaches down the forehead to just above the brows
        edge = eye_z + u * (0.5 + 0.25 * (x / u) ** 2) + 0.03 * u * noise  # an arc, shortest in the middle
        fringe = smoothstep(0.0, 0.08 * u, z - edge) * (y < ear_y)
        scalp = np.maximum(scalp, cover * fringe)
    if style in _SHAVED_SIDES or attrs.hair.hairline == "shaved_sides":
        # a strip from the forehead to the nape; the sides shaved to a shadow
        scalp *= 0.1 + 0.9 * smoothstep(0.32 * u, 0.22 * u, np.abs(x))
    crown = np.float32([0.0, ear_y + 0.35 * u, eye_z + 1.35 * u])
    flow = _tangent(p - crown, n) * scalp[..., None]

    # eyebrows: the brow groom's own band
    brows = brow_weight(flat_p, flat_n, frame, attrs.eyebrows.type or "straight",
                        float(attrs.eyebrows.thickness or 0.0)).reshape(x.shape)
    s = (np.abs(x) - 0.18 * u) / (0.88 * u)  # 0 at the inner end, 1 at the tail
    up = np.clip(0.9 - 1.2 * s, -0.2, 0.9)  # inner hairs grow upwards, the tail's outwards and down
    brow_dir = np.stack([np.sign(x), np.zeros_like(x), up], -1)
    flow += _tangent(brow_dir, n) * brows[..., None]

    # lash line: lashes read as a dark margin on the upper lid
    lash = np.zeros_like(x)
    for e in frame.eye.astype(np.float32):
        r = norm(p - e)
        ring = np.exp(-0.5 * ((r - 1.04 * frame.eye_radius) / (0.06 * frame.eye_radius)) ** 2)
        lash = np.maximum(lash, ring * smoothstep(-0.1 * frame.eye_radius, 0.2 * frame.eye_radius, z - e[2])
                          * smoothstep(1.2 * frame.eye_radius, 0.8 * frame.eye_radius, np.abs(x - e[0])))
    lash *= smoothstep(0.2, 0.5, -n[..., 1])

    down = np.broadcast_to(np.float32([0.0, -0.3, -1.0]), p.shape)
    beard_flow = _tangent(down + np.stack([0.3 * np.sign(x), np.zeros_like(x), np.zeros_like(x)], -1), n)
    return {"scalp": scalp.astype(np.float32), "brows": brows.astype(np.float32), "lashes": lash.astype(np.float32),
            "hair_flow": (flow + beard_flow * (1.0 - np.clip(scalp + brows, 0, 1))[..., None]).astype(np.float32)}


def _tangent(d: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Directions (..., 3) projected onto the tangent planes of normals (..., 3), unit length."""
    t = d - np.einsum("...i,...i->...", d, n)[..., None] * n
    return t / np.maximum(norm(t), 1e-8)[..., None]


def _uv_angle(pmap: PositionMap, flow: np.ndarray) -> np.ndarray:
    """Angle (H, W) in radians, image axes (x right, y down), of 3D directions (H, W, 3) mapped into UV.

    Solves ``flow ≈ a·∂P/∂col + b·∂P/∂row`` per texel by least squares.
    """
    pc = np.gradient(pmap.position, axis=1)
    pr = np.gradient(pmap.position, axis=0)
    g11, g12, g22 = (np.einsum("...i,...i->...", u, v) for u, v in ((pc, pc), (pc, pr), (pr, pr)))
    r1, r2 = np.einsum("...i,...i->...", pc, flow), np.einsum("...i,...i->...", pr, flow)
    det = g11 * g22 - g12 * g12
    det = np.where(np.abs(det) < 1e-20, 1e-20, det)
    return np.arctan2((g11 * r2 - g12 * r1) / det, (g22 * r1 - g12 * r2) / det).astype(np.float32)


def _strands(angle: np.ndarray, length_px: float, rng: np.random.Generator, bins: int = 8) -> np.ndarray:
    """Hair-like streaks (H, W) ~ N(0, 1): white noise smeared along each texel's ``angle`` (radians).

    The noise is filtered with a line kernel at ``bins`` orientations and each texel blends the
    two nearest, so strands bend smoothly with the flow.
    """
    noise = rng.standard_normal(angle.shape, dtype=np.float32)
    k = int(2 * np.ceil(length_px / 2) + 1)
    pos = np.mod(angle, np.pi) / (np.pi / bins)  # orientation: strands have no head or tail
    out = np.zeros(angle.shape, np.float32)
    for b in range(bins):
        kernel = np.zeros((k, k), np.float32)
        c, t = (k - 1) / 2, b * np.pi / bins
        dx, dy = 0.5 * length_px * np.cos(t), 0.5 * length_px * np.sin(t)
        cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1, cv2.LINE_AA)
        weight = np.clip(1.0 - np.abs((pos - b + bins / 2) % bins - bins / 2), 0.0, 1.0)
        out += weight * cv2.filter2D(noise, -1, kernel / kernel.sum())
    return out / np.float32(max(float(out.std()), 1e-6))


def paint_hair(albedo: np.ndarray, regions: dict[str, np.ndarray], pmap: PositionMap, attrs: Attributes,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lay hair colour over linear albedo (S, S, 3) where the regions say; returns (albedo, coverage (S, S)).

    Regions and the position map are at the work size; strands are drawn at the albedo's size.
    """
    size = albedo.shape[0]
    beard_cover = BEARD_COVER[attrs.facial_hair.type or "none"]
    layers = ((regions["scalp"], attrs.hair.color, 1.0), (regions["brows"], attrs.eyebrows.color, 0.9),
              (regions["beard"] * beard_cover, attrs.facial_hair.color, 1.0))
    coverage = np.zeros(albedo.shape[:2], np.float32)
    if not any(float(w.max()) > 0 for w, _, _ in layers):
        return albedo, coverage
    strands = _strands(upsample(_uv_angle(pmap, regions["hair_flow"]), size), 14.0 * size / 2048, rng)
    fibres = np.clip(0.55 + 0.3 * strands, 0.0, 1.0)
    for weight, color, alpha in layers:
        if float(weight.max()) <= 0 or color is None:
            continue
        w = upsample(weight, size) * np.float32(alpha)
        c = np.clip(w * (0.8 + 0.6 * fibres), 0, 1)  # strands thin out where the coverage fades
        hair = srgb_decode(np.array(COLORS[color], np.uint8)) * (0.55 + 0.8 * fibres)[..., None]
        albedo = albedo * (1.0 - c[..., None]) + hair * c[..., None]
        coverage = np.maximum(coverage, c)
    lash = upsample(regions["lashes"], size)
    albedo *= (1.0 - 0.75 * lash)[..., None]
    return albedo, np.maximum(coverage, lash)
