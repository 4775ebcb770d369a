"""The scalp: a head frame from landmarks, a shapeable hairline, a density map and blue-noise roots.

The scalp is the part of the template head above the hairline (and off the ears). The hairline is
a height above the eyes by azimuth around the head (forehead -> temples -> sideburns -> over the
ears -> nape) in inter-pupil units, so it scales with every head anny makes; its kinds (normal,
receding, widow's peak, high, shaved sides) bend that curve. Roots are spread evenly (blue noise:
error-diffused counts per triangle, a low-discrepancy sequence inside each) with a density map,
and each keeps its triangle, barycentrics, normal and UV (Unreal's ``groom_root_uv``).

Axes: metres, Z-up, the character faces -Y (+X is the character's left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from machcreator.character import Character, MeshPart
from machcreator.core.hair_styles import Hairline

#: hairline height above the eye centres (inter-pupil units) by azimuth around the vertical axis
#: through the ears: 0° straight ahead, 90° over the ear, 180° the nape.
_HAIRLINE_DEG = (0.0, 30.0, 50.0, 62.0, 76.0, 88.0, 102.0, 118.0, 180.0)
_HAIRLINE_U: dict[Hairline, tuple[float, ...]] = {
    "normal": (1.1, 1.0, 0.72, 0.4, 0.0, 0.3, 0.35, -0.3, -0.75),
    "high": (1.45, 1.35, 1.0, 0.55, 0.05, 0.3, 0.35, -0.3, -0.75),
    # temples recede into an M; the centre holds a little longer
    "receding": (1.55, 1.95, 1.75, 1.1, 0.35, 0.45, 0.4, -0.25, -0.7),
    "widows_peak": (0.85, 1.15, 0.8, 0.42, 0.0, 0.3, 0.35, -0.3, -0.75),
    "shaved_sides": (1.1, 1.0, 0.72, 0.4, 0.0, 0.3, 0.35, -0.3, -0.75),
}
#: the hairline fades in over this many inter-pupil units (baby hairs, no drawn edge).
_HAIRLINE_SOFT_U = 0.12


@dataclass(frozen=True)
class HeadFrame:
    """Where the head is: points in metres, Z-up, facing -Y.

    center: (3,) a point inside the skull, between the ears, at mid-height of the cranium.
    unit: inter-pupil distance, metres (scales every shape rule).
    eye: (2, 3) eye centres (left, right); eye_radius: metres.
    ear_y: the y of the ears (the coronal plane behind which hair "falls back").
    top: (3,) the top of the head; nape: (3,) the back of the neck at the hairline.
    """

    center: np.ndarray
    unit: float
    eye: np.ndarray
    eye_radius: float
    ear: np.ndarray
    top: np.ndarray
    forehead: np.ndarray
    chin: np.ndarray
    mouth: np.ndarray
    nose: np.ndarray

    @property
    def eye_z(self) -> float:
        return float(self.eye[:, 2].mean())

    @property
    def ear_y(self) -> float:
        return float(self.ear[:, 1].mean())


def head_frame(character: Character) -> HeadFrame:
    """The head frame of a character from its landmarks (see ``body/geometry.body_landmarks``)."""
    lm = {k: np.asarray(v, np.float64) for k, v in character.landmarks.items()}
    eye = np.stack([lm["eye_center_l"], lm["eye_center_r"]])
    ear = np.stack([lm["ear_l"], lm["ear_r"]])
    top = lm["head_top"]
    center = np.array([0.0, ear[:, 1].mean(), 0.5 * (eye[:, 2].mean() + top[2])])
    return HeadFrame(center=center, unit=float(abs(eye[0, 0] - eye[1, 0])), eye=eye,
                     eye_radius=float(lm["eye_radius"].reshape(-1)[0]), ear=ear, top=top,
                     forehead=lm["forehead_center"], chin=lm["chin"], mouth=lm["mouth_center"],
                     nose=lm["nose_tip"])


def azimuth_deg(p: np.ndarray, frame: HeadFrame) -> np.ndarray:
    """Angle (...) around the head's vertical axis: 0° ahead (-Y), 90° at the ear, 180° behind."""
    return np.degrees(np.arctan2(np.abs(p[..., 0]), frame.ear_y - p[..., 1]))


def hairline_height(p: np.ndarray, frame: HeadFrame, hairline: Hairline) -> np.ndarray:
    """z (...) of the hairline above/below points (..., 3), metres, with a gentle irregularity."""
    if hairline not in _HAIRLINE_U:
        raise ValueError(f"unknown hairline {hairline!r}; choose one of {', '.join(_HAIRLINE_U)}")
    u = frame.unit
    x, y = p[..., 0], p[..., 1]
    irregular = np.sin(x / (0.09 * u) + 1.3) * np.cos(y / (0.13 * u)) + 0.5 * np.sin((x + y) / (0.05 * u))
    line = frame.eye_z + u * np.interp(azimuth_deg(p, frame), _HAIRLINE_DEG, _HAIRLINE_U[hairline])
    if hairline == "widows_peak":  # a V at the centre of the forehead
        line = line - 0.22 * u * np.clip(1.0 - np.abs(x) / (0.35 * u), 0.0, 1.0) * (y < frame.ear_y)
    return line + 0.025 * u * irregular


def scalp_weight(p: np.ndarray, n: np.ndarray, frame: HeadFrame, hairline: Hairline) -> np.ndarray:
    """How much of each surface point (..., 3) with normal (..., 3) is scalp, 0..1.

    Above the hairline (soft over ``_HAIRLINE_SOFT_U``), off the ears (the skin around the ear
    canal faces sideways and lies within 0.45 u of the ear landmark), off the face's front.
    """
    u = frame.unit
    z = p[..., 2]
    above = np.clip((z - hairline_height(p, frame, hairline)) / (_HAIRLINE_SOFT_U * u) + 0.5, 0.0, 1.0)
    ear_d = np.min(np.linalg.norm(p[..., None, :] - frame.ear, axis=-1), axis=-1)
    off_ear = np.clip((ear_d - 0.32 * u) / (0.15 * u), 0.0, 1.0)
    return (above * off_ear).astype(np.float32)


@dataclass
class Roots:
    """Strand roots on a mesh part.

    positions: (S, 3) float32 metres; normals: (S, 3) unit; uv: (S, 2) the part's UV (top-left).
    face: (S,) int64 triangle of the part; bary: (S, 3) float32 barycentrics in it (the same
    triangle and barycentrics place the root on any head anny makes: one topology).
    """

    positions: np.ndarray
    normals: np.ndarray
    uv: np.ndarray
    face: np.ndarray
    bary: np.ndarray

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    def subset(self, index: np.ndarray) -> "Roots":
        return Roots(self.positions[index], self.normals[index], self.uv[index], self.face[index], self.bary[index])


def roots_on(part: MeshPart, face: np.ndarray, bary: np.ndarray) -> Roots:
    """Evaluate roots given by (triangle, barycentrics) on ``part`` (positions, normals, UVs)."""
    tri = part.faces[face]
    w = bary[..., None].astype(np.float64)
    pos = (part.positions[tri] * w).sum(1)
    nrm = (part.normals[tri] * w).sum(1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    uv = (part.uvs[tri] * w).sum(1)
    return Roots(pos.astype(np.float32), nrm.astype(np.float32), uv.astype(np.float32),
                 np.asarray(face, np.int64), np.asarray(bary, np.float32))


def _r2(k: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(N, 2) the ``k``-th points (N,) of the R2 low-discrepancy sequence (Roberts 2018), shifted
    per row by ``shift`` (N, 2) mod 1."""
    g = 1.32471795724474602596  # the plastic number
    return np.mod(0.5 + (k[:, None] + 1) * np.array([1.0 / g, 1.0 / (g * g)]) + shift, 1.0)


def sample_roots(part: MeshPart, density: np.ndarray, count: int, rng: np.random.Generator) -> Roots:
    """``count`` roots spread evenly over ``part`` with a relative density per triangle.

    Blue-noise-like: each triangle gets round(area·density) roots by error diffusion over the
    triangles in mesh order (so totals are exact and neighbours balance), placed inside the
    triangle by a randomly shifted R2 sequence folded onto the triangle.

    Args:
        part: the mesh (positions metres, faces).
        density: (F,) relative density per triangle, >= 0 (0 = no roots).
        count: total roots wanted.
    """
    p = part.positions.astype(np.float64)
    tri = p[part.faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    mass = area * np.clip(density, 0.0, None)
    if mass.sum() <= 0 or count <= 0:
        return roots_on(part, np.zeros(0, np.int64), np.zeros((0, 3), np.float32))
    want = mass / mass.sum() * count
    cum = np.floor(np.cumsum(want) + rng.uniform(0.0, 1.0))
    per_face = np.diff(np.concatenate([[np.floor(rng.uniform(0.0, 1.0))], cum])).astype(np.int64)
    per_face = np.maximum(per_face, 0)
    face = np.repeat(np.arange(len(mass)), per_face)
    # index of each root within its triangle -> its R2 point, shifted per triangle
    first = np.repeat(np.cumsum(per_face) - per_face, per_face)
    k = np.arange(len(face)) - first
    st = _r2(k, rng.uniform(0.0, 1.0, (len(mass), 2))[face])
    fold = st.sum(1) > 1.0
    st[fold] = 1.0 - st[fold]
    bary = np.stack([1.0 - st[:, 0] - st[:, 1], st[:, 0], st[:, 1]], 1)
    return roots_on(part, face, bary.astype(np.float32))


def region_roots(part: MeshPart, weight: Callable[[np.ndarray, np.ndarray], np.ndarray], count: int,
                 rng: np.random.Generator) -> Roots:
    """``count`` roots on the region of ``part`` where ``weight(points (N, 3), normals (N, 3))``
    (0..1) is positive: sampled per triangle by the weight at its centroid
    (:func:`sample_roots`), then thinned by the weight at each root itself, so a triangle that
    straddles the region's edge keeps only its inside and the edge is as sharp as it is soft."""
    face_w = weight(*_centroids(part, np.arange(len(part.faces))))
    if count <= 0 or face_w.max() <= 0:
        return sample_roots(part, np.zeros(len(part.faces)), 0, rng)
    roots = sample_roots(part, face_w, int(count * 1.3) + 16, rng)
    ratio = weight(roots.positions, roots.normals) / np.maximum(face_w[roots.face], 1e-6)
    keep = np.nonzero(rng.random(len(roots)) < np.clip(ratio, 0.0, 1.0))[0]
    if len(keep) > count:
        keep = np.sort(rng.choice(keep, count, replace=False))
    return roots.subset(keep)


def scalp_roots(part: MeshPart, frame: HeadFrame, hairline: Hairline, density: float, count: int,
                rng: np.random.Generator) -> Roots:
    """``count`` roots on the scalp of the head ``part`` (:func:`scalp_weight`), thinned over the
    crown when the hair is thin (``density`` 0..1, 0.7 typical)."""
    thin = float(np.clip((0.6 - density) / 0.4, 0.0, 1.0))
    crown = frame.top + np.array([0.0, 0.35 * frame.unit, 0.0])

    def weight(p: np.ndarray, n: np.ndarray) -> np.ndarray:
        at_crown = np.exp(-0.5 * np.sum(((p - crown) / (0.9 * frame.unit)) ** 2, -1))
        return scalp_weight(p, n, frame, hairline) * (1.0 - 0.85 * thin * at_crown)

    return region_roots(part, weight, count, rng)


def _centroids(part: MeshPart, face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tri = part.faces[face]
    n = part.normals[tri].mean(1)
    return part.positions[tri].mean(1), n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
