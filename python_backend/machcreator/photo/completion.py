"""Complete the photo's texture with the procedural skin (Mach §2.4's completion step).

The photo covers the face only, and badly where the fit is least sure: eyes and mouth (they
blink and open), nostrils (in shadow). Those regions are cut out (dilated), the procedural skin is
matched to the photo's skin tone (mean and spread per channel in CIELAB over the texels both
share), and the photo's trusted texels are Poisson-blended into it (OpenCV ``seamlessClone``), so
ears, neck, the back of the head and the cut-out regions come from the procedural skin without a
visible seam.

Textures are (S, S, 3) float32 sRGB in [0, 1] with UV rows top to bottom; masks (S, S) bool.
"""

from __future__ import annotations

import cv2
import numpy as np



def region_mask(polygons_uv: list[np.ndarray], size: int, dilate_px: int = 0) -> np.ndarray:
    """(size, size) bool: the union of UV polygons (each (K, 2), origin top-left, in [0, 1]),
    grown by ``dilate_px`` texels (the error-prone regions: eyes, mouth, nostrils)."""
    mask = np.zeros((size, size), np.uint8)
    for poly in polygons_uv:
        cv2.fillPoly(mask, [np.round(np.asarray(poly) * size).astype(np.int32)], 1)
    if dilate_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate_px + 1, 2 * dilate_px + 1))
        mask = cv2.dilate(mask, kernel)
    return mask.astype(bool)


def match_tone(procedural: np.ndarray, photo: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """The procedural texture with each CIELAB channel's mean and spread over ``shared`` texels
    moved to the photo's there (its pores and blotches kept, its tone the photo's)."""
    if shared.sum() < 16:
        raise ValueError("the photo and the procedural skin share too few texels to match their tones")
    lab_p = cv2.cvtColor(procedural.astype(np.float32), cv2.COLOR_RGB2LAB)
    lab_f = cv2.cvtColor(photo.astype(np.float32), cv2.COLOR_RGB2LAB)
    src, dst = lab_p[shared], lab_f[shared]
    scale = dst.std(0) / np.maximum(src.std(0), 1e-3)
    scale[0] = np.clip(scale[0], 0.5, 2.0)
    lab = (lab_p - src.mean(0)) * np.clip(scale, 0.25, 4.0) + dst.mean(0)
    return np.clip(cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB), 0.0, 1.0)


def complete_texture(photo: np.ndarray, visibility: np.ndarray, procedural: np.ndarray, exclude: np.ndarray,
                     min_visibility: float = 0.3, erode_px: int = 2) -> np.ndarray:
    """The full texture: the procedural skin, tone-matched, with the photo's trusted texels
    (seen squarely enough and outside ``exclude``) Poisson-blended in.

    Args:
        photo: the texture extracted from the photo; visibility: (S, S) its per-texel facing
            (see :func:`machcreator.photo.texture_fit.fit_texture`); procedural: the embedded
            skin texture; exclude: the error-prone regions (:func:`region_mask`).
    """
    trusted = (visibility >= min_visibility).astype(np.uint8)
    # pinholes (texels no pixel's test caught) are closed first, so the blend sees whole regions
    trusted = cv2.morphologyEx(trusted, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    trusted = trusted.astype(bool) & ~exclude
    if erode_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1, 2 * erode_px + 1))
        trusted = cv2.erode(trusted.astype(np.uint8), kernel).astype(bool)
    base = match_tone(procedural, photo, trusted)
    if not trusted.any():
        return base
    # seamlessClone places the source's mask bounding box centred at ``centre``: keep it in place
    ys, xs = np.nonzero(trusted)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    centre = (int((x0 + x1 + 1) // 2), int((y0 + y1 + 1) // 2))
    src = np.round(photo * 255).astype(np.uint8)
    dst = np.round(base * 255).astype(np.uint8)
    mask = (trusted * 255).astype(np.uint8)
    if x0 == 0 or y0 == 0 or x1 == trusted.shape[1] - 1 or y1 == trusted.shape[0] - 1:
        mask[[0, -1], :] = 0  # seamlessClone needs a border of destination around the mask
        mask[:, [0, -1]] = 0
        ys, xs = np.nonzero(mask)
        centre = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    out = cv2.seamlessClone(src, dst, mask, centre, cv2.NORMAL_CLONE)
    return out.astype(np.float32) / 255.0
