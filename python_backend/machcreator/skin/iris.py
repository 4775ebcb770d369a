"""Procedural iris and sclera texture, painted in the eyes' polar UV layout (see body/eyes.py)."""

from __future__ import annotations

import cv2
import numpy as np

from machcreator.body.eyes import IRIS_UV_RADIUS
from machcreator.core.ramps import smoothstep


def iris_texture(iris_rgb: tuple[int, int, int], size: int = 1024, seed: int = 0,
                 pupil_ratio: float = 0.32) -> np.ndarray:
    """Eyeball albedo in the polar layout of :func:`eye_uvs`.

    Sclera (white, slightly pink towards the rim, faint veins from the rim inwards), iris disc of
    UV radius ``IRIS_UV_RADIUS`` with radial fibres, crypts, a collarette and a dark limbal
    ring, and a black pupil of radius ``pupil_ratio`` × iris radius.

    Args:
        iris_rgb: sRGB iris base colour, 0..255.
        size: output side in pixels.
        seed: the same seed gives the same pixels.
        pupil_ratio: pupil / iris radius, in (0.1, 0.8).

    Returns:
        (size, size, 3) uint8 sRGB.
    """
    if size < 32:
        raise ValueError(f"size must be >= 32, got {size}")
    if not 0.1 <= pupil_ratio <= 0.8:
        raise ValueError(f"pupil_ratio must be in [0.1, 0.8], got {pupil_ratio}")
    rng = np.random.default_rng(seed)
    c = (np.arange(size) + 0.5) / size - 0.5
    vv, uu = np.meshgrid(c, c, indexing="ij")
    r = np.hypot(uu, vv)
    ang = np.arctan2(vv, uu)
    ri = IRIS_UV_RADIUS
    rp = pupil_ratio * ri

    # sclera: warm white, pinker towards the rim (the part hidden in the socket)
    img = np.empty((size, size, 3), np.float32)
    rim = np.clip((r - 0.32) / 0.18, 0, 1)[..., None] ** 1.5
    img[:] = np.array([244, 239, 234], np.float32) * (1 - rim) + np.array([238, 212, 206], np.float32) * rim
    img = _paint_veins(img, rng, size, ri)

    # iris: polar noise fields sampled at (angle, normalised radius)
    t = np.clip((r - rp) / (ri - rp), 0, 1)  # 0 at the pupil edge, 1 at the limbus
    fibres = _polar_noise(rng, ang, t, n_ang=720, sigma_ang=0.8, sigma_rad=10)
    blotch = _polar_noise(rng, ang, t, n_ang=180, sigma_ang=3, sigma_rad=6)
    crypts = _polar_noise(rng, ang, t, n_ang=240, sigma_ang=2, sigma_rad=3)
    base = np.asarray(iris_rgb, np.float32)
    collarette_r = 0.35 + 0.04 * np.sin(7 * ang + rng.uniform(0, 2 * np.pi))
    shade = (1.0 + 0.28 * fibres + 0.1 * blotch
             - 0.35 * np.clip(crypts - 1.0, 0, None) * (t > collarette_r)  # crypts outside the collarette
             + 0.18 * np.exp(-(((t - collarette_r) / 0.05) ** 2))  # collarette ridge, lighter
             - 0.25 * np.clip((t - 0.82) / 0.18, 0, 1) ** 1.5)  # darkening towards the limbus
    inner = np.clip(1 - t / 0.3, 0, 1)[..., None]  # warmer, darker ring around the pupil
    iris = base * shade[..., None] * (1 - 0.25 * inner) + np.array([60, 40, 20], np.float32) * 0.25 * inner
    iris_a = smoothstep(ri + 0.004, ri - 0.004, r)[..., None]
    img = img * (1 - iris_a) + iris * iris_a
    # limbal ring: dark band straddling the iris edge, fading into the sclera
    limbal = np.exp(-(((r - ri) / (0.09 * ri)) ** 2))[..., None]
    img = img * (1 - 0.6 * limbal) + base * 0.25 * 0.6 * limbal
    # pupil
    pupil_a = smoothstep(rp + 0.003, rp - 0.003, r)[..., None]
    img = img * (1 - pupil_a) + np.array([6, 5, 5], np.float32) * pupil_a
    return np.clip(img, 0, 255).astype(np.uint8)


def _polar_noise(rng: np.random.Generator, ang: np.ndarray, t: np.ndarray, *, n_ang: int,
                 sigma_ang: float, sigma_rad: float, n_rad: int = 128) -> np.ndarray:
    """Unit-variance noise that is smooth along the radius and fine across angles, sampled at
    (angle (H, W) radians, normalised radius t (H, W) in [0, 1]). Wraps around in angle."""
    field = rng.normal(0, 1, (n_rad, n_ang)).astype(np.float32)
    pad = int(4 * sigma_ang) + 1
    wrapped = np.concatenate([field[:, -pad:], field, field[:, :pad]], 1)
    blurred = cv2.GaussianBlur(wrapped, (0, 0), sigmaX=sigma_ang, sigmaY=sigma_rad,
                               borderType=cv2.BORDER_REFLECT)[:, pad:-pad]
    blurred /= blurred.std() + 1e-6
    map_x = ((ang + np.pi) / (2 * np.pi) * n_ang - 0.5).astype(np.float32)
    map_y = (t * (n_rad - 1)).astype(np.float32)
    return cv2.remap(blurred, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def _paint_veins(img: np.ndarray, rng: np.random.Generator, size: int, iris_r: float) -> np.ndarray:
    """Faint red random-walk veins from the rim towards (but not onto) the iris."""
    layer = np.zeros(img.shape[:2], np.float32)
    for _ in range(22):
        a = rng.uniform(0, 2 * np.pi)
        rad, turn = 0.5, 0.0
        pts = []
        stop = iris_r + 0.08 + rng.uniform(0, 0.12)
        while rad > stop:
            pts.append((0.5 + rad * np.cos(a), 0.5 + rad * np.sin(a)))
            turn = 0.8 * turn + rng.normal(0, 0.02)  # smooth meander, not a zig-zag
            a += turn
            rad -= 0.006
        if len(pts) > 1:
            poly = (np.array(pts) * size * 16).astype(np.int32)  # 4 fractional bits
            cv2.polylines(layer, [poly], False, float(rng.uniform(0.4, 1.0)),
                          max(1, size // 512), cv2.LINE_AA, shift=4)
    layer = cv2.GaussianBlur(layer, (0, 0), max(size / 1024, 0.5))
    vein = np.array([176, 52, 52], np.float32)
    alpha = (0.3 * np.clip(layer, 0, 1))[..., None]
    return img * (1 - alpha) + vein * alpha
