"""What every asset builder fits to: the character's welded skin, and the shared fitting helpers.

Axes and units as in :mod:`machcreator.character`: metres, Z-up, the character faces -Y, +X is
its left. A builder takes a :class:`BodySurface` and returns a :class:`FittedAsset` whose mesh
parts are skinned to the character's skeleton (weights transferred from the skin, or rigid to
one bone), so they follow every pose and animation the body does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from machcreator.character import Character, Material, MeshPart, Skeleton
from machcreator.core.normals import vertex_normals

#: bone influences per vertex written for asset parts (the glTF writer keeps the top 4)
INFLUENCES = 4


@dataclass
class BodySurface:
    """The character's skin (head and body parts welded back together) in its rest pose.

    positions, normals: (V, 3) float64; faces: (F, 3) int64 (counter-clockwise from outside).
    joints, weights: (V, K) skin influences; part: (V,) "head" or "body" (which part the vertex
    came from); part_index: (V,) the vertex's index in that part.
    """

    positions: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    part: np.ndarray
    part_index: np.ndarray
    skeleton: Skeleton
    landmarks: dict[str, np.ndarray]

    @classmethod
    def from_character(cls, character: Character) -> "BodySurface":
        parts = [character.part("head"), character.part("body")]
        pos = np.concatenate([p.positions for p in parts]).astype(np.float64)
        # the parts are split at UV seams: weld vertices that sit at the same point
        _, first, inverse = np.unique(np.round(pos, 6), axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        offsets = np.cumsum([0] + [p.num_vertices for p in parts])
        faces = np.concatenate([inverse[p.faces + o] for p, o in zip(parts, offsets[:-1])])
        faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
        joints = np.concatenate([p.joints for p in parts])[first]
        weights = np.concatenate([p.weights for p in parts])[first]
        label = np.repeat(np.array([p.name for p in parts]), [p.num_vertices for p in parts])[first]
        index = np.concatenate([np.arange(p.num_vertices) for p in parts])[first]
        positions = pos[first]
        return cls(positions=positions, normals=vertex_normals(positions, faces), faces=faces,
                   joints=joints.astype(np.int64), weights=weights.astype(np.float32), part=label,
                   part_index=index, skeleton=character.skeleton, landmarks=dict(character.landmarks))

    @cached_property
    def tree(self) -> cKDTree:
        return cKDTree(self.positions)

    def bone(self, name: str) -> np.ndarray:
        """(3,) rest-pose position of joint ``name``."""
        return self.skeleton.rest_world[self.skeleton.bone_names.index(name), :3, 3].astype(np.float64)

    def dense_weights(self, index: np.ndarray | None = None) -> np.ndarray:
        """(N, J) per-bone weights of the vertices ``index`` (all when None)."""
        j, w = (self.joints, self.weights) if index is None else (self.joints[index], self.weights[index])
        return dense_weights(j, w, self.skeleton.num_joints)

    def bone_mass(self, prefixes: tuple[str, ...]) -> np.ndarray:
        """(V,) summed weight of the bones whose names start with any of ``prefixes``."""
        cols = [i for i, n in enumerate(self.skeleton.bone_names) if n.startswith(prefixes)]
        return self.dense_weights()[:, cols].sum(1)

    @cached_property
    def cloud(self) -> "SurfaceCloud":
        """The skin as a :class:`SurfaceCloud` (signed distances, positive outside)."""
        return SurfaceCloud(self.positions, self.normals)


@dataclass
class SurfaceCloud:
    """A surface given by its vertices and outward normals, for clearance queries.

    positions, normals: (V, 3) float64, metres.
    rim_out: (V, 3) or None. An open surface (a garment) gives, at each vertex on an open edge,
    the direction in the surface pointing out across that edge (zero elsewhere). Past the edge,
    the surface's planes mean nothing, so :func:`push_out` ignores them there.
    """

    positions: np.ndarray
    normals: np.ndarray
    rim_out: np.ndarray | None = None

    @cached_property
    def tree(self) -> cKDTree:
        return cKDTree(self.positions)

    @cached_property
    def on_rim(self) -> np.ndarray:
        """(V,) bool: the vertex is on an open edge (see ``rim_out``)."""
        if self.rim_out is None:
            return np.zeros(len(self.positions), bool)
        return np.any(self.rim_out != 0, axis=1)

    def signed_distance(self, points: np.ndarray, k: int = 4) -> np.ndarray:
        """(N,) approximate signed distance, metres, positive outside: the largest distance to the
        tangent planes of the ``k`` nearest vertices (a point in a crease stays inside); beyond
        5 cm, the distance to the nearest vertex signed by its normal."""
        points = np.asarray(points, dtype=np.float64)
        d, i = self.tree.query(points, k=k, workers=_workers(len(points)))
        d, i = d.reshape(len(points), k), i.reshape(len(points), k)  # k = 1 gives flat arrays
        plane = np.einsum("nkc,nkc->nk", points[:, None, :] - self.positions[i], self.normals[i])
        return np.where(d[:, 0] > 0.05, np.sign(plane[:, 0]) * d[:, 0], plane.max(1))


def _workers(queries: int) -> int:
    """Threads for a k-d tree query: all cores for a million hair points; one for a garment's few
    thousand, where starting threads costs more than it saves."""
    return -1 if queries > 100_000 else 1


def push_out(points: np.ndarray, layers: list[SurfaceCloud], clearance: float | np.ndarray, rounds: int = 3,
             reach_m: float = np.inf, planes: int = 4) -> np.ndarray:
    """(N, 3) copy of ``points``, each moved out along the nearest layer normal until it is at
    least ``clearance`` (metres, scalar or (N,)) outside every layer. A layer further than
    ``reach_m`` from a point is left out for it, and so is a layer whose nearest vertex is on an
    open edge the point lies past (see :attr:`SurfaceCloud.rim_out`). ``planes``: tangent planes
    per distance (see :meth:`SurfaceCloud.signed_distance`; 1 is enough, and much faster, for a
    million hair points)."""
    x = np.array(points, dtype=np.float64)
    clearance = np.broadcast_to(np.asarray(clearance, dtype=np.float64), (len(x),))
    for _ in range(rounds):
        moved = False
        for layer in layers:
            # a box test first (cheap for a million hair points), then the tree, then the planes
            lo, hi = layer.positions.min(0) - reach_m, layer.positions.max(0) + reach_m
            boxed = np.flatnonzero(np.all((x >= lo) & (x <= hi), axis=1))
            d, i = layer.tree.query(x[boxed], distance_upper_bound=reach_m, workers=_workers(len(boxed)))
            near, i = boxed[np.isfinite(d)], i[np.isfinite(d)]
            if layer.rim_out is not None:  # past an open edge of the layer
                rim = np.flatnonzero(layer.on_rim[i])
                past = np.einsum("nc,nc->n", x[near[rim]] - layer.positions[i[rim]], layer.rim_out[i[rim]]) > 0
                keep = np.ones(len(near), bool)
                keep[rim[past]] = False
                near, i = near[keep], i[keep]
            if planes == 1:  # the nearest vertex's plane: the query above already found it
                gap = np.einsum("nc,nc->n", x[near] - layer.positions[i], layer.normals[i])
            else:
                gap = layer.signed_distance(x[near], k=planes)
            depth = clearance[near] - gap
            out = depth > 0
            if out.any():
                x[near[out]] += layer.normals[i[out]] * depth[out, None]
                moved = True
        if not moved:
            break
    return x


def march(starts: np.ndarray, targets: np.ndarray, distance: Callable[[np.ndarray], np.ndarray],
          offset: np.ndarray | float = 0.0, steps: int = 40,
          solid: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Walk from each start (N, 3) towards its target (N, 3) and stop where ``distance`` (points
    (M, 3) -> (M,) signed distance, metres) first drops to ``offset`` (scalar or (N,)), or where
    ``solid`` (points (M, 3) -> (M,) bool) first says a point is inside something more.

    Returns the stopping points (N, 3), interpolated between steps, and (N,) bool: False where
    the start was already closer than ``offset`` (that point stays at its start)."""
    offset = np.broadcast_to(np.asarray(offset, np.float64), (len(starts),))
    t = np.linspace(0.0, 1.0, steps)
    pts = (starts[:, None, :] + t[None, :, None] * (targets - starts)[:, None, :]).reshape(-1, 3)
    d = distance(pts).reshape(len(starts), steps) - offset[:, None]
    if solid is not None:
        d = np.where(solid(pts).reshape(d.shape), np.minimum(d, -1e-4), d)
    below = d < 0
    hit = np.where(below.any(1), below.argmax(1), steps - 1)
    prev = np.maximum(hit - 1, 0)
    rows = np.arange(len(starts))
    d0, d1 = d[rows, prev], d[rows, hit]
    frac = np.where(hit > 0, d0 / np.maximum(d0 - d1, 1e-12), 0.0)
    tt = t[prev] + np.clip(frac, 0, 1) * (t[hit] - t[prev])
    return starts + tt[:, None] * (targets - starts), hit > 0


def outermost_distance(points: np.ndarray, layers: list[SurfaceCloud]) -> np.ndarray:
    """(N,) signed distance to the outermost of several nested layers (skin, then garments):
    negative when a point is inside any of them."""
    return np.min([layer.signed_distance(points) for layer in layers], axis=0)


@dataclass
class FittedAsset:
    """One asset fitted to one character: what goes into the character and the manifest.

    parts: skinned mesh parts (zero morphs), materials and textures keyed like the character's.
    outer_surface: see the field.
    hidden_body: (V,) bool over :class:`BodySurface` vertices the asset covers for sure (their
        faces are removed from the body so they can never poke through), or None.
    labels: what made it (asset id, colour, pattern...), recorded in the manifest.
    """

    asset_id: str
    category: str
    parts: list[MeshPart]
    materials: dict[str, Material]
    textures: dict[str, np.ndarray] = field(default_factory=dict)
    hidden_body: np.ndarray | None = None
    labels: dict = field(default_factory=dict)
    #: the outer cloth surface (garments): what the garments and accessories over it must clear
    outer_surface: SurfaceCloud | None = None


def transfer_weights(points: np.ndarray, surface: BodySurface, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Skin weights for points near the body: the inverse-distance blend of the ``k`` nearest skin
    vertices' weights, cut to the :data:`INFLUENCES` strongest and renormalised.

    Returns joints (N, 4) int64 and weights (N, 4) float32.
    """
    d, i = surface.tree.query(points, k=k)
    w = 1.0 / np.maximum(d, 1e-4) ** 2
    w /= w.sum(1, keepdims=True)
    dense = np.einsum("nk,nkj->nj", w, surface.dense_weights(i.reshape(-1)).reshape(i.shape[0], k, -1))
    return top_influences(dense)


def dense_weights(joints: np.ndarray, weights: np.ndarray, num_joints: int) -> np.ndarray:
    """(N, K) joints and weights -> (N, num_joints) float64 per-bone weights (repeats summed)."""
    out = np.zeros((joints.shape[0], num_joints), np.float64)
    np.add.at(out, (np.arange(joints.shape[0])[:, None], joints), weights)
    return out


def top_influences(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, J) dense weights -> the :data:`INFLUENCES` strongest joints (N, 4) and weights (N, 4)."""
    joints = np.argsort(-dense, axis=1)[:, :INFLUENCES]
    weights = np.take_along_axis(dense, joints, 1)
    weights /= np.maximum(weights.sum(1, keepdims=True), 1e-12)
    return joints.astype(np.int64), weights.astype(np.float32)


def rigid_weights(n: int, surface: BodySurface, bone: str) -> tuple[np.ndarray, np.ndarray]:
    """Joints (n, 4) and weights (n, 4) binding every vertex to ``bone`` alone."""
    joints = np.zeros((n, INFLUENCES), np.int64)
    joints[:, 0] = surface.skeleton.bone_names.index(bone)
    weights = np.zeros((n, INFLUENCES), np.float32)
    weights[:, 0] = 1.0
    return joints, weights


def asset_part(name: str, material: str, positions: np.ndarray, faces: np.ndarray, uvs: np.ndarray,
               joints: np.ndarray, weights: np.ndarray, num_morphs: int,
               normals: np.ndarray | None = None) -> MeshPart:
    """A skinned mesh part for an asset: smooth normals unless given, and no morph motion.

    positions (V, 3) metres; faces (F, 3) counter-clockwise from outside; uvs (V, 2) top-left
    origin (asset UVs may run past 1: fabric textures tile).
    """
    positions = np.asarray(positions, dtype=np.float32)
    faces = np.asarray(faces, dtype=np.int64)
    if normals is None:
        normals = vertex_normals(positions.astype(np.float64), faces)
    # a read-only zero view: assets take no part in the facial morphs and cost no memory for them
    morphs = np.broadcast_to(np.zeros((1, 1, 3), np.float32), (num_morphs, positions.shape[0], 3))
    return MeshPart(name=name, material=material, positions=positions, normals=np.asarray(normals, np.float32),
                    uvs=np.asarray(uvs, np.float32), faces=faces, joints=np.asarray(joints, np.int64),
                    weights=np.asarray(weights, np.float32), morph_deltas=morphs)


def tube(path: np.ndarray, radius: np.ndarray | float, sides: int = 8, closed: bool = False,
         up: np.ndarray | None = None, caps: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tube swept along a polyline (rims, straps, chains, temples), faces counter-clockwise
    seen from outside.

    Args:
        path: (N, 3) centre line, metres.
        radius: scalar or (N,) radius, metres; (N, 2) for an elliptical section (across, up),
            or (2,) for one elliptical section along the whole path.
        closed: the path is a loop (the last point joins the first).
        up: (3,) reference direction for the section's second axis (default: +Z or +Y).
        caps: close both ends of an open tube with a fan (a temple's tip is not a hole).

    Returns positions (N*sides [+2], 3), faces (M, 3), uvs (u around, v along in metres).
    """
    path = np.asarray(path, dtype=np.float64)
    n = len(path)
    if np.shape(radius) == (2,):
        radius = np.tile(radius, (n, 1))
    tangent = np.gradient(path, axis=0) if not closed else np.roll(path, -1, 0) - np.roll(path, 1, 0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)
    ref = np.asarray(up if up is not None else (0.0, 0.0, 1.0), dtype=np.float64)
    if up is None and np.abs(tangent @ ref).max() > 0.95:
        ref = np.array([0.0, 1.0, 0.0])
    side = np.cross(tangent, ref)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    upv = np.cross(side, tangent)
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64).reshape(n, -1) if np.ndim(radius) else np.full((n, 1), radius), (n, 2))
    a = 2 * np.pi * np.arange(sides) / sides
    ring = (np.cos(a)[None, :, None] * r[:, None, :1] * side[:, None, :]
            + np.sin(a)[None, :, None] * r[:, None, 1:] * upv[:, None, :])
    positions = (path[:, None, :] + ring).reshape(-1, 3)
    rows = n if closed else n - 1
    i = np.arange(rows)[:, None]
    s = np.arange(sides)[None, :]
    a0 = i * sides + s
    a1 = i * sides + (s + 1) % sides
    b0 = ((i + 1) % n) * sides + s
    b1 = ((i + 1) % n) * sides + (s + 1) % sides
    # the ring runs clockwise seen along the path, so (a0, b1, a1) faces outwards
    faces = np.concatenate([np.stack([a0, b1, a1], -1).reshape(-1, 3), np.stack([a0, b0, b1], -1).reshape(-1, 3)])
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    uvs = np.stack([np.tile(np.arange(sides) / sides, n), np.repeat(along, sides)], 1)
    if caps and not closed:
        ring_i = np.arange(sides)
        first = np.stack([np.full(sides, n * sides), ring_i, (ring_i + 1) % sides], 1)
        last = np.stack([np.full(sides, n * sides + 1), (n - 1) * sides + (ring_i + 1) % sides,
                         (n - 1) * sides + ring_i], 1)
        positions = np.concatenate([positions, path[[0, -1]]])
        faces = np.concatenate([faces, first, last])
        uvs = np.concatenate([uvs, [[0.0, 0.0], [0.0, along[-1]]]])
    return positions, faces.astype(np.int64), uvs


def merge_meshes(meshes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate (positions, faces, uvs) triples into one mesh."""
    offsets = np.cumsum([0] + [len(m[0]) for m in meshes])
    return (np.concatenate([m[0] for m in meshes]),
            np.concatenate([m[1] + o for m, o in zip(meshes, offsets[:-1])]),
            np.concatenate([m[2] for m in meshes]))
