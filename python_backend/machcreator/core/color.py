"""Skin colour maths for the procedural textures (Mach §2.4, embedded default).

Skin tone is given as the Individual Typology Angle (Chardon, Cretois & Hourseau 1991,
"Skin colour typology and suntanning pathways", Int. J. Cosmet. Sci. 13:191-208):

    ITA = atan((L* - 50) / b*) · 180 / π        (degrees; high = light skin)

ITA fixes only the direction of a skin colour in the (b*, L*) plane around (b* = 0, L* = 50);
:func:`ita_to_lab` picks the point along that direction from a skin-colour locus fitted by eye to
published colorimetry of facial skin (Chardon 1991; Del Bino & Bernerd 2013, Br. J. Dermatol.
169 s3): chroma radius ≈ 20 for intermediate to dark skin, ≈ 23 for very light skin, so that
ITA 60° gives L* ≈ 70, b* ≈ 11.5, ITA 19° gives L* ≈ 56.5, b* ≈ 19 and ITA -45° gives L* ≈ 36,
b* ≈ 14. Redness a* follows b* (a* ≈ 0.55 b* + 3), as facial skin does.

Colour spaces: CIELAB with the D65 white; sRGB (IEC 61966-2-1) with its piecewise transfer.
Linear RGB arrays are float32 in [0, 1]; encoded sRGB images are uint8 (H, W, 3).
"""

from __future__ import annotations

import numpy as np

#: D65 reference white (CIE 1931 2°), XYZ with Y = 1.
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
#: linear sRGB -> XYZ (IEC 61966-2-1).
_RGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0


def ita_to_lab(ita_deg: float) -> np.ndarray:
    """The facial skin colour of a given ITA along the skin locus (see module docstring).

    Args:
        ita_deg: Individual Typology Angle in degrees, about -70 (very dark) .. 75 (very light).

    Returns:
        (3,) float64 CIELAB (L*, a*, b*) whose ITA equals ``ita_deg``.
    """
    theta = np.deg2rad(float(np.clip(ita_deg, -80.0, 80.0)))
    radius = 20.0 + 3.0 * np.clip((ita_deg - 20.0) / 40.0, 0.0, 1.0)
    lum = 50.0 + radius * np.sin(theta)
    yellow = radius * np.cos(theta)
    return np.array([lum, 0.55 * yellow + 3.0, yellow])


def ita_of_lab(lab: np.ndarray) -> np.ndarray:
    """ITA in degrees of CIELAB colours (..., 3) -> (...)."""
    lab = np.asarray(lab, np.float64)
    return np.degrees(np.arctan2(lab[..., 0] - 50.0, lab[..., 2]))


def lab_to_linear_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) -> linear sRGB.

    Args:
        lab: (..., 3) L* in 0..100, a*, b*.

    Returns:
        (..., 3) float32 linear RGB clipped to [0, 1].
    """
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    f = np.stack([fx, fy, fz], -1)
    xyz = np.where(f**3 > _EPS, f**3, (116.0 * f - 16.0) / _KAPPA) * _WHITE_D65.astype(np.float32)
    return np.clip(xyz @ _XYZ_TO_RGB.T.astype(np.float32), 0.0, 1.0)


def linear_rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (..., 3) in [0, 1] -> CIELAB (D65) (..., 3) float64."""
    xyz = np.asarray(rgb, np.float64) @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def srgb_decode(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values (uint8 0..255, or float 0..1) -> linear float32 in [0, 1]."""
    c = np.asarray(srgb, np.float32)
    if np.asarray(srgb).dtype == np.uint8:
        c = c / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_ENCODE_LEVELS = 4096
#: linear level -> sRGB uint8; 4096 levels keep the darkest step under one output code.
_ENCODE_LUT = np.round(
    255.0 * np.where(
        (x := np.linspace(0.0, 1.0, _ENCODE_LEVELS)) <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055
    )
).astype(np.uint8)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear RGB float (..., C) -> sRGB uint8 (..., C), via a lookup table (fast at 2048²)."""
    idx = np.clip(linear * (_ENCODE_LEVELS - 1) + 0.5, 0, _ENCODE_LEVELS - 1).astype(np.uint16)
    return _ENCODE_LUT[idx]


def srgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIELAB (..., 3) float64."""
    return linear_rgb_to_lab(srgb_decode(srgb))
