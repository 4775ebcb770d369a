"""Teeth/gum atlas and tongue albedo: the mouth's painted textures."""

from __future__ import annotations

import cv2
import numpy as np

from machcreator.body.mouth import ATLAS_V_RANGE
from machcreator.core.color import lab_to_linear_rgb, srgb_encode
from machcreator.core.rng import seeded_rng
from machcreator.skin.noise import blur_noise, spots, upsample


def teeth_texture(size: int = 512, seed: int = 0) -> np.ndarray:
    """The teeth/gum atlas matching :func:`build_teeth`'s UVs.

    Left half: enamel, ivory at the neck (v small) to white, greyish-translucent at the tips
    (v large). Right half: gums, light pink at the gum line (v small) to deeper red.

    Returns:
        (size, size, 3) uint8 sRGB; deterministic in ``seed``.
    """
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    rng = np.random.default_rng(seed)
    v = (np.arange(size) + 0.5) / size
    t = np.clip((v - ATLAS_V_RANGE[0]) / (ATLAS_V_RANGE[1] - ATLAS_V_RANGE[0]), 0, 1)[:, None, None]
    neck, body_c, tip = (np.array(c, np.float32) for c in ((206, 192, 160), (224, 216, 198), (196, 199, 200)))
    enamel = np.where(t < 0.6, neck + (body_c - neck) * np.clip(t / 0.6, 0, 1),
                      body_c + (tip - body_c) * np.clip((t - 0.6) / 0.4, 0, 1) ** 1.5)
    gum_line, gum_deep = np.array((214, 128, 132), np.float32), np.array((172, 72, 84), np.float32)
    gums = gum_line + (gum_deep - gum_line) * np.sqrt(t)
    img = np.empty((size, size, 3), np.float32)
    half = size // 2
    img[:, :half] = enamel
    img[:, half:] = gums
    # soft blotches (enamel mottling, gum vascular tone) and fine stipple
    blotch = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), size / 64)
    blotch /= blotch.std() + 1e-6
    stipple = rng.normal(0, 1, (size, size)).astype(np.float32)
    img[:, :half] += (3.0 * blotch + 1.2 * stipple)[:, :half, None]
    img[:, half:] += (6.0 * blotch + 3.0 * stipple)[:, half:, None] * np.array([1.0, 0.6, 0.6])
    return np.clip(img, 0, 255).astype(np.uint8)


def tongue_texture(size: int, seed: int) -> np.ndarray:
    """A pinkish-red tongue albedo (size, size, 3) uint8 sRGB with papillae.

    Fungiform papillae are sparse, redder dots; filiform papillae a dense, paler speckle.
    """
    rng = lambda layer: seeded_rng(seed, f"tongue/{layer}")  # noqa: E731
    base = np.float32([54.0, 30.0, 13.0])
    broad = upsample(blur_noise((size // 8, size // 8), 2.0, rng("broad")), size)
    lab = base + broad[..., None] * np.float32([-2.0, 2.0, 0.5])
    lin = lab_to_linear_rgb(lab)
    filiform = np.clip(blur_noise((size, size), 0.8 * size / 512, rng("filiform")), 0, 2.5)
    lin *= (1.0 + 0.09 * filiform)[..., None] * np.float32([1.0, 1.05, 1.06])
    dots = spots((size, size), np.ones((8, 8)), size * 2, 1.1 * size / 512, rng("fungiform"))
    red = lab_to_linear_rgb(np.float32([46.0, 42.0, 16.0])) / lab_to_linear_rgb(base)
    lin *= 1.0 + dots[..., None] * (red - 1.0)
    return srgb_encode(lin)
