"""The body as a signed distance field, so strands stay outside the head, neck and shoulders.

Two regular grids of signed distances (fine around the head, coarse over the upper body) are
filled once per body from the skin mesh: the lowest distance of each grid point to the tangent
planes of its 4 nearest skin vertices (signed by the vertex normals: exact near a smooth surface,
and a point in a crease stays inside), or to the nearest vertex itself further out. Lookups are trilinear; strands are pushed out along the field's gradient to a
clearance (:func:`push_out`). Distances in metres, positive outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
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

    def index(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) continuous grid coordinates of points (N, 3) and whether each lies inside."""
        q = (p - self.origin) / self.cell
        inside = np.all((q >= 0.0) & (q <= np.array(self.values.shape) - 1.0), axis=1)
        return q, inside

    def sample(self, q: np.ndarray, gradient: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Trilinear value (N,) and (if asked) its gradient (N, 3) at grid coordinates (N, 3)."""
        shape = np.array(self.values.shape)
        i0 = np.clip(np.floor(q).astype(np.int64), 0, shape - 2)
        f = np.clip(q - i0, 0.0, 1.0).astype(np.float32)
        flat = self.values.ravel()
        sy, sz = shape[1] * shape[2], shape[2]
        base = i0[:, 0] * sy + i0[:, 1] * sz + i0[:, 2]
        c = [flat[base + dx * sy + dy * sz + dz] for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)]
        fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
        # corners c[dx*4 + dy*2 + dz]; interpolate along z, then y, then x
        z00, z01 = c[0] + (c[1] - c[0]) * fz, c[2] + (c[3] - c[2]) * fz
        z10, z11 = c[4] + (c[5] - c[4]) * fz, c[6] + (c[7] - c[6]) * fz
        y0, y1 = z00 + (z01 - z00) * fy, z10 + (z11 - z10) * fy
        value = y0 + (y1 - y0) * fx
        if not gradient:
            return value, None
        gx = y1 - y0
        gy = (z01 - z00) * (1 - fx) + (z11 - z10) * fx
        dz = [c[k + 1] - c[k] for k in (0, 2, 4, 6)]
        gz = (dz[0] * (1 - fy) + dz[1] * fy) * (1 - fx) + (dz[2] * (1 - fy) + dz[3] * fy) * fx
        return value, np.stack([gx, gy, gz], 1) / self.cell


@dataclass
class BodyField:
    """Signed distance to the skin (metres, + outside) around the head and upper body."""

    head: _Grid
    body: _Grid

    def sample(self, p: np.ndarray, gradient: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(N,) signed distance and (N, 3) unit outward gradient of points (N, 3); points outside
        both grids read +1 m with an upward gradient (``gradient=False`` skips it)."""
        p = np.asarray(p, np.float64)
        dist = np.ones(len(p), np.float32)
        grad = np.zeros((len(p), 3), np.float32)
        grad[:, 2] = 1.0
        qh, in_head = self.head.index(p)
        rest = ~in_head
        qb, in_body = self.body.index(p[rest])
        for grid, sel, q in ((self.head, np.nonzero(in_head)[0], qh[in_head]),
                             (self.body, np.nonzero(rest)[0][in_body], qb[in_body])):
            if len(sel):
                value, g = grid.sample(q, gradient)
                dist[sel] = value
                if gradient:
                    grad[sel] = g
        grad /= np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-9)
        return dist, grad

    def distance(self, p: np.ndarray) -> np.ndarray:
        """(N,) signed distance of points (N, 3)."""
        return self.sample(p, gradient=False)[0]

    def gradient(self, p: np.ndarray) -> np.ndarray:
        """(N, 3) unit gradient (the outward direction) at points (N, 3)."""
        return self.sample(p)[1]


def _signed_distance(points: np.ndarray, verts: np.ndarray, normals: np.ndarray, tree: cKDTree) -> np.ndarray:
    d, i = tree.query(points, k=4, workers=-1)
    planes = np.einsum("ikj,ikj->ik", points[:, None] - verts[i], normals[i])
    # near the skin the tangent planes are exact; the lowest of the 4 nearest keeps a point in a
    # crease (under the jaw, where the neck meets it) inside, at worst erring outwards at ridges
    plane = planes.min(1)
    return np.where(d[:, 0] < 0.02, plane, np.sign(plane) * d[:, 0]).astype(np.float32)


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
        p[bad] += field.gradient(p[bad]) * ((clear[bad] - d) * (1.0 + 0.5 * k))[:, None]
    return p
