"""Face grooms: eyebrows, upper and lower eyelashes, facial hair, grown on the skin of their region.

Each region is placed by the head's landmarks in inter-pupil units (so it fits any face anny
makes): the brow band above each eye (its arch and thickness by eyebrow type), the lid margins
(the head mesh's open boundary around each eyeball, found from the topology), and the beard area
below a line from the sideburns to the mouth (a moustache, goatee or full beard by type, never
on the lips). Roots are spread evenly on the region (:func:`machcreator.hair.scalp.sample_roots`);
strands follow the skin's flow (brows outwards and up, beards down), lie close to it and are kept
out of the body by the same signed distance field as the scalp hair.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from machcreator.character import MeshPart
from machcreator.hair.collision import BodyField, push_out
from machcreator.hair.growth import CM, SKIN_CLEARANCE_M, Strands, integrate, tangent_part, unit
from machcreator.hair.scalp import HeadFrame, Roots, region_roots, roots_on
from machcreator.core.ramps import smoothstep

#: eyebrow type -> (arch rise at the peak in inter-pupil units, peak position 0..1, thickness factor,
#: hair length cm)
BROW_SHAPE = {"straight": (0.03, 0.6, 1.0, 0.9), "arched": (0.11, 0.68, 0.9, 0.9), "rounded": (0.08, 0.5, 1.0, 0.9),
              "bushy": (0.04, 0.6, 1.45, 1.4), "thick": (0.05, 0.6, 1.3, 1.1), "thin": (0.08, 0.65, 0.65, 0.7)}
#: roots per eyebrow at thickness factor 1.
BROW_ROOTS = 550
#: lashes per upper and lower lid, and their lengths (cm).
LASHES = {"upper": (110, 0.95), "lower": (55, 0.5)}


def brow_weight(p: np.ndarray, n: np.ndarray, frame: HeadFrame, brow_type: str, thickness: float) -> np.ndarray:
    """How much points (N, 3) with normals (N, 3) lie in an eyebrow, 0..1: a band above each eye
    along the brow ridge, blunt at the nose, tapering outwards, arched by type."""
    rise, peak, thick, _ = BROW_SHAPE[brow_type]
    thick *= float(np.exp(0.75 * thickness))  # -1: about half as tall a band, +1: twice
    u = frame.unit
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    s = (np.abs(x) - 0.18 * u) / (0.88 * u)  # 0 at the inner end, 1 at the tail
    arch = np.where(s < peak, np.sin(0.5 * np.pi * np.clip(s / peak, 0, 1)), 1.0 - 1.6 * (s - peak))
    centre = frame.eye_z + u * (0.24 + rise * arch)
    half = u * 0.1 * thick * (1.0 - 0.7 * np.clip(s, 0, 1))
    return (smoothstep(-0.05, 0.05, s) * smoothstep(1.05, 0.95, s) * smoothstep(1.0, 0.6, np.abs(z - centre) / half)
            * smoothstep(0.2, 0.5, -n[:, 1]) * (y < frame.eye[0, 1])).astype(np.float32)


def grow_eyebrows(head: MeshPart, frame: HeadFrame, field: BodyField, brow_type: str, thickness: float,
                  rng: np.random.Generator) -> tuple[Roots, Strands]:
    """Eyebrow hairs: inner hairs grow upwards, the tail's outwards and down, lying on the skin."""
    _, _, thick, length_cm = BROW_SHAPE[brow_type]
    roots = region_roots(head, lambda p, n: brow_weight(p, n, frame, brow_type, thickness),
                         int(2 * BROW_ROOTS * thick * (1.0 + 0.3 * thickness)), rng)
    u = frame.unit
    x = roots.positions[:, 0].astype(np.float64)
    s = np.clip((np.abs(x) - 0.18 * u) / (0.88 * u), 0.0, 1.0)
    up = np.clip(0.9 - 1.3 * s, -0.35, 0.9)
    flow = np.stack([np.sign(x), np.zeros_like(x), up], 1)
    lengths = length_cm * (1.0 - 0.3 * s) * np.exp(rng.normal(0.0, 0.12, len(roots)))
    return roots, _lying(roots, flow, lengths, 0.12, 5, field)


def grow_facial_hair(head: MeshPart, frame: HeadFrame, field: BodyField, kind: str, length_cm: float,
                     rng: np.random.Generator, density: float = 0.75) -> tuple[Roots, Strands] | None:
    """Facial hair of a kind (stubble, mustache, goatee, short/full/long beard); None for "none".

    density: 0 thin and patchy .. 1 dense (0.75 is a typical adult beard).
    """
    if kind == "none" or length_cm <= 0:
        return None
    count = {"stubble": 26000, "mustache": 5000, "goatee": 9000}.get(kind, 24000)
    count = int(count * (0.3 + 0.95 * float(np.clip(density, 0.0, 1.0))))
    roots = region_roots(head, lambda p, n: beard_weight(p, n, frame, kind), count, rng)
    x = roots.positions[:, 0].astype(np.float64)
    # down the face; a little outward on the jaw, none on the sideburns (they would stick out)
    outward = 0.3 * np.clip((frame.nose[2] - roots.positions[:, 2]) / (0.5 * frame.unit), 0.0, 1.0)
    flow = np.stack([outward * np.sign(x), -0.25 * np.ones_like(x), -np.ones_like(x)], 1)
    lengths = length_cm * np.exp(rng.normal(0.0, 0.15 if kind == "stubble" else 0.1, len(roots)))
    points = int(np.clip(np.ceil(length_cm / 0.8) + 2, 3, 24))
    lift = 0.25 if kind == "stubble" else 0.35
    return roots, _lying(roots, flow, lengths, lift, points, field, gravity=kind == "long_beard")


def beard_weight(p: np.ndarray, n: np.ndarray, frame: HeadFrame, kind: str) -> np.ndarray:
    """How much points (N, 3) with normals (N, 3) grow facial hair of ``kind``, 0..1: below a
    ragged line from the sideburns to the upper lip, above the upper neck, in front of the ears,
    never on the lips; a moustache keeps the upper lip, a goatee adds the chin."""
    u = frame.unit
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    mouth_z = float(frame.mouth[2])
    ear_x, corner_x = float(abs(frame.ear[0, 0])), 0.42 * u
    lip_top = mouth_z + 0.5 * (float(frame.nose[2]) - mouth_z)
    slope = (float(frame.ear[0, 2]) - 0.1 * u - lip_top) / max(ear_x - corner_x, 1e-3)
    z_top = lip_top + np.maximum(np.abs(x) - corner_x, 0.0) * slope
    ragged = 0.04 * u * (np.sin(x / (0.05 * u)) + 0.6 * np.sin(x / (0.021 * u) + 1.7))
    area = (smoothstep(-0.04 * u, 0.18 * u, z_top - z + ragged)
            * smoothstep(float(frame.chin[2]) - 0.5 * u, float(frame.chin[2]) - 0.15 * u, z)
            * smoothstep(0.0, 0.1 * u, (float(frame.ear[0, 1]) - 0.05 * u) - y))
    # the lips: an ellipse around the mouth centre
    lips = ((x / (0.5 * u)) ** 2 + ((z - mouth_z) / (0.16 * u)) ** 2) < 1.0
    area = area * ~lips * (n[:, 1] < 0.3)
    centre = smoothstep(0.0, 0.1 * u, corner_x + 0.12 * u - np.abs(x))
    upper_lip = centre * smoothstep(mouth_z + 0.1 * u, mouth_z + 0.16 * u, z)
    chin = centre * smoothstep(mouth_z - 0.1 * u, mouth_z - 0.2 * u, z)
    shape = {"mustache": upper_lip, "goatee": np.maximum(upper_lip, chin)}.get(kind, 1.0)
    return (area * shape).astype(np.float32)


def lid_margins(head: MeshPart, frame: HeadFrame) -> dict[str, np.ndarray]:
    """Upper and lower lid margins of both eyes: "upper_l", "lower_l", "upper_r", "lower_r" ->
    (K, 3) points from the inner to the outer corner, metres.

    The lid margin is where the face skin meets the eye socket's lining: a UV seam of the head
    part (its own open boundary edges near each eye centre). The corners are its inner- and
    outermost points, and the upper lid lies above the line between them.
    """
    f = head.faces
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), 1)
    keys, count = np.unique(edges, axis=0, return_counts=True)
    boundary = np.unique(keys[count == 1])
    pts = np.unique(np.round(head.positions[boundary].astype(np.float64), 7), axis=0)
    out: dict[str, np.ndarray] = {}
    for side, e in (("l", frame.eye[0]), ("r", frame.eye[1])):
        q = pts[np.linalg.norm(pts - e, axis=1) < 2.2 * frame.eye_radius]
        if len(q) < 8:
            raise ValueError(f"no lid margin found around the {side} eye (the head has no eye opening)")
        inner, outer = q[np.argmin(np.abs(q[:, 0]))], q[np.argmax(np.abs(q[:, 0]))]
        axis = outer - inner
        t = (q - inner) @ axis / (axis @ axis)
        line_z = inner[2] + t * axis[2]
        for lid, sel in (("upper", q[:, 2] >= line_z), ("lower", q[:, 2] < line_z)):
            order = np.argsort(t[sel])
            out[f"{lid}_{side}"] = np.concatenate([[inner], q[sel][order], [outer]])
    return out


def grow_eyelashes(head: MeshPart, frame: HeadFrame, length_scale: float, rng: np.random.Generator) -> tuple[Roots, Strands]:
    """Upper and lower lashes along the lid margins: out from the eyeball, curling away from it
    (upper lashes up, lower lashes down), longest in the middle of the lid."""
    margins = lid_margins(head, frame)
    tree = cKDTree(head.positions)
    pos_all, dirs, lengths, curl_up = [], [], [], []
    for key, margin in margins.items():
        lid, side = key.split("_")
        count, length_cm = LASHES[lid]
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(margin, axis=0), axis=1))])
        s = np.sort(rng.uniform(0.04, 0.96, count)) * arc[-1]
        p = np.stack([np.interp(s, arc, margin[:, k]) for k in range(3)], 1)
        e = frame.eye[0 if side == "l" else 1]
        out = unit(p - e)
        out = unit(out + np.array([0.0, -0.8, 0.0]))  # lashes point forward, off the eyeball
        mid = np.sin(np.pi * s / arc[-1])
        pos_all.append(p)
        dirs.append(out)
        lengths.append(length_cm * length_scale * (0.55 + 0.45 * mid) * np.exp(rng.normal(0, 0.08, count)))
        curl_up.append(np.full(count, 1.0 if lid == "upper" else -1.0))
    p = np.concatenate(pos_all)
    _, vert = tree.query(p)
    face = np.array([np.nonzero((head.faces == v).any(1))[0][0] for v in vert])
    bary = (head.faces[face] == vert[:, None]).astype(np.float32)
    roots = roots_on(head, face, bary)
    roots.positions = p.astype(np.float32)  # exactly on the margin, not the nearest vertex
    d0, L, up = np.concatenate(dirs), np.concatenate(lengths) * CM, np.concatenate(curl_up)
    k = 6
    t = np.linspace(0.0, 1.0, k)[None, :, None]
    # a lash is an arc: it leaves along d0 and bends towards +z (upper) or -z (lower)
    bend = np.array([0.0, 0.0, 1.0])[None, None] * up[:, None, None]
    path = p[:, None] + L[:, None, None] * (d0[:, None] * t + 0.45 * bend * t ** 2)
    return roots, Strands(points=path.reshape(-1, 3).astype(np.float32), counts=np.full(len(p), k, np.int32),
                          clump=np.arange(len(p), dtype=np.int32) // 6)


def _lying(roots: Roots, flow: np.ndarray, lengths_cm: np.ndarray, lift: float, points: int,
           field: BodyField, gravity: bool = False) -> Strands:
    """Short strands from roots along a flow (N, 3), lying on the skin with a little ``lift``."""
    n0 = roots.normals.astype(np.float64)
    step = lengths_cm * CM / (points - 1)
    want0 = unit(tangent_part(flow, n0) + lift * n0)

    def direction(x: np.ndarray, d: np.ndarray, i: int) -> np.ndarray:
        n = field.gradient(x)
        along = unit(tangent_part(flow, n))
        if gravity:
            w = smoothstep(0.0, 0.06, i * step)[:, None]
            along = unit((1 - w) * along + w * np.array([0.0, -0.1, -1.0]))
        return along

    path, _ = integrate(roots.positions.astype(np.float64), want0, step, points - 1, direction, field,
                         lambda i: np.full(len(flow), SKIN_CLEARANCE_M))
    pts = path.reshape(-1, 3)
    first = np.zeros(len(pts), bool)
    first[::points] = True
    pts[~first] = push_out(pts[~first], field, SKIN_CLEARANCE_M, iterations=8)
    return Strands(points=pts.astype(np.float32), counts=np.full(len(roots), points, np.int32),
                   clump=np.arange(len(roots), dtype=np.int32) // 8)
