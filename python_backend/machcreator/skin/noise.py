"""Procedural fields for painted textures: seeded noise, spots, resampling.

Small pure functions on numpy arrays; every random layer takes its own generator from
:func:`machcreator.core.rng.seeded_rng` (seed + a salt naming the layer), so equal inputs give
equal pixels.
"""

from __future__ import annotations

import cv2
import numpy as np


def fourier_noise(p: np.ndarray, rng: np.random.Generator, wavelengths_m: tuple[float, float], count: int = 12) -> np.ndarray:
    """Smooth 3D noise (...) ~ N(0, 1) of positions (..., 3): random plane waves (seamless in UV)."""
    dirs = rng.normal(size=(count, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    freq = 2 * np.pi / rng.uniform(*wavelengths_m, size=(count, 1))
    phase = rng.uniform(0, 2 * np.pi, count).astype(np.float32)
    waves = (p @ (dirs * freq).T.astype(np.float32)) + phase
    return np.cos(waves).sum(-1) * np.float32(np.sqrt(2.0 / count))


def spots(shape: tuple[int, int], density: np.ndarray, count: int, sigma_px: np.ndarray | float,
           rng: np.random.Generator) -> np.ndarray:
    """Round soft spots (H, W) in 0..1, ``count`` of them placed with probability ∝ ``density``.

    ``density`` may be coarser than ``shape``; spots land uniformly inside the chosen cell.
    """
    if count <= 0 or density.sum() <= 0:
        return np.zeros(shape, np.float32)
    h, w = shape
    dh, dw = density.shape
    cell = rng.choice(dh * dw, size=count, p=(density / density.sum()).ravel())
    rows = ((cell // dw + rng.random(count)) * h / dh).astype(np.int64).clip(0, h - 1)
    cols = ((cell % dw + rng.random(count)) * w / dw).astype(np.int64).clip(0, w - 1)
    amp = rng.uniform(0.35, 1.0, count)
    out = np.zeros(shape, np.float32)
    sizes = rng.uniform(0.6, 1.6, count) * np.broadcast_to(np.asarray(sigma_px, np.float32), shape)[rows, cols]
    # two size classes, blurred separately: blurring keeps this O(pixels) whatever the count
    for lo, hi in ((0.0, 1.1 * np.median(sizes)), (1.1 * np.median(sizes), np.inf)):
        pick = (sizes >= lo) & (sizes < hi)
        if not pick.any():
            continue
        s = float(np.mean(sizes[pick]))
        impulses = np.bincount(rows[pick] * w + cols[pick], weights=amp[pick], minlength=h * w)
        out += cv2.GaussianBlur(impulses.reshape(h, w).astype(np.float32), (0, 0), s) * np.float32(2 * np.pi * s * s)
    return np.clip(out, 0.0, 1.0)


def downsample(img: np.ndarray, factor: int = 4) -> np.ndarray:
    """Area-average a map (H, W, ...) by ``factor``, for layers smooth enough to build coarsely."""
    h, w = img.shape[:2]
    return cv2.resize(img, (max(w // factor, 1), max(h // factor, 1)), interpolation=cv2.INTER_AREA)


def upsample(img: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a float map to (size, size, ...)."""
    if img.shape[0] == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)


def blur_noise(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator) -> np.ndarray:
    """Blurred white noise (H, W) renormalised to unit standard deviation."""
    n = cv2.GaussianBlur(rng.standard_normal(shape, dtype=np.float32), (0, 0), sigma_px)
    return n / np.float32(max(float(n.std()), 1e-6))
