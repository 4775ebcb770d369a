"""Procedural teeth and gums fitted inside the mouth cavity of a shaped anny body.

anny ships a mouth cavity and a tongue but no teeth. Each tooth is a deformed superellipsoid
(incisors flat and chisel-like, canines pointed, premolars/molars boxy with an occlusal fissure)
in real units (mm in the tables below), laid along a power-law dental arch; a gum band is swept
along each arch over the tooth necks. The arch is scaled to the mouth width, placed behind the
lips from the lip line, then pushed back/shrunk until every vertex lies inside the closed cavity.

All positions are metres, Z-up, character facing -Y (see ``machcreator.character``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from machcreator.character import MeshPart, ShapedBody
from machcreator.core.normals import vertex_normals

MM = 1e-3  # metres per millimetre

#: UV atlas: teeth use u in [0, 0.5), gums u in [0.5, 1]; v runs root -> tip (teeth),
#: gum line -> deep gum (gums). ``teeth_texture`` paints exactly this layout.
_TEETH_U = (0.02, 0.46)
_GUM_U = (0.52, 0.98)
ATLAS_V_RANGE = (0.04, 0.96)


@dataclass(frozen=True)
class ToothShape:
    """One tooth type; sizes in mm (crown only, the root part hides in the gum)."""

    kind: str  # "incisor" | "canine" | "premolar" | "molar"
    width: float  # mesiodistal, along the arch
    depth: float  # buccolingual, across the arch
    height: float  # clinical crown height


#: half arches from the midline outwards (central incisor .. third molar), typical adult sizes.
UPPER_TEETH: tuple[ToothShape, ...] = (
    ToothShape("incisor", 8.6, 7.0, 10.0), ToothShape("incisor", 6.6, 6.2, 8.8),
    ToothShape("canine", 7.6, 8.0, 10.0), ToothShape("premolar", 7.0, 9.0, 8.2),
    ToothShape("premolar", 6.6, 9.0, 7.6), ToothShape("molar", 10.0, 11.0, 7.2),
    ToothShape("molar", 9.0, 10.8, 6.8), ToothShape("molar", 8.5, 10.0, 6.2),
)
LOWER_TEETH: tuple[ToothShape, ...] = (
    ToothShape("incisor", 5.2, 6.0, 9.0), ToothShape("incisor", 5.8, 6.4, 9.2),
    ToothShape("canine", 6.9, 7.6, 10.5), ToothShape("premolar", 7.0, 7.8, 8.0),
    ToothShape("premolar", 7.2, 8.2, 7.6), ToothShape("molar", 11.0, 10.4, 7.4),
    ToothShape("molar", 10.4, 10.0, 7.0), ToothShape("molar", 10.0, 9.6, 6.6),
)

#: (vertical exponent, horizontal exponent): small = boxy, 1 = ellipsoidal.
_EXPONENTS = {"incisor": (0.35, 0.6), "canine": (0.75, 0.7), "premolar": (0.45, 0.5), "molar": (0.4, 0.35)}
_ROOT = 0.35  # hidden root length as a fraction of crown height (covered by the gum band)
_ARCH_POWER = 1.8  # arch curve y = k |x|^p: between a V (1) and a U (2)
_MOLAR_HALF_WIDTH = {"upper": 25.0, "lower": 23.5}  # first-molar centre, mm from the midline
_REF_MOUTH_WIDTH = 46.0  # mm between mouth corners for which the tables above are sized
_OVERJET, _OVERBITE = 3.5, 2.0  # mm: lower incisors behind / above the upper incisal edges
_LIP_GAP = 1.2  # mm between the inner upper lip and the upper incisors' labial face
_INCISAL_DROP = 2.5  # mm the upper incisal edges reach below the lip line (they show when the lips part)
_FIT_MARGIN = 0.7  # mm every visible vertex must stay inside the cavity
_VISIBLE_DEPTH = 14.0  # mm behind the lip line: incisors and canines, what parted lips show
_HIDDEN_SINK = 4.0  # mm the teeth behind them may reach into the cavity wall


def build_teeth(body: ShapedBody, *, n_per_jaw: int = 14) -> MeshPart:
    """Upper and lower dentition with gums, fitted inside ``body``'s mouth cavity.

    Args:
        body: the shaped template (needs "mouth_cavity" faces and the lips around them).
        n_per_jaw: teeth per jaw, even, 4..16 (14 = no wisdom teeth).

    Returns:
        MeshPart "teeth", material "teeth": closed meshes (one per tooth, one gum band per jaw),
        UVs in the atlas of :func:`teeth_texture`, per-jaw rigid skin weights (K=4) and morph
        deltas (upper: zero, rigid with the head; lower: a rigid fit of the lower jaw's motion).
    """
    if n_per_jaw % 2 or not 4 <= n_per_jaw <= 2 * len(UPPER_TEETH):
        raise ValueError(f"n_per_jaw must be even in 4..{2 * len(UPPER_TEETH)}, got {n_per_jaw}")
    mouth = mouth_frame(body)
    cavity_v, cavity_f = mouth["cavity"]
    scale = float(np.clip(mouth["width"] / (_REF_MOUTH_WIDTH * MM), 0.85, 1.15))
    wall = cKDTree(cavity_v)
    back, shrink = 0.0, 1.0
    for _ in range(12):  # push back / shrink until the whole dentition is inside the cavity
        jaws = [_build_jaw(jaw, n_per_jaw // 2, mouth, scale * shrink, back)
                for jaw in ("upper", "lower")]
        pos = np.concatenate([j[0] for j in jaws])
        nrm = np.concatenate([j[1] for j in jaws])
        # the teeth that show (front of the arch) stay clear of the cavity wall; molars may sink a
        # few mm into the cheeks' inner wall, hidden inside the head (anny's cavity is narrow)
        front = pos[:, 1] < mouth["center"][1] + _VISIBLE_DEPTH * MM
        probe = np.where(front[:, None], pos + nrm * (_FIT_MARGIN * MM), pos - nrm * (_HIDDEN_SINK * MM))
        outside = winding_number(probe, cavity_v, cavity_f) < 0.5
        if not outside.any():
            break
        # step back by about the deepest poke (distance to the wall's nearest vertex)
        poke = float(wall.query(probe[outside])[0].max())
        back += float(np.clip(poke, 0.4 * MM, 3.0 * MM))
        shrink *= 0.98
    else:
        raise RuntimeError("could not fit the teeth inside the mouth cavity")  # template bug

    parts_v, parts_n, parts_uv, parts_f, jaw_of_vertex = [], [], [], [], []
    offset = 0
    for jaw_id, (v, n, uv, f) in enumerate(jaws):
        parts_v.append(v), parts_n.append(n), parts_uv.append(uv), parts_f.append(f + offset)
        jaw_of_vertex.append(np.full(len(v), jaw_id))
        offset += len(v)
    positions = np.concatenate(parts_v).astype(np.float32)
    is_lower = np.concatenate(jaw_of_vertex) == 1

    joints = np.zeros((len(positions), 4), np.int64)
    weights = np.zeros((len(positions), 4), np.float32)
    deltas = np.zeros((body.morph_deltas.shape[0], len(positions), 3), np.float32)
    for lower, src in ((False, mouth["upper_jaw"]), (True, mouth["lower_jaw"])):
        sel = is_lower == lower
        joints[sel], weights[sel] = _mean_skin(body, src)
        if lower:
            deltas[:, sel] = rigid_follow(body.positions[src], body.morph_deltas[:, src], positions[sel])
    return MeshPart(
        name="teeth", material="teeth", positions=positions,
        normals=np.concatenate(parts_n).astype(np.float32),
        uvs=np.concatenate(parts_uv).astype(np.float32),
        faces=np.concatenate(parts_f).astype(np.int64),
        joints=joints, weights=weights, morph_deltas=deltas,
    )


def mouth_frame(body: ShapedBody) -> dict:
    """Where the mouth is on ``body``.

    Returns a dict with:
        "lip_loop": (L, 3) the inner lip contour (edges between lips and mouth cavity), metres.
        "corners": (2, 3) mouth corners (right = -X first, then left).
        "center": (3,) lip-line centre: x midway between corners, y/z of the loop near x = 0.
        "width": float, distance between the corners, metres.
        "cavity": (vertices (C, 3), faces (G, 3)) the cavity closed by a fan over the lip loop.
        "upper_jaw", "lower_jaw": int arrays of template vertices that move with each jaw.
    """
    faces, labels, pos = body.faces, body.face_labels, body.positions
    cav_mask = labels == "mouth_cavity"
    if not cav_mask.any():
        raise ValueError("body has no 'mouth_cavity' faces")
    cav_faces = faces[cav_mask]
    loop = _boundary_loop(cav_faces)
    ring = pos[loop]
    corners = ring[[ring[:, 0].argmin(), ring[:, 0].argmax()]]
    mid_x = corners[:, 0].mean()
    near = np.abs(ring[:, 0] - mid_x) < 0.15 * np.ptp(ring[:, 0])
    center = np.array([mid_x, ring[near, 1].min(), ring[near, 2].mean()])
    # close the cavity with a fan over the lips' opening: a watertight "inside the mouth" volume
    cav_idx, cav_local = np.unique(cav_faces, return_inverse=True)
    cav_v = np.concatenate([pos[cav_idx], ring.mean(0, keepdims=True)])
    local = {g: i for i, g in enumerate(cav_idx)}
    lp = np.array([local[g] for g in loop])
    fan = np.stack([lp, np.roll(lp, -1), np.full(len(lp), len(cav_idx))], 1)
    cav_f = np.concatenate([cav_local.reshape(-1, 3), fan])

    cav_pos = pos[cav_idx]
    roof = cav_idx[(cav_pos[:, 2] > center[2] + 8 * MM) & (cav_pos[:, 1] < center[1] + 40 * MM)]
    floor = cav_idx[(cav_pos[:, 2] < center[2] - 8 * MM) & (cav_pos[:, 1] > center[1] + 10 * MM)]
    head = np.unique(faces[labels == "head"])
    hp = pos[head] - center
    chin = head[(hp[:, 2] < -20 * MM) & (hp[:, 2] > -50 * MM) & (hp[:, 1] < 30 * MM)
                & (np.abs(hp[:, 0]) < 20 * MM)]
    return {"lip_loop": ring, "corners": corners, "center": center,
            "width": float(np.linalg.norm(corners[1] - corners[0])), "cavity": (cav_v, cav_f),
            "upper_jaw": roof, "lower_jaw": np.concatenate([floor, chin])}


def winding_number(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Generalised winding number of a closed triangle mesh at each point (Van Oosterom–Strackee).

    Args:
        points: (N, 3); vertices: (V, 3); faces: (F, 3).

    Returns:
        (N,) float: |w| ≈ 1 inside, ≈ 0 outside, whatever the mesh's orientation.
    """
    tri = np.asarray(vertices, np.float32)[faces]  # (F, 3, 3); float32 is ample at mm distances
    out = np.empty(len(points))

    def dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.einsum("nfi,nfi->nf", x, y)

    for s in range(0, len(points), 512):
        d = tri[None] - np.asarray(points[s:s + 512], np.float32)[:, None, None]  # (n, F, 3, 3)
        a, b, c = d[:, :, 0], d[:, :, 1], d[:, :, 2]
        la, lb, lc = (np.sqrt(dot(x, x)) for x in (a, b, c))
        num = dot(a, np.cross(b, c))
        den = la * lb * lc + dot(a, b) * lc + dot(b, c) * la + dot(c, a) * lb
        out[s:s + 512] = np.arctan2(num, den).sum(1, dtype=np.float64) / (2 * np.pi)
    return np.abs(out)


def rigid_follow(src_rest: np.ndarray, src_deltas: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Move ``points`` rigidly with a vertex set, per morph (Kabsch fit of each morph's motion).

    A mean delta only translates; the fit also rotates, so jawOpen swings the lower teeth
    about the jaw hinge like the chin they ride with.

    Args:
        src_rest: (S, 3) rest positions of the driving vertices.
        src_deltas: (M, S, 3) their morph offsets.
        points: (N, 3) rest positions to carry along.

    Returns:
        (M, N, 3) offsets of ``points``.
    """
    c0 = src_rest.mean(0)
    x = src_rest - c0
    out = np.zeros((len(src_deltas), len(points), 3))
    for m, d in enumerate(src_deltas):
        if np.abs(d).max() < 1e-7:
            continue
        moved = src_rest + d
        c1 = moved.mean(0)
        u, _, vt = np.linalg.svd(x.T @ (moved - c1))
        flip = np.sign(np.linalg.det(vt.T @ u.T))
        rot = vt.T @ np.diag([1.0, 1.0, flip]) @ u.T
        out[m] = (points - c0) @ rot.T + c1 - points
    return out.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# construction


def _boundary_loop(faces: np.ndarray) -> np.ndarray:
    """(L,) vertex ids of the single boundary loop of an open triangle patch, in order."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(edges, 1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = edges[count[inv.ravel()] == 1]
    if len(border) == 0:
        raise ValueError("mouth cavity has no opening (no boundary edges)")
    nxt = dict(zip(border[:, 0].tolist(), border[:, 1].tolist()))
    loop = [int(border[0, 0])]
    while (n := nxt[loop[-1]]) != loop[0]:
        loop.append(n)
        if len(loop) > len(border):
            raise ValueError("mouth cavity boundary is not a single loop")
    if len(loop) != len(border):
        raise ValueError("mouth cavity has more than one opening")
    return np.array(loop)


def _tooth_grid(tooth: ToothShape, rings: int = 8, segs: int = 16):
    """A closed superellipsoid tooth in its own frame (mm): x along the arch, y outward (labial),
    t crown height fraction (0 = gum line, 1 = edge, negative = hidden root).

    Returns (local (V, 3) as (x, y, t), faces (F, 3), uvs (V, 2)).
    """
    e1, e2 = _EXPONENTS[tooth.kind]
    eta = np.linspace(-np.pi / 2, np.pi / 2, rings + 2)[1:-1]
    omega = np.linspace(-np.pi, np.pi, segs, endpoint=False)
    E, W = np.meshgrid(eta, omega, indexing="ij")
    spow = lambda v, e: np.sign(v) * np.abs(v) ** e  # noqa: E731  signed power
    rho = spow(np.cos(E), e1)
    t = -_ROOT + (1 + _ROOT) * (0.5 + 0.5 * spow(np.sin(E), e1))
    cx, cy = spow(np.cos(W), e2), spow(np.sin(W), e2)
    tc = np.clip(t, 0, 1)
    a, b = tooth.width / 2, tooth.depth / 2
    lean = 0.0
    if tooth.kind == "incisor":  # chisel: thin labio-lingually at the edge, wider at the edge
        a, b = a * (0.8 + 0.2 * tc), b * (1 - 0.72 * tc)
        lean = 1.6 * tc**2
    elif tooth.kind == "canine":  # pointed cusp
        a, b = a * (1 - 0.6 * tc**2), b * (1 - 0.45 * tc)
        lean = 0.8 * tc**2
    else:  # occlusal fissure along the arch between buccal and lingual cusps
        b = b * (1 - 0.12 * tc)
        t = t - 0.1 * np.clip(1 - np.abs(cy * rho) / 0.45, 0, 1) * np.clip((t - 0.7) / 0.3, 0, 1)
    x = a * rho * cx
    y = b * rho * cy + lean
    local = np.stack([x, y, t], -1).reshape(-1, 3)
    u = _TEETH_U[0] + (_TEETH_U[1] - _TEETH_U[0]) * np.abs(W) / np.pi  # mirrored: no seam
    v = ATLAS_V_RANGE[0] + (ATLAS_V_RANGE[1] - ATLAS_V_RANGE[0]) * (t + _ROOT) / (1 + _ROOT)
    uvs = np.stack([u, v], -1).reshape(-1, 2)
    # poles: root end and crown tip (on the lean line; at the fissure bottom for back teeth)
    tip_lean = float(np.max(lean)) if tooth.kind in ("incisor", "canine") else 0.0
    tip_t = 1.0 if tooth.kind in ("incisor", "canine") else 0.9
    local = np.concatenate([local, [[0.0, 0.0, -_ROOT], [0.0, tip_lean, tip_t]]])
    uvs = np.concatenate([uvs, [[0.24, ATLAS_V_RANGE[0]], [0.24, ATLAS_V_RANGE[1]]]])
    return local, _grid_faces(rings, segs), uvs


def _grid_faces(rings: int, segs: int) -> np.ndarray:
    """Faces of a (rings, segs) latitude/longitude grid closed by two poles (appended last)."""
    idx = np.arange(rings * segs).reshape(rings, segs)
    nx = np.roll(idx, -1, axis=1)
    quads_a = np.stack([idx[:-1], nx[:-1], nx[1:]], -1).reshape(-1, 3)
    quads_b = np.stack([idx[:-1], nx[1:], idx[1:]], -1).reshape(-1, 3)
    bottom, top = rings * segs, rings * segs + 1
    cap_b = np.stack([np.full(segs, bottom), nx[0], idx[0]], -1)
    cap_t = np.stack([np.full(segs, top), idx[-1], nx[-1]], -1)
    return np.concatenate([quads_a, quads_b, cap_b, cap_t])


def _build_jaw(jaw: str, n_half: int, mouth: dict, scale: float, back: float):
    """One jaw's teeth + gum band in world space. ``back``: extra setback, metres.

    Returns (positions (V, 3), normals (V, 3), uvs (V, 2), faces (F, 3)).
    """
    table = (UPPER_TEETH if jaw == "upper" else LOWER_TEETH)[:n_half]
    upper = jaw == "upper"
    widths = np.array([t.width for t in table]) * scale
    depths = np.array([t.depth for t in table]) * scale
    heights = np.array([t.height for t in table]) * scale
    arch = _Arch(widths, _MOLAR_HALF_WIDTH[jaw] * scale)
    c = mouth["center"]
    # labial face of the central incisors just behind the inner lip, lower ones behind the upper
    front_y = c[1] + (_LIP_GAP + (0.0 if upper else _OVERJET)) * MM + back
    edge_z = c[2] - _INCISAL_DROP * MM + (0.0 if upper else _OVERBITE * MM)
    crown_dir = -1.0 if upper else 1.0  # upper crowns point down (-Z), lower up

    def to_world(x_mm, y_mm, rise_mm):  # rise: mm from the incisal plane towards the roots
        return np.stack([c[0] + x_mm * MM, front_y + y_mm * MM, edge_z - crown_dir * rise_mm * MM], 1)

    verts, normals, uvs, faces, n_verts = [], [], [], [], 0
    for side in (1.0, -1.0):
        for i, tooth in enumerate(table):
            shape = ToothShape(tooth.kind, widths[i], depths[i], heights[i])
            grid, f, uv = _tooth_grid(shape)
            pt, along, out = arch.frame(arch.s_mid[i], side)
            centre = pt - out * depths[i] / 2
            xy = centre + grid[:, :1] * along + grid[:, 1:2] * out
            p = to_world(xy[:, 0], xy[:, 1], (1.0 - grid[:, 2]) * heights[i])
            f = _outward(p, f)
            verts.append(p), uvs.append(uv), faces.append(f + n_verts), normals.append(vertex_normals(p, f))
            n_verts += len(p)
    xy, rise, f, uv = _gum_band(arch, depths, heights)
    p = to_world(xy[:, 0], xy[:, 1], rise)
    f = _outward(p, f)
    verts.append(p), uvs.append(uv), faces.append(f + n_verts), normals.append(vertex_normals(p, f))
    return np.concatenate(verts), np.concatenate(normals), np.concatenate(uvs), np.concatenate(faces)


class _Arch:
    """The labial outline of a dental arch, y = k|x|^p in mm (x lateral, y backwards from the
    central incisors), with k fitted so that the first molar's outline point (or the last
    tooth's) sits at x = ``half_width``; ``s_mid``: arc length of each tooth centre."""

    def __init__(self, widths: np.ndarray, half_width: float):
        self.s_mid = np.cumsum(widths + 0.15) - widths / 2  # 0.15 mm contact gaps
        self.s_end = float(self.s_mid[-1] + widths[-1] / 2)
        ref = min(5, len(widths) - 1)
        self._xs = np.linspace(0.0, 80.0, 4000)
        lo, hi = 1e-4, 1.0  # larger k: steeper, narrower arch
        for _ in range(60):
            self.k = np.sqrt(lo * hi)
            lo, hi = (self.k, hi) if self._x_at(self.s_mid[ref]) > half_width else (lo, self.k)

    def _x_at(self, s):
        ys = self.k * self._xs ** _ARCH_POWER
        arc = np.concatenate([[0], np.cumsum(np.hypot(np.diff(self._xs), np.diff(ys)))])
        return np.interp(s, arc, self._xs)

    def frame(self, s, side: float):
        """Point, unit tangent (away from the midline) and outward normal at arc length s (mm)
        on the right (side=1, +X) or left (side=-1) half. Shapes (..., 2)."""
        x = self._x_at(np.asarray(s, float))
        y = self.k * x**_ARCH_POWER
        slope = self.k * _ARCH_POWER * x ** (_ARCH_POWER - 1)
        along = np.stack([side * np.ones_like(x), slope], -1) / np.sqrt(1 + slope**2)[..., None]
        out = np.stack([side * along[..., 1], -along[..., 0] * side], -1)
        return np.stack([side * x, y], -1), along, out


def _gum_band(arch: _Arch, depths: np.ndarray, heights: np.ndarray, n_along: int = 72, n_ring: int = 14):
    """A closed band of gum swept along the arch over the tooth necks, with papillae between teeth.

    Returns (xy (V, 2) mm, rise (V,) mm above/below the incisal plane towards the roots,
    faces (F, 3), uvs (V, 2)).
    """
    s_signed = np.linspace(-arch.s_end - 1.0, arch.s_end + 1.0, n_along)
    s = np.abs(s_signed)
    side = np.where(s_signed < 0, -1.0, 1.0)
    pt, _, out = arch.frame(s, 1.0)
    pt[:, 0] *= side
    out[:, 0] *= side
    depth = np.interp(s, arch.s_mid, depths)
    crown = np.interp(s, arch.s_mid, heights)
    # papilla: 0 at tooth centres, 1 at contacts (where the gum rises between teeth)
    bounds = np.concatenate([[-arch.s_mid[0]], arch.s_mid])
    q = np.interp(s, bounds, np.arange(len(bounds)).astype(float)) % 1.0
    papilla = (2 * np.abs(q - 0.5)) ** 3 * (s < arch.s_end)
    phi = np.linspace(-np.pi, np.pi, n_ring, endpoint=False)  # 0: crown-side edge (gum line)
    sp, cp = np.sin(phi), np.cos(phi)
    half = depth[:, None] / 2 + 1.0  # mm: 1 mm of gum over the tooth faces
    centre = 1.5  # mm into the root side of the cervical line
    reach = np.where(cp > 0, centre + 1.0 + 1.6 * papilla[:, None], 4.5)
    taper = np.sqrt(np.clip(1 - ((s - arch.s_end) / 1.0).clip(0) ** 2, 0.05, 1))[:, None]  # round ends
    xy = (pt - out * depth[:, None] / 2)[:, None] + (half * taper * np.sign(sp) * np.abs(sp) ** 0.7)[..., None] * out[:, None]
    rise = crown[:, None] + centre - reach * taper * np.sign(cp) * np.abs(cp) ** 0.7
    xy = xy.reshape(-1, 2)
    rise = rise.reshape(-1)
    u = _GUM_U[0] + (_GUM_U[1] - _GUM_U[0]) * (s_signed + s_signed.max()) / (2 * s_signed.max())
    v = ATLAS_V_RANGE[0] + (ATLAS_V_RANGE[1] - ATLAS_V_RANGE[0]) * np.abs(phi) / np.pi  # mirrored: no seam
    uvs = np.stack(np.broadcast_arrays(u[:, None], v[None]), -1).reshape(-1, 2)
    # end caps at the distal ends
    ends = [0, n_along - 1]
    xy = np.concatenate([xy, [xy.reshape(n_along, n_ring, 2)[e].mean(0) for e in ends]])
    rise = np.concatenate([rise, [rise.reshape(n_along, n_ring)[e].mean() for e in ends]])
    uvs = np.concatenate([uvs, [[u[0], 0.5], [u[-1], 0.5]]])
    return xy, rise, _grid_faces(n_along, n_ring), uvs


def _outward(p: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Flip a closed mesh's faces if its signed volume is negative (so they wind CCW outside)."""
    a, b, c = p[faces[:, 0]], p[faces[:, 1]], p[faces[:, 2]]
    return faces if np.einsum("ij,ij->i", a, np.cross(b, c)).sum() > 0 else faces[:, ::-1].copy()


def _mean_skin(body: ShapedBody, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One rigid set of 4 influences: the mean of ``src`` vertices' skin weights, renormalised."""
    n_bones = int(body.joints.max()) + 1
    acc = np.zeros(n_bones)
    np.add.at(acc, body.joints[src].ravel(), body.weights[src].ravel())
    top = np.argsort(-acc)[:4]
    w = acc[top] / acc[top].sum()
    return top.astype(np.int64), w.astype(np.float32)
