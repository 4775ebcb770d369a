"""Shoes fitted to any generated body: sneakers, boots, dress shoes, sandals and heels.

Axes and units as in :mod:`machcreator.character`: metres, Z-up, the character faces -Y, +X is
its left. anny stands with its soles flat on the floor (z = 0), so nothing is lifted: soles and
heels are built *below* the foot (a heel is a block under the heel, not a raised foot).

How a shoe is made, per foot:

1. A *last* (the shoe's inner form): an ellipsoid grid around the foot whose vertices march in
   towards the foot's long axis until they reach a designed ease outside the skin (the toe box
   roomier; the gap under the toes counts as foot), then their distances along the rays are
   smoothed as a tent that never sinks under 2 mm of clearance, so toes and their crevices melt
   into one smooth upper. Styles then lengthen or point the toe past the toes.
2. The upper: the last with the opening cut away above a collar line (high at the back, low on
   the sides, down to the throat on the instep), a rolled tube along the opening for thickness.
3. The sole: the footprint outline of the upper extruded below the foot, with a heel block.
4. Style trims: laces, tongue and a rubber toe cap (sneakers), a shaft up the calf (boots),
   straps over an open footbed (sandals), a stiletto block (heels).

Every vertex takes its skin weights from the body (:func:`transfer_weights`), so shoes follow
the feet in every pose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.ndimage import minimum_filter

from machcreator.assets.fabrics import TILE_M, fabric_material
from machcreator.assets.fitting import (BodySurface, FittedAsset, SurfaceCloud, asset_part, merge_meshes,
                                        march, transfer_weights, tube)
from machcreator.character import Material
from machcreator.core.normals import vertex_normals
from machcreator.core.color import srgb_decode

Mesh = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions (N, 3), faces (F, 3), uvs (N, 2)

#: sides of the body: name suffix of the leg's bones and the sign of x on that side
SIDES = (("L", 1.0), ("R", -1.0))


@dataclass(frozen=True)
class ShoeStyle:
    """Design numbers of one shoe style, metres unless said.

    ease, toe_ease: gap between skin and upper at the heel/sides and at the toe tip.
    toe_extension: how far the toe reaches past the toes; pointed: 0 round .. 1 pointed tip.
    collar: opening heights (back of the heel, below the ankle bones); throat: where the
        opening ends on the instep, as a fraction of the foot length from the heel (None: the
        upper is cut flat at ``collar[0]`` all round, boots).
    sole, lip: sole thickness below the floor, and how far its rim rises up the upper.
    heel: height of the heel block under the sole (0: none); stiletto: a thin tapered heel.
    shaft_top: boots only, the shaft's top as a fraction of the way from ankle to knee.
    """

    ease: float
    toe_ease: float
    toe_extension: float
    pointed: float
    collar: tuple[float, float]
    throat: float | None
    sole: float
    lip: float
    heel: float = 0.0
    stiletto: bool = False
    shaft_top: float = 0.0


STYLES: dict[str, ShoeStyle] = {
    "sneakers": ShoeStyle(ease=0.006, toe_ease=0.011, toe_extension=0.010, pointed=0.0,
                          collar=(0.075, 0.062), throat=0.36, sole=0.020, lip=0.014),
    "boots": ShoeStyle(ease=0.005, toe_ease=0.010, toe_extension=0.012, pointed=0.0,
                       collar=(0.10, 0.10), throat=None, sole=0.014, lip=0.005, heel=0.022, shaft_top=0.5),
    "dress_shoes": ShoeStyle(ease=0.0035, toe_ease=0.009, toe_extension=0.022, pointed=0.35,
                             collar=(0.062, 0.046), throat=0.50, sole=0.008, lip=0.003, heel=0.014),
    "sandals": ShoeStyle(ease=0.002, toe_ease=0.002, toe_extension=0.0, pointed=0.0,
                         collar=(0.0, 0.0), throat=None, sole=0.014, lip=0.0),
    "heels": ShoeStyle(ease=0.003, toe_ease=0.008, toe_extension=0.035, pointed=0.9,
                       collar=(0.055, 0.036), throat=0.62, sole=0.005, lip=0.002, heel=0.035, stiletto=True),
}

_MIN_EASE = 0.002  # no part of an upper comes closer to the skin than this
_LAST_RINGS, _LAST_AROUND = 44, 40  # last grid: rings heel to toe, vertices around each
_RUBBER = (238, 236, 230)


@dataclass(frozen=True)
class FootFrame:
    """One foot's frame on the floor: ``s`` runs 0 (heel) .. 1 (toe tip) along ``axis``, ``u``
    across it (metres, along ``lateral``), both measured from ``heel`` (3,) at z = 0."""

    heel: np.ndarray
    axis: np.ndarray
    lateral: np.ndarray
    length: float
    width: float
    leg: np.ndarray  # (V,) bool: skin vertices of this leg below the knee

    def coords(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N,) s and (N,) u of points (N, 3)."""
        rel = points - self.heel
        return rel @ self.axis / self.length, rel @ self.lateral


def foot_frame(surface: BodySurface, side: str, sign: float) -> FootFrame:
    """The frame of the ``side`` ("L"/"R") foot, from its bones and its skin (foot and toe weights)."""
    knee = surface.bone(f"lowerleg01.{side}")
    leg = (np.sign(surface.positions[:, 0]) == sign) & (surface.positions[:, 2] < knee[2])
    foot = leg & (surface.bone_mass((f"foot.{side}", "toe")) > 0.3)
    toes = np.mean([surface.bone(f"toe{i}-1.{side}") for i in range(1, 6)], axis=0)
    axis = (toes - surface.bone(f"foot.{side}")) * (1.0, 1.0, 0.0)
    axis /= np.linalg.norm(axis)
    lateral = np.cross((0.0, 0.0, 1.0), axis)  # +X for a foot pointing forward (-Y)
    p = surface.positions[foot]
    along, across = p @ axis, p @ lateral
    heel = axis * along.min() + lateral * np.median(across)
    return FootFrame(heel=heel * (1.0, 1.0, 0.0), axis=axis, lateral=lateral, length=float(np.ptp(along)),
                     width=float(np.ptp(across)), leg=leg)


def underfoot(skin: np.ndarray, ease: float, cell: float = 0.004) -> Callable[[np.ndarray], np.ndarray]:
    """The space between the floor and the sole of the foot, filled: a predicate on points (M, 3)
    true within ``ease`` of the floor-to-skin column under the foot (a height map of the skin's
    lowest point per ``cell`` of floor, metres, over the print of the skin below 3 cm)."""
    low = skin[skin[:, 2] < 0.03]
    origin = low[:, :2].min(0) - 2 * cell
    ij = ((low[:, :2] - origin) / cell).astype(int)
    shape = tuple(ij.max(0) + 3)
    bottom = np.full(shape, np.inf)
    np.minimum.at(bottom, (ij[:, 0], ij[:, 1]), low[:, 2])
    # close the print's holes (cells no vertex fell in) with the lowest neighbour
    filled = np.minimum(bottom, minimum_filter(bottom, size=3))
    filled[np.isinf(filled)] = -np.inf  # off the print: nothing to fill

    def inside(points: np.ndarray) -> np.ndarray:
        q = np.floor((points[:, :2] - origin) / cell).astype(int)
        ok = (q >= 0).all(1) & (q < shape).all(1)
        b = np.full(len(points), -np.inf)
        b[ok] = filled[q[ok, 0], q[ok, 1]]
        return (points[:, 2] > -ease) & (points[:, 2] < b + ease)

    return inside


def laplacian(faces: np.ndarray, n: int) -> sp.csr_matrix:
    """(n, n) row-normalised vertex adjacency of a triangle mesh (umbrella smoothing operator)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    a = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])), shape=(n, n)).tocsr()
    a.data[:] = 1.0
    return sp.diags(1.0 / np.maximum(a.sum(1).A1, 1)) @ a


def ellipsoid_grid(center: np.ndarray, axes: np.ndarray, radii: tuple[float, float, float], rings: int,
                   around: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed ellipsoid grid: a pole at each end of ``axes[0]``.

    center (3,); axes (3, 3) rows: long axis, across, up; radii along them.
    Returns positions (2 + rings*around, 3), faces, and (N,) angle around the long axis."""
    th = np.linspace(0, np.pi, rings + 2)[1:-1]
    ph = 2 * np.pi * np.arange(around) / around
    local = np.stack([-np.cos(th)[:, None] * radii[0] + 0 * ph, np.sin(th)[:, None] * np.cos(ph) * radii[1],
                      np.sin(th)[:, None] * np.sin(ph) * radii[2]], -1).reshape(-1, 3)
    local = np.concatenate([[(-radii[0], 0, 0)], local, [(radii[0], 0, 0)]])
    r = np.arange(rings - 1)[:, None]
    a = np.arange(around)[None, :]
    v = 1 + r * around + a
    v1 = 1 + r * around + (a + 1) % around
    quads = np.concatenate([np.stack([v, v + around, v1 + around], -1).reshape(-1, 3),
                            np.stack([v, v1 + around, v1], -1).reshape(-1, 3)])
    last = 1 + (rings - 1) * around
    a = np.arange(around)
    caps = np.concatenate([np.stack([np.zeros(around, int), 1 + a, 1 + (a + 1) % around], 1),
                           np.stack([np.full(around, last + around), last + (a + 1) % around, last + a], 1)])
    angle = np.concatenate([[0.0], np.tile(ph, rings), [0.0]])
    return center + local @ axes, np.concatenate([quads, caps]).astype(np.int64), angle


def build_last(frame: FootFrame, cloud: SurfaceCloud, style: ShoeStyle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shoe's last around one foot: positions (N, 3), faces (F, 3) outward, (N,) bool valid
    (False: the vertex could not reach the foot, it sits up in the leg and is cut away).

    Every vertex lies on a ray towards the foot's centre line (a segment inside the foot just above
    the sole), so the last stays star-shaped: its distance along the ray is smoothed as a tent
    resting on the skin + ease (never lowered), which bridges the toes and their crevices."""
    up = np.array([0.0, 0.0, 1.0])
    center = frame.heel + frame.axis * frame.length / 2 + up * 0.035
    start, faces, _ = ellipsoid_grid(center, np.stack([frame.axis, frame.lateral, up]),
                                     (frame.length / 2 + 0.09, frame.width / 2 + 0.05, 0.12), _LAST_RINGS, _LAST_AROUND)
    s, _ = frame.coords(start)
    targets = frame.heel + frame.axis * (np.clip(s, 0.18, 0.82) * frame.length)[:, None] + up * 0.03
    ray = start - targets
    reach = np.linalg.norm(ray, axis=1)
    ray /= reach[:, None]
    ease = ease_along(np.clip(s, 0, 1), style)
    hit, valid = march(start, targets, cloud.signed_distance, ease, solid=underfoot(cloud.positions, ease.min()))
    r_min = np.linalg.norm(hit - targets, axis=1)
    lap = laplacian(faces, len(start))
    r = r_min.copy()
    for _ in range(30):
        r = np.where(valid, np.maximum(r_min, lap @ r), r)
    # the tent still touches each toe: blur it, and let it sink back into the ease (never under
    # the minimum clearance) so the toe box reads as one smooth dome
    floor = r - (ease - _MIN_EASE)
    for _ in range(60):
        r = np.where(valid, np.maximum(floor, lap @ r), r)
    pos = shape_toe(targets + ray * r[:, None], frame, style)
    for _ in range(6):  # styles may pull the toe in: keep the skin covered
        pos = pos + ray * np.maximum(_MIN_EASE - cloud.signed_distance(pos), 0.0)[:, None] * valid[:, None]
    return pos, orient_outward(pos, faces, targets), valid


def ease_along(s: np.ndarray, style: ShoeStyle) -> np.ndarray:
    """(N,) designed ease at foot fractions ``s``: ``ease`` up to the ball of the foot, growing to
    ``toe_ease`` at the toe tip (the toe box is roomier)."""
    return style.ease + (style.toe_ease - style.ease) * np.clip((s - 0.65) / 0.35, 0, 1) ** 1.5


def shape_toe(pos: np.ndarray, frame: FootFrame, style: ShoeStyle) -> np.ndarray:
    """Lengthen the toe past the toes by ``toe_extension``, then draw it to a point (``pointed``:
    the sides pulled in to the centre line and the top lowered towards the tip)."""
    s, u = frame.coords(pos)
    pos = pos + frame.axis * (style.toe_extension * np.clip((s - 0.6) / 0.4, 0, 1) ** 2)[:, None]
    s, u = frame.coords(pos)
    # only past the toes (s > 0.97), so the point never squeezes them
    tip = np.clip((s - 0.97) / (0.03 + style.toe_extension / frame.length), 0, 1) ** 1.2 * style.pointed
    center_u = float(np.median(u))
    pos = pos - frame.lateral * ((u - center_u) * 0.8 * tip)[:, None]
    pos[:, 2] = np.where(pos[:, 2] > 0.005, 0.005 + (pos[:, 2] - 0.005) * (1 - 0.5 * tip), pos[:, 2])
    return pos


def collar_height(s: np.ndarray, style: ShoeStyle, throat_top: float) -> np.ndarray:
    """(N,) height of the opening's edge at foot fractions ``s``: ``collar[0]`` at the back of the heel,
    ``collar[1]`` below the ankle bones, down to just under the instep's top at the throat, and
    no cut past the throat (the vamp)."""
    back, side = style.collar
    if style.throat is None:
        return np.full_like(s, back)
    t = style.throat
    return np.interp(s, [0.0, 0.22, t - 0.03, t, t + 0.04], [back, side, throat_top - 0.012, throat_top - 0.006, 1.0])


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """The closed boundary loops of a triangle mesh, each an ordered (K,) array of vertex indices."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, 1)
    _, inv, count = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    border = e[count[inv.reshape(-1)] == 1]
    nxt = dict(zip(border[:, 0].tolist(), border[:, 1].tolist()))
    loops = []
    while nxt:
        loop = list(nxt.popitem())
        while loop[-1] in nxt:
            loop.append(nxt.pop(loop[-1]))
        loops.append(np.array(loop))
    return [lp for lp in loops if len(lp) >= 3]


def clip(pos: np.ndarray, faces: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of a mesh where the per-vertex field ``f`` (N,) is negative, cut exactly along
    f = 0 (triangles crossing it are split; cut points on shared edges are shared, so the cut
    edge is one clean, welded loop). Returns positions (N', 3) and faces; unused vertices stay."""
    inside = f < 0
    n_in = inside[faces].sum(1)
    keep = [faces[n_in == 3]]
    mixed = faces[(n_in == 1) | (n_in == 2)]
    if not len(mixed):
        return pos, faces[n_in == 3]
    # roll each mixed triangle so its odd-one-out vertex comes first (winding kept)
    odd = inside[mixed] != (inside[mixed].sum(1, keepdims=True) == 2)
    k = odd.argmax(1)
    tri = np.stack([mixed[np.arange(len(mixed)), (k + i) % 3] for i in range(3)], 1)
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [0, 2]]]), 1)
    uniq, inv = np.unique(edges, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    fa, fb = f[uniq[:, 0]], f[uniq[:, 1]]
    t = (fa / (fa - fb))[:, None]
    cut = pos[uniq[:, 0]] + t * (pos[uniq[:, 1]] - pos[uniq[:, 0]])
    p01, p02 = len(pos) + inv[:len(tri)], len(pos) + inv[len(tri):]
    lone_in = inside[tri[:, 0]]
    a, b, c = tri.T
    keep.append(np.stack([a, p01, p02], 1)[lone_in])
    two = ~lone_in
    keep += [np.stack([p01, b, c], 1)[two], np.stack([p01, c, p02], 1)[two]]
    return np.concatenate([pos, cut]), np.concatenate(keep).astype(np.int64)


def throat_height(pos: np.ndarray, valid: np.ndarray, frame: FootFrame, style: ShoeStyle) -> float:
    """Height (metres) of the last's top over the instep at the throat: where the opening ends."""
    s, u = frame.coords(pos)
    near = valid & (np.abs(s - (style.throat or 0.5)) < 0.04) & (np.abs(u - np.median(u)) < 0.015)
    return float(pos[near, 2].max()) if near.any() else 0.06


def cut_opening(pos: np.ndarray, faces: np.ndarray, valid: np.ndarray, frame: FootFrame,
                style: ShoeStyle, throat_top: float) -> tuple[np.ndarray, np.ndarray]:
    """The upper: the last without the opening above the collar line (and without the vertices
    that never reached the foot). Returns positions and faces."""
    s, _ = frame.coords(pos)
    faces = faces[valid[faces].all(1)]
    return clip(pos, faces, pos[:, 2] - collar_height(s, style, throat_top))


def orient_outward(pos: np.ndarray, faces: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Faces (F, 3) flipped if most face normals point towards ``inside`` (N, 3), a point inside
    the surface for each vertex."""
    n = np.cross(pos[faces[:, 1]] - pos[faces[:, 0]], pos[faces[:, 2]] - pos[faces[:, 0]])
    out = np.einsum("fc,fc->f", n, pos[faces].mean(1) - inside[faces[:, 0]])
    return faces if np.mean(out > 0) >= 0.5 else faces[:, ::-1].copy()


def compact(pos: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop unused vertices: positions, re-indexed faces and the (N',) kept original indices."""
    used = np.unique(faces)
    remap = np.full(len(pos), -1)
    remap[used] = np.arange(len(used))
    return pos[used], remap[faces], used


def cloth_uvs(pos: np.ndarray, frame: FootFrame) -> np.ndarray:
    """(N, 2) fabric UVs in tiles: u around the foot, v along it (metres / TILE_M)."""
    s, u = frame.coords(pos)
    return np.stack([u + pos[:, 2], s * frame.length], 1) / TILE_M


def outline(points: np.ndarray, frame: FootFrame, welt: float, n: int = 72) -> np.ndarray:
    """The footprint outline of ``points`` (N, 3) grown by ``welt``: (n, 3) points at z = 0,
    counter-clockwise seen from above, from a smoothed polar envelope about the print's centre."""
    s, u = frame.coords(points)
    x, y = s * frame.length, u
    cx, cy = 0.5 * (x.min() + x.max()), np.median(y)
    scale = max(np.ptp(x), 1e-3) / max(np.ptp(y), 1e-3)  # polar in a squashed frame: the print is long
    ang = np.arctan2(y - cy, (x - cx) / scale)
    rad = np.hypot((x - cx) / scale, y - cy)
    bins = ((ang + np.pi) / (2 * np.pi) * n).astype(int) % n
    r = np.zeros(n)
    np.maximum.at(r, bins, rad)
    have = r > 0
    idx = np.arange(n)
    r = np.interp(idx, np.r_[idx[have] - n, idx[have], idx[have] + n], np.tile(r[have], 3))
    for _ in range(3):
        r = np.maximum(r, 0.5 * r + 0.25 * (np.roll(r, 1) + np.roll(r, -1)))
    a = (idx + 0.5) / n * 2 * np.pi - np.pi
    px, py = cx + scale * r * np.cos(a), cy + r * np.sin(a)
    # grow by the welt along the 2D outward normal
    tx, ty = np.roll(px, -1) - np.roll(px, 1), np.roll(py, -1) - np.roll(py, 1)
    norm = np.maximum(np.hypot(tx, ty), 1e-9)
    px, py = px + welt * ty / norm, py - welt * tx / norm
    pts = frame.heel + frame.axis * px[:, None] + frame.lateral * py[:, None]
    pts[:, 2] = 0.0
    return pts if _area_z(pts) > 0 else pts[::-1]


def _area_z(pts: np.ndarray) -> float:
    return 0.5 * float(np.sum(pts[:, 0] * np.roll(pts[:, 1], -1) - np.roll(pts[:, 0], -1) * pts[:, 1]))


def extrude(ring: np.ndarray, bottom: float, top: float, bevel: float = 0.002, top_scale: float = 1.0,
            top_cap: bool = True) -> Mesh:
    """A slab from an outline (K, 3) counter-clockwise from above, between heights ``bottom``
    and ``top``, its lower edge bevelled (a rolled rubber edge). ``top_scale`` shrinks the top
    outline about its centre; ``top_cap`` False leaves the top open (a heel glued under a sole).
    Returns positions, faces, uvs (metres / TILE_M)."""
    k = len(ring)
    c = ring.mean(0)
    levels = [(bottom, 1.0 - bevel / 0.05), (bottom + bevel, 1.0), (top, top_scale)]
    rings = [c + (ring - c) * sc * (1, 1, 0) + (0, 0, z) for z, sc in levels]
    pos = np.concatenate(rings + [[c + (0, 0, bottom)], [c + (0, 0, top)]])
    i = np.arange(k)
    j = (i + 1) % k
    faces = []
    for r in range(len(levels) - 1):
        a, b = r * k, (r + 1) * k
        faces += [np.stack([a + i, a + j, b + j], 1), np.stack([a + i, b + j, b + i], 1)]
    nb, nt = len(levels) * k, len(levels) * k + 1
    faces.append(np.stack([np.full(k, nb), j, i], 1))
    if top_cap:
        faces.append(np.stack([np.full(k, nt), (len(levels) - 1) * k + i, (len(levels) - 1) * k + j], 1))
    along = np.r_[0, np.cumsum(np.linalg.norm(np.diff(ring, axis=0), axis=1))]
    uv = np.concatenate([np.stack([np.tile(along, len(levels)), np.repeat([z for z, _ in levels], k)], 1),
                         [[0, 0], [0, 0]]]) / TILE_M
    uv[-2:] = (c[:2] - ring[:, :2].min(0)) / TILE_M
    if not top_cap:
        pos, uv = pos[:-1], uv[:-1]
    return pos, np.concatenate(faces).astype(np.int64), uv


def heel_block(ring: np.ndarray, frame: FootFrame, style: ShoeStyle) -> Mesh:
    """The heel under the sole: the outline's heel part (s < 0.3) extruded ``heel`` deeper, or a
    thin tapered stiletto under the heel bone."""
    top = -style.sole
    s, _ = frame.coords(ring)
    if style.stiletto:
        c = ring[s < 0.2].mean(0) + frame.axis * 0.01
        a = 2 * np.pi * np.arange(16) / 16
        block = c + 0.011 * (np.cos(a)[:, None] * frame.axis * 1.2 + np.sin(a)[:, None] * frame.lateral)
        pos, faces, uv = extrude(block[::-1] if _area_z(block) < 0 else block, top - style.heel, top,
                                 bevel=0.001, top_cap=False)
        # taper: the tip is a third of the seat
        low = pos[:, 2] < top - 0.5 * style.heel
        cc = block.mean(0)
        pos[low, :2] = cc[:2] + (pos[low, :2] - cc[:2]) * 0.38
        return pos, faces, uv
    part = ring[s < 0.3]
    return extrude(part, top - style.heel, top, bevel=0.002, top_cap=False)


def sole_mesh(upper_points: np.ndarray, frame: FootFrame, style: ShoeStyle) -> tuple[Mesh, np.ndarray]:
    """The sole slab (and heel) under one foot: returns the mesh and its outline (K, 3)."""
    low = upper_points[upper_points[:, 2] < max(style.lip, 0.004) + 0.004]
    ring = outline(low, frame, welt=0.003 if style.lip > 0 else 0.004)
    meshes = [extrude(ring, -style.sole, max(style.lip, -0.001), bevel=min(0.003, style.sole / 3))]
    if style.heel > 0:
        meshes.append(heel_block(ring, frame, style))
    return merge_meshes(meshes), ring


def section(frame: FootFrame, cloud: SurfaceCloud, s: float, height: float, offset: float, n: int = 24,
            start: float = -0.25, stop: float = np.pi + 0.25) -> np.ndarray:
    """(n, 3) points on the offset foot surface in the cross-section at foot fraction ``s``, from
    one side over the top to the other (angles about a point ``height`` up the centre line)."""
    c = frame.heel + frame.axis * s * frame.length + np.array([0, 0, height])
    a = np.linspace(start, stop, n)
    dirs = np.cos(a)[:, None] * frame.lateral + np.sin(a)[:, None] * np.array([0, 0, 1.0])
    pts, _ = march(c + 0.15 * dirs, np.broadcast_to(c, (n, 3)), cloud.signed_distance, offset)
    return pts


def ring_around(center: np.ndarray, axis: np.ndarray, cloud: SurfaceCloud, offset: float, n: int = 32,
                reach: float = 0.15) -> np.ndarray:
    """(n, 3) loop on the surface ``offset`` outside ``cloud`` in the plane through ``center`` (3,)
    normal to ``axis`` (3,), found by marching in from ``reach`` metres out."""
    axis = axis / np.linalg.norm(axis)
    e1 = np.cross(axis, (1.0, 0.0, 0.0) if abs(axis[0]) < 0.9 else (0.0, 1.0, 0.0))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    a = 2 * np.pi * np.arange(n) / n
    dirs = np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2
    pts, _ = march(center + reach * dirs, np.broadcast_to(center, (n, 3)), cloud.signed_distance, offset)
    return pts


def shaft(surface: BodySurface, side: str, cloud: SurfaceCloud, style: ShoeStyle) -> tuple[Mesh, np.ndarray]:
    """A boot's shaft: rings around the lower leg from the ankle to ``shaft_top`` of the way to
    the knee, each ``ease`` + 1.5 mm outside the skin. Returns the mesh and its top ring."""
    ankle, knee = surface.bone(f"foot.{side}"), surface.bone(f"lowerleg01.{side}")
    top = ankle + (knee - ankle) * style.shaft_top
    z = np.linspace(0.075, top[2], 16)
    centers = ankle + (knee - ankle) * ((z - ankle[2]) / (knee[2] - ankle[2]))[:, None]
    rings = np.stack([ring_around(c, knee - ankle, cloud, style.ease + 0.0015 + 0.004 * (i < 3), n=40)
                      for i, c in enumerate(centers)])
    for _ in range(3):  # relax the rings around and up the leg
        rings = 0.5 * rings + 0.25 * (np.roll(rings, 1, 1) + np.roll(rings, -1, 1))
    n = rings.shape[1]
    r = np.arange(len(z) - 1)[:, None]
    a = np.arange(n)[None, :]
    v, v1 = r * n + a, r * n + (a + 1) % n
    faces = np.concatenate([np.stack([v, v1, v1 + n], -1).reshape(-1, 3), np.stack([v, v1 + n, v + n], -1).reshape(-1, 3)])
    pos = rings.reshape(-1, 3)
    faces = orient_outward(pos, faces, np.repeat(centers, n, 0))
    uv = np.stack([np.tile(np.arange(n) / n * 0.3, len(z)), np.repeat(z, n)], 1) / TILE_M
    return (pos, faces.astype(np.int64), uv), rings[-1]


def on_surface(frame: FootFrame, cloud: SurfaceCloud, s: np.ndarray, u: np.ndarray, offset: float) -> np.ndarray:
    """(N, 3) points ``offset`` above ``cloud`` straight over foot coordinates (s, u) (dropped from
    25 cm up), for trims lying on an upper."""
    base = frame.heel + frame.axis * (s * frame.length)[:, None] + frame.lateral * u[:, None]
    top = base + np.array([0.0, 0.0, 0.25])
    pts, _ = march(top, base, cloud.signed_distance, offset, steps=80)
    return pts


def laces(frame: FootFrame, cloud: SurfaceCloud, span: tuple[float, float], half_width: float, crosses: int,
          radius: float) -> Mesh:
    """Criss-crossed laces over the instep between foot fractions ``span``: ``crosses`` X's, each
    lace a round tube of ``radius`` lying on ``cloud``."""
    u0 = float(np.median(frame.coords(frame.heel[None] + frame.axis[None] * frame.length / 2)[1]))
    s_k = np.linspace(span[0], span[1], crosses + 1)
    t = np.linspace(0, 1, 10)
    tubes = []
    for a, b in zip(s_k[:-1], s_k[1:]):
        for sign in (-1.0, 1.0):
            s = a + (b - a) * t
            u = u0 + sign * half_width * (2 * t - 1)
            tubes.append(tube(on_surface(frame, cloud, s, u, radius + 0.0008), radius, sides=6))
    return merge_meshes(tubes)


def ribbon(path: np.ndarray, width: float, thickness: float, up: np.ndarray, closed: bool = False) -> Mesh:
    """A flat strap along ``path`` (N, 3): ``width`` across along ``up`` (3,), ``thickness`` through."""
    return tube(path, np.tile([thickness / 2, width / 2], (len(path), 1)), sides=8, closed=closed, up=up)


def sandal_straps(surface: BodySurface, side: str, frame: FootFrame, cloud: SurfaceCloud) -> Mesh:
    """Three straps holding a sandal on: across the forefoot behind the toes, across the instep, and
    round the ankle, with a back strap from the heel up to the ankle strap. Their ends dip into
    the footbed."""
    up = np.array([0.0, 0.0, 1.0])
    straps = []
    for s, width in ((0.66, 0.02), (0.46, 0.016)):
        path = section(frame, cloud, s, 0.012, 0.0025, n=28)
        path = np.concatenate([path[:1] * (1, 1, 0) + (0, 0, -0.003), path, path[-1:] * (1, 1, 0) + (0, 0, -0.003)])
        straps.append(ribbon(path, width, 0.003, frame.axis))
    ankle, knee = surface.bone(f"foot.{side}"), surface.bone(f"lowerleg01.{side}")
    z = 0.065
    center = ankle + (knee - ankle) * (z - ankle[2]) / (knee[2] - ankle[2])
    straps.append(ribbon(ring_around(center, knee - ankle, cloud, 0.0025, n=40), 0.012, 0.003, knee - ankle,
                         closed=True))
    zs = np.linspace(-0.003, z, 10)
    back = frame.heel + up * zs[:, None] - frame.axis * 0.08
    target = frame.heel + up * zs[:, None] + frame.axis * 0.06
    path, _ = march(back, target, cloud.signed_distance, 0.0025)
    straps.append(ribbon(path, 0.014, 0.003, frame.lateral))
    return merge_meshes(straps)


def rolled_edge(pos: np.ndarray, faces: np.ndarray, radius: float, above: float = 0.0) -> list[Mesh]:
    """Padded tubes along the boundary loops of a mesh lying higher than ``above`` (its openings),
    for a shell's visible thickness."""
    return [tube(pos[lp], radius, sides=8, closed=True) for lp in boundary_loops(faces) if pos[lp, 2].mean() > above]


def plain_material(name: str, color: tuple[int, int, int], roughness: float) -> Material:
    """An untextured dielectric (rubber, laces): ``color`` sRGB 0..255."""
    linear = srgb_decode(np.asarray(color, np.uint8))
    return Material(name, base_color_factor=(*map(float, linear), 1.0), roughness_factor=roughness)


def shoe_materials(style: str, color: tuple[int, int, int], seed: int) -> tuple[dict[str, Material], dict[str, np.ndarray]]:
    """Materials keyed by role ("upper", "sole", "trim") and their textures: knit sneakers on a white
    rubber sole, leather boots, dress shoes, heels and sandal straps on dark soles."""
    pattern = "knit" if style == "sneakers" else "leather"
    upper, textures = fabric_material("shoes_upper", pattern, color, seed=seed, size=256)
    sole_color = _RUBBER if style == "sneakers" else (38, 32, 28)
    trim_color = (245, 245, 240) if style == "sneakers" else tuple(int(c * 0.6) for c in color)
    upper.double_sided = True  # the inside of the opening shows
    return ({"upper": upper, "sole": plain_material("shoes_sole", sole_color, 0.75),
             "trim": plain_material("shoes_trim", trim_color, 0.6)}, textures)


def fit_foot(surface: BodySurface, side: str, sign: float, style_name: str,
             style: ShoeStyle) -> tuple[dict[str, list[Mesh]], np.ndarray]:
    """One foot's shoe: meshes by role ("upper", "collar", "sole", "trim") and the (V,) bool skin
    vertices it hides."""
    frame = foot_frame(surface, side, sign)
    cloud = SurfaceCloud(surface.positions[frame.leg], surface.normals[frame.leg])
    last, faces, valid = build_last(frame, cloud, style)
    sole, _ = sole_mesh(last[valid], frame, style)
    out: dict[str, list[Mesh]] = {"upper": [], "collar": [], "sole": [sole], "trim": []}
    skin = surface.positions
    s_skin, _ = frame.coords(skin)
    hidden = np.zeros(len(skin), bool)
    if style_name == "sandals":
        out["trim"].append(sandal_straps(surface, side, frame, cloud))
        # only the sole of the foot lies on the footbed
        hidden[frame.leg] = (skin[frame.leg, 2] < 0.004) & (surface.normals[frame.leg, 2] < -0.3)
        return out, hidden
    throat_top = throat_height(last, valid, frame, style)
    upper, ufaces = cut_opening(last, faces, valid, frame, style, throat_top)
    last_cloud = SurfaceCloud(last[valid], vertex_normals(last, faces)[valid])
    s_up, _ = frame.coords(upper)
    if style_name == "sneakers":
        # a rubber toe cap round the front, low
        cap = 0.03 - upper[:, 2] - 0.15 * np.maximum(0.9 - s_up, 0)  # rises to 3 cm round the toe
        cp, cf, _ = compact(*clip(upper, ufaces, -cap))
        cp = cp + 0.0008 * vertex_normals(cp, cf)  # a rubber overlay just outside the knit
        out["sole"].append((cp, cf, cloth_uvs(cp, frame)))
        throat = style.throat or 0.4
        out["trim"].append(laces(frame, last_cloud, (throat + 0.05, 0.7), 0.012, 5, 0.0016))
        center_u = float(np.median(frame.coords(last[valid])[1]))
        s_t = np.linspace(0.72, throat - 0.03, 12)
        path = on_surface(frame, last_cloud, s_t, np.full_like(s_t, center_u), 0.001)
        path = np.concatenate([path, path[-1:] + np.array([0, 0, 0.016]) - frame.axis * 0.006])
        out["collar"].append(ribbon(path, 0.032, 0.004, frame.lateral))
    elif style_name == "dress_shoes":
        out["trim"].append(laces(frame, last_cloud, (style.throat + 0.005, style.throat + 0.12), 0.008, 3, 0.0011))
    upper, ufaces, _ = compact(upper, ufaces)
    out["upper"].append((upper, ufaces, cloth_uvs(upper, frame)))
    out["collar"] += rolled_edge(upper, ufaces, 0.0035 if style_name != "heels" else 0.002,
                                 above=0.0 if style.throat else 10.0)
    top_z = collar_height(s_skin, style, throat_top)
    if style_name == "boots":
        shaft_mesh, top_ring = shaft(surface, side, cloud, style)
        out["upper"].append(shaft_mesh)
        out["collar"].append(tube(top_ring, 0.004, sides=8, closed=True))
        top_z = np.full(len(skin), float(top_ring[:, 2].min()))
    shell, shell_faces, _ = merge_meshes(out["upper"])
    shell_cloud = SurfaceCloud(shell, vertex_normals(shell, shell_faces))
    inside = np.zeros(len(skin), bool)
    inside[frame.leg] = shell_cloud.signed_distance(skin[frame.leg]) < -0.001
    hidden[frame.leg] = (skin[frame.leg, 2] < top_z[frame.leg] - 0.015) & inside[frame.leg]
    return out, hidden


def fit_shoes(style: str, surface: BodySurface, *, color: tuple[int, int, int], num_morphs: int,
              seed: int = 0) -> FittedAsset:
    """A pair of shoes of ``style`` (one of :data:`STYLES`) fitted to the body's feet.

    Args:
        color: the upper's colour, sRGB 0..255; num_morphs: the character's morph count.

    Returns a :class:`FittedAsset` (category "shoes") with parts "shoes_upper" (the closed shell
    round the foot: the shoe's outer surface), "shoes_collar" (rolled edges, tongue; the upper's
    material), "shoes_sole" (soles, heels, toe caps) and "shoes_trim" (laces, sandal straps),
    both feet in each, skinned by weight transfer;
    ``hidden_body`` marks the skin the shoes cover for sure (sandals: only the soles of the feet).
    """
    if style not in STYLES:
        raise ValueError(f"unknown shoe style {style!r}; expected one of {sorted(STYLES)}")
    spec = STYLES[style]
    by_role: dict[str, list[Mesh]] = {"upper": [], "collar": [], "sole": [], "trim": []}
    hidden = np.zeros(len(surface.positions), bool)
    for side, sign in SIDES:
        meshes, h = fit_foot(surface, side, sign, style, spec)
        hidden |= h
        for role, ms in meshes.items():
            by_role[role] += ms
    materials, textures = shoe_materials(style, color, seed)
    parts = []
    for role, meshes in by_role.items():
        if not meshes:
            continue
        pos, faces, uvs = merge_meshes(meshes)
        joints, weights = transfer_weights(pos, surface)
        material = materials["upper" if role == "collar" else role].name
        parts.append(asset_part(f"shoes_{role}", material, pos, faces, uvs, joints, weights, num_morphs))
    used = {p.material for p in parts}
    return FittedAsset(asset_id=f"shoes_{style}", category="shoes", parts=parts,
                       materials={m.name: m for m in materials.values() if m.name in used}, textures=textures,
                       hidden_body=hidden, labels={"style": style, "color": list(color)})
