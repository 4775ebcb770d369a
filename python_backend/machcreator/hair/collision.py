"""The body as a signed distance field, so strands stay outside the head, neck and shoulders.

Two regular grids of signed distances (fine around the head, coarse over the upper body) are
filled once per body from the skin mesh: the distance of each grid point to the plane of its
nearest skin vertex (signed by the vertex normal, exact near a smooth surface), or to the vertex
itself further out. Lookups are trilinear; strands are pushed out along the field's gradient to a
clearance (:func:`push_out`). Distances in metres, positive outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

#: grid spacing around the head and over the upper body, metres.
HEAD_CELL_M = 0.004
BODY_CELL_M = 0.015
#: margin of the head grid around the head's bounding box, metres.
_HEAD_MARGIN_M = 0.06


@dataclass
class _Grid:
    origin: np.ndarray  # (3,) metres
    cell: float
    values: np.ndarray  # (X, Y, Z) float32 signed distance

    def contains(self, p: np.ndarray) -> np.ndarray:
        hi = self.origin + self.cell * (np.array(self.values.shape) - 1)
        return np.all((p >= self.origin) & (p <= hi), axis=-1)

    def sample(self, p: np.ndarray) -> np.ndarray:
        idx = ((p - self.origin) / self.cell).T
        return map_coordinates(self.values, idx, order=1, mode="nearest").astype(np.float32)


@dataclass
class BodyField:
    """Signed distance to the skin (metres, + outside) around the head and upper body."""

    head: _Grid
    body: _Grid

    def distance(self, p: np.ndarray) -> np.ndarray:
        """(N,) signed distance of points (N, 3); points outside both grids read +1 m."""
        p = np.asarray(p, np.float64)
        out = np.ones(len(p), np.float32)
        in_head = self.head.contains(p)
        in_body = ~in_head & self.body.contains(p)
        if in_head.any():
            out[in_head] = self.head.sample(p[in_head])
        if in_body.any():
            out[in_body] = self.body.sample(p[in_body])
        return out

    def gradient(self, p: np.ndarray, h: float = 0.002) -> np.ndarray:
        """(N, 3) unit gradient (outward direction) by central differences of step ``h`` metres."""
        g = np.stack([self.distance(p + e) - self.distance(p - e) for e in np.eye(3) * h], -1)
        return g / np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-9)


def _signed_distance(points: np.ndarray, verts: np.ndarray, normals: np.ndarray, tree: cKDTree) -> np.ndarray:
    d, i = tree.query(points, k=1, workers=-1)
    plane = np.einsum("ij,ij->i", points - verts[i], normals[i])
    # near the skin the tangent plane is exact; further out the vertex distance is (keeps its sign)
    return np.where(d < 0.02, plane, np.sign(plane) * d).astype(np.float32)


def _grid(lo: np.ndarray, hi: np.ndarray, cell: float, verts, normals, tree) -> _Grid:
    shape = np.ceil((hi - lo) / cell).astype(int) + 1
    axes = [lo[k] + cell * np.arange(shape[k]) for k in range(3)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    return _Grid(lo, cell, _signed_distance(pts, verts, normals, tree).reshape(shape))


def body_field(positions: np.ndarray, normals: np.ndarray, head_positions: np.ndarray, *, reach_m: float = 1.0) -> BodyField:
    """The field of a skin mesh (V, 3) with unit vertex normals (V, 3), metres, Z-up.

    ``head_positions`` (H, 3) bound the fine grid; the coarse grid spans the body's width from
    the head top down ``reach_m`` (as far as the longest hair can fall).
    """
    verts = np.asarray(positions, np.float64)
    tree = cKDTree(verts)
    hlo, hhi = head_positions.min(0) - _HEAD_MARGIN_M, head_positions.max(0) + _HEAD_MARGIN_M
    top = float(hhi[2])
    sel = verts[:, 2] > top - reach_m - 0.05
    blo = np.array([verts[sel, 0].min() - 0.05, verts[sel, 1].min() - 0.1, top - reach_m - 0.05])
    bhi = np.array([verts[sel, 0].max() + 0.05, verts[sel, 1].max() + 0.1, top + 0.2])
    return BodyField(head=_grid(hlo, hhi, HEAD_CELL_M, verts, normals, tree),
                     body=_grid(blo, bhi, BODY_CELL_M, verts, normals, tree))


def push_out(points: np.ndarray, field: BodyField, clearance: np.ndarray | float, iterations: int = 2) -> np.ndarray:
    """Move points (N, 3) closer than ``clearance`` (metres, scalar or (N,)) out along the gradient.

    Each pass moves the offending points by their shortfall; where the field bends (under the
    chin, the neck-shoulder crease) a pass can fall short, so points are re-checked up to
    ``iterations`` times, the last passes overshooting a little.
    """
    p = np.asarray(points, np.float64).copy()
    clear = np.broadcast_to(np.asarray(clearance, np.float64), (len(p),))
    bad = np.arange(len(p))
    for k in range(iterations):
        d = field.distance(p[bad])
        short = d < clear[bad]
        bad, d = bad[short], d[short]
        if not len(bad):
            break
        g = field.gradient(p[bad])
        p[bad] += g * ((clear[bad] - d) * (1.0 + 0.5 * k))[:, None]
    return p
