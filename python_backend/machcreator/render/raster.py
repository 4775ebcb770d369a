"""A small vectorised triangle rasteriser on the CPU (numpy), kornia-style pure functions.

Used for the preview renderer (screen space) and for baking in UV space (texture remapping,
region masks). Pixel convention: x to the right, y down, pixel (i, j) covers
``[j, j+1) x [i, i+1)`` and is sampled at its centre ``(j + 0.5, i + 0.5)``.
Barycentrics are screen-space (affine); that is exact for UV-space baking and for orthographic
views, and close enough for a narrow-FOV preview.
"""

from __future__ import annotations

import numpy as np

_MAX_CANDIDATES = 4_000_000  # pixel/triangle pairs per chunk, bounds peak memory (~200 MB)


def rasterize(
    xy: np.ndarray,
    depth: np.ndarray,
    faces: np.ndarray,
    height: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterise triangles with a z-buffer (smaller depth wins).

    Args:
        xy: (V, 2) vertex positions in pixels.
        depth: (V,) vertex depth; smaller is nearer.
        faces: (F, 3) vertex indices.
        height, width: image size in pixels.

    Returns:
        face_id: (H, W) int64, index of the visible face, -1 where empty.
        bary: (H, W, 3) float32 barycentric weights of that face's vertices (0 where empty).
        zbuf: (H, W) float32 depth, +inf where empty.
    """
    xy = np.asarray(xy, np.float64)
    depth = np.asarray(depth, np.float64)
    faces = np.asarray(faces, np.int64)
    if xy.ndim != 2 or xy.shape[1] != 2 or depth.shape != (xy.shape[0],):
        raise ValueError(f"xy must be (V, 2) and depth (V,), got {xy.shape} and {depth.shape}")
    n_pix = height * width
    best_z = np.full(n_pix, np.inf)
    best_f = np.full(n_pix, -1, np.int64)
    best_b = np.zeros((n_pix, 3))

    tri = xy[faces]  # (F, 3, 2)
    x0 = np.clip(np.ceil(tri[..., 0].min(1) - 0.5), 0, width).astype(np.int64)
    x1 = np.clip(np.floor(tri[..., 0].max(1) - 0.5), -1, width - 1).astype(np.int64)
    y0 = np.clip(np.ceil(tri[..., 1].min(1) - 0.5), 0, height).astype(np.int64)
    y1 = np.clip(np.floor(tri[..., 1].max(1) - 0.5), -1, height - 1).astype(np.int64)
    bw = np.maximum(x1 - x0 + 1, 0)
    counts = bw * np.maximum(y1 - y0 + 1, 0)
    live = np.nonzero(counts)[0]
    # chunk the triangle list so that candidate pixels per chunk stay bounded
    cum = np.cumsum(counts[live])
    bounds = np.searchsorted(cum, np.arange(_MAX_CANDIDATES, cum[-1] + _MAX_CANDIDATES, _MAX_CANDIDATES)) if len(live) else []
    start = 0
    for stop in list(bounds) + [len(live)]:
        stop = max(int(stop), start + 1)
        idx = live[start:stop]
        start = stop
        if len(idx) == 0:
            continue
        f = np.repeat(idx, counts[idx])
        first = np.cumsum(counts[idx]) - counts[idx]
        local = np.arange(len(f)) - np.repeat(first, counts[idx])
        px = x0[f] + local % bw[f]
        py = y0[f] + local // bw[f]
        cx, cy = px + 0.5, py + 0.5
        a, b, c = tri[f, 0], tri[f, 1], tri[f, 2]
        area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        ok = np.abs(area) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, area, 1.0), 0.0)
        w0 = ((b[:, 0] - cx) * (c[:, 1] - cy) - (b[:, 1] - cy) * (c[:, 0] - cx)) * inv
        w1 = ((c[:, 0] - cx) * (a[:, 1] - cy) - (c[:, 1] - cy) * (a[:, 0] - cx)) * inv
        w2 = 1.0 - w0 - w1
        eps = -1e-7
        inside = ok & (w0 >= eps) & (w1 >= eps) & (w2 >= eps)
        if not inside.any():
            continue
        f, px, py = f[inside], px[inside], py[inside]
        bary = np.stack([w0[inside], w1[inside], w2[inside]], 1)
        z = (bary * depth[faces[f]]).sum(1)
        pix = py * width + px
        # nearest candidate per pixel within the chunk, then merge with the buffer
        order = np.lexsort((z, pix))
        pix, z, f, bary = pix[order], z[order], f[order], bary[order]
        head = np.ones(len(pix), bool)
        head[1:] = pix[1:] != pix[:-1]
        pix, z, f, bary = pix[head], z[head], f[head], bary[head]
        win = z < best_z[pix]
        pix = pix[win]
        best_z[pix], best_f[pix], best_b[pix] = z[win], f[win], bary[win]
    return (
        best_f.reshape(height, width),
        best_b.reshape(height, width, 3).astype(np.float32),
        best_z.reshape(height, width).astype(np.float32),
    )


def interpolate(attr: np.ndarray, faces: np.ndarray, face_id: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """Interpolate per-vertex attributes over a rasterised image.

    Args:
        attr: (V, C) per-vertex values.
        faces: (F, 3) the faces given to :func:`rasterize`.
        face_id: (H, W) from :func:`rasterize`.
        bary: (H, W, 3) from :func:`rasterize`.

    Returns:
        (H, W, C) float32, zero where ``face_id`` is -1.
    """
    attr = np.asarray(attr, np.float32)
    out = np.zeros(face_id.shape + (attr.shape[1],), np.float32)
    m = face_id >= 0
    corners = attr[np.asarray(faces)[face_id[m]]]  # (N, 3, C)
    out[m] = np.einsum("nk,nkc->nc", bary[m], corners)
    return out


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Sample an image at UV coordinates with bilinear filtering, repeating past the edges
    (glTF's default sampler wrap: garment textures tile).

    Args:
        image: (H, W, C) any numeric dtype.
        uv: (..., 2) UV coordinates, origin top-left, (0, 0)..(1, 1) spans the image once.

    Returns:
        (..., C) float32.
    """
    h, w = image.shape[:2]
    img = np.asarray(image, np.float32).reshape(h, w, -1)
    x = np.mod(uv[..., 0] * w - 0.5, w)
    y = np.mod(uv[..., 1] * h - 0.5, h)
    x0 = np.floor(x).astype(np.int64) % w
    y0 = np.floor(y).astype(np.int64) % h
    x1 = (x0 + 1) % w
    y1 = (y0 + 1) % h
    fx = (x - np.floor(x))[..., None]
    fy = (y - np.floor(y))[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return (top * (1 - fy) + bot * fy).astype(np.float32)
