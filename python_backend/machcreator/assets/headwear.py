"""Headwear fitted to a generated skull (caps, beanie, fedora, beret, headscarf, hood), and the
scalp hair pressed under it.

Axes and units as in :mod:`machcreator.character`: metres, Z-up, the character faces -Y, +X is
its left. Everything is built in spherical coordinates about the head's centre (between the
ears, at mid-cranium height): polar angle ``theta`` from straight up, azimuth ``phi`` about the
vertical axis, 0 ahead (-Y), +90° at the character's left. The skin's radius is sampled on a
(theta, phi) grid by bisecting the signed distance along rays (the cranium is star-shaped about
its centre).

A style's **rim line** is a height above each azimuth (just above the brows in front, above or
over the ears at the sides, lower at the back); the hat covers the cone from the centre through
it (:class:`HatCover`). Its fitted surface is the skin offset outward by the hair's thickness,
an ease and half the cloth, along the rays; styles then shape it (a cuff, a slouch, a crown and
brim, a beret's disc). Every shell is closed: an outer and an inner sheet joined by a rolled rim.

Order of use: :func:`hair_thickness` (of the scalp groom under the style's rim) ->
:func:`fit_headwear` (``hair_thickness_m``) -> :func:`headwear_cover` + :func:`fit_hair_under`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from machcreator.assets.fabrics import TILE_M, fabric_material
from machcreator.assets.fitting import (BodySurface, FittedAsset, asset_part, merge_meshes, rigid_weights,
                                        push_out, transfer_weights, tube)
from machcreator.character import Groom

Mesh = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions (V, 3), faces (F, 3), uvs (V, 2)

#: cloth thickness of the shells, metres (knit is thicker than felt or scarf cotton)
THICKNESS_M = {"wool_cap": 0.004, "beanie": 0.004, "baseball_cap": 0.002, "fedora": 0.003,
               "beret": 0.003, "headscarf": 0.0015, "hood": 0.002}
#: gap between the hair (or skin) and the inside of the cloth, metres
EASE_M = {"wool_cap": 0.002, "beanie": 0.003, "baseball_cap": 0.004, "fedora": 0.006,
          "beret": 0.003, "headscarf": 0.002, "hood": 0.025}
#: most hair thickness a hat is stretched for, metres (an afro under a beanie)
MAX_HAIR_THICKNESS_M = 0.05
#: hair points inside the hat keep at least this gap to its inner surface, metres
HAIR_CLEARANCE_M = 0.0015
#: below the rim, hair relaxes from pressed to its own shape over this drop, metres
RELAX_M = 0.04
#: default fabric pattern per style
PATTERN = {"wool_cap": "knit", "beanie": "knit", "baseball_cap": "solid", "fedora": "solid",
           "beret": "knit", "headscarf": "solid", "hood": "knit"}


def _rim_knots(style: str, lm: dict[str, np.ndarray], u: float) -> tuple[np.ndarray, np.ndarray]:
    """The rim line's heights (z, metres) at azimuths (degrees 0 ahead .. 180 behind)."""
    eye_z = 0.5 * (lm["eye_center_l"][2] + lm["eye_center_r"][2])
    ear_z = 0.5 * (lm["ear_l"][2] + lm["ear_r"][2])
    chin_z = lm["chin"][2]
    knots = {  # (azimuth, z): brows/temples in front, ears at the side, nape behind
        "wool_cap": [(0, eye_z + 0.55 * u), (60, eye_z + 0.55 * u), (90, ear_z + 0.55 * u), (180, ear_z - 0.05 * u)],
        "beanie": [(0, eye_z + 0.50 * u), (60, eye_z + 0.50 * u), (90, ear_z + 0.50 * u), (180, ear_z - 0.15 * u)],
        "baseball_cap": [(0, eye_z + 0.65 * u), (60, eye_z + 0.65 * u), (90, ear_z + 0.60 * u), (180, ear_z + 0.10 * u)],
        "fedora": [(0, eye_z + 0.70 * u), (60, eye_z + 0.70 * u), (90, ear_z + 0.70 * u), (180, ear_z + 0.30 * u)],
        "beret": [(0, eye_z + 0.75 * u), (60, eye_z + 0.75 * u), (90, ear_z + 0.80 * u), (180, ear_z + 0.35 * u)],
        "headscarf": [(0, eye_z + 0.80 * u), (38, eye_z + 0.75 * u), (62, chin_z + 0.2 * u), (90, chin_z - 0.1 * u),
                      (180, chin_z - 0.35 * u)],
        "hood": [(0, eye_z + 0.95 * u), (35, eye_z + 0.90 * u), (58, chin_z - 0.2 * u), (90, chin_z - 0.7 * u),
                 (180, chin_z - 1.0 * u)],
    }[style]
    a, z = np.array(knots, np.float64).T
    return a, z


@dataclass
class HatCover:
    """Where a hat covers the head, in spherical coordinates about ``centre``.

    centre: (3,) metres. theta: (T,) polar angles of the grid, radians (0 straight up);
    phi: (P,) azimuths, radians, 0 ahead (-Y), +pi/2 at the character's left (+X).
    skin: (T, P) the skin's radius along each ray, metres. theta_rim: (P,) polar angle of the rim
    line at each azimuth (covered: theta < theta_rim). inner, outer: (T, P) radii of the hat's
    inner and outer cloth surfaces (the fitted shell, before a style's crown or brim).
    """

    centre: np.ndarray
    theta: np.ndarray
    phi: np.ndarray
    skin: np.ndarray
    theta_rim: np.ndarray
    inner: np.ndarray
    outer: np.ndarray

    def spherical(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(N,) theta, phi (radians) and radius (metres) of points (N, 3)."""
        d = np.asarray(points, np.float64) - self.centre
        r = np.linalg.norm(d, axis=1)
        theta = np.arccos(np.clip(d[:, 2] / np.maximum(r, 1e-12), -1, 1))
        return theta, np.arctan2(d[:, 0], -d[:, 1]), r

    def _lookup(self, grid: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        # phi wraps: pad one column each side
        phis = np.concatenate([[self.phi[-1] - 2 * np.pi], self.phi, [self.phi[0] + 2 * np.pi]])
        g = np.concatenate([grid[:, -1:], grid, grid[:, :1]], 1)
        f = RegularGridInterpolator((self.theta, phis), g, bounds_error=False, fill_value=None)
        return f(np.stack([np.clip(theta, self.theta[0], self.theta[-1]), phi], 1))

    def rim_theta(self, phi: np.ndarray) -> np.ndarray:
        """(N,) the rim's polar angle at azimuths phi (N,)."""
        return np.interp(phi, self.phi, self.theta_rim, period=2 * np.pi)

    def covers(self, points: np.ndarray) -> np.ndarray:
        """(N,) bool: the point lies in the cone the hat covers (above the rim line)."""
        theta, phi, _ = self.spherical(points)
        return theta < self.rim_theta(phi)

    def radii(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(N,) the point's radius and the skin's, the hat's inner and outer radii on its ray."""
        theta, phi, r = self.spherical(points)
        return r, self._lookup(self.skin, theta, phi), self._lookup(self.inner, theta, phi), self._lookup(self.outer, theta, phi)


def head_centre(surface: BodySurface) -> np.ndarray:
    """(3,) a point inside the skull: between the ears, at mid-height of the cranium."""
    lm = surface.landmarks
    eye_z = 0.5 * (lm["eye_center_l"][2] + lm["eye_center_r"][2])
    return np.array([0.0, 0.5 * (lm["ear_l"][1] + lm["ear_r"][1]), 0.5 * (eye_z + lm["head_top"][2])], np.float64)


def skin_radius(surface: BodySurface, centre: np.ndarray, theta: np.ndarray, phi: np.ndarray,
                steps: int = 12) -> np.ndarray:
    """(T, P) radius of the skin along rays from ``centre`` at polar angles (T,) and azimuths (P,),
    metres: the first exit found marching out in 2 cm steps from 2 cm, then bisected (rays that
    leave the neck may enter the shoulders further out; the first exit is the one wanted)."""
    t, p = np.meshgrid(theta, phi, indexing="ij")
    d = np.stack([np.sin(t) * np.sin(p), -np.sin(t) * np.cos(p), np.cos(t)], -1).reshape(-1, 3)
    march = np.arange(0.02, 0.26, 0.02)
    outside = surface.cloud.signed_distance((centre + d[:, None] * march[None, :, None]).reshape(-1, 3)) > 0
    first = np.argmax(outside.reshape(len(d), -1), axis=1)  # 0 when never outside: falls to 2 cm
    hi = march[first]
    lo = np.maximum(hi - 0.02, 0.005)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        out = surface.cloud.signed_distance(centre + d * mid[:, None]) > 0
        hi, lo = np.where(out, mid, hi), np.where(out, lo, mid)
    return hi.reshape(t.shape)


def _direction(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(..., 3) unit ray directions."""
    return np.stack([np.sin(theta) * np.sin(phi), -np.sin(theta) * np.cos(phi), np.cos(theta)], -1)


def headwear_cover(style: str, surface: BodySurface, hair_thickness_m: float = 0.0) -> HatCover:
    """The cover of ``style`` on this head, over ``hair_thickness_m`` of hair (capped at
    :data:`MAX_HAIR_THICKNESS_M`): rim line, skin, and the fitted shell's inner/outer radii."""
    if style not in THICKNESS_M:
        raise ValueError(f"unknown headwear style {style!r}; choose one of {', '.join(THICKNESS_M)}")
    lm = {k: np.asarray(v, np.float64).reshape(-1) for k, v in surface.landmarks.items()}
    u = float(abs(lm["eye_center_l"][0] - lm["eye_center_r"][0]))
    centre = head_centre(surface)
    theta = np.radians(np.linspace(0, 170, 69))
    phi = np.radians(np.arange(72) * 5.0 - 180.0)
    skin = skin_radius(surface, centre, theta, phi)
    # the rim: first polar angle (down each azimuth's column) whose skin point is below the line
    knots_a, knots_z = _rim_knots(style, lm, u)
    z_rim = np.interp(np.degrees(np.abs(phi)), knots_a, knots_z)
    z_skin = centre[2] + skin * np.cos(theta)[:, None]
    below = z_skin < z_rim[None]
    # a column never below the line (it ends in the neck) is covered to the grid's last angle
    first = np.where(below.any(0), np.argmax(below, axis=0), len(theta) - 1)
    # interpolate between the grid rows around the crossing
    hi_i = np.maximum(first, 1)
    z0, z1 = z_skin[hi_i - 1, np.arange(len(phi))], z_skin[hi_i, np.arange(len(phi))]
    f = np.clip((z0 - z_rim) / np.maximum(z0 - z1, 1e-9), 0, 1)
    theta_rim = theta[hi_i - 1] + f * (theta[hi_i] - theta[hi_i - 1])
    hair = float(np.clip(hair_thickness_m, 0.0, MAX_HAIR_THICKNESS_M))
    inner = skin + hair + EASE_M[style]
    return HatCover(centre=centre, theta=theta, phi=phi, skin=skin, theta_rim=theta_rim, inner=inner,
                    outer=inner + THICKNESS_M[style])


def _lookup(cover: HatCover, grid: np.ndarray, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    return cover._lookup(grid, theta.reshape(-1), phi.reshape(-1)).reshape(theta.shape)


def _dome(cover: HatCover, rows: int, radius_fn, extend: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (rows, P, 3) grid of points from near the pole down to the rim (plus ``extend`` radians
    past it), radius from ``radius_fn(theta, phi) -> (rows, P)``; also theta, phi (rows, P)."""
    t = np.linspace(0, 1, rows + 1)[1:, None]
    theta = t * (cover.theta_rim[None] + extend)
    phi = np.broadcast_to(cover.phi[None], theta.shape)
    r = radius_fn(theta, phi)
    return cover.centre + _direction(theta, phi) * r[..., None], theta, phi


def _shell(outer: np.ndarray, inner: np.ndarray, pole_out: np.ndarray, pole_in: np.ndarray,
           roll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A closed cloth shell from an outer and an inner grid (R, P, 3) around a pole (3,) each,
    joined at the last row through a rolled edge row ``roll`` (P, 3); faces counter-clockwise
    from outside. Returns positions, faces and per-vertex (row index, column index) (V, 2)."""
    R, P, _ = outer.shape
    # rows from the outer pole down the outside, round the rolled edge, up the inside
    rows = np.concatenate([outer, roll[None], inner[::-1]])
    n_rows = len(rows)
    pos = np.concatenate([pole_out[None], rows.reshape(-1, 3), pole_in[None]])
    last = len(pos) - 1
    j = np.arange(P)
    faces = [np.stack([np.zeros(P, int), 1 + j, 1 + (j + 1) % P], 1)]
    for r in range(n_rows - 1):
        a0, a1 = 1 + r * P + j, 1 + r * P + (j + 1) % P
        b0, b1 = a0 + P, a1 + P
        faces += [np.stack([a0, b0, b1], 1), np.stack([a0, b1, a1], 1)]
    base = 1 + (n_rows - 1) * P
    faces.append(np.stack([np.full(P, last), base + (j + 1) % P, base + j], 1))
    faces = np.concatenate(faces)
    # orient: the first pole fan must face up (away from the head)
    a, b, c = pos[faces[0]]
    if np.cross(b - a, c - a)[2] < 0:
        faces = faces[:, ::-1]
    grid = np.concatenate([[[0, 0]], np.stack(np.meshgrid(np.arange(n_rows), j, indexing="ij"), -1).reshape(-1, 2),
                           [[n_rows - 1, 0]]]).astype(np.float64)
    return pos, faces, grid


def _cloth_uvs(pos: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(V, 2) cloth UVs in metres / TILE_M: u around the head (arc length at 9 cm), v down it."""
    d = pos - centre
    phi = np.arctan2(d[:, 0], -d[:, 1])
    r = np.linalg.norm(d, axis=1)
    theta = np.arccos(np.clip(d[:, 2] / np.maximum(r, 1e-9), -1, 1))
    return np.stack([phi * 0.09, theta * 0.1], 1) / TILE_M


def _shell_from_radius(cover: HatCover, radius_fn, thickness: float, rows: int = 30) -> Mesh:
    """A closed shell whose mid-surface radius is ``radius_fn(theta, phi)``, down to the rim."""
    mid, theta, phi = _dome(cover, rows, radius_fn)
    d = _direction(theta, phi)
    outer, inner = mid + d * thickness / 2, mid - d * thickness / 2
    top = cover.centre + np.array([0, 0, 1.0]) * radius_fn(np.zeros((1, 1)), np.zeros((1, 1)))[0, 0]
    # the rolled edge: half a thickness further down and out than the rim
    down = mid[-1] - mid[-2]
    down /= np.linalg.norm(down, axis=1, keepdims=True)
    roll = mid[-1] + down * thickness / 2
    pos, faces, _ = _shell(outer, inner, top + [0, 0, thickness / 2], top - [0, 0, thickness / 2], roll)
    return pos, faces, _cloth_uvs(pos, cover.centre)


def _fitted(cover: HatCover, extra: float = 0.0):
    """The fitted mid-cloth radius function (half a thickness outside the inner surface)."""
    half = 0.5 * float(np.mean(cover.outer - cover.inner))
    return lambda theta, phi: _lookup(cover, cover.inner, theta, phi) + half + extra


def _sheet(top: np.ndarray, thickness: float, up: np.ndarray | None = None) -> Mesh:
    """A closed sheet (brim) from a (R, P, 3) grid of its mid-surface, open in P (not a loop):
    top and bottom faces ``thickness`` apart along the grid's normals, edges stitched."""
    R, P, _ = top.shape
    du = np.gradient(top, axis=1)
    dv = np.gradient(top, axis=0)
    n = np.cross(du, dv)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    if up is not None and np.sum(n * up) < 0:
        n = -n
    a, b = top + n * thickness / 2, top - n * thickness / 2
    # a ring of rows around the sheet's cross-section: a (top) then b (bottom), closed over rows
    pos = np.concatenate([a.reshape(-1, 3), b.reshape(-1, 3)])
    idx_a = np.arange(R * P).reshape(R, P)
    idx_b = idx_a + R * P
    faces = []
    for grid, flip in ((idx_a, False), (idx_b, True)):
        q = np.stack([grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]], -1).reshape(-1, 4)
        f = np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]])
        faces.append(f[:, ::-1] if flip else f)
    # the four edges
    for ea, eb in ((idx_a[0], idx_b[0]), (idx_a[-1], idx_b[-1]), (idx_a[:, 0], idx_b[:, 0]), (idx_a[:, -1], idx_b[:, -1])):
        q = np.stack([ea[:-1], ea[1:], eb[1:], eb[:-1]], -1)
        faces.append(np.concatenate([q[:, [0, 1, 2]], q[:, [0, 2, 3]]]))
    faces = np.concatenate(faces)
    # orient every face outward from the sheet's centroid plane, face by face
    cen = pos[faces].mean(1)
    mid = np.concatenate([top.reshape(-1, 3)] * 2)[faces[:, 0]]
    nrm = np.cross(pos[faces[:, 1]] - pos[faces[:, 0]], pos[faces[:, 2]] - pos[faces[:, 0]])
    flip = np.einsum("ij,ij->i", nrm, cen - mid) < 0
    faces[flip] = faces[flip][:, ::-1]
    uv = np.concatenate([top.reshape(-1, 3)[:, :2]] * 2) / TILE_M
    return pos, faces, uv


def fit_headwear(style: str, surface: BodySurface, *, color: tuple[int, int, int], pattern: str | None = None,
                 hair_thickness_m: float = 0.0, num_morphs: int, seed: int = 0) -> FittedAsset:
    """Headwear of ``style`` fitted over the skull of ``surface`` and ``hair_thickness_m`` of hair.

    Args:
        style: wool_cap, beanie, baseball_cap, fedora, beret, headscarf or hood.
        color: the cloth colour, sRGB 0..255; pattern: overrides the style's fabric pattern.
        hair_thickness_m: hair under the hat (:func:`hair_thickness`), metres.
        num_morphs: the character's morph count (the parts carry zero morphs).

    Returns a :class:`FittedAsset` (category "headwear"): the cloth part rigid to the "head"
    bone (the hood's weights transferred from the skin so it follows the neck), plus trims
    (ribbon, button) in their own materials; labels record the rim line and the fit.
    """
    cover = headwear_cover(style, surface, hair_thickness_m)
    th = THICKNESS_M[style]
    lm = {k: np.asarray(v, np.float64).reshape(-1) for k, v in surface.landmarks.items()}
    u = float(abs(lm["eye_center_l"][0] - lm["eye_center_r"][0]))
    fitted = _fitted(cover)
    cloth: list[Mesh] = []
    trims: list[Mesh] = []
    if style in ("wool_cap", "beanie", "headscarf", "hood"):
        cloth.append(_shell_from_radius(cover, _knit_shape(style, cover, fitted, u), th))
        if style == "wool_cap":
            cloth.append(_cuff(cover, fitted, th, u))
        if style == "headscarf":
            cloth.append(_knot(cover, fitted, th, u))
    elif style == "baseball_cap":
        cloth.append(_shell_from_radius(cover, _cap_crown(cover, fitted, u), th))
        cloth.append(_brim(cover, fitted, th * 1.5, length=1.15 * u, span_deg=75, droop=0.12 * u, curve=0.2 * u))
        trims.append(_button(cover, _cap_crown(cover, fitted, u), 0.13 * u))
    elif style == "fedora":
        crown, band = _fedora_crown(cover, fitted, th, u)
        cloth.append(crown)
        cloth.append(_fedora_brim(cover, fitted, th, u))
        trims.append(band)
    elif style == "beret":
        cloth.append(_beret(cover, fitted, th, u))
    else:
        raise ValueError(f"unknown headwear style {style!r}")

    pos, faces, uvs = merge_meshes(cloth)
    pos = _keep_outside(pos, surface)
    pattern = pattern or PATTERN[style]
    material, textures = fabric_material(f"{style}_cloth", pattern, color, seed=seed)
    material = replace(material, double_sided=False)
    if style == "hood":
        joints, weights = transfer_weights(pos, surface)
    else:
        joints, weights = rigid_weights(len(pos), surface, "head")
    parts = [asset_part(f"{style}", material.name, pos, faces, uvs, joints, weights, num_morphs=num_morphs)]
    materials = {material.name: material}
    if trims:
        tp, tf, tu = merge_meshes(trims)
        tp = _keep_outside(tp, surface)
        trim_color = (20, 18, 17) if style == "fedora" else color
        trim_mat, trim_tex = fabric_material(f"{style}_trim", "solid", trim_color, seed=seed + 1, size=64)
        parts.append(asset_part(f"{style}_trim", trim_mat.name, tp, tf, tu, *rigid_weights(len(tp), surface, "head"),
                                num_morphs=num_morphs))
        materials[trim_mat.name] = trim_mat
        textures = {**textures, **trim_tex}
    labels = {"style": style, "color": list(color), "pattern": pattern,
              "hair_thickness_m": round(float(np.clip(hair_thickness_m, 0, MAX_HAIR_THICKNESS_M)), 4),
              "cloth_thickness_m": th, "ease_m": EASE_M[style],
              "rim_deg": {"front": round(float(np.degrees(cover.rim_theta(np.zeros(1))[0])), 1),
                          "side": round(float(np.degrees(cover.rim_theta(np.full(1, np.pi / 2))[0])), 1),
                          "back": round(float(np.degrees(cover.rim_theta(np.full(1, np.pi))[0])), 1)},
              "fit": "skin rays from the head centre, offset by hair + ease + cloth; rim cone per style"}
    return FittedAsset(asset_id=style, category="headwear", parts=parts, materials=materials, textures=textures,
                       labels=labels)


def _keep_outside(pos: np.ndarray, surface: BodySurface, clearance: float = 0.0015) -> np.ndarray:
    """(V, 3) points pushed out along the nearest skin normal to ``clearance`` outside the skin
    (a rolled edge, a knot or a hood's hem may dip towards it)."""
    return push_out(pos, [surface.cloud], clearance, rounds=8)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _knit_shape(style: str, cover: HatCover, fitted, u: float):
    """Mid-cloth radius of the soft styles: the beanie slouches at the back of the crown, the
    hood hangs loose (more ease lower down), the wool cap and scarf hug the fitted surface."""
    def radius(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        r = fitted(theta, phi)
        if style == "beanie":  # a soft fold of extra cloth behind the crown
            behind = np.clip(-np.cos(phi), 0, None)
            r = r + 0.22 * u * behind * np.sin(np.clip(theta, 0, np.pi / 2) * 2) ** 2 * 0.5
        if style == "hood":  # fuller over the back, dropping away from the neck towards the shoulders
            r = r + 0.25 * u * _smoothstep((theta - np.radians(60)) / np.radians(80)) + 0.1 * u * np.clip(-np.cos(phi), 0, None)
        return r
    return radius


def _cuff(cover: HatCover, fitted, th: float, u: float) -> Mesh:
    """The wool cap's folded-up cuff: a band over the lower 0.6 u of the cap, a double layer of
    knit standing out from it, closed at both edges."""
    rows_t = np.linspace(0.62, 1.0, 8)
    phi = cover.phi
    # the band's height covers about 0.6 u of the cap above the rim
    theta_top = cover.theta_rim - 0.6 * u / np.maximum(_lookup(cover, cover.inner, cover.theta_rim[None], phi[None])[0], 1e-3)
    theta = theta_top[None] + np.linspace(0, 1, 8)[:, None] * (cover.theta_rim - theta_top)[None]
    del rows_t
    phis = np.broadcast_to(phi[None], theta.shape)
    d = _direction(theta, phis)
    base = cover.centre + d * (fitted(theta, phis) + th)[..., None]
    outer = base + d * (1.5 * th)
    inner = base + d * 0.0
    # a closed loop section: outer (top->bottom), rolled bottom, inner (bottom->top), rolled top
    roll_bottom = 0.5 * (outer[-1] + inner[-1]) + (base[-1] - base[-2]) / np.linalg.norm(base[-1] - base[-2], axis=1, keepdims=True) * th
    roll_top = 0.5 * (outer[0] + inner[0]) - (base[1] - base[0]) / np.linalg.norm(base[1] - base[0], axis=1, keepdims=True) * th
    rows = np.concatenate([outer, roll_bottom[None], inner[::-1], roll_top[None]])
    pos = rows.reshape(-1, 3)
    faces = _loop_grid_faces(*rows.shape[:2])
    a, b, c = pos[faces[0]]
    if np.dot(np.cross(b - a, c - a), a - cover.centre) < 0:
        faces = faces[:, ::-1]
    return pos, faces, _cloth_uvs(pos, cover.centre)


def _knot(cover: HatCover, fitted, th: float, u: float) -> Mesh:
    """The headscarf's knot at the nape: a squashed lump and two short tails hanging from it."""
    back = np.array([[np.pi]])
    theta = cover.rim_theta(back[0]).reshape(1, 1) - 0.12
    at = cover.centre + _direction(theta, back)[0, 0] * (fitted(theta, back)[0, 0] + th)
    out = at - cover.centre
    out[2] = 0
    out /= np.linalg.norm(out)
    lump = tube(np.stack([at - [0.25 * u, 0, 0], at + out * 0.1 * u, at + [0.25 * u, 0, 0]]),
                        np.array([0.12 * u, 0.16 * u, 0.12 * u]), sides=10, caps=True)
    tails = [tube(np.stack([at + out * 0.1 * u + [s * k * 0.12 * u, 0, -k * 0.55 * u] + out * k * 0.08 * u
                                    for k in np.linspace(0, 1, 6)]),
                          np.stack([np.full(6, 0.16 * u), np.full(6, 0.03 * u)], 1), sides=8, caps=True) for s in (-1, 1)]
    return merge_meshes([lump, *tails])


def _cap_crown(cover: HatCover, fitted, u: float):
    """The baseball cap's crown: fitted at the band, rising into a taller, rounder front panel."""
    def radius(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        front = np.clip(np.cos(phi), 0, None)
        lift = np.sin(np.clip(theta, 0, np.pi / 2) * 2) ** 2
        return fitted(theta, phi) + 0.12 * u * front * lift + 0.05 * u * lift
    return radius


def _brim(cover: HatCover, fitted, th: float, length: float, span_deg: float, droop: float, curve: float) -> Mesh:
    """A stiff peak from the front of the rim: ``span_deg`` either side of ahead, ``length``
    forward, its middle ``droop`` lower at the tip and its sides ``curve`` bent down."""
    phi = np.radians(np.linspace(-span_deg, span_deg, 25))
    rim = cover.centre + _direction(cover.rim_theta(phi), phi) * fitted(cover.rim_theta(phi)[None], phi[None])[0][:, None]
    s = np.linspace(0, 1, 10)[:, None]
    # the outline: forward most at the centre, rounded to the sides
    reach = length * np.cos(np.radians(90 * phi / np.radians(span_deg) * 0.9)) ** 0.7
    fwd = np.array([0.0, -1.0, 0.0])
    grid = rim[None] + s[..., None] * reach[None, :, None] * fwd
    grid[..., 0] += (s * rim[None, :, 0] * 0.25)
    across = (phi / np.radians(span_deg)) ** 2
    grid[..., 2] -= (s * droop + s * across[None] * curve)
    return _sheet(grid, th, up=np.array([0.0, 0.0, 1.0]))


def _button(cover: HatCover, radius_fn, size: float) -> Mesh:
    """The cap's button on the crown's top: a small flattened knob."""
    top = cover.centre + np.array([0, 0, 1.0]) * radius_fn(np.zeros((1, 1)), np.zeros((1, 1)))[0, 0]
    path = np.stack([top - [0, 0, 0.002], top + [0, 0, 0.002], top + [0, 0, 0.004]])
    return tube(path, np.array([size / 2, size / 2, size / 4]), sides=12, caps=True)


def _fedora_crown(cover: HatCover, fitted, th: float, u: float) -> tuple[Mesh, Mesh]:
    """A felt fedora crown: the band fitted to the head, walls rising to a flat-ish top above
    the skull with a front-to-back crease and two front pinches; and its ribbon band."""
    phi = cover.phi
    band_theta = cover.theta_rim
    band = cover.centre + _direction(band_theta, phi) * fitted(band_theta[None], phi[None])[0][:, None]
    top_z = cover.centre[2] + float(fitted(np.zeros((1, 1)), np.zeros((1, 1)))[0, 0]) + 0.2 * u
    mid = np.array([0.0, band[:, 1].mean(), 0.0])
    rows = 14
    h = np.linspace(0, 1, rows)[:, None]
    # walls: straight up from the band, tapering inwards ~10% towards the top
    xy = mid[:2] + (band[None, :, :2] - mid[:2]) * (1 - 0.14 * h[..., None])
    z = band[None, :, 2] + h * (top_z - band[None, :, 2])
    # the pinches: the upper front sides pressed in
    pinch = np.exp(-((np.abs(phi) - np.radians(35)) / 0.35) ** 2) * h ** 2
    xy = mid[:2] + (xy - mid[:2]) * (1 - 0.14 * pinch[..., None])
    walls = np.concatenate([xy, z[..., None]], -1)
    # the top: rings closing to the centre, dented along the front-to-back midline
    k = np.linspace(1, 0, 7)[1:, None]
    ring_xy = mid[:2] + (walls[-1, :, :2] - mid[:2]) * k[..., None]
    dent = 0.3 * u * np.exp(-(ring_xy[..., 0] / (0.35 * u)) ** 2) * (1 - k ** 2) ** 0.5
    top = np.concatenate([ring_xy, (top_z - dent)[..., None]], -1)
    outer = np.concatenate([top[::-1], walls[::-1]])  # from the top's centre down to the band
    normal = np.zeros_like(outer)
    normal[..., :2] = outer[..., :2] - mid[:2]
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    normal[: len(top)] = [0, 0, 1.0]
    inner = outer - normal * th
    pole = np.array([mid[0], mid[1], top_z - 0.35 * u])
    pos, faces, _ = _shell(outer, inner, pole, pole - [0, 0, th], band - [0, 0, th / 2])
    # the ribbon: 0.55 u of band just outside the walls' foot
    rib_h = np.linspace(0, 0.55 * u, 4)[:, None]
    rib = walls[0][None] + normal[-1][None] * 0.0015 + rib_h[..., None] * [0, 0, 1.0]
    rib[..., :2] = mid[:2] + (rib[..., :2] - mid[:2]) * (1 - 0.14 * rib_h[..., None] / (top_z - band[:, 2].mean()))
    band_mesh = _closed_band(rib, 0.0012)
    return (pos, faces, _cloth_uvs(pos, cover.centre)), band_mesh


def _loop_grid_faces(rows: int, cols: int) -> np.ndarray:
    """(2 * rows * cols, 3) triangles of a grid closed in both directions (a torus-like shell)."""
    r = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    a0, a1 = r * cols + j, r * cols + (j + 1) % cols
    b0, b1 = ((r + 1) % rows) * cols + j, ((r + 1) % rows) * cols + (j + 1) % cols
    return np.concatenate([np.stack([a0, b0, b1], -1).reshape(-1, 3), np.stack([a0, b1, a1], -1).reshape(-1, 3)])


def _closed_band(rows: np.ndarray, th: float) -> Mesh:
    """A closed loop band from (R, P, 3) mid rows around a vertical axis, ``th`` thick."""
    centre = rows.reshape(-1, 3).mean(0)
    n = rows.copy()
    n[..., 2] = 0
    n[..., :2] -= centre[:2]
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    loop = np.concatenate([rows + n * th / 2, (rows - n * th / 2)[::-1]])
    pos = loop.reshape(-1, 3)
    faces = _loop_grid_faces(*loop.shape[:2])
    a, b, c = pos[faces[0]]
    if np.dot(np.cross(b - a, c - a), n[0, 0]) < 0:
        faces = faces[:, ::-1]
    return pos, faces, pos[:, :2] / TILE_M


def _fedora_brim(cover: HatCover, fitted, th: float, u: float) -> Mesh:
    """The fedora's brim: an annulus ~0.95 u wide from the band, its back and sides turned up a
    little and its front snapped down."""
    phi = np.concatenate([cover.phi, cover.phi[:1]])
    band_theta = np.concatenate([cover.theta_rim, cover.theta_rim[:1]])
    band = cover.centre + _direction(band_theta, phi) * fitted(band_theta[None], phi[None])[0][:, None]
    mid = band.mean(0)
    s = np.linspace(0, 1, 7)[:, None]
    out = band[:, :2] - mid[:2]
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    width = 0.95 * u
    xy = band[None, :, :2] + s[..., None] * width * out[None]
    z = band[None, :, 2] + (s ** 2) * (0.25 * u * np.clip(-np.cos(phi), 0, None) + 0.12 * u * np.abs(np.sin(phi))
                                        - 0.15 * u * np.clip(np.cos(phi), 0, None))[None]
    # flat (not tilted with the band): level the brim's base around the mean band height
    z = z - 0.5 * s * (band[None, :, 2] - band[:, 2].mean())
    grid = np.concatenate([xy, z[..., None]], -1)
    return _sheet(grid, th, up=np.array([0.0, 0.0, 1.0]))


def _beret(cover: HatCover, fitted, th: float, u: float) -> Mesh:
    """A beret: a soft, flat disc (about 1.35 heads wide) on a band fitted above the ears,
    tilted down towards the character's right."""
    rows = 30

    def radius(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        t = theta / np.maximum(cover.rim_theta(phi.reshape(-1)).reshape(theta.shape), 1e-6)
        base = fitted(theta, phi)
        # the overhang: bulging out most at 75% of the way down, back to the band at the rim
        bulge = 0.55 * u * np.sin(np.pi * np.clip(t / 0.8, 0, 1) / 2) ** 2 * _smoothstep((1 - t) / 0.25)
        right = 0.3 * u * np.clip(-np.sin(phi), 0, None) * _smoothstep((t - 0.4) / 0.4)
        return base + bulge + right
    mid, theta, phi = _dome(cover, rows, radius)
    # flatten the top: squash heights above the disc's plane towards it
    plane = cover.centre[2] + float(fitted(np.zeros((1, 1)), np.zeros((1, 1)))[0, 0]) - 0.2 * u
    mid[..., 2] = np.where(mid[..., 2] > plane, plane + 0.35 * (mid[..., 2] - plane), mid[..., 2])
    # tilt down on the right (-x)
    mid[..., 2] -= 0.12 * np.clip(-mid[..., 0] + cover.centre[0], 0, None)
    d = _direction(theta, phi)
    outer, inner = mid + d * th / 2, mid - d * th / 2
    top_pt = cover.centre + [0, 0, 0]
    top_pt = np.array([0.0, mid[0, :, 1].mean(), mid[0, :, 2].mean()])
    down = mid[-1] - mid[-2]
    down /= np.linalg.norm(down, axis=1, keepdims=True)
    pos, faces, _ = _shell(outer, inner, top_pt + [0, 0, th / 2], top_pt - [0, 0, th / 2], mid[-1] + down * th / 2)
    return pos, faces, _cloth_uvs(pos, cover.centre)


# --- hair under the hat -----------------------------------------------------------------------

def hair_thickness(grooms: list[Groom], style: str, surface: BodySurface, quantile: float = 0.95) -> float:
    """How much hair the hat must go over, metres: the ``quantile`` of scalp strand points'
    height above the skin (along rays from the head centre) inside the style's rim and above the
    head's equator (95° from the top), capped at
    :data:`MAX_HAIR_THICKNESS_M`; 0 without a scalp groom."""
    scalp = [g for g in grooms if g.name == "scalp"]
    if not scalp or not len(scalp[0].points):
        return 0.0
    cover = headwear_cover(style, surface)
    pts = np.asarray(scalp[0].points, np.float64)[:: max(1, len(scalp[0].points) // 60_000)]
    # over the cranium only: hair hanging inside a scarf's cone is not hair the hat sits on
    theta, phi, _ = cover.spherical(pts)
    inside = theta < np.minimum(cover.rim_theta(phi), np.radians(95))
    if not inside.any():
        return 0.0
    r, skin, _, _ = cover.radii(pts[inside])
    return float(np.clip(np.quantile(r - skin, quantile), 0.0, MAX_HAIR_THICKNESS_M))


def fit_hair_under(grooms: list[Groom], cover: HatCover, style: str) -> list[Groom]:
    """The grooms with the hair under a hat pressed inside it.

    cover: :func:`headwear_cover` of the same style, surface and hair thickness as the hat.

    Scalp strands (and facial hair under a headscarf or hood) are squeezed towards the skin
    along the rays from the head centre: a point's height h above the skin becomes
    ``room * tanh(h / room)`` where ``room`` is the gap from the skin to :data:`HAIR_CLEARANCE_M`
    inside the hat's inner surface, so thin hair barely moves, thick hair is bent along the hat
    and every covered point ends inside it. Below the rim the squeeze relaxes over
    :data:`RELAX_M` so hair leaving the hat continues smoothly (long hair still hangs to the
    shoulders; an afro puffs out below a beanie). No strand is cut. Eyebrows and lashes are
    returned unchanged.
    """
    squeeze = {"scalp"} | ({"facial_hair"} if style in ("headscarf", "hood") else set())
    out = []
    for g in grooms:
        if g.name not in squeeze or not len(g.points):
            out.append(g)
            continue
        out.append(replace(g, points=press_points(np.asarray(g.points, np.float64), cover).astype(np.float32)))
    return out


def press_points(points: np.ndarray, cover: HatCover) -> np.ndarray:
    """(N, 3) hair points pressed inside the hat (see :func:`fit_hair_under`), metres."""
    theta, phi, r = cover.spherical(points)
    r, skin, inner, _ = cover.radii(points)
    room = np.maximum(inner - HAIR_CLEARANCE_M - skin, 2e-4)
    h = r - skin
    pressed = np.where(h > 0, room * np.tanh(np.maximum(h, 0) / room), h)
    # full squeeze inside the cone, relaxing below the rim (arc length past the rim)
    past = (theta - cover.rim_theta(phi)) * np.maximum(skin, 1e-3)
    w = 1.0 - _smoothstep(past / RELAX_M)
    new_r = skin + h + w * (pressed - h)
    d = (points - cover.centre) / np.maximum(r, 1e-12)[:, None]
    return cover.centre + d * new_r[:, None]
