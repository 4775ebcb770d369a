"""Shading frames of triangle meshes: smooth vertex normals and glTF vertex tangents."""

from __future__ import annotations

import numpy as np


def unit_rows(v: np.ndarray, fallback: tuple[float, float, float]) -> np.ndarray:
    """(N, 3) -> (N, 3) float64 unit rows; zero rows become ``fallback`` (the validator rejects
    non-unit normals)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(n > 1e-12, v / np.maximum(n, 1e-300), np.asarray(fallback, dtype=np.float64))


def vertex_normals(p: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted smooth unit normals of a welded triangle mesh."""
    fn = np.cross(p[faces[:, 1]] - p[faces[:, 0]], p[faces[:, 2]] - p[faces[:, 0]])
    n = np.zeros_like(p, dtype=np.float64)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)


def vertex_tangents(positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray,
                    faces: np.ndarray) -> np.ndarray:
    """Per-vertex glTF tangents (V, 4) float32: unit xyz along +U, w = ±1 handedness.

    positions, normals: (V, 3) in the output axes; uvs: (V, 2) with top-left origin; faces: (F, 3).
    glTF's bitangent is ``cross(normal, tangent.xyz) * w`` and points to +V of a bottom-left UV
    origin (up in the image), matching OpenGL-convention (+Y up) normal maps.
    """
    p = np.asarray(positions, dtype=np.float64)
    uv = np.asarray(uvs, dtype=np.float64) * np.array([1.0, -1.0])  # bottom-left origin
    f = np.asarray(faces, dtype=np.int64)
    e1, e2 = p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]
    d1, d2 = uv[f[:, 1]] - uv[f[:, 0]], uv[f[:, 2]] - uv[f[:, 0]]
    r = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    s = np.sign(r)[:, None]  # tangent * |r|: weights faces by UV area, skips degenerate ones
    t_face = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * s
    b_face = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * s
    t = np.zeros_like(p)
    b = np.zeros_like(p)
    for c in range(3):
        np.add.at(t, f[:, c], t_face)
        np.add.at(b, f[:, c], b_face)
    n = unit_rows(normals, (0.0, 1.0, 0.0))
    t -= n * (n * t).sum(axis=1, keepdims=True)
    # where UVs give no direction, any vector perpendicular to the normal will do
    helper = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    perp = np.cross(n, helper)
    weak = np.linalg.norm(t, axis=1) < 1e-12
    t[weak] = perp[weak]
    t = unit_rows(t, (1.0, 0.0, 0.0))
    w = np.where((np.cross(n, t) * b).sum(axis=1) < 0, -1.0, 1.0)
    return np.concatenate([t, w[:, None]], axis=1).astype(np.float32)
