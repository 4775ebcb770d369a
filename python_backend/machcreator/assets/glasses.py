"""Glasses fitted to a generated head: a front frame (rims, bridge, nose pads), two temples and
two lenses, rigid to the "head" bone.

Axes and units as in :mod:`machcreator.character`: metres, Z-up, the character faces -Y, +X is
its left. The head is taken as upright and mirror-symmetric about x = 0 (the rest pose).

Fitting, in order: the lenses are sized from the inter-pupil distance and centred in front of
the eyes at a vertex distance of :data:`VERTEX_DISTANCE_M` in front of the cornea (pushed forward
if the brows or cheeks are closer); the bridge is bent back onto the nose ridge found on the
midline just below eye height (1 mm clearance); nose pads sit on the sides of the nose; the
temples run straight from hinges outside the head's width to the groove above the ear roots,
pushed out wherever the head bulges, then bend down behind the ears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from machcreator.assets.fitting import BodySurface, FittedAsset, asset_part, merge_meshes, push_out, rigid_weights, tube
from machcreator.character import Material
from machcreator.core.color import srgb_decode

Mesh = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions (V, 3), faces (F, 3), uvs (V, 2)

#: back of the lens to the front of the cornea, metres (opticians fit 10..14 mm)
VERTEX_DISTANCE_M = 0.012
#: gap between the skin and any part of the frame that rests on it (bridge, pads), metres
CONTACT_CLEARANCE_M = 0.001
#: gap kept between the temples or rims and the skin where they do not rest on it, metres
FREE_CLEARANCE_M = 0.002
#: pantoscopic tilt (the lens bottoms lean towards the cheeks) and face-form wrap, degrees
TILT_DEG = 8.0
WRAP_DEG = 4.0


@dataclass(frozen=True)
class GlassesStyle:
    """The look of one style; lengths are in units of the inter-pupil distance ``u``.

    width, height: lens outline size; drop: lens centre below the eye centre; shape: outline
    family (see :func:`lens_outline`); rim: (radial, depth) half-thickness of the rim section;
    half_rim: only the upper half of the rim is drawn (reading glasses); metal: metal frame;
    tint: lens (linear RGB, alpha); wrap: extra wrap, degrees.
    """

    width: float
    height: float
    drop: float
    shape: str
    rim: tuple[float, float]
    half_rim: bool = False
    metal: bool = False
    tint: tuple[float, float, float, float] = (0.92, 0.96, 1.0, 0.15)
    wrap: float = 0.0
    color: tuple[int, int, int] = (20, 18, 17)


_DARK = (0.02, 0.02, 0.025, 0.8)
STYLES: dict[str, GlassesStyle] = {
    "reading": GlassesStyle(0.80, 0.40, 0.16, "rectangle", (0.0012, 0.0014), half_rim=True, color=(96, 58, 34)),
    "round": GlassesStyle(0.74, 0.74, 0.0, "round", (0.0013, 0.0013), color=(20, 18, 17)),
    "rectangular": GlassesStyle(0.88, 0.52, 0.02, "rectangle", (0.0024, 0.0018), color=(20, 18, 17)),
    "aviator": GlassesStyle(0.98, 0.82, 0.06, "teardrop", (0.0009, 0.0009), metal=True,
                            tint=(0.05, 0.07, 0.05, 0.8), color=(200, 160, 60)),
    "cat_eye": GlassesStyle(0.90, 0.56, 0.0, "cat_eye", (0.0026, 0.0020), color=(110, 24, 40)),
    "sunglasses": GlassesStyle(0.98, 0.74, 0.02, "wayfarer", (0.0030, 0.0022), tint=_DARK, wrap=4.0,
                               color=(20, 18, 17)),
}


def lens_outline(shape: str, n: int = 64) -> np.ndarray:
    """(n, 2) closed outline of a left lens, counter-clockwise, in half-extents: s across (+1 at
    the outer edge, away from the nose), t up; spans about [-1, 1] on both axes."""
    a = 2 * np.pi * np.arange(n) / n
    c, s_ = np.cos(a), np.sin(a)

    def superellipse(p: float) -> tuple[np.ndarray, np.ndarray]:
        return np.sign(c) * np.abs(c) ** (2 / p), np.sign(s_) * np.abs(s_) ** (2 / p)

    if shape == "round":
        return np.stack([c, s_], 1)
    if shape == "rectangle":
        s, t = superellipse(5.0)
    elif shape == "teardrop":
        # flat top, the bottom sagging towards the nose (inner, s < 0)
        s, t = superellipse(2.6)
        t = np.where(t < 0, t * (1.0 - 0.28 * s), np.minimum(t, 0.85) + 0.15 * t ** 4)
    elif shape == "cat_eye":
        # the outer top corner swept up and out
        s, t = superellipse(3.5)
        t = t + 0.45 * np.clip(s, 0, None) ** 3 * np.clip(t + 0.2, 0, None)
        s = s + 0.12 * np.clip(t, 0, None) * np.clip(s, 0, None)
    elif shape == "wayfarer":
        # a trapezoid: the top wider than the bottom, heavy brow line
        s, t = superellipse(4.0)
        s = s * (1.0 - 0.12 * np.clip(-t, 0, None))
    else:
        raise ValueError(f"unknown lens shape {shape!r}")
    return np.stack([s, t], 1)


def srgb_factor(color: tuple[int, int, int], alpha: float = 1.0) -> tuple[float, float, float, float]:
    """A material's linear base colour factor from an sRGB 0..255 colour."""
    r, g, b = (float(v) for v in srgb_decode(np.asarray(color, np.uint8)))
    return (r, g, b, alpha)


def nose_bridge(surface: BodySurface) -> np.ndarray:
    """(3,) the front of the nose ridge on the midline, just below the eye centres, metres.

    The skin's triangles are cut by the plane x = 0; of the cut points between 2 and 8 mm below
    the eye centres (where a frame's bridge rests) the most forward (lowest y) one is taken.
    """
    eye_z = 0.5 * (surface.landmarks["eye_center_l"][2] + surface.landmarks["eye_center_r"][2])
    eye_y = float(surface.landmarks["eye_center_l"][1])
    pts = _midline_cut(surface)
    pts = pts[(pts[:, 2] < eye_z - 0.002) & (pts[:, 2] > eye_z - 0.008) & (pts[:, 1] < eye_y)]
    if not len(pts):
        raise ValueError("no nose found on the midline below the eyes")
    return pts[np.argmin(pts[:, 1])]


def _midline_cut(surface: BodySurface) -> np.ndarray:
    """(N, 3) points where the skin's edges cross the plane x = 0 (the face's profile)."""
    e = np.concatenate([surface.faces[:, [0, 1]], surface.faces[:, [1, 2]], surface.faces[:, [2, 0]]])
    a, b = surface.positions[e[:, 0]], surface.positions[e[:, 1]]
    cross = (a[:, 0] * b[:, 0] < 0) | (a[:, 0] == 0)
    a, b = a[cross], b[cross]
    f = np.where(a[:, 0] == b[:, 0], 0.0, a[:, 0] / np.where(a[:, 0] == b[:, 0], 1.0, a[:, 0] - b[:, 0]))
    return a + f[:, None] * (b - a)


def _head_half_width(surface: BodySurface, y: float, z: float, band: float = 0.006) -> float:
    """The skin's largest |x| within ``band`` of (y, z) (the side of the head there), metres;
    the band widens until it finds skin."""
    p = surface.positions
    for b in (band, 2 * band, 4 * band):
        near = (np.abs(p[:, 1] - y) < b) & (np.abs(p[:, 2] - z) < b)
        if near.any():
            return float(np.abs(p[near, 0]).max())
    raise ValueError(f"no skin near y={y:.3f}, z={z:.3f}")


def _smooth(path: np.ndarray, passes: int = 2) -> np.ndarray:
    """(N, 3) polyline with its inner points averaged with their neighbours ``passes`` times."""
    p = path.copy()
    for _ in range(passes):
        p[1:-1] = 0.25 * p[:-2] + 0.5 * p[1:-1] + 0.25 * p[2:]
    return p


def fit_glasses(style: str, surface: BodySurface, *, color: tuple[int, int, int] | None = None,
                num_morphs: int) -> FittedAsset:
    """Glasses of ``style`` fitted to the head of ``surface``.

    Args:
        style: one of :data:`STYLES` (reading, round, rectangular, aviator, cat_eye, sunglasses).
        color: frame colour, sRGB 0..255 (the style's default when None).
        num_morphs: the character's morph count (the parts carry zero morphs).

    Returns a :class:`FittedAsset` (category "glasses") with parts "glasses_frame" and
    "glasses_lenses", rigid to the "head" bone; labels record the bridge point and the fit.
    """
    if style not in STYLES:
        raise ValueError(f"unknown glasses style {style!r}; choose one of {', '.join(STYLES)}")
    st = STYLES[style]
    lm = {k: np.asarray(v, np.float64).reshape(-1) for k, v in surface.landmarks.items()}
    eye_l, eye_r = lm["eye_center_l"], lm["eye_center_r"]
    u = float(abs(eye_l[0] - eye_r[0]))
    eye_z = 0.5 * (eye_l[2] + eye_r[2])
    cornea_y = 0.5 * (eye_l[1] + eye_r[1]) - float(lm["eye_radius"][0])
    bridge = nose_bridge(surface)

    # lens outlines (left lens, +x), centred just outside the pupils (frame PD > eye PD)
    half_w, half_h = 0.5 * st.width * u, 0.5 * st.height * u
    centre_x = max(0.5 * u * 1.04, half_w + 0.08 * u)
    centre_z = eye_z - st.drop * u
    outline = lens_outline(st.shape)
    lens2d = np.stack([centre_x + outline[:, 0] * half_w, centre_z + outline[:, 1] * half_h], 1)

    def place(xz: np.ndarray, y0: float) -> np.ndarray:
        """(N, 3) lens-plane points (N, 2: |x|, z) at plane depth y0, tilted and wrapped."""
        ax = np.abs(xz[:, 0])
        y = (y0 - (xz[:, 1] - centre_z) * np.tan(np.radians(TILT_DEG))
             + np.clip(ax - (centre_x - half_w), 0, None) * np.tan(np.radians(WRAP_DEG + st.wrap)))
        return np.stack([xz[:, 0], y, xz[:, 1]], 1)

    # the rims' depth: the vertex distance, or further forward where brows or cheeks come closer
    lens_y = cornea_y - VERTEX_DISTANCE_M
    rim_r = np.array(st.rim)
    for _ in range(8):
        rims = [place(lens2d * (side, 1), lens_y) for side in (1, -1)]
        d = surface.cloud.signed_distance(np.concatenate(rims)) - rim_r.max()
        if d.min() >= FREE_CLEARANCE_M:
            break
        lens_y -= FREE_CLEARANCE_M - d.min() + 2e-4
    pushed_forward = (cornea_y - VERTEX_DISTANCE_M) - lens_y

    meshes = []
    for rim in rims:
        if st.half_rim:  # the upper half only: the outline's points above the lens centre
            top = rim[outline[:, 1] > -0.15]
            top = top[np.argsort(np.arctan2(top[:, 2] - centre_z + 0.3 * half_h, np.abs(top[:, 0]) - centre_x))]
            meshes.append(tube(top, rim_r, sides=8, up=np.array([0.0, -1.0, 0.0]), caps=True))
        else:
            meshes.append(tube(rim, rim_r, sides=8, closed=True, up=np.array([0.0, -1.0, 0.0])))

    # the bridge: from each lens's upper inner rim, bent back to rest on the nose ridge
    inner = np.argmin(outline[:, 0] - 0.6 * outline[:, 1])  # the inner rim, a little above centre
    p_l, p_r = rims[0][inner], rims[1][inner]
    r_bridge = float(rim_r.min()) if st.metal else float(rim_r.mean())
    _, ni = surface.cloud.tree.query(bridge)
    normal = surface.cloud.normals[ni]
    contact = bridge + normal * (CONTACT_CLEARANCE_M + r_bridge)
    t = np.linspace(0, 1, 15)[:, None]
    control = 2 * contact - 0.5 * (p_l + p_r)
    bridge_path = (1 - t) ** 2 * p_l + 2 * t * (1 - t) * control + t ** 2 * p_r
    meshes.append(tube(bridge_path, r_bridge, sides=8))
    if st.metal:  # the aviator's second (brow) bar, higher and straight
        top_i = np.argmin(-outline[:, 1] + 0.7 * outline[:, 0])
        brow = np.linspace(rims[1][top_i], rims[0][top_i], 15)
        brow[:, 1] -= 0.002 * np.sin(np.pi * np.linspace(0, 1, 15))
        meshes.append(tube(brow, r_bridge, sides=8))

    # nose pads on the sides of the nose, below the bridge, each on a short arm from the rim
    pad_z = bridge[2] - 0.28 * u
    pads = []
    for side, rim in zip((1, -1), rims):
        on_skin = _nose_side(surface, side, pad_z, bridge)
        _, ni = surface.cloud.tree.query(on_skin)
        n = surface.cloud.normals[ni]
        centre = on_skin + n * (CONTACT_CLEARANCE_M + 0.0008)
        pads.append(centre)
        meshes.append(_pad(centre, n, 0.0055, 0.0035, 0.0008))
        anchor = rim[np.argmin(np.linalg.norm(rim - centre, axis=1))]
        arm = np.linspace(centre, anchor, 6)
        arm[1:-1, 1] -= 0.002 * np.sin(np.pi * np.linspace(0, 1, 6))[1:-1]
        meshes.append(tube(arm, 0.0005, sides=6))

    # temples: hinge outside the head, straight to the groove above the ear, then down behind it
    hinge_i = np.argmax(outline[:, 0] + 0.5 * outline[:, 1])
    temple_r = np.array([0.0009, 0.0016]) if st.metal else np.array([0.0012, 0.0022 + 0.4 * rim_r[0]])
    temple_tips = []
    for side, rim in zip((1, -1), rims):
        ear = lm["ear_l" if side > 0 else "ear_r"]
        path = _temple_path(surface, side, rim[hinge_i], ear, u, float(temple_r.max()))
        temple_tips.append(path[-1])
        meshes.append(tube(path, temple_r, sides=8, up=np.array([0.0, 0.0, 1.0]), caps=True))

    frame_pos, frame_faces, frame_uv = merge_meshes(meshes)
    lens_meshes = [_lens(rim, lens2d * (side, 1), place, lens_y, rim_r) for side, rim in zip((1, -1), rims)]
    lens_pos, lens_faces, lens_uv = merge_meshes(lens_meshes)

    n_f, n_l = len(frame_pos), len(lens_pos)
    frame_color = color if color is not None else st.color
    frame_mat = Material(f"{style}_glasses_frame", base_color_factor=srgb_factor(frame_color),
                         roughness_factor=0.25 if st.metal else 0.3, metallic_factor=1.0 if st.metal else 0.0)
    lens_mat = Material(f"{style}_glasses_lenses", base_color_factor=st.tint, roughness_factor=0.05,
                        alpha_mode="BLEND", double_sided=True)
    parts = [asset_part("glasses_frame", frame_mat.name, frame_pos, frame_faces, frame_uv,
                        *rigid_weights(n_f, surface, "head"), num_morphs=num_morphs),
             asset_part("glasses_lenses", lens_mat.name, lens_pos, lens_faces, lens_uv,
                        *rigid_weights(n_l, surface, "head"), num_morphs=num_morphs)]
    labels = {
        "style": style, "color": list(frame_color), "metal": st.metal, "tint_alpha": st.tint[3],
        "bridge_point": [round(float(v), 5) for v in bridge],
        "fit": {"inter_pupil_m": round(u, 5), "lens_size_m": [round(2 * half_w, 4), round(2 * half_h, 4)],
                "vertex_distance_m": round(VERTEX_DISTANCE_M + pushed_forward, 4),
                "bridge_on": "nose ridge on the midline 2..8 mm below the eyes, 1 mm clearance",
                "temples_to": "groove above the ears, then bent down behind them",
                "temple_tip_to_ear_m": [round(float(np.linalg.norm(tip - lm[k])), 4)
                                        for tip, k in zip(temple_tips, ("ear_l", "ear_r"))]},
    }
    asset_id = "sunglasses" if style == "sunglasses" else f"{style}_glasses"
    return FittedAsset(asset_id=asset_id, category="glasses", parts=parts,
                       materials={frame_mat.name: frame_mat, lens_mat.name: lens_mat}, labels=labels)


def _nose_side(surface: BodySurface, side: int, z: float, bridge: np.ndarray) -> np.ndarray:
    """(3,) a skin point on the ``side`` (+1 left, -1 right) flank of the nose at height z: the
    most forward skin near the vertical line 5..9 mm off the midline there."""
    p = surface.positions
    for band in (0.002, 0.003, 0.005):
        near = ((np.abs(p[:, 2] - z) < band) & (side * p[:, 0] > 0.004) & (side * p[:, 0] < 0.010)
                & (p[:, 1] < bridge[1] + 0.02))
        if near.any():
            return p[near][np.argmin(p[near, 1])]
    raise ValueError("no nose flank found for the nose pads")


def _pad(centre: np.ndarray, normal: np.ndarray, length: float, width: float, thickness: float) -> Mesh:
    """A flat ellipsoid nose pad (a UV sphere squashed along ``normal``), metres."""
    n = normal / np.linalg.norm(normal)
    a = np.cross(n, [0.0, 0.0, 1.0])
    a /= max(np.linalg.norm(a), 1e-9)
    b = np.cross(n, a)
    lat, lon = np.meshgrid(np.linspace(-np.pi / 2, np.pi / 2, 7), 2 * np.pi * np.arange(10) / 10, indexing="ij")
    local = np.stack([np.cos(lat) * np.cos(lon) * width / 2, np.cos(lat) * np.sin(lon) * length / 2,
                      np.sin(lat) * thickness], -1).reshape(-1, 3)
    pos = centre + local @ np.stack([a, b, n])
    rows, cols = lat.shape
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols), indexing="ij")
    a0, a1 = i * cols + j, i * cols + (j + 1) % cols
    b0, b1 = a0 + cols, a1 + cols
    faces = np.concatenate([np.stack([a0, a1, b1], -1).reshape(-1, 3), np.stack([a0, b1, b0], -1).reshape(-1, 3)])
    p, q, r = pos[faces[len(faces) // 2]]
    if np.dot(np.cross(q - p, r - p), p - centre) < 0:
        faces = faces[:, ::-1]
    return pos, faces, np.zeros((len(pos), 2))


def _temple_path(surface: BodySurface, side: int, rim_point: np.ndarray, ear: np.ndarray, u: float,
                 radius: float) -> np.ndarray:
    """(N, 3) centre line of one temple: from the rim's outer edge out to a hinge clear of the
    head, straight back over the top of the ear's root, then down behind the ear."""
    clear = FREE_CLEARANCE_M + radius
    hinge_y = rim_point[1] + 0.006
    hinge_x = max(abs(rim_point[0]) + 0.004, _head_half_width(surface, hinge_y + 0.01, rim_point[2]) + clear + 0.002)
    hinge = np.array([side * hinge_x, hinge_y, rim_point[2]])
    top_z = _ear_top(surface, ear) + clear
    over = np.array([side * (_head_half_width(surface, ear[1] + 0.03, top_z) + clear), ear[1] + 0.004, top_z])
    tip = np.array([side * (_head_half_width(surface, ear[1] + 0.03, ear[2]) + clear), ear[1] + 0.010, ear[2]])
    run = hinge + np.linspace(0, 1, 24)[:, None] * (over - hinge)
    # behind the ear: a quadratic bend back, then down to the tip
    t = np.linspace(0, 1, 12)[1:, None]
    knee = np.array([tip[0], tip[1] + 0.002, over[2]])
    tail = (1 - t) ** 2 * over + 2 * t * (1 - t) * knee + t ** 2 * tip
    path = np.concatenate([np.linspace(rim_point, hinge, 4)[:-1], run, tail])
    for _ in range(3):
        path = push_out(path, [surface.cloud], clear, rounds=6)
        path[3:] = _smooth(path[3:], 1)
    return push_out(path, [surface.cloud], clear, rounds=6)


def _ear_top(surface: BodySurface, ear: np.ndarray) -> float:
    """z of the top of the ear (metres): the highest skin within 4.5 cm of the ear landmark that
    stands out more than 5 mm from the side of the skull behind the ear."""
    p = surface.positions
    near = np.nonzero((np.linalg.norm(p - ear, axis=1) < 0.045) & (np.abs(p[:, 1] - ear[1]) < 0.02))[0]
    skull = np.array([_head_half_width(surface, ear[1] + 0.03, z) for z in p[near, 2]])
    pinna = near[np.abs(p[near, 0]) > skull + 0.005]
    return float(p[pinna, 2].max()) if len(pinna) else float(ear[2] + 0.02)


def _lens(rim: np.ndarray, outline_xz: np.ndarray, place, lens_y: float, rim_r: np.ndarray,
          rings: int = 6) -> Mesh:
    """A thin, slightly convex lens filling the rim (its edge sits in the rim's groove).

    rim: (N, 3) the rim's centre line; outline_xz: (N, 2) the same outline in the lens plane
    (x, z); place: the lens-plane-to-world function. Returns a fan of ``rings`` rings.
    """
    centre = outline_xz.mean(0)
    n = len(outline_xz)
    k = np.linspace(0, 1, rings + 1)[1:]
    xz = centre + (outline_xz - centre)[None] * k[:, None, None]  # (rings, N, 2)
    pos = place(xz.reshape(-1, 2), lens_y).reshape(rings, n, 3)
    # a 6-dioptre-ish base curve: the centre bulges ~1.5 mm forward of the edge
    pos[..., 1] -= 0.0015 * (1 - k[:, None] ** 2)
    pos = np.concatenate([place(centre[None], lens_y - 0.0015), pos.reshape(-1, 3)])
    j = np.arange(n)
    faces = [np.stack([np.zeros(n, int), 1 + (j + 1) % n, 1 + j], 1)]
    for r in range(rings - 1):
        a0, a1 = 1 + r * n + j, 1 + r * n + (j + 1) % n
        b0, b1 = a0 + n, a1 + n
        faces += [np.stack([a0, a1, b1], 1), np.stack([a0, b1, b0], 1)]
    faces = np.concatenate(faces)
    p, q, r = pos[faces[0]]
    if np.cross(q - p, r - p)[1] > 0:  # face the viewer (-y)
        faces = faces[:, ::-1]
    uv = (pos[:, [0, 2]] - pos[:, [0, 2]].min(0)) / np.ptp(pos[:, [0, 2]], 0).clip(1e-6)
    return pos, faces, uv
