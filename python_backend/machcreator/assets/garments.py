"""Built-in garments generated for the actual body: tops, dresses, bottoms and outerwear.

A garment is designed, not a uniform offset of the skin. Its :class:`GarmentDesign` says where
the cloth reaches (hem height, neckline, sleeve and leg length, all measured on this body), how
much ease each region has (torso, sleeves, legs, in metres), whether sleeves and legs hang
straight from their widest point, and whether a skirt part hangs and flares below the waist.

Construction (all metres, Z-up, the character faces -Y):

1. A coverage field ``f`` over the skin (metres inside the hems, negative outside), blended
   across regions by the skin weights so hems are smooth curves; the skin is clipped at ``f = 0``.
2. The clipped skin is offset along its normals by the region's ease, then relaxed (Laplacian
   smoothing bridges creases like the spine and the armpit) and pushed back out of the skin and
   of every garment already fitted under it, alternately; limbs of straight cuts are widened to
   their widest point below it.
3. A skirt (skirts, dresses, coats) is a ring surface from the waist or hip down to the hem that
   never narrows going down and flares by the design's angle, wide enough for both legs.
4. Trim: collars, buttons, a hood lying on the back, a kangaroo pocket, lapels.
5. Every piece gets cloth thickness (an inner shell joined to the outer one at the hems), UVs in
   cloth metres / :data:`~machcreator.assets.fabrics.TILE_M` (u around, v down), a fabric
   material, and skin weights from the skin under it, so it follows every pose.

The skin faces a garment covers for sure (more than :data:`HIDE_MARGIN_M` inside its hems) are
reported in ``hidden_body`` so the body part can drop them: hidden skin cannot poke through.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from machcreator.assets.fabrics import TILE_M, fabric_material
from machcreator.assets.fitting import (BodySurface, FittedAsset, SurfaceCloud, asset_part, dense_weights, merge_meshes,
                                        push_out, top_influences, transfer_weights, tube)
from machcreator.character import Material
from machcreator.core.normals import vertex_normals

#: skin further than this inside a garment's hems is hidden (dropped from the body part), metres
HIDE_MARGIN_M = 0.04
#: gap kept between the skin (or the garment under) and a garment's inner surface, metres
CLEARANCE_M = 0.003
#: a cloth vertex this close to a UV seam's angle (radians; 1e-4 is 15 µm at 15 cm from the axis,
#: far below the mesh's ~1 cm spacing) counts as on the seam
SEAM_SNAP_RAD = 1e-4


@dataclass(frozen=True)
class GarmentDesign:
    """Where a garment reaches and how it hangs. Lengths are fractions measured on the body.

    hem: the lower hem of the torso piece, 0 = hip joint height, 1 = waist (lowest rib), < 0
        below the hips (a long shirt). Ignored when ``torso`` is False.
    neck_depth_m: how far below the neck base the front of the neckline dips; ``v_neck``: the
        neckline is a V (depth grows to the centre).
    sleeve: 0 sleeveless .. 1 to the wrist (fraction of shoulder→wrist); ``leg``: 0 .. 1 to
        the ankle, for bottoms; ``waist_up_m`` how far above the hip joints trousers reach.
    ease_m: (torso, sleeves, legs) gap between skin and cloth, metres.
    straight_limbs: 0 sleeves and legs cling .. 1 they hang straight down from their widest point.
    skirt_to: None, or the skirt's hem as a fraction hip (0) → ankle (1); ``skirt_from_waist``
        starts it at the waist instead of the hips; ``flare_deg`` how much it widens.
    thickness_m: cloth thickness.
    """

    torso: bool = True
    hem: float = 0.0
    neck_depth_m: float = 0.025
    v_neck: bool = False
    sleeve: float = 0.0
    leg: float = 0.0
    waist_up_m: float = 0.0
    ease_m: tuple[float, float, float] = (0.012, 0.012, 0.012)
    straight_limbs: float = 0.0
    skirt_to: float | None = None
    skirt_from_waist: bool = False
    flare_deg: float = 8.0
    thickness_m: float = 0.002
    collar: bool = False
    buttons: int = 0
    hood: bool = False
    pocket: bool = False
    lapels: bool = False
    pattern: str = "solid"
    layer: int = 1  # fitting order: 0 bottoms, 1 tops and dresses, 2 outerwear


GARMENTS: dict[str, GarmentDesign] = {
    "t_shirt": GarmentDesign(hem=-0.15, sleeve=0.3, ease_m=(0.012, 0.02, 0.0), straight_limbs=0.85),
    "shirt": GarmentDesign(hem=-0.3, sleeve=0.97, ease_m=(0.014, 0.014, 0.0), straight_limbs=0.85,
                           collar=True, buttons=7, neck_depth_m=0.015),
    "blouse": GarmentDesign(hem=-0.1, sleeve=0.6, neck_depth_m=0.06, v_neck=True, ease_m=(0.016, 0.022, 0.0),
                            straight_limbs=0.85, buttons=4),
    "tank_top": GarmentDesign(hem=-0.1, sleeve=0.0, neck_depth_m=0.08, ease_m=(0.006, 0.0, 0.0)),
    "sweater": GarmentDesign(hem=-0.2, sleeve=1.0, ease_m=(0.02, 0.018, 0.0), straight_limbs=0.85,
                             thickness_m=0.004, pattern="knit", neck_depth_m=0.02),
    "hoodie": GarmentDesign(hem=-0.25, sleeve=1.0, ease_m=(0.03, 0.024, 0.0), straight_limbs=0.85,
                            thickness_m=0.004, hood=True, pocket=True, neck_depth_m=0.03),
    "dress": GarmentDesign(hem=0.6, sleeve=0.15, neck_depth_m=0.07, ease_m=(0.008, 0.012, 0.0),
                           skirt_to=0.5, skirt_from_waist=True, flare_deg=14.0, layer=1),
    "jeans": GarmentDesign(torso=False, leg=0.98, waist_up_m=0.07, ease_m=(0.008, 0.0, 0.006),
                           straight_limbs=0.6, thickness_m=0.003, pattern="denim", layer=0),
    "trousers": GarmentDesign(torso=False, leg=0.98, waist_up_m=0.09, ease_m=(0.012, 0.0, 0.02),
                              straight_limbs=0.85, layer=0),
    "shorts": GarmentDesign(torso=False, leg=0.32, waist_up_m=0.07, ease_m=(0.012, 0.0, 0.025),
                            straight_limbs=0.85, layer=0),
    "skirt": GarmentDesign(torso=False, leg=0.0, waist_up_m=0.08, ease_m=(0.008, 0.0, 0.0),
                           skirt_to=0.55, skirt_from_waist=True, flare_deg=12.0, layer=0),
    "jacket": GarmentDesign(hem=-0.25, sleeve=1.0, ease_m=(0.035, 0.03, 0.0), straight_limbs=0.85,
                            thickness_m=0.005, collar=True, buttons=5, neck_depth_m=0.02, layer=2),
    "suit_jacket": GarmentDesign(hem=-0.3, sleeve=0.98, ease_m=(0.03, 0.026, 0.0), straight_limbs=0.85,
                                 thickness_m=0.004, v_neck=True, neck_depth_m=0.17, lapels=True, buttons=2,
                                 layer=2),
    "coat": GarmentDesign(hem=0.5, sleeve=1.0, ease_m=(0.045, 0.035, 0.0), straight_limbs=0.85,
                          thickness_m=0.006, lapels=True, buttons=4, v_neck=True, neck_depth_m=0.12,
                          skirt_to=0.55, flare_deg=6.0, layer=2),
}


# --- body measurements ----------------------------------------------------------------------

@dataclass
class _Frame:
    """Per-vertex body coordinates garments are designed in."""

    arm: np.ndarray  # (V,) weight of arm bones (upper and lower arm)
    hand: np.ndarray
    leg: np.ndarray  # thighs and shins
    foot: np.ndarray
    head: np.ndarray  # head and upper neck
    t_arm: np.ndarray  # (V,) metres along shoulder → elbow → wrist
    t_leg: np.ndarray  # (V,) metres along hip → knee → ankle
    arm_len: float
    leg_len: float
    hip_z: float
    waist_z: float
    neck_z: float
    neck_y: float


def _along(points: np.ndarray, chain: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each point's projection onto a polyline of joints (clamped to it): arc length (N,) from
    the first joint, metres, and the projected point (N, 3)."""
    best = np.full(len(points), np.inf)
    t = np.zeros(len(points))
    foot = np.zeros_like(points)
    start = 0.0
    for a, b in zip(chain[:-1], chain[1:]):
        ab = b - a
        length = float(np.linalg.norm(ab))
        s = np.clip((points - a) @ ab / length**2, 0.0, 1.0)
        q = a + s[:, None] * ab
        d = np.linalg.norm(points - q, axis=1)
        better = d < best
        best[better], t[better], foot[better] = d[better], start + s[better] * length, q[better]
        start += length
    return t, foot


def _chain(surface: BodySurface, limb: str, side: str) -> list[np.ndarray]:
    names = ("upperarm01", "lowerarm01", "wrist") if limb == "arm" else ("upperleg01", "lowerleg01", "foot")
    return [surface.bone(f"{n}.{side}") for n in names]


def body_frame(surface: BodySurface) -> _Frame:
    p = surface.positions
    mass = surface.bone_mass
    arm = mass(("upperarm", "lowerarm"))
    hand = mass(("wrist", "finger", "metacarpal"))
    leg = mass(("upperleg", "lowerleg"))
    foot = mass(("foot", "toe"))
    head = mass(("head", "neck02", "neck03", "eye", "jaw"))
    side = np.where(p[:, 0] >= 0, "L", "R")
    t_arm, t_leg = np.zeros(len(p)), np.zeros(len(p))
    arm_len = leg_len = 0.0
    for s in ("L", "R"):
        sel = side == s
        arm_chain, leg_chain = _chain(surface, "arm", s), _chain(surface, "leg", s)
        t_arm[sel] = _along(p[sel], arm_chain)[0]
        t_leg[sel] = _along(p[sel], leg_chain)[0]
        arm_len = sum(np.linalg.norm(b - a) for a, b in zip(arm_chain[:-1], arm_chain[1:]))
        leg_len = sum(np.linalg.norm(b - a) for a, b in zip(leg_chain[:-1], leg_chain[1:]))
    hip_z = float(surface.bone("upperleg01.L")[2])
    waist_z = float(surface.bone("spine03")[2])
    neck = surface.landmarks["neck_base"]
    return _Frame(arm, hand, leg, foot, head, t_arm, t_leg, float(arm_len), float(leg_len), hip_z, waist_z,
                  float(neck[2]), float(neck[1]))


def coverage(design: GarmentDesign, surface: BodySurface, frame: _Frame) -> np.ndarray:
    """(V,) metres inside the garment's hems on the skin (negative outside), smooth across regions."""
    p = surface.positions
    z = p[:, 2]
    if design.torso:
        hem_z = frame.hip_z + design.hem * (frame.waist_z - frame.hip_z)
        front = np.clip((frame.neck_y - p[:, 1]) / 0.08, 0.0, 1.0)  # 0 at the back of the neck, 1 in front
        neck_limit = frame.neck_z + 0.01 - design.neck_depth_m * front
        if design.v_neck:
            neck_limit = neck_limit + front * np.minimum(np.abs(p[:, 0]) * 1.6, design.neck_depth_m)
        f_torso = np.minimum(z - hem_z, neck_limit - z)
        f_arm = np.minimum(design.sleeve * frame.arm_len - frame.t_arm, neck_limit - z) if design.sleeve > 0 \
            else np.full(len(p), -0.03) - frame.t_arm
        f_leg = z - hem_z
    else:
        top_z = frame.hip_z + design.waist_up_m
        f_torso = top_z - z
        f_arm = np.full(len(p), -0.1)
        f_leg = np.minimum(top_z - z, design.leg * frame.leg_len - frame.t_leg) if design.leg > 0 \
            else np.full(len(p), -0.1)
    rest = np.clip(1.0 - frame.arm - frame.hand - frame.leg - frame.foot - frame.head, 0.0, 1.0)
    outside = -0.1
    return (rest * f_torso + frame.arm * f_arm + frame.leg * f_leg
            + (frame.hand + frame.foot + frame.head) * outside)


# --- mesh operations ------------------------------------------------------------------------

def clip_mesh(positions: np.ndarray, faces: np.ndarray, field: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of a triangle mesh where ``field > 0``, cut exactly along ``field = 0``.

    Returns positions (N, 3), faces (M, 3), and (N, 2, ...) provenance as ``(src, other, s)``
    packed in an (N, 3) float array: each new vertex is ``lerp(src, other, s)`` of input vertices,
    so any per-vertex attribute can be carried over with :func:`carry`.
    """
    inside = field > 0
    keep = inside[faces]
    n_in = keep.sum(1)
    out_faces = [faces[n_in == 3]]
    edge_index: dict[tuple[int, int], int] = {}
    prov = [np.stack([np.arange(len(positions)), np.arange(len(positions)), np.zeros(len(positions))], 1)]
    new: list[tuple[int, int, float]] = []

    def cut(a: int, b: int) -> int:  # the vertex where the field crosses 0 on edge a (inside) → b
        key = (a, b) if a < b else (b, a)
        if key not in edge_index:
            s = field[a] / (field[a] - field[b])
            edge_index[key] = len(positions) + len(new)
            new.append((a, b, s))
        return edge_index[key]

    extra = []
    for face, k in zip(faces[(n_in == 1) | (n_in == 2)], keep[(n_in == 1) | (n_in == 2)]):
        r = int(np.flatnonzero(k if k.sum() == 1 else ~k)[0])  # the odd corner out
        a, b, c = (int(face[(r + i) % 3]) for i in range(3))
        if k.sum() == 1:  # a inside: one triangle
            extra.append((a, cut(a, b), cut(a, c)))
        else:  # a outside: a quad b, c, c→a, a→b
            ab, ca = cut(b, a), cut(c, a)
            extra += [(b, c, ca), (b, ca, ab)]
    if new:
        prov.append(np.array(new, dtype=np.float64))
    prov_all = np.concatenate(prov)
    pos = carry(positions, prov_all)
    all_faces = np.concatenate(out_faces + ([np.array(extra, np.int64)] if extra else []))
    used = np.unique(all_faces)
    remap = np.full(len(pos), -1)
    remap[used] = np.arange(len(used))
    return pos[used], remap[all_faces], prov_all[used]


def carry(values: np.ndarray, prov: np.ndarray) -> np.ndarray:
    """Per-vertex ``values`` (V, ...) carried to clipped vertices with provenance ``prov`` (N, 3)."""
    a, b, s = prov[:, 0].astype(np.int64), prov[:, 1].astype(np.int64), prov[:, 2]
    s = s.reshape((-1,) + (1,) * (values.ndim - 1))
    return values[a] * (1 - s) + values[b] * s


def _laplacian(faces: np.ndarray, n: int) -> scipy.sparse.csr_matrix:
    """Row-normalised uniform adjacency (V, V): averaging over each vertex's neighbours."""
    i = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 1], faces[:, 2], faces[:, 0]])
    j = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0], faces[:, 0], faces[:, 1], faces[:, 2]])
    adj = scipy.sparse.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    deg = np.asarray(adj.sum(1)).ravel()
    return scipy.sparse.diags(1.0 / np.maximum(deg, 1)) @ adj


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """(B, 2) edges used by one face only, in that face's winding."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, 1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    return e[cnt[inv.reshape(-1)] == 1]


def solidify(positions: np.ndarray, faces: np.ndarray, thickness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give an open surface cloth thickness: an inner shell ``thickness`` under it (flipped) and a
    rim joining the two at every open edge.

    Returns positions (2V, 3), faces, and (2V,) int source vertex of each output vertex.
    """
    n = len(positions)
    normals = vertex_normals(positions, faces)
    inner = positions - normals * thickness
    rim = boundary_edges(faces)
    a, b = rim[:, 0], rim[:, 1]
    rim_faces = np.concatenate([np.stack([b, a, a + n], 1), np.stack([b, a + n, b + n], 1)])
    return (np.concatenate([positions, inner]), np.concatenate([faces, faces[:, ::-1] + n, rim_faces]),
            np.concatenate([np.arange(n), np.arange(n)]))


# --- the garment ----------------------------------------------------------------------------

@dataclass
class _Piece:
    """One outer cloth surface before thickness: positions (V, 3), faces, per-vertex (u, v) in
    metres (already unwrapped per face at the seam, see ``corner_uv``), weights."""

    positions: np.ndarray
    faces: np.ndarray
    corner_uv: np.ndarray  # (F, 3, 2) metres
    joints: np.ndarray
    weights: np.ndarray


def _relax(x: np.ndarray, faces: np.ndarray, layers: list[SurfaceCloud], clearance: np.ndarray,
           iterations: int = 6) -> np.ndarray:
    """Smooth the offset surface (bridging creases) and keep it outside every layer by
    ``clearance`` (N,), metres. Open edges stay put, so hems keep their place."""
    lap = _laplacian(faces, len(x))
    free = np.ones(len(x), bool)
    free[boundary_edges(faces).reshape(-1)] = False
    for _ in range(iterations):
        x[free] = 0.5 * x[free] + 0.5 * (lap @ x)[free]
        x = push_out(x, layers, clearance, rounds=2, reach_m=0.15)
    return x


def _cylinder_uv(points: np.ndarray, origin: np.ndarray, axis: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """(N, 2) (angle in radians from ``ref`` around ``axis``, metres down the axis)."""
    axis = axis / np.linalg.norm(axis)
    ref = ref - axis * (ref @ axis)
    ref = ref / np.linalg.norm(ref)
    other = np.cross(axis, ref)
    d = points - origin
    angle = np.arctan2(d @ other, d @ ref)
    # the seam (±π) of the torso lies on the body's midline at the back, where the skin has a row
    # of vertices at x = ±0 or a float's rounding off it: their side of the seam, so the garment's
    # UV split and vertex count, must not hang on the sign of their last digits. They all take +π.
    angle = np.where(angle < -np.pi + SEAM_SNAP_RAD, angle + 2 * np.pi, angle)
    return np.stack([angle, -(d @ axis)], 1)


def _corner_uvs(points: np.ndarray, faces: np.ndarray, region: np.ndarray, axes: list[tuple]) -> np.ndarray:
    """(F, 3, 2) UVs in metres per face corner: each face unwrapped around its region's axis,
    with the angle seam (at ``ref``'s opposite side) split so no face spans it."""
    out = np.zeros(faces.shape + (2,))
    face_region = np.round(region[faces].mean(1)).astype(int)
    for r, (origin, axis, ref, radius) in enumerate(axes):
        sel = face_region == r
        if not sel.any():
            continue
        uv = _cylinder_uv(points[faces[sel]].reshape(-1, 3), origin, axis, ref).reshape(-1, 3, 2)
        ang = uv[..., 0]
        wrap = (ang.max(1) - ang.min(1)) > np.pi
        ang[wrap] = np.where(ang[wrap] < 0, ang[wrap] + 2 * np.pi, ang[wrap])
        uv[..., 0] = ang * radius
        out[sel] = uv
    return out


def _region_axes(surface: BodySurface, frame: _Frame) -> list[tuple]:
    """Unwrap axes: 0 torso (seam at the back), 1/2 left/right arm, 3/4 left/right leg
    (seams on the inner side)."""
    up = np.array([0.0, 0.0, 1.0])
    axes = [(np.array([0.0, frame.neck_y, frame.neck_z]), -up, np.array([0.0, -1.0, 0.0]), 0.16)]
    for s, sign in (("L", 1.0), ("R", -1.0)):
        a, b = surface.bone(f"upperarm01.{s}"), surface.bone(f"wrist.{s}")
        axes.append((a, b - a, np.array([0.0, 0.0, 1.0]), 0.05))
    for s, sign in (("L", 1.0), ("R", -1.0)):
        a, b = surface.bone(f"upperleg01.{s}"), surface.bone(f"foot.{s}")
        axes.append((a, b - a, np.array([sign, 0.0, 0.0]), 0.07))
    return axes


def _body_piece(design: GarmentDesign, surface: BodySurface, frame: _Frame, f: np.ndarray,
                layers: list[SurfaceCloud]) -> _Piece | None:
    """The garment's skin-following piece: clipped skin, offset by ease, relaxed, pushed out."""
    pos, faces, prov = clip_mesh(surface.positions, surface.faces, f)
    if len(faces) == 0:
        return None
    normals = carry(surface.normals, prov)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    arm, leg = carry(frame.arm, prov), carry(frame.leg, prov)
    ease = design.ease_m[0] * (1 - arm - leg) + design.ease_m[1] * arm + design.ease_m[2] * leg
    total = np.maximum(ease, 0.0) + design.thickness_m + CLEARANCE_M
    x = pos + normals * total[:, None]
    clearance = np.full(len(x), design.thickness_m + CLEARANCE_M)
    x = push_out(x, layers, clearance, rounds=2, reach_m=0.15)
    if design.straight_limbs:
        x = _straighten(x, carry(frame.t_arm, prov), arm, surface, "arm", design.straight_limbs)
        x = _straighten(x, carry(frame.t_leg, prov), leg, surface, "leg", design.straight_limbs)
    x = _relax(x, faces, layers, clearance)
    # weights of the skin now under each cloth vertex (relaxing slid it along the body), so cloth
    # and skin move together in every pose
    joints, weights = _smooth_across_hips(*transfer_weights(x, surface, k=4), faces, surface)
    region = np.zeros(len(x))
    side = x[:, 0] < 0
    region[arm > 0.5] = np.where(side[arm > 0.5], 2, 1)
    region[leg > 0.5] = np.where(side[leg > 0.5], 4, 3)
    uv = _corner_uvs(pos, faces, region, _region_axes(surface, frame))
    return _Piece(x, faces, uv, joints, weights)


def _smooth_across_hips(joints: np.ndarray, weights: np.ndarray, faces: np.ndarray, surface: BodySurface,
                        iterations: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Smooth a cloth piece's weights where the hips and thighs move it, as a rigger smooths a
    garment's weights: a stride or a bent knee folds the skin at the groin and the buttocks, and
    cloth that copied each side of the crease is crossed by the skin of the other side (2.5 cm
    deep before this, at most 9 mm after). Elsewhere (the armpit) the cloth keeps the skin's weights.

    joints, weights: (N, 4) of the piece's vertices; faces: (F, 3) the piece's triangles.
    """
    n = len(joints)
    dense = dense_weights(joints, weights, surface.skeleton.num_joints)
    hips = [i for i, name in enumerate(surface.skeleton.bone_names) if name.startswith(("upperleg", "pelvis"))]
    moving = dense[:, hips].sum(1) > 0.01
    lap = _laplacian(faces, n)
    for _ in range(iterations):
        dense[moving] = 0.5 * dense[moving] + 0.5 * (lap @ dense)[moving]
    return top_influences(dense)


def _straighten(x: np.ndarray, t: np.ndarray, mass: np.ndarray, surface: BodySurface, limb: str,
                amount: float) -> np.ndarray:
    """Widen a sleeve or trouser leg so it never narrows going down the limb (cloth hangs from the
    widest point instead of clinging to the calf or forearm)."""
    for s, sign in (("L", 1.0), ("R", -1.0)):
        sel = (mass > 0.5) & (np.sign(x[:, 0]) == sign)
        if not sel.any():
            continue
        _, foot = _along(x[sel], _chain(surface, limb, s))
        radial = x[sel] - foot
        r = np.linalg.norm(radial, axis=1)
        start = 0.3 if limb == "arm" else 0.25  # from mid upper arm / mid thigh down
        # a robust width per 2 cm of limb (the armpit and crotch have outliers), then the widest
        # width so far going down the limb: the cloth hangs from it
        bins = np.clip((t[sel] / 0.02).astype(int), 0, 200)
        width = np.zeros(201)
        for b in np.unique(bins):
            width[b] = np.percentile(r[bins == b], 75)
        hang = np.maximum.accumulate(np.where(np.arange(201) * 0.02 >= start * t[sel].max(), width, 0.0))
        target = np.maximum(r, amount * hang[bins])
        x[np.flatnonzero(sel)] = foot + radial * (target / np.maximum(r, 1e-6))[:, None]
    return x


def _skirt_piece(design: GarmentDesign, surface: BodySurface, frame: _Frame, layers: list[SurfaceCloud],
                 sectors: int = 72, rings: int = 28) -> _Piece:
    """A hanging skirt from the waist (or hips) to the hem: never narrower going down, flaring."""
    # a coat's skirt starts 1 cm above its body piece's hem, so the two meet in a seam
    top = frame.waist_z - 0.01 if design.skirt_from_waist else frame.hip_z + design.hem * (frame.waist_z - frame.hip_z) + 0.01
    ankle = float(surface.bone("foot.L")[2])
    hem = frame.hip_z - design.skirt_to * (frame.hip_z - ankle)
    centre = np.array([0.0, float(surface.bone("upperleg01.L")[1]), 0.0])
    # the cross-section to hang around: the legs and hips, and any cloth already under the skirt
    arms = surface.bone_mass(("upperarm", "lowerarm", "wrist", "finger", "metacarpal")) > 0.02
    cloth = [layer.positions for layer in layers[1:]]
    cloth = [c[~arms[surface.tree.query(c)[1]]] for c in cloth]  # not the sleeves
    p = np.concatenate([surface.positions[~arms]] + cloth)
    # the skin gets the skirt's ease; cloth under it (a coat's own body piece) already has its
    # own, and the skirt only clears it (an ease on both made a coat's skirt a step out from its
    # body, like an apron)
    gap = np.repeat([design.ease_m[0] + design.thickness_m + CLEARANCE_M, design.thickness_m + CLEARANCE_M],
                    [int((~arms).sum()), sum(len(c) for c in cloth)])
    lower_body = (p[:, 2] < top + 0.02) & (p[:, 2] > hem - 0.02)
    rel = p[lower_body] - centre
    theta = np.arctan2(rel[:, 0], -rel[:, 1])  # 0 in front, +π/2 at the left side
    rad = np.hypot(rel[:, 0], rel[:, 1]) + gap[lower_body]
    ang = np.linspace(-np.pi, np.pi, sectors + 1)
    zs = np.linspace(top, hem, rings)
    flare = np.tan(np.radians(design.flare_deg))
    r = np.zeros((rings, sectors + 1))
    for k, z in enumerate(zs):
        near = np.abs(p[lower_body, 2] - z) < 0.02
        sector = np.clip(((theta[near] + np.pi) / (2 * np.pi) * sectors).astype(int), 0, sectors - 1)
        ring = np.zeros(sectors)
        np.maximum.at(ring, sector, rad[near])
        ring = np.maximum(ring, np.roll(ring, 1))
        ring = np.maximum(ring, np.roll(ring, -1))  # close small gaps
        ring = np.convolve(np.concatenate([ring[-3:], ring, ring[:3]]), np.ones(7) / 7, "valid")
        r[k, :sectors] = ring
        if k > 0:  # cloth hangs: never narrower below, and flares
            r[k, :sectors] = np.maximum(r[k, :sectors], r[k - 1, :sectors] + flare * (zs[k - 1] - z))
    r = r[:, :sectors]
    a = ang[:sectors]
    x = np.stack([centre[0] + r * np.sin(a), centre[1] - r * np.cos(a), np.broadcast_to(zs[:, None], r.shape)], -1)
    x = x.reshape(-1, 3)
    # the cloth under the skirt is already in its cross-section; pushing off those open shells
    # would shove the rings sideways past their edges
    x = push_out(x, layers[:1], design.thickness_m + CLEARANCE_M, rounds=2, reach_m=0.08)
    # a closed ring of quads (the seam at the back welded, so the cloth shell stays closed)
    row = np.arange(rings - 1)[:, None] * sectors
    col = np.arange(sectors)[None, :]
    i, j = row + col, row + (col + 1) % sectors
    faces = np.concatenate([np.stack([i, i + sectors, j], -1).reshape(-1, 3),
                            np.stack([j, i + sectors, j + sectors], -1).reshape(-1, 3)])
    vertex_angle = np.tile(a, rings)
    corner_angle = vertex_angle[faces]
    wraps = (corner_angle.max(1) - corner_angle.min(1)) > np.pi
    corner_angle[wraps] = np.where(corner_angle[wraps] < 0, corner_angle[wraps] + 2 * np.pi, corner_angle[wraps])
    uv = np.stack([corner_angle * r.mean(), (top - x[:, 2])[faces]], -1)
    joints, weights = transfer_weights(x, surface)
    joints, weights = _smooth_across_hips(_thigh_carried(joints, surface), weights, faces, surface)
    return _Piece(x, faces.astype(np.int64), uv, joints, weights)


def _thigh_carried(joints: np.ndarray, surface: BodySurface) -> np.ndarray:
    """``joints`` (N, K) with every bone below the thighs (shins, feet, toes) replaced by its
    thigh: a skirt hangs from the hips and moves with the thighs; a bent knee must not drag its
    hem back with the shin (the knee came out through the front, 15 cm, in a stride)."""
    names, parents = surface.skeleton.bone_names, surface.skeleton.parents
    carrier = np.arange(len(names))
    for j in range(len(names)):  # parents come before children
        parent = int(parents[j])
        if parent >= 0 and (names[parent].startswith("upperleg02") or carrier[parent] != parent):
            carrier[j] = carrier[parent]
    return carrier[joints]


def _finish(pieces: list[_Piece], thickness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Thicken each piece and split vertices at UV seams.

    Returns positions, normals, faces, uvs (tiles), joints, weights of one mesh.
    """
    out = []
    for piece in pieces:
        pos, faces, src = solidify(piece.positions, piece.faces, thickness)
        normals = vertex_normals(pos, faces)
        n_f = len(piece.faces)
        corner_uv = np.concatenate([piece.corner_uv, piece.corner_uv[:, ::-1]])
        # rim faces: the UV of their outer corner vertex, from any face that uses it
        vertex_uv = np.zeros((len(piece.positions), 2))
        vertex_uv[piece.faces.reshape(-1)] = piece.corner_uv.reshape(-1, 2)
        rim = faces[2 * n_f:]
        corner_uv = np.concatenate([corner_uv, vertex_uv[src[rim]]]) / TILE_M
        key = np.concatenate([faces.reshape(-1, 1).astype(np.float64), np.round(corner_uv.reshape(-1, 2), 6)], 1)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        vid = faces.reshape(-1)[first]
        out.append((pos[vid], normals[vid], inverse.reshape(-1, 3), corner_uv.reshape(-1, 2)[first],
                    piece.joints[src[vid]], piece.weights[src[vid]]))
    offsets = np.cumsum([0] + [len(o[0]) for o in out])
    return (np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out]),
            np.concatenate([o[2] + k for o, k in zip(out, offsets[:-1])]), np.concatenate([o[3] for o in out]),
            np.concatenate([o[4] for o in out]), np.concatenate([o[5] for o in out]))


def fit_garment(kind: str, surface: BodySurface, *, color: tuple[int, int, int], pattern: str | None = None,
                layers: list[SurfaceCloud] | None = None, num_morphs: int, seed: int = 0,
                texture_size: int = 512, under_outerwear: bool = False) -> FittedAsset:
    """Generate garment ``kind`` (a key of :data:`GARMENTS`) for this body.

    Args:
        color: the cloth's main colour, sRGB 0..255; pattern: a fabric pattern (default: the
            design's own, e.g. denim for jeans).
        layers: the skin and the outer surfaces of garments already fitted under this one
            (default: the skin alone); the garment stays outside all of them.
        under_outerwear: a jacket or coat goes over it: no hood or pocket (they would bulge the
            outer layer).
    """
    if kind not in GARMENTS:
        raise KeyError(f"unknown garment {kind!r}; built-in garments: {', '.join(GARMENTS)}")
    design = GARMENTS[kind]
    if under_outerwear:
        design = dataclasses.replace(design, hood=False, pocket=False)
    layers = layers if layers is not None else [surface.cloud]
    frame = body_frame(surface)
    f = coverage(design, surface, frame)
    pieces = []
    body = _body_piece(design, surface, frame, f, layers) if (design.torso or design.leg > 0 or design.waist_up_m > 0) else None
    if body is not None:
        pieces.append(body)
    if design.skirt_to is not None:
        skirt_layers = layers + ([SurfaceCloud(body.positions, vertex_normals(body.positions, body.faces))] if body else [])
        pieces.append(_skirt_piece(design, surface, frame, skirt_layers))
    pos, normals, faces, uvs, joints, weights = _finish(pieces, design.thickness_m)
    material, textures = fabric_material(f"garment_{kind}", pattern or design.pattern, color, seed=seed,
                                         size=texture_size)
    parts = [asset_part(f"garment_{kind}", material.name, pos, faces, uvs, joints, weights, num_morphs,
                        normals=normals)]
    materials = {material.name: material}
    trim = _trim(design, kind, pieces[0] if pieces else None, surface, frame, num_morphs, color, layers)
    if trim is not None:
        parts.append(trim[0])
        materials[trim[1].name] = trim[1]
    hidden = f > HIDE_MARGIN_M
    outer = _outer_cloud(pieces, skirt=design.skirt_to is not None)
    return FittedAsset(asset_id=kind, category="bottom" if design.layer == 0 else ("outerwear" if design.layer == 2 else "top"),
                       parts=parts, materials=materials, textures=textures, hidden_body=hidden,
                       labels={"pattern": pattern or design.pattern, "color": list(color), "layer": design.layer},
                       outer_surface=outer)


def _outer_cloud(pieces: list[_Piece], skirt: bool) -> SurfaceCloud:
    """The cloth a garment over this one must clear: the outer surfaces of its pieces, with the
    directions out across their hems and necklines (see :attr:`SurfaceCloud.rim_out`).

    Under a skirt's hanging ring (the last piece) the body piece is inside the garment, not its
    outside: left in, a top over a skirt would find that inner cloth nearest and stay between it
    and the ring, crossing the ring.
    """
    normals = [vertex_normals(p.positions, p.faces) for p in pieces]
    keep = [np.ones(len(p.positions), bool) for p in pieces]
    if skirt and len(pieces) > 1:
        ring = SurfaceCloud(pieces[-1].positions, normals[-1])
        z = ring.positions[:, 2]
        for i, piece in enumerate(pieces[:-1]):
            within = (piece.positions[:, 2] < z.max()) & (piece.positions[:, 2] > z.min())
            keep[i] = ~(within & (ring.signed_distance(piece.positions, k=1) < 0))
    rims = []
    for piece, n in zip(pieces, normals):
        rim = np.zeros_like(piece.positions)
        edges = boundary_edges(piece.faces)
        # a face runs counter-clockwise seen from outside, so its inside is left of each edge
        out = np.cross(piece.positions[edges[:, 1]] - piece.positions[edges[:, 0]], n[edges[:, 0]])
        np.add.at(rim, edges[:, 0], out)
        np.add.at(rim, edges[:, 1], out)
        rims.append(rim / np.maximum(np.linalg.norm(rim, axis=1, keepdims=True), 1e-12))
    return SurfaceCloud(np.concatenate([p.positions[k] for p, k in zip(pieces, keep)]),
                        np.concatenate([n[k] for n, k in zip(normals, keep)]),
                        rim_out=np.concatenate([r[k] for r, k in zip(rims, keep)]))


# --- trim -----------------------------------------------------------------------------------

def _trim(design: GarmentDesign, kind: str, piece: _Piece | None, surface: BodySurface, frame: _Frame,
          num_morphs: int, color: tuple[int, int, int], layers: list[SurfaceCloud]) -> tuple | None:
    """Buttons, collar, hood and pocket of a garment, as one extra part (plain material)."""
    if piece is None:
        return None
    meshes = []
    x = piece.positions
    n = vertex_normals(x, piece.faces)
    front = x[:, 1] < frame.neck_y
    if design.buttons:
        mid = np.flatnonzero(front & (np.abs(x[:, 0]) < 0.012))
        if len(mid):
            zs = np.linspace(x[mid, 2].max() - 0.03, x[mid, 2].min() + 0.06, design.buttons)
            for z in zs:
                k = mid[np.argmin(np.abs(x[mid, 2] - z))]
                centre = x[k] + n[k] * 0.002
                meshes.append(_disc(centre, n[k], 0.007, 0.003))
    if design.collar:
        meshes.append(_collar(surface, frame, design, layers + [SurfaceCloud(x, n)]))
    if design.hood:
        meshes.append(_hood(surface, frame))
    if design.pocket:
        meshes.append(_patch(x, n, front & (np.abs(x[:, 0]) < 0.11) & (x[:, 2] > x[:, 2].min() + 0.04)
                             & (x[:, 2] < x[:, 2].min() + 0.2), piece.faces))
    if design.lapels:
        lap = front & (x[:, 2] > frame.waist_z) & (np.abs(x[:, 0]) < 0.13)
        v_edge = np.abs(x[:, 0]) * 1.6 + (frame.neck_z - 0.17)
        meshes.append(_patch(x, n, lap & (x[:, 2] < v_edge + 0.07) & (x[:, 2] > v_edge - 0.02), piece.faces))
    meshes = [m for m in meshes if m is not None and len(m[1])]
    if not meshes:
        return None
    pos, faces, uvs = merge_meshes(meshes)
    joints, weights = transfer_weights(pos, surface)
    shade = tuple(int(c * 0.8) for c in color) if (design.hood or design.pocket or design.lapels or design.collar) else (235, 230, 220)
    material = Material(f"garment_{kind}_trim", base_color_factor=tuple(c / 255 for c in shade) + (1.0,),
                        roughness_factor=0.6)
    return asset_part(f"garment_{kind}_trim", material.name, pos, faces, uvs / TILE_M, joints, weights, num_morphs), material


def _disc(centre: np.ndarray, normal: np.ndarray, radius: float, height: float) -> tuple:
    path = np.stack([centre, centre + normal * height])
    pos, faces, uvs = tube(path, radius, sides=12, up=np.array([0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else None)
    cap = len(pos)
    pos = np.concatenate([pos, [centre + normal * height]])
    ring = np.arange(12) + 12
    faces = np.concatenate([faces, np.stack([ring, np.roll(ring, -1), np.full(12, cap)], 1)])
    return pos, faces, np.concatenate([uvs, [[0.5, 0.0]]])


def _collar(surface: BodySurface, frame: _Frame, design: GarmentDesign, layers: list[SurfaceCloud]) -> tuple:
    """A turn-down collar: a band standing up around the neck, folded over and down onto the shoulders."""
    p = surface.positions
    centre = np.array([0.0, frame.neck_y, frame.neck_z])
    rel = p - centre
    band = (np.abs(rel[:, 2] - 0.015) < 0.01) & (np.hypot(rel[:, 0], rel[:, 1]) < 0.11)
    # the neck is the innermost skin at collar height
    radius = float(np.percentile(np.hypot(rel[band, 0], rel[band, 1]), 30)) + design.ease_m[0] * 0.4 + 0.004
    opening = 0.35 if not design.v_neck else 0.8  # radians left open in front
    ang = np.linspace(-np.pi + opening, np.pi - opening, 40)
    # (out, up), metres: the stand, the fold, the fall onto the shoulders; outerwear collars lie lower
    profile = np.array([[0.0, -0.005], [0.002, 0.03], [0.009, 0.037], [0.02, 0.004]])
    if design.layer == 2:
        profile = profile * [1.6, 0.7]

    def collar_at(r0: float) -> np.ndarray:  # (P, A, 3)
        return np.stack([np.stack([(r0 + out) * np.sin(ang), frame.neck_y - (r0 + out) * np.cos(ang),
                                   np.full_like(ang, frame.neck_z + 0.005 + up)], 1) for out, up in profile])

    # widen the whole collar until its fall clears the cloth under it (pushing single vertices
    # would crumple it; the stand's foot tucks into the neckline), by at most 2 cm
    start = radius
    for _ in range(3):
        fall = collar_at(radius)[2:].reshape(-1, 3)
        deficit = np.max([np.where(layer.tree.query(fall)[0] < 0.015, 0.003 - layer.signed_distance(fall), 0.0)
                          for layer in layers[1:]], axis=0)
        if deficit.max() <= 0:
            break
        radius = min(radius + float(deficit.max()), start + 0.02)
    path_pos = collar_at(radius)
    P, A = path_pos.shape[:2]
    pos = path_pos.reshape(-1, 3)
    i = np.arange(P - 1)[:, None] * A + np.arange(A - 1)[None, :]
    faces = np.concatenate([np.stack([i, i + 1, i + A], -1).reshape(-1, 3), np.stack([i + 1, i + A + 1, i + A], -1).reshape(-1, 3)])
    thick, tfaces, src = solidify(pos, faces, 0.002)
    uvs = np.stack([np.tile(ang, P), np.repeat(np.arange(P) * 0.02, A)], 1)
    return thick, tfaces, uvs[src]


def _hood(surface: BodySurface, frame: _Frame) -> tuple:
    """A hood lying down on the upper back, gathered at the neckline."""
    centre = np.array([0.0, frame.neck_y, frame.neck_z])
    ang = np.linspace(-np.pi * 0.75, np.pi * 0.75, 36) + np.pi  # around the back
    s = np.linspace(0.0, 1.0, 10)
    rings = []
    for t in s:
        out = 0.07 + 0.05 * np.sin(np.pi * t)  # bulges out from the neck, then lies on the back
        down = -0.02 + 0.22 * t
        width = 1.0 - 0.35 * t**2
        a = np.pi + (ang - np.pi) * width
        rings.append(np.stack([out * np.sin(a) * 1.3, centre[1] - out * np.cos(a) + 0.02 * t, np.full_like(a, centre[2] + 0.03 - down)], 1))
    pos = np.stack(rings).reshape(-1, 3)
    pos = push_out(pos, [surface.cloud], 0.03, rounds=1)
    P, A = len(s), len(ang)
    i = np.arange(P - 1)[:, None] * A + np.arange(A - 1)[None, :]
    faces = np.concatenate([np.stack([i, i + A, i + 1], -1).reshape(-1, 3), np.stack([i + 1, i + A, i + A + 1], -1).reshape(-1, 3)])
    thick, tfaces, src = solidify(pos, faces, 0.004)
    uvs = np.stack([np.tile(ang * 0.1, P), np.repeat(s * 0.25, A)], 1)
    return thick, tfaces, uvs[src]


def _patch(x: np.ndarray, n: np.ndarray, mask: np.ndarray, faces: np.ndarray, lift: float = 0.003) -> tuple | None:
    """A raised panel (pocket, lapel) over the vertices ``mask`` of a garment's outer surface."""
    keep = mask[faces].all(1)
    if not keep.any():
        return None
    sub = faces[keep]
    used = np.unique(sub)
    remap = np.full(len(x), -1)
    remap[used] = np.arange(len(used))
    pos = x[used] + n[used] * lift
    thick, tfaces, src = solidify(pos, remap[sub], 0.0015)
    uvs = np.stack([pos[:, 0], -pos[:, 2]], 1)
    return thick, tfaces, uvs[src]
