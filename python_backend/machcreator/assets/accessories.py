"""Accessories fitted to any generated body: earrings, necklace, scarf, watch, bracelet, tie and backpack.

Axes and units as in :mod:`machcreator.character`: metres, Z-up, the character faces -Y, +X is
its left.

Every accessory is swept or placed along a path found on the body the same way: rays cast from
outside towards a point inside the body (the neck axis, the wrist, the chest midline) stop where
the outermost layer (the skin, then the garments already fitted: ``layers``; see
:func:`clearance_of`) is a designed
clearance away, and the finished vertices are pushed out along the same rays until each keeps
:data:`CLEARANCE` outside every layer. Cloth that hangs (tie blade, scarf ends) falls straight
down from the most protruding point above it instead of following the body into hollows.

Small metal pieces on the head and wrists are bound rigidly to one bone (they do not stretch);
what lies on the neck, chest and back takes its weights from the skin (:func:`transfer_weights`).
"""

from __future__ import annotations

import numpy as np

from machcreator.assets.fabrics import TILE_M, fabric_material
from machcreator.assets.fitting import (BodySurface, FittedAsset, SurfaceCloud, asset_part, merge_meshes,
                                        march, rigid_weights, transfer_weights, tube)
from machcreator.character import Material
from machcreator.core.color import srgb_decode

Mesh = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions (N, 3), faces (F, 3), uvs (N, 2)

#: every accessory :func:`fit_accessory` builds
KINDS: tuple[str, ...] = ("earrings", "necklace", "scarf", "watch", "bracelet", "tie", "backpack")

#: no accessory vertex comes closer than this to the outermost layer, metres
CLEARANCE = 0.002
#: a garment layer only counts within this distance of its surface, metres (see :func:`clearance_of`)
GARMENT_REACH = 0.03

_GOLD = (212, 175, 55)
_SILVER = (200, 200, 205)
_DEFAULT_COLORS: dict[str, tuple[int, int, int]] = {
    "earrings": _GOLD, "necklace": _GOLD, "bracelet": _SILVER, "watch": (70, 45, 30),
    "scarf": (150, 35, 40), "tie": (30, 40, 95), "backpack": (70, 85, 60),
}
_UP = np.array([0.0, 0.0, 1.0])
_FORWARD = np.array([0.0, -1.0, 0.0])


# --- geometry helpers -------------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` (..., 3) scaled to unit length."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def clearance_of(points: np.ndarray, layers: list[SurfaceCloud], reach: float = GARMENT_REACH) -> np.ndarray:
    """(N,) signed distance of points (N, 3) to the outermost layer, metres, positive outside.

    ``layers[0]`` is the closed skin; the garments after it are open shells (necklines, cuffs),
    whose plane test says "inside" anywhere behind an opening's edge: a garment only counts
    within ``reach`` of its surface (anything deeper inside it is inside the skin too)."""
    d = layers[0].signed_distance(points)
    for layer in layers[1:]:
        near = layer.tree.query(points)[0] < reach
        d = np.where(near, np.minimum(d, layer.signed_distance(points)), d)
    return d


def _land(starts: np.ndarray, targets: np.ndarray, layers: list[SurfaceCloud], clearance: float,
          steps: int = 80) -> np.ndarray:
    """Walk from each start (N, 3), outside the body, towards its target (N, 3) and stop where the
    outermost layer is first ``clearance`` metres away (the target when it never is)."""
    return march(starts, targets, lambda p: clearance_of(p, layers), clearance, steps)[0]


def _settle(points: np.ndarray, directions: np.ndarray, layers: list[SurfaceCloud],
            clearance: float = CLEARANCE, iterations: int = 10) -> np.ndarray:
    """Push points (N, 3) along their unit ``directions`` (N, 3) until each is ``clearance`` outside
    every layer (points already clear stay put)."""
    points = points.copy()
    for _ in range(iterations):
        gap = clearance + 5e-4 - clearance_of(points, layers)  # aim a little beyond: distances are approximate
        if gap.max() <= 5e-4:
            break
        points += directions * np.maximum(gap, 0.0)[:, None]
    return points


def _smooth_loop(path: np.ndarray, passes: int) -> np.ndarray:
    """A closed polyline (N, 3) with its kinks averaged out (``passes`` of neighbour averaging)."""
    for _ in range(passes):
        path = 0.5 * path + 0.25 * (np.roll(path, 1, 0) + np.roll(path, -1, 0))
    return path


def _ring(centre: np.ndarray, axis: np.ndarray, ref: np.ndarray, layers: list[SurfaceCloud], clearance: float,
          n: int = 48, reach: float = 0.12, drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed loop around a limb or the neck: rays in the plane through ``centre`` (3,) normal to
    ``axis`` (3,), starting ``reach`` out (and ``drop`` (n,) metres lower along ``-axis``), landed
    ``clearance`` outside the layers. Angle 0 points along ``ref`` (3,), increasing towards
    ``axis × ref``.

    Returns the loop (n, 3) and the (n, 3) unit directions out from ``centre`` to it."""
    axis = _unit(axis)
    e1 = _unit(ref - axis * (ref @ axis))
    e2 = np.cross(axis, e1)
    a = 2 * np.pi * np.arange(n) / n
    rays = np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2
    starts = centre + reach * rays - (0.0 if drop is None else drop[:, None] * axis)
    loop = _land(starts, np.broadcast_to(centre, starts.shape), layers, clearance)
    return loop, _unit(loop - centre)


def _hang(x: np.ndarray, z: np.ndarray, back_y: float, layers: list[SurfaceCloud], clearance: float) -> np.ndarray:
    """A strip hanging down the front of the body: points (N, 3) at the given ``x``, ``z`` (N,)
    (top first), landed from the front ``clearance`` outside the layers and then falling straight
    down from the most protruding point above (cloth bridges the hollows under a bust)."""
    starts = np.stack([x, np.full_like(x, back_y - 0.6), z], 1)
    targets = np.stack([x, np.full_like(x, back_y), z], 1)
    path = _land(starts, targets, layers, clearance, steps=120)
    path[:, 1] = np.minimum.accumulate(path[:, 1])
    return path


def _band(path: np.ndarray, normals: np.ndarray, half_width: float, half_thickness: float, sides: int = 8) -> Mesh:
    """A flat strap along an open path (N, 3) lying on a surface: its section is an ellipse
    ``half_width`` across the surface and ``half_thickness`` along the unit ``normals`` (N, 3)."""
    tangent = _unit(np.gradient(path, axis=0))
    across = _unit(np.cross(tangent, normals))
    normal = np.cross(across, tangent)
    a = 2 * np.pi * np.arange(sides) / sides
    ring = (np.cos(a)[None, :, None] * half_width * across[:, None, :]
            + np.sin(a)[None, :, None] * half_thickness * normal[:, None, :])
    pos = (path[:, None, :] + ring).reshape(-1, 3)
    i, j = np.arange(len(path) - 1)[:, None], np.arange(sides)[None, :]
    a0, a1 = i * sides + j, i * sides + (j + 1) % sides
    faces = np.concatenate([np.stack([a0, a1, a1 + sides], -1).reshape(-1, 3),
                            np.stack([a0, a1 + sides, a0 + sides], -1).reshape(-1, 3)])
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    uvs = np.stack([np.tile(np.arange(sides) / sides * 4 * half_width, len(path)), np.repeat(along, sides)], 1)
    return pos, faces.astype(np.int64), uvs


def _superellipsoid(centre: np.ndarray, radii: np.ndarray, exponent: float, rings: int = 14,
                    around: int = 28) -> Mesh:
    """A closed rounded box: a superellipsoid (``exponent`` 1 = ellipsoid, towards 0 = box) with
    semi-axes ``radii`` (3,) along x, y, z and a pole at each end of z."""
    def f(w: np.ndarray) -> np.ndarray:
        return np.sign(w) * np.abs(w) ** exponent

    lat = np.linspace(-np.pi / 2, np.pi / 2, rings + 2)[1:-1]
    lon = 2 * np.pi * np.arange(around) / around
    cl, sl = f(np.cos(lat))[:, None], f(np.sin(lat))[:, None]
    local = np.stack([cl * f(np.cos(lon)), cl * f(np.sin(lon)), sl + 0 * lon], -1).reshape(-1, 3)
    local = np.concatenate([[(0.0, 0.0, -1.0)], local, [(0.0, 0.0, 1.0)]])
    r = np.arange(rings - 1)[:, None]
    a = np.arange(around)[None, :]
    v, v1 = 1 + r * around + a, 1 + r * around + (a + 1) % around
    quads = np.concatenate([np.stack([v, v1, v1 + around], -1).reshape(-1, 3),
                            np.stack([v, v1 + around, v + around], -1).reshape(-1, 3)])
    last = 1 + (rings - 1) * around
    a = np.arange(around)
    caps = np.concatenate([np.stack([np.zeros(around, int), 1 + (a + 1) % around, 1 + a], 1),
                           np.stack([np.full(around, last + around), last + a, last + (a + 1) % around], 1)])
    pos = centre + local * radii
    uvs = np.stack([np.concatenate([[0.0], np.tile(lon / (2 * np.pi), rings), [0.0]]), pos[:, 2]], 1)
    return pos, np.concatenate([quads, caps]).astype(np.int64), uvs


def _cylinder(centre: np.ndarray, axis: np.ndarray, radius: float, height: float, sides: int = 24) -> Mesh:
    """A closed cylinder (watch case, dial): its base centred on ``centre`` (3,), ``height`` metres
    along the unit ``axis`` (3,)."""
    e1 = _unit(np.cross(axis, (0.0, 0.0, 1.0) if abs(axis[2]) < 0.9 else (1.0, 0.0, 0.0)))
    e2 = np.cross(axis, e1)
    a = 2 * np.pi * np.arange(sides) / sides
    rim = radius * (np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2)
    pos = np.concatenate([centre + rim, centre + axis * height + rim, [centre, centre + axis * height]])
    i, j = np.arange(sides), (np.arange(sides) + 1) % sides
    bottom, top = 2 * sides, 2 * sides + 1
    faces = np.concatenate([np.stack([i, j, j + sides], 1), np.stack([i, j + sides, i + sides], 1),
                            np.stack([np.full(sides, bottom), j, i], 1),
                            np.stack([np.full(sides, top), i + sides, j + sides], 1)])
    uvs = np.concatenate([np.stack([a / (2 * np.pi), np.zeros(sides)], 1), np.stack([a / (2 * np.pi), np.ones(sides)], 1),
                          [(0.5, 0.5), (0.5, 0.5)]])
    return pos, faces.astype(np.int64), uvs


def _torus(centre: np.ndarray, normal: np.ndarray, ref: np.ndarray, major: float, minor: float, n: int = 32) -> Mesh:
    """A ring of ``major`` radius (tube ``minor``) around ``centre`` (3,) in the plane normal to
    ``normal``; angle 0 points along ``ref``."""
    normal = _unit(normal)
    e1 = _unit(ref - normal * (ref @ normal))
    e2 = np.cross(normal, e1)
    a = 2 * np.pi * np.arange(n) / n
    path = centre + major * (np.cos(a)[:, None] * e1 + np.sin(a)[:, None] * e2)
    return tube(path, minor, sides=8, closed=True, up=normal)


def _sphere(centre: np.ndarray, radius: float) -> Mesh:
    """A small UV sphere (stud, pearl)."""
    return _superellipsoid(centre, np.full(3, radius), 1.0, rings=6, around=10)


def _cloth_uvs(mesh: Mesh, circumference: float) -> Mesh:
    """A tube's uvs (u around 0..1, v along in metres) in fabric tiles (:data:`TILE_M`)."""
    pos, faces, uvs = mesh
    return pos, faces, uvs * np.array([circumference / TILE_M, 1.0 / TILE_M])


# --- materials --------------------------------------------------------------------------------

def metal_material(name: str, color: tuple[int, int, int], roughness: float = 0.3) -> Material:
    """A polished metal (gold, silver): ``color`` sRGB 0..255 is its reflectance tint."""
    return Material(name, base_color_factor=(*map(float, srgb_decode(np.asarray(color, np.uint8))), 1.0),
                    roughness_factor=roughness, metallic_factor=1.0)


def plain_material(name: str, color: tuple[int, int, int], roughness: float) -> Material:
    """An untextured dielectric (leather strap, dial): ``color`` sRGB 0..255."""
    return Material(name, base_color_factor=(*map(float, srgb_decode(np.asarray(color, np.uint8))), 1.0),
                    roughness_factor=roughness)


# --- the accessories --------------------------------------------------------------------------

def earlobes(surface: BodySurface) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each ear's lobe, left then right: the lowest skin vertex within 3 cm of the ear's centroid,
    at least 1 cm below it and on the outside of the head; returns (position (3,), normal (3,))."""
    out = []
    for key in ("ear_l", "ear_r"):
        ear = np.asarray(surface.landmarks[key], np.float64)
        p = surface.positions
        near = ((np.linalg.norm(p - ear, axis=1) < 0.03) & (p[:, 2] < ear[2] - 0.01)
                & (np.abs(p[:, 0]) > abs(ear[0]) - 0.008) & (np.sign(p[:, 0]) == np.sign(ear[0])))
        idx = np.flatnonzero(near)
        lobe = idx[np.argmin(p[idx, 2])]
        out.append((p[lobe], surface.normals[lobe]))
    return out


def _earrings(surface: BodySurface, hoops: bool) -> list[Mesh]:
    """A stud just outside each lobe, or a hoop hanging from it (in the plane of the head's side)."""
    meshes = []
    for lobe, normal in earlobes(surface):
        side = _unit(np.array([np.sign(lobe[0]), 0.0, 0.0]) + normal)  # outward, mostly sideways
        if hoops:
            major, minor = 0.009, 0.0012
            mesh = _torus(lobe + side * (minor + 0.0015) - _UP * (major - 0.002), side, _UP, major, minor)
        else:
            mesh = _sphere(lobe + side * 0.0035, 0.003)
        pos = _settle(mesh[0], np.broadcast_to(side, mesh[0].shape), [surface.cloud], 0.0005)
        meshes.append((pos, mesh[1], mesh[2]))
    return meshes


def _neck_axis(surface: BodySurface) -> np.ndarray:
    """(3,) a point on the neck's axis at the neck base."""
    base = np.asarray(surface.landmarks["neck_base"], np.float64)
    return np.array([base[0], 0.5 * (surface.bone("neck01")[1] + surface.bone("neck03")[1]), base[2]])


def _necklace(surface: BodySurface, layers: list[SurfaceCloud], pearls: bool) -> tuple[list[Mesh], np.ndarray]:
    """A loop round the neck base resting on the shoulders and chest, lowest in front; a fine chain
    or a string of pearls. Returns the meshes and their push-out directions."""
    radius = 0.004 if pearls else 0.0012
    centre = _neck_axis(surface) + _UP * 0.012
    n = 64
    a = 2 * np.pi * np.arange(n) / n
    front = np.maximum(-np.sin(a), 0.0)  # angle 0 is +X, pi/2 is +Y (the back): the front is at 3pi/2
    loop, rays = _ring(centre, _UP, np.array([1.0, 0.0, 0.0]), layers, radius + CLEARANCE + 0.001, n=n,
                       reach=0.25, drop=0.25 * (0.08 + 0.85 * front ** 2))
    loop = _smooth_loop(loop, 4)
    loop = _settle(loop, rays, layers, radius + CLEARANCE + 0.001)
    if not pearls:
        mesh = tube(loop, radius, sides=6, closed=True)
        return [mesh], np.repeat(rays, 6, axis=0)
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(np.vstack([loop, loop[:1]]), axis=0), axis=1))])
    s = np.arange(0.0, along[-1], 2.1 * radius)
    beads = np.stack([np.interp(s, along, np.append(loop[:, k], loop[0, k])) for k in range(3)], 1)
    bead_rays = _unit(beads - centre)
    meshes = [_sphere(b, radius) for b in beads]
    return meshes, np.concatenate([np.broadcast_to(r, m[0].shape) for r, m in zip(bead_rays, meshes)])


def _scarf(surface: BodySurface, layers: list[SurfaceCloud]) -> tuple[list[Mesh], np.ndarray]:
    """A thick knit tube wrapped round the neck above the collar and two flat ends hanging ~30 cm
    down the front. Returns the meshes and their push-out directions."""
    radius, half_w, half_t = 0.015, 0.035, 0.006
    centre = _neck_axis(surface) + _UP * 0.03
    n = 48
    a = 2 * np.pi * np.arange(n) / n
    front = np.maximum(-np.sin(a), 0.0)
    loop, rays = _ring(centre, _UP, np.array([1.0, 0.0, 0.0]), layers, radius + CLEARANCE + 0.001, n=n,
                       reach=0.25, drop=0.25 * 0.25 * front ** 2)
    loop = _settle(_smooth_loop(loop, 3), rays, layers, radius + CLEARANCE + 0.001)
    meshes = [_cloth_uvs(tube(loop, radius, sides=12, closed=True), 2 * np.pi * radius)]
    dirs = [np.repeat(rays, 12, axis=0)]
    top = loop[np.argmin(loop[:, 1])][2] - 0.5 * radius  # just under the loop's front
    for x, length in ((0.04, 0.30), (-0.045, 0.26)):
        z = np.linspace(top, top - length, 16)
        path = _hang(np.full_like(z, x), z, float(centre[1]), layers, half_t + CLEARANCE + 0.002)
        end = tube(path, np.tile((half_w, half_t), (len(z), 1)), sides=12, up=np.array([0.0, 1.0, 0.0]))
        meshes.append(_cloth_uvs(end, 4 * half_w))
        dirs.append(np.broadcast_to(_FORWARD, end[0].shape))
    return meshes, np.concatenate(dirs)


def _waist_z(surface: BodySurface) -> float:
    """Height of the natural waist, metres (between the lower spine joints)."""
    return float(0.5 * (surface.bone("spine03")[2] + surface.bone("spine04")[2]))


def _tie(surface: BodySurface, layers: list[SurfaceCloud]) -> tuple[list[Mesh], np.ndarray]:
    """A necktie: a knot at the collar just under the chin and a flat blade down the chest midline
    to about the waist, widening to a point. Returns the meshes and their push-out directions."""
    half_t = 0.002
    neck = _neck_axis(surface)
    chin_z = float(surface.landmarks["chin"][2])
    knot_z = neck[2] + 0.25 * (chin_z - neck[2])
    z = np.linspace(knot_z - 0.012, _waist_z(surface) - 0.02, 40)
    length = z[0] - z[-1]
    half_w = np.interp(z[0] - z, [0.0, length - 0.05, length - 0.012, length], [0.014, 0.035, 0.036, 0.004])
    path = _hang(np.zeros_like(z), z, float(neck[1]), layers, half_t + CLEARANCE + 0.001)
    blade = tube(path, np.stack([half_w, np.full_like(z, half_t)], 1), sides=10, up=np.array([0.0, 1.0, 0.0]))
    kz = np.linspace(knot_z + 0.014, knot_z - 0.014, 8)
    knot_path = _hang(np.zeros_like(kz), kz, float(neck[1]), layers, 0.008 + CLEARANCE + 0.001)
    knot_path[:, 1] = knot_path[:, 1].min()  # a knot stands out as one block
    knot_w = np.interp(np.linspace(0, 1, 8), [0.0, 1.0], [0.022, 0.012])
    knot = tube(knot_path, np.stack([knot_w, np.full(8, 0.008)], 1), sides=12, up=np.array([0.0, 1.0, 0.0]))
    meshes = [_cloth_uvs(blade, 0.08), _cloth_uvs(knot, 0.05)]
    return meshes, np.broadcast_to(_FORWARD, (len(blade[0]) + len(knot[0]), 3))


def _wrist_frame(surface: BodySurface, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``side`` wrist's joint (3,), the forearm's unit axis (3,) pointing to the hand and the
    unit direction (3,) of the back of the wrist (outward, away from the body, across the axis)."""
    wrist = surface.bone(f"wrist.{side}")
    axis = _unit(wrist - surface.bone(f"lowerarm02.{side}"))
    sign = 1.0 if side == "L" else -1.0
    # the back of the hand: the hand's thinnest direction (palm normal), on the side away from the body
    hand = (surface.bone_mass((f"wrist.{side}", "metacarpal")) > 0.5) & (np.sign(surface.positions[:, 0]) == sign)
    p = surface.positions[hand]
    normal = np.linalg.svd(p - p.mean(0), full_matrices=False)[2][2]
    normal *= np.sign(normal[0] * sign)
    return wrist, axis, _unit(normal - axis * (normal @ axis))


def _wrist_band(surface: BodySurface, side: str, thickness: float, back: float) -> tuple[np.ndarray, np.ndarray]:
    """A loop (N, 3) round the ``side`` wrist, ``back`` metres up the forearm from the joint,
    ``thickness`` clear of the skin, and the (3,) unit normal of its plane (the forearm axis)."""
    wrist, axis, out = _wrist_frame(surface, side)
    loop, _ = _ring(wrist - axis * back, axis, out, [surface.cloud], thickness, n=40, reach=0.07)
    return _smooth_loop(loop, 1), axis


def _watch(surface: BodySurface) -> dict[str, list[Mesh]]:
    """A strap round the left wrist and a round case on its back; meshes by role."""
    wrist, _, out = _wrist_frame(surface, "L")
    loop, axis = _wrist_band(surface, "L", 0.0025 + CLEARANCE, 0.015)
    strap = tube(loop, np.tile((0.0018, 0.009), (len(loop), 1)), sides=10, closed=True, up=axis)
    top = loop[np.argmax((loop - wrist) @ out)]
    case = _cylinder(top + out * 0.001, out, 0.018, 0.008)
    dial = _cylinder(top + out * 0.0085, out, 0.0155, 0.0008)
    return {"strap": [strap], "metal": [case], "dial": [dial]}


def _bracelet(surface: BodySurface) -> list[Mesh]:
    """A thin band round the right wrist."""
    loop, axis = _wrist_band(surface, "R", 0.002 + CLEARANCE + 0.001, 0.01)
    return [tube(loop, np.tile((0.002, 0.0035), (len(loop), 1)), sides=10, closed=True, up=axis)]


def _backpack(surface: BodySurface, layers: list[SurfaceCloud]) -> dict[str, list[Mesh]]:
    """A rounded box on the upper back and two straps from its top over the shoulders, down the
    front to the armpits and back under the arms to its bottom corners; meshes by role."""
    top_z = float(surface.bone("spine01")[2]) + 0.02
    bottom_z = _waist_z(surface)
    half_h = 0.5 * (top_z - bottom_z)
    shoulder_x = float(surface.bone("shoulder01.L")[0])
    radii = np.array([0.75 * shoulder_x + 0.06, 0.075, half_h])
    back = surface.positions[(np.abs(surface.positions[:, 0]) < radii[0])
                             & (np.abs(surface.positions[:, 2] - (top_z - half_h)) < half_h)]
    centre = np.array([0.0, back[:, 1].max() + radii[1] - 0.02, top_z - half_h])
    pack = _superellipsoid(centre, radii, 0.35, rings=16, around=32)
    pack_pos = _settle(pack[0], np.broadcast_to(-_FORWARD, pack[0].shape), layers, CLEARANCE + 0.001)
    meshes = [(pack_pos, pack[1], pack[2] / TILE_M)]
    torso = _torso_layers(surface, layers)
    straps = []
    for sign in (1.0, -1.0):
        side = "L" if sign > 0 else "R"
        sh = surface.bone(f"shoulder01.{side}")
        arm = surface.bone(f"upperarm01.{side}")
        chest_y = float(surface.positions[(np.abs(surface.positions[:, 0] - sign * 0.6 * shoulder_x) < 0.02)
                                          & (np.abs(surface.positions[:, 2] - (arm[2] - 0.08)) < 0.02), 1].min())
        # control points (x, y, z): pack top, shoulder top, chest, armpit front, side, pack bottom
        ctrl = np.array([
            [sign * 0.5 * radii[0], centre[1] - radii[1] * 0.6, top_z - 0.01],
            [sign * 0.9 * shoulder_x, sh[1] + 0.04, sh[2] + 0.07],
            [sign * 0.9 * shoulder_x, sh[1] - 0.06, sh[2] + 0.02],
            [sign * 0.75 * shoulder_x, chest_y - 0.01, arm[2] - 0.08],
            [sign * (abs(arm[0]) - 0.01), arm[1], arm[2] - 0.13],
            [sign * 0.8 * radii[0], centre[1] - radii[1] * 0.5, bottom_z + 0.03],
        ])
        path = _catmull_rom(ctrl, 10)
        core = _core_point(path, surface, side, bottom_z)
        offset = path - core
        # start just outside the rough path: from farther out the rays would land on the arms
        start = core + offset * ((np.linalg.norm(offset, axis=1) + 0.06) / np.linalg.norm(offset, axis=1))[:, None]
        path = _land(start, core, torso, 0.004 + CLEARANCE + 0.001)
        path = _smooth_open(path, 3)
        out = _unit(path - _core_point(path, surface, side, bottom_z))
        strap = _band(path, out, 0.022, 0.004)
        ring_dirs = np.repeat(out, 8, axis=0)
        straps.append((_settle(strap[0], ring_dirs, layers, CLEARANCE + 0.0005), strap[1], strap[2] / TILE_M))
    return {"pack": meshes, "straps": straps}


def _torso_layers(surface: BodySurface, layers: list[SurfaceCloud]) -> list[SurfaceCloud]:
    """The layers without the arms (skin vertices bound mostly to arm bones, and the garment
    vertices nearest them): straps under the arms must land on the ribs, not on the arm."""
    arm = surface.bone_mass(("upperarm", "lowerarm", "wrist", "finger", "metacarpal")) > 0.3
    out = []
    for layer in layers:
        keep = ~arm[surface.tree.query(layer.positions)[1]]
        out.append(SurfaceCloud(layer.positions[keep], layer.normals[keep]))
    return out


def _catmull_rom(ctrl: np.ndarray, per: int) -> np.ndarray:
    """A smooth open curve through the control points (K, 3), ``per`` samples per span."""
    p = np.vstack([2 * ctrl[0] - ctrl[1], ctrl, 2 * ctrl[-1] - ctrl[-2]])
    t = np.linspace(0.0, 1.0, per, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    return np.vstack(out + [ctrl[-1:]])


def _smooth_open(path: np.ndarray, passes: int) -> np.ndarray:
    """An open polyline (N, 3) with its kinks averaged out, ends fixed."""
    for _ in range(passes):
        path = np.vstack([path[:1], 0.5 * path[1:-1] + 0.25 * (path[:-2] + path[2:]), path[-1:]])
    return path


def _core_point(points: np.ndarray, surface: BodySurface, side: str, bottom_z: float) -> np.ndarray:
    """(N, 3) for each point the nearest point on the torso's core line: the spine from the pack's
    bottom up to spine01, then out along the clavicle to the shoulder joint of ``side``."""
    spine = surface.bone("spine01")
    core = np.array([[0.0, spine[1], bottom_z], spine, surface.bone(f"clavicle.{side}"), surface.bone(f"shoulder01.{side}")])
    best = np.full(len(points), np.inf)
    out = np.zeros_like(points)
    for a, b in zip(core[:-1], core[1:]):
        t = np.clip((points - a) @ (b - a) / ((b - a) @ (b - a)), 0, 1)
        q = a + t[:, None] * (b - a)
        d = np.linalg.norm(points - q, axis=1)
        out = np.where((d < best)[:, None], q, out)
        best = np.minimum(best, d)
    return out


#: kind -> the styles it comes in (the first is the default); the seed draws one when none is asked
STYLES: dict[str, tuple[str, ...]] = {"earrings": ("studs", "hoops"), "necklace": ("chain", "pearls")}


def fit_accessory(kind: str, surface: BodySurface, *, color: tuple[int, int, int] | None, layers: list[SurfaceCloud],
                  num_morphs: int, seed: int = 0, style: str | None = None) -> FittedAsset:
    """Accessory ``kind`` (one of :data:`KINDS`) fitted to this body.

    Args:
        color: the main colour, sRGB 0..255 (the metal's tint for jewellery, the strap's for the
            watch, the cloth's for scarf, tie and backpack); None for the kind's default.
        layers: the skin's cloud, then the outer surfaces of the garments already fitted: what
            lies on the neck and torso keeps every vertex :data:`CLEARANCE` outside all of them.
        num_morphs: the character's morph count; seed: the fabric noise, and studs or hoops,
            chain or pearls when ``style`` (one of :data:`STYLES`) does not say.

    Returns a :class:`FittedAsset` (category "accessory", asset_id ``kind``) with one part per
    material, named ``accessory_{kind}_{role}``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown accessory {kind!r}; expected one of {KINDS}")
    styles = STYLES.get(kind, ())
    if style is not None and style not in styles:
        raise ValueError(f"{kind} come in {', '.join(styles) or 'one style'}, not {style!r}")
    second = style == styles[1] if style is not None else seed % 2 == 1  # hoops, pearls
    color = tuple(color) if color is not None else _DEFAULT_COLORS[kind]
    textures: dict[str, np.ndarray] = {}
    name = f"accessory_{kind}"
    rigid: str | None = None
    push: np.ndarray | None = None  # (N, 3) directions to push the merged vertices out of the layers along
    if kind == "earrings":
        by_role = {"metal": _earrings(surface, hoops=second)}
        materials = {"metal": metal_material(f"{name}_metal", color)}
        rigid = "head"
    elif kind == "necklace":
        meshes, push = _necklace(surface, layers, pearls=second)
        by_role = {"metal": meshes}
        materials = {"metal": plain_material(f"{name}_pearl", (236, 230, 218), 0.25) if second
                     else metal_material(f"{name}_metal", color)}
    elif kind == "watch":
        by_role = _watch(surface)
        materials = {"strap": plain_material(f"{name}_strap", color, 0.55),
                     "metal": metal_material(f"{name}_metal", _SILVER),
                     "dial": plain_material(f"{name}_dial", (235, 232, 225), 0.3)}
        rigid = "wrist.L"
    elif kind == "bracelet":
        by_role = {"metal": _bracelet(surface)}
        materials = {"metal": metal_material(f"{name}_metal", color)}
        rigid = "wrist.R"
    elif kind in ("scarf", "tie"):
        meshes, push = (_scarf if kind == "scarf" else _tie)(surface, layers)
        pattern = "knit" if kind == "scarf" else ("stripes" if seed % 2 == 1 else "solid")
        material, textures = fabric_material(f"{name}_cloth", pattern, color,
                                             seed=seed, size=256)
        by_role, materials = {"cloth": meshes}, {"cloth": material}
    else:
        by_role = _backpack(surface, layers)
        material, textures = fabric_material(f"{name}_canvas", "solid", color, seed=seed, size=256)
        materials = {"pack": material,
                     "straps": plain_material(f"{name}_straps", tuple(int(c * 0.55) for c in color), 0.7)}
    parts = []
    for role, meshes in by_role.items():
        pos, faces, uvs = merge_meshes(meshes)
        if push is not None:
            pos = _settle(pos, push, layers)
        joints, weights = rigid_weights(len(pos), surface, rigid) if rigid else transfer_weights(pos, surface)
        parts.append(asset_part(f"{name}_{role}", materials[role].name, pos, faces, uvs, joints, weights, num_morphs))
    return FittedAsset(asset_id=kind, category="accessory", parts=parts,
                       materials={m.name: m for m in materials.values()}, textures=textures,
                       labels={"color": list(color), "seed": seed})
