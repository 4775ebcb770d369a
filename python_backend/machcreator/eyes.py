"""Eyeball frames, polar ("azimuthal-equidistant") eye UVs and a procedural iris/sclera texture.

anny's eyes are one low-poly sphere each (labels "eye_front.*" / "eye_back.*", radius ~16 mm),
with no separate cornea: the iris is painted on the sphere. The UV layout is polar around the
eye's forward axis: the front pole maps to (0.5, 0.5), the angle θ from the axis maps to the UV
radius r = 0.5·min(θ / 90°, 1) (so the whole back hemisphere sits on the rim), and the eye's up
direction (+Z) points to the top of the image. A human iris spans θ ≈ 29°, i.e. r ≈ 0.161.
"""

from __future__ import annotations

import cv2
import numpy as np

from machcreator.character import ShapedBody
from machcreator.textures import smoothstep

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


def _fit_sphere(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere through (N, 3) points: |p|² = 2 p·c + (r² - |c|²)."""
    a = np.concatenate([2 * pts, np.ones((len(pts), 1))], 1)
    sol, *_ = np.linalg.lstsq(a, (pts**2).sum(1), rcond=None)
    center = sol[:3]
    return center, float(np.sqrt(sol[3] + center @ center))


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
