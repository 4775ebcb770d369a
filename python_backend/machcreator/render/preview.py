"""CPU preview renderer: a pinhole camera, one z-buffer for all parts, PBR-ish shading in linear light.

Used for the package's ``preview.png`` (the character seen without Unreal) and, later, as the
forward renderer when fitting a head to a photo (Mach §2.3 renders the textured head with the
fitted camera).

Conventions: world space is the character's (metres, Z-up, the character faces -Y, +X is the
character's left). Images are (H, W, 3), x to the right, y down (see :mod:`machcreator.render.raster`).
Colours given by the caller (background) are sRGB in [0, 1]; shading happens in linear light and
is encoded back to sRGB at the end.

Shading model, per pixel: Lambert key light + Lambert fill light + hemispheric ambient (sky above,
ground below, scaled by the ORM texture's occlusion) + normalised Blinn-Phong specular whose
exponent follows the material roughness (ORM green channel). Skin materials (names ending
``_skin``) use wrap lighting with more wrap in red than in blue, a cheap stand-in for subsurface
scattering. Tangent-space normal maps (glTF convention, +Y up) perturb the normal, and a shadow
map shadows the key light. Faces seen from behind are culled unless their material is
double-sided (as glTF viewers do); the z-buffer resolves the rest. Anti-aliasing: render at
``supersample``× and box-filter.

Strand grooms (``Character.grooms``) are drawn over the mesh by :mod:`machcreator.render.strands`
(prefiltered lines, depth-ordered by deep opacity layers, Kajiya-Kay/Marschner shading, a deep
opacity shadow map from the key light that also shades the scalp); the hair-card parts meant for
glTF viewers (names ending ``_cards``) are then left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import cv2
import numpy as np

from machcreator.character import Character, Material, MeshPart
from machcreator.render import strands
from machcreator.render.raster import interpolate, rasterize, sample_bilinear
from machcreator.core.normals import vertex_tangents
from machcreator.core.color import srgb_decode, srgb_encode

#: Near clipping distance in metres: faces with a vertex closer than this are dropped.
NEAR_M = 1e-3
#: Default direction *towards* the key light (world space): upper front, from the viewer's left.
KEY_LIGHT_DIR = (-0.6, -0.65, 0.5)
#: Default background, sRGB in [0, 1]: top colour, bottom colour of a vertical gradient.
BACKGROUND = ((0.42, 0.45, 0.50), (0.17, 0.18, 0.20))
#: Side of the key light's shadow map in texels.
SHADOW_MAP_PX = 768
#: Width of the key light's shadow penumbra, metres (a soft box, not a point light).
SHADOW_PENUMBRA_M = 0.004
#: Three-quarter views turn the camera this far (degrees) around the vertical axis.
THREE_QUARTER_DEG = 35.0
#: Mesh parts with names ending so are hair cards (for glTF viewers): left out when strands are drawn.
CARDS_SUFFIX = "_cards"

_FILL_DIR = (0.75, -0.55, 0.05)  # from the viewer's right, level: softens the key's shadow side
_KEY_INTENSITY = 1.0
_FILL_INTENSITY = 0.22
_SKY = np.array([0.30, 0.32, 0.36], np.float32)  # linear radiance of the ambient from above
_GROUND = np.array([0.10, 0.09, 0.08], np.float32)  # ... and from below
_HAIR_AMBIENT_FLOOR = 0.3  # ambient deep inside hair, as a fraction of that on its surface
_MESH_SHADOW_STEP = 4  # strand points between mesh-shadow lookups (and each tip)
_STRAND_DEPTH_BIAS_M = 0.002  # a strand this far behind the skin still shows: roots sit on a coarse mesh
_DIELECTRIC_F0 = 0.04  # reflectance at normal incidence of skin, cloth, cornea
_SKIN_WRAP = np.array([0.45, 0.22, 0.12], np.float32)  # wrap per RGB channel: red light bleeds furthest


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking from ``eye`` at ``target``.

    eye, target: (3,) metres, world space. up: (3,) world direction that appears up on screen.
    fov_deg: vertical field of view in degrees. width, height: image size in pixels.
    principal_px: where the view axis meets the image, pixels (None: the image centre; a crop
    of a photo moves it).
    """

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov_deg: float = 20.0
    width: int = 512
    height: int = 512
    principal_px: tuple[float, float] | None = None

    def basis(self) -> np.ndarray:
        """(3, 3) rows: screen right, screen down, forward (unit vectors, world space)."""
        forward = np.asarray(self.target, np.float64) - np.asarray(self.eye, np.float64)
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, np.asarray(self.up, np.float64))
        norm = np.linalg.norm(right)
        if norm < 1e-9:
            raise ValueError(f"camera up {self.up} is parallel to the view direction")
        right /= norm
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (square pixels)."""
        return 0.5 * self.height / np.tan(np.radians(self.fov_deg) / 2)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Perspective projection.

        Args:
            points: (N, 3) world positions in metres.

        Returns:
            xy: (N, 2) pixel coordinates (x right, y down; pixel centres at +0.5).
            depth: (N,) distance along the view axis in metres (meaningless xy where <= 0).
        """
        cam = (np.asarray(points, np.float64) - np.asarray(self.eye, np.float64)) @ self.basis().T
        depth = cam[:, 2]
        safe = np.where(np.abs(depth) > 1e-12, depth, 1e-12)
        centre = self.principal_px if self.principal_px is not None else (self.width / 2, self.height / 2)
        xy = self.focal_px * cam[:, :2] / safe[:, None] + np.asarray(centre)
        return xy, depth

    def scaled(self, factor: int) -> Camera:
        """The same view at ``factor`` times the resolution (for supersampling)."""
        principal = None if self.principal_px is None else (self.principal_px[0] * factor, self.principal_px[1] * factor)
        return replace(self, width=self.width * factor, height=self.height * factor, principal_px=principal)


def view_direction(view: str) -> np.ndarray:
    """Unit world direction from the subject towards the camera for a named view.

    "front": on the -Y side, looking along +Y at the character's face.
    "three_quarter" / "three_quarter_left": turned ``THREE_QUARTER_DEG`` towards the character's
    left (+X), so their left cheek shows. "three_quarter_right": towards their right (-X).
    "back": on the +Y side, looking at the back of the head.
    """
    angles = {"front": 0.0, "three_quarter": THREE_QUARTER_DEG, "three_quarter_left": THREE_QUARTER_DEG,
              "three_quarter_right": -THREE_QUARTER_DEG, "back": 180.0}
    if view not in angles:
        raise ValueError(f"unknown view {view!r}; expected one of {sorted(angles)}")
    a = np.radians(angles[view])
    return np.array([np.sin(a), -np.cos(a), 0.0])


def camera_for_part(
    points: np.ndarray,
    view: str,
    size: int | tuple[int, int],
    *,
    fov_deg: float = 20.0,
    margin: float = 0.06,
) -> Camera:
    """A camera that frames ``points`` from a named view.

    The camera aims at the centre of the points' bounding box from :func:`view_direction` and
    stands just far enough back that every point projects inside the image, leaving ``margin``
    (a fraction of the half-width/half-height) empty on each side.

    Args:
        points: (N, 3) world positions in metres (a whole body, or a head's landmarks box).
        view: "front", "three_quarter" ("three_quarter_left"), "three_quarter_right", "back".
        size: image side in pixels, or (width, height).
        fov_deg: vertical field of view in degrees.
        margin: in [0, 1).

    Returns:
        The framing camera.
    """
    points = np.asarray(points, np.float64).reshape(-1, 3)
    if len(points) == 0:
        raise ValueError("camera_for_part needs at least one point")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be in [0, 1), got {margin}")
    width, height = (size, size) if isinstance(size, int) else size
    target = 0.5 * (points.min(0) + points.max(0))
    probe = Camera(eye=tuple(target + view_direction(view)), target=tuple(target), fov_deg=fov_deg,
                   width=width, height=height)
    rel = (points - target) @ probe.basis().T  # (N, 3): right, down, forward from the target
    tan_y = np.tan(np.radians(fov_deg) / 2) * (1.0 - margin)
    tan_x = tan_y * width / height
    # a point at forward offset c projects inside iff |a| / (d + c) <= tan: d >= |a| / tan - c
    need = np.maximum(np.abs(rel[:, 0]) / tan_x, np.abs(rel[:, 1]) / tan_y) - rel[:, 2]
    distance = max(float(need.max()), float((NEAR_M - rel[:, 2]).max())) * (1.0 + 1e-6) + 1e-6
    eye = target + distance * view_direction(view)
    return replace(probe, eye=tuple(eye))


def head_box(character: Character) -> np.ndarray:
    """(8, 3) corners of a box around the character's head, in metres, for framing close-ups.

    From the landmarks "head_top", "chin", "eye_center_l", "eye_center_r" when all are present
    (head height h = top - chin; the box spans the skull's typical width 0.72 h and depth 0.85 h
    and a little neck below the chin); otherwise the bounding box of the part named "head".
    """
    lm = character.landmarks
    if all(k in lm for k in ("head_top", "chin", "eye_center_l", "eye_center_r")):
        top, chin = np.asarray(lm["head_top"], np.float64), np.asarray(lm["chin"], np.float64)
        eyes = 0.5 * (np.asarray(lm["eye_center_l"], np.float64) + np.asarray(lm["eye_center_r"], np.float64))
        h = float(top[2] - chin[2])
        lo = np.array([eyes[0] - 0.36 * h, eyes[1] - 0.12 * h, chin[2] - 0.12 * h])
        hi = np.array([eyes[0] + 0.36 * h, eyes[1] + 0.75 * h, top[2] + 0.02 * h])
    else:
        pos = character.part("head").positions
        lo, hi = pos.min(0).astype(np.float64), pos.max(0).astype(np.float64)
    return _box_corners(lo, hi)


def _box_corners(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the axis-aligned box from ``lo`` (3,) to ``hi`` (3,)."""
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], np.float64)
    return lo + corners * (hi - lo)


def hair_box(character: Character, drop: float = 0.5) -> np.ndarray:
    """(8, 3) corners of :func:`head_box` grown around the grooms' strands, metres.

    Hair that hangs below the head (a ponytail, a braid, long hair) is framed down to ``drop``
    head-box heights below the box, about the shoulders; below that it is cut off, so that the
    head still fills the view. Without grooms: :func:`head_box`.
    """
    head = head_box(character)
    lo, hi = head.min(0), head.max(0)
    floor = lo[2] - drop * (hi[2] - lo[2])
    for g in character.grooms:
        pts = np.asarray(g.points)[:: max(1, len(g.points) // 100_000)]  # a frame needs no more
        pts = pts[pts[:, 2] >= floor]
        if len(pts):
            lo, hi = np.minimum(lo, pts.min(0)), np.maximum(hi, pts.max(0))
    return _box_corners(lo, hi)


# --- colour -------------------------------------------------------------------------------------

_SRGB_LUT8 = srgb_decode(np.arange(256, dtype=np.uint8))  # uint8 texel -> linear, by lookup


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> (H, W, 3) (grey is repeated, alpha dropped)."""
    image = image if image.ndim == 3 else image[..., None]
    return image[..., :3] if image.shape[2] >= 3 else np.repeat(image[..., :1], 3, axis=2)


def _decode_texture(image: np.ndarray, srgb: bool, max_side: int) -> np.ndarray:
    """A uint8/uint16/float texture -> (H, W, 3) float32 in [0, 1], linearised when ``srgb``.

    Textures larger than ``max_side`` are area-averaged down first (in their stored encoding): a
    preview never shows more texels than pixels, and decoding and sampling get cheaper.
    """
    rgb = np.ascontiguousarray(_as_rgb(np.asarray(image)))
    h, w = rgb.shape[:2]
    if max(h, w) > max_side:
        k = max_side / max(h, w)
        rgb = cv2.resize(rgb, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA)
        rgb = rgb if rgb.ndim == 3 else rgb[..., None]
    if rgb.dtype == np.uint8 and srgb:
        return _SRGB_LUT8[rgb]
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(rgb.dtype, 1.0)
    values = rgb.astype(np.float32) / np.float32(scale)
    return srgb_decode(values) if srgb else values


# --- the scene: every part concatenated, textures decoded once ------------------------------------

@dataclass
class _ShadedMaterial:
    albedo: np.ndarray | None  # (H, W, 3) linear, or None
    orm: np.ndarray | None  # (H, W, 3) linear data, or None
    normal: np.ndarray | None  # (H, W, 3) tangent-space normal map in [0, 1], or None
    color: np.ndarray  # (3,) linear base colour factor
    roughness: float
    metallic: float
    skin: bool
    double_sided: bool


@dataclass
class _Scene:
    positions: np.ndarray  # (V, 3) float64 metres
    attrs: np.ndarray  # (V, 12) float32: position (3), normal (3), uv (2), glTF tangent (4)
    faces: np.ndarray  # (F, 3) int64 into the concatenated vertices
    face_material: np.ndarray  # (F,) int index into materials
    materials: list[_ShadedMaterial]
    through_hair: np.ndarray | None = None  # (V,) float32 share of the key light the hair lets through

    @property
    def double_sided(self) -> np.ndarray:
        """(F,) bool: faces whose material is double-sided."""
        return np.array([m.double_sided for m in self.materials])[self.face_material]


def _texture(character: Character, key: str | None, material: Material, srgb: bool, max_side: int) -> np.ndarray | None:
    if key is None:
        return None
    if key not in character.textures:
        raise KeyError(f"material {material.name!r} names texture {key!r}, which the character lacks")
    return _decode_texture(character.textures[key], srgb, max_side)


def _visible_parts(character: Character) -> list[MeshPart]:
    """The mesh parts drawn: with strands to draw, hair cards (meant for glTF viewers) would hide
    them; this renderer has no blending, so mostly clear surfaces (clear lenses) are left out and
    tinted ones drawn opaque."""
    def clear(p: MeshPart) -> bool:
        m = character.materials[p.material]
        return m.alpha_mode == "BLEND" and m.base_color_factor[3] < 0.5

    return [p for p in character.parts if not (character.grooms and p.name.endswith(CARDS_SUFFIX)) and not clear(p)]


def _prepare_scene(character: Character, max_texture_px: int) -> _Scene:
    """Concatenate all parts (vertex offsets on faces) and decode each material's textures once,
    no larger than ``max_texture_px`` on a side. Hair cards are left out when the character has grooms."""
    parts = _visible_parts(character)
    if not parts:
        raise ValueError("the character has no mesh parts to render")
    names = sorted({p.material for p in parts})
    decoded: dict[str, np.ndarray | None] = {}
    materials = []
    for name in names:
        if name not in character.materials:
            raise KeyError(f"a mesh part uses material {name!r}, which the character lacks")
        m = character.materials[name]
        for key, srgb in ((m.base_color_texture, True), (m.orm_texture, False), (m.normal_texture, False)):
            if key not in decoded:
                decoded[key] = _texture(character, key, m, srgb, max_texture_px)
        materials.append(_ShadedMaterial(
            albedo=decoded[m.base_color_texture], orm=decoded[m.orm_texture], normal=decoded[m.normal_texture],
            color=np.asarray(m.base_color_factor[:3], np.float32),  # glTF: the factor is linear
            roughness=float(m.roughness_factor), metallic=float(m.metallic_factor), skin=name.endswith("_skin"),
            double_sided=bool(m.double_sided),
        ))
    pos, attrs, faces, face_mat = [], [], [], []
    offset = 0
    for p in parts:
        pos.append(np.asarray(p.positions, np.float64))
        tangents = vertex_tangents(p.positions, p.normals, p.uvs, p.faces)
        attrs.append(np.concatenate([p.positions, p.normals, p.uvs, tangents], 1).astype(np.float32))
        faces.append(np.asarray(p.faces, np.int64) + offset)
        face_mat.append(np.full(len(p.faces), names.index(p.material), np.int64))
        offset += p.num_vertices
    return _Scene(np.concatenate(pos), np.concatenate(attrs), np.concatenate(faces), np.concatenate(face_mat),
                  materials)


# --- shading --------------------------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def perturb_normal(normal: np.ndarray, tangent: np.ndarray, texel: np.ndarray) -> np.ndarray:
    """Apply a glTF tangent-space normal map.

    Args:
        normal: (N, 3) unit surface normals. tangent: (N, 4) glTF tangents (xyz along +U, w the
            handedness). texel: (N, 3) normal-map values in [0, 1] (+X right, +Y up, +Z out).

    Returns:
        (N, 3) unit normals.
    """
    t = _unit(tangent[:, :3] - (tangent[:, :3] * normal).sum(1, keepdims=True) * normal)
    b = np.cross(normal, t) * np.where(tangent[:, 3:4] < 0, -1.0, 1.0).astype(np.float32)
    m = texel * 2.0 - 1.0
    return _unit(m[:, 0:1] * t + m[:, 1:2] * b + m[:, 2:3] * normal).astype(np.float32)


def shade(
    albedo: np.ndarray,
    normal: np.ndarray,
    to_eye: np.ndarray,
    roughness: np.ndarray,
    metallic: np.ndarray,
    occlusion: np.ndarray,
    skin: np.ndarray,
    light_dir: np.ndarray,
    key_visibility: np.ndarray | None = None,
) -> np.ndarray:
    """Outgoing linear radiance of N surface points.

    Args:
        albedo: (N, 3) linear base colour. normal, to_eye: (N, 3) unit vectors (surface normal,
            direction from the point to the eye). roughness, metallic, occlusion: (N,) in [0, 1].
        skin: (N,) bool, use wrap lighting. light_dir: (3,) unit direction towards the key light.
        key_visibility: (N,) in [0, 1], how much of the key light reaches each point (shadows);
            None: all of it. Points turned away from the key keep their wrap light.

    Returns:
        (N, 3) float32 linear radiance (not clipped).
    """
    wrap = np.where(skin[:, None], _SKIN_WRAP, 0.0).astype(np.float32)  # (N, 3)
    diffuse_albedo = albedo * (1.0 - metallic)[:, None]
    f0 = _DIELECTRIC_F0 * (1.0 - metallic)[:, None] + albedo * metallic[:, None]
    # Blinn-Phong exponent from GGX-style alpha = roughness^2: n = 2 / alpha^2 - 2, normalised
    alpha = np.clip(roughness, 0.05, 1.0) ** 2
    shininess = np.clip(2.0 / alpha**2 - 2.0, 1.0, 4096.0)
    norm = (shininess + 8.0) / (8.0 * np.pi)
    out = np.zeros_like(albedo)
    lights = ((light_dir, _KEY_INTENSITY, key_visibility),
              (_unit(np.asarray(_FILL_DIR, np.float32)), _FILL_INTENSITY, None))
    for direction, intensity, visibility in lights:
        n_dot_l = normal @ direction.astype(np.float32)  # (N,)
        diffuse = np.maximum((n_dot_l[:, None] + wrap) / (1.0 + wrap), 0.0)
        half = _unit(to_eye + direction.astype(np.float32))
        n_dot_h = np.maximum((normal * half).sum(1), 0.0)
        spec = norm * n_dot_h**shininess * np.maximum(n_dot_l, 0.0)
        lit = diffuse_albedo * diffuse + f0 * spec[:, None]
        if visibility is not None:
            # the shadow map decides where the key faces the point; the wrap term decides beyond
            facing = np.clip(n_dot_l / 0.25, 0.0, 1.0)
            lit *= (1.0 - facing * (1.0 - visibility))[:, None]
        out += intensity * lit
    sky = 0.5 + 0.5 * normal[:, 2:3]
    ambient = _GROUND + (_SKY - _GROUND) * sky
    out += diffuse_albedo * ambient * occlusion[:, None]
    # metals have no diffuse light: they show the sky and ground they mirror (blurred towards the
    # normal as they roughen), or gold and silver render near black. A dielectric's 4% mirror
    # term is left out, as the ambient has no such term for it either.
    mirror = _unit(2.0 * (normal * to_eye).sum(1, keepdims=True) * normal - to_eye)
    seen = _unit(mirror + (normal - mirror) * roughness[:, None])
    env = _GROUND + (_SKY - _GROUND) * (0.5 + 0.5 * seen[:, 2:3])
    out += (albedo * metallic[:, None]) * env * occlusion[:, None]
    return out.astype(np.float32)


def tonemap(radiance: np.ndarray, knee: float = 0.8) -> np.ndarray:
    """Linear radiance -> [0, 1): identity below ``knee``, then an exponential shoulder.

    Keeps mid-tones exact while highlights roll off instead of clipping flat. Any shape.
    """
    over = np.maximum(radiance - knee, 0.0)
    shoulder = knee + (1.0 - knee) * (1.0 - np.exp(-over / (1.0 - knee)))
    return np.where(radiance > knee, shoulder, radiance).astype(np.float32)


def _background(height: int, width: int, colors: tuple) -> np.ndarray:
    """(H, W, 3) linear vertical gradient between two sRGB colours (top, bottom)."""
    top, bottom = (srgb_decode(np.asarray(c, np.float32)) for c in colors)
    t = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None, None]
    return np.broadcast_to(top + (bottom - top) * t, (height, width, 3)).astype(np.float32)


def _facing(xy: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) bool: faces whose front is seen in a y-down image of vertices ``xy`` (V, 2).

    Faces wound counter-clockwise seen from outside turn clockwise on a y-down screen.
    """
    tri = xy[faces]
    d1, d2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    return d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0] < 0


def key_light_visibility(scene: _Scene, points: np.ndarray, normals: np.ndarray, light_dir: np.ndarray,
                         size: int = SHADOW_MAP_PX) -> np.ndarray:
    """How much of the key light reaches each point: an orthographic shadow map, percentage-closer filtered.

    Args:
        scene: every part (shadow casters). points, normals: (N, 3) receivers, metres, unit normals.
        light_dir: (3,) unit direction towards the light.
        size: shadow map side in texels; it spans the receivers' bounding box plus a margin.

    Returns:
        (N,) float32 in [0, 1] (0 = fully shadowed).
    """
    basis = strands.light_basis(light_dir)  # light space: x, y, depth
    margin = 0.02  # metres around the receivers, seen from the light
    light_space = scene.positions @ basis.T
    receivers = points @ basis.T
    span_lo, span_hi = receivers.min(0) - margin, receivers.max(0) + margin
    # casters: whatever lies over the receivers as the light sees them, nearer to it than the farthest
    over = np.all((light_space[:, :2] >= span_lo[:2]) & (light_space[:, :2] <= span_hi[:2]), axis=1)
    over &= light_space[:, 2] <= span_hi[2]
    texel = float((span_hi - span_lo)[:2].max()) / size
    xy = (light_space[:, :2] - span_lo[:2]) / texel
    # closed surfaces: the faces turned towards the light alone decide what is lit (half the work)
    faces = scene.faces[over[scene.faces].any(1) & (_facing(xy, scene.faces) | scene.double_sided)]
    _, _, zbuf = rasterize(xy, light_space[:, 2], faces, size, size)
    # receivers step off their surface by a few texels along the normal: no self-shadowing acne
    offset = points + normals * np.float32(2.5 * texel)
    recv = offset @ basis.T
    col, row = (recv[:, 0] - span_lo[0]) / texel - 0.5, (recv[:, 1] - span_lo[1]) / texel - 0.5
    # 5×5 taps spread over the penumbra of a soft key light, whatever the map's texel size
    step = max(1, round(SHADOW_PENUMBRA_M / 2 / texel))
    lit = np.zeros(len(points), np.float32)
    for dr in (-2, -1, 0, 1, 2):
        for dc in (-2, -1, 0, 1, 2):
            r = np.clip(np.round(row).astype(np.int64) + dr * step, 0, size - 1)
            c = np.clip(np.round(col).astype(np.int64) + dc * step, 0, size - 1)
            # a tap away from the point sees the surface's own slope: tolerate up to 45°
            lit += recv[:, 2] <= zbuf[r, c] + (1.5 + step * np.hypot(dr, dc)) * texel
    return lit / 25.0


# --- strands ------------------------------------------------------------------------------------

@dataclass
class _LitStrands:
    """The strands of one groom that some view draws (the first in its drawing order), lit once.

    points: (Q, 3) metres. widths: (Q,) metres. colors: (Q, 3) linear.
    counts: (n,) points per strand. key_visibility: (Q,) key light reaching each point (mesh and
    hair shadows). occlusion: (Q,) ambient reaching each point (less deep inside the hair).
    total: strands in the groom (a view drawing m of them scales their optical depth by total/m).
    """

    points: np.ndarray
    widths: np.ndarray
    colors: np.ndarray
    counts: np.ndarray
    key_visibility: np.ndarray
    occlusion: np.ndarray
    total: int


def _light_strands(
    sets: Sequence[strands.StrandSet],
    shadow: strands.HairShadow,
    scene: _Scene,
    views: Sequence[tuple[Camera, np.ndarray]],
    light_dir: np.ndarray,
) -> tuple[list[_LitStrands], list[list[int]]]:
    """Pick how many strands of each groom each view draws, and light those strands once.

    Args:
        sets: the grooms' strands. shadow: the key light's hair shadow. scene: the shadow casters.
        views: (camera, its supersampled mesh z-buffer) per view: strands hidden behind the mesh
            do not count towards the density a view needs (:func:`strands.keep_count`).
        light_dir: (3,) unit direction towards the key light.

    Returns:
        lit: per groom. drawn: per view, strands drawn per groom.
    """
    drawn: list[list[int]] = []
    for cam, zbuf in views:
        drawn.append([])
        farthest = np.maximum.reduce(strands.pixel_samples(zbuf, cam.height, cam.width))
        for s in sets:
            index, counts = s.take(min(s.num_strands, 256))
            xy, depth = cam.project(s.points[index])
            seen = ~strands.hidden_points(xy, depth, farthest, _STRAND_DEPTH_BIAS_M)
            drawn[-1].append(strands.keep_count(xy, counts, s.num_strands, cam.height, cam.width,
                                                strands.DRAW_DENSITY, seen=seen))
    taken = [s.take(max(d[k] for d in drawn)) for k, s in enumerate(sets)]  # (index, counts) per groom
    # the mesh's shadow changes slowly along a strand: looked up at every few points only, for
    # every groom at once. Strands have no normal: they step towards the light, off their skin
    samples = [strands.along_strands(counts, _MESH_SHADOW_STEP) for _, counts in taken]
    probes = np.concatenate([s.points[index[k]] for s, (index, _), k in zip(sets, taken, samples)])
    towards = np.broadcast_to(light_dir.astype(np.float32), probes.shape)
    mesh = np.split(key_light_visibility(scene, probes, towards, light_dir, size=strands.SHADOW_MAP_PX),
                    np.cumsum([len(k) for k in samples])[:-1])
    lit = []
    for s, (index, counts), k, m in zip(sets, taken, samples, mesh):
        points = s.points[index]
        through_hair = shadow.transmittance(points)
        lit.append(_LitStrands(points=points, widths=s.widths[index], colors=s.colors[index], counts=counts,
                               key_visibility=strands.interpolate_along(k, m, len(points)) * through_hair,
                               occlusion=_HAIR_AMBIENT_FLOOR + (1 - _HAIR_AMBIENT_FLOOR) * through_hair,
                               total=s.num_strands))
    return lit, drawn


def _draw_hair(image: np.ndarray, zbuf: np.ndarray, camera: Camera, lit: Sequence[_LitStrands], drawn: Sequence[int],
               light_dir: np.ndarray) -> np.ndarray:
    """Composite the first ``drawn[k]`` strands of each groom over a view's linear (H, W, 3) image.

    zbuf: (s*H, s*W) the view's supersampled mesh depth, metres. Returns the (H, W, 3) image.
    """
    ends = [int(g.counts[:n].sum()) for g, n in zip(lit, drawn)]  # points of the drawn strands

    def gather(field: str) -> np.ndarray:
        return np.concatenate([getattr(g, field)[:q] for g, q in zip(lit, ends)])

    counts = np.concatenate([g.counts[:n] for g, n in zip(lit, drawn)])
    tau_scale = np.concatenate([np.full(n, g.total / max(n, 1), np.float32) for g, n in zip(lit, drawn)])
    # long segments (long hair in a close-up) would show as kinks: refine them along a spline,
    # as finely as a sample of the strands needs
    original = gather("points")
    factor = strands.refinement(camera.project(original[:int(counts[:256].sum())])[0], counts[:256])
    start, t, refined_counts = strands.refine_strands(counts, factor)
    points = strands.catmull_rom(original, counts, start, t)

    def refined(field: str) -> np.ndarray:
        return strands.lerp_strands(gather(field), start, t)

    xy, depth = camera.project(points)
    to_eye = _unit(np.asarray(camera.eye, np.float32) - points)
    lights = ((light_dir, _KEY_INTENSITY, refined("key_visibility")),
              (_unit(np.asarray(_FILL_DIR, np.float32)), _FILL_INTENSITY, None))
    ambient = 0.5 * (_SKY + _GROUND) * refined("occlusion")[:, None]
    tangents = strands.strand_tangents(points, refined_counts)
    radiance = strands.shade_strands(refined("colors"), tangents, to_eye, lights, ambient)
    width_px = refined("widths") * camera.focal_px / np.maximum(depth, NEAR_M)
    premultiplied, alpha = strands.draw_strands(xy.astype(np.float32), depth.astype(np.float32), width_px,
                                                tonemap(radiance), refined_counts, tau_scale, zbuf, camera.height,
                                                camera.width, near=NEAR_M, depth_bias=_STRAND_DEPTH_BIAS_M)
    return image * (1.0 - alpha[..., None]) + premultiplied


def _render_mesh(scene: _Scene, camera: Camera, light_dir: np.ndarray, background: tuple,
                 supersample: int) -> tuple[np.ndarray, np.ndarray]:
    """The mesh seen by ``camera``.

    Returns:
        image: (H, W, 3) float32 linear, box-filtered from ``supersample``×.
        zbuf: (s*H, s*W) float32 depth along the view, metres (+inf where empty).
    """
    cam = camera.scaled(supersample)
    h, w = cam.height, cam.width
    xy, depth = cam.project(scene.positions)
    # culling faces seen from behind (unless double-sided, as glTF viewers do) halves the
    # rasteriser's work on closed meshes
    facing = _facing(xy, scene.faces)
    keep = (depth[scene.faces] > NEAR_M).all(1) & (facing | scene.double_sided)
    faces, face_mat, backside = scene.faces[keep], scene.face_material[keep], ~facing[keep]
    face_id, bary, zbuf = rasterize(xy, depth, faces, h, w)
    image = _background(h, w, background).copy()
    hit = face_id >= 0
    if hit.any():
        vals = interpolate(scene.attrs, faces, face_id, bary)[hit]  # (N, 12)
        mat = face_mat[face_id[hit]]
        position, normal, uv, tangent = vals[:, 0:3], _unit(vals[:, 3:6]), vals[:, 6:8], vals[:, 8:12]
        flip = backside[face_id[hit]]
        normal[flip] *= -1.0  # the back of a double-sided face (glTF: flip the normal)
        visibility = key_light_visibility(scene, position, normal, light_dir)
        if scene.through_hair is not None:  # the scalp under the hair, the face under a fringe
            visibility *= interpolate(scene.through_hair[:, None], faces, face_id, bary)[hit][:, 0]
        n = len(mat)
        albedo = np.empty((n, 3), np.float32)
        rough = np.empty(n, np.float32)
        metal = np.empty(n, np.float32)
        occl = np.ones(n, np.float32)
        skin = np.zeros(n, bool)
        for i, m in enumerate(scene.materials):
            sel = mat == i
            if not sel.any():
                continue
            albedo[sel] = m.color if m.albedo is None else sample_bilinear(m.albedo, uv[sel]) * m.color
            rough[sel], metal[sel], skin[sel] = m.roughness, m.metallic, m.skin
            if m.orm is not None:
                orm = sample_bilinear(m.orm, uv[sel])
                occl[sel], rough[sel], metal[sel] = orm[:, 0], orm[:, 1] * m.roughness, orm[:, 2] * m.metallic
            if m.normal is not None:
                normal[sel] = perturb_normal(normal[sel], tangent[sel], sample_bilinear(m.normal, uv[sel]))
        to_eye = _unit(np.asarray(cam.eye, np.float32) - position)
        image[hit] = tonemap(shade(albedo, normal, to_eye, rough, metal, occl, skin, light_dir, visibility))
    # box filter in linear light
    return image.reshape(camera.height, supersample, camera.width, supersample, 3).mean((1, 3)), zbuf


def _render_views(character: Character, cameras: Sequence[Camera], light_dir: np.ndarray, background: tuple,
                  supersample: int) -> list[np.ndarray]:
    """Each camera's view of the character's mesh and strands, (H, W, 3) uint8 sRGB."""
    scene = _prepare_scene(character, max(max(c.width, c.height) for c in cameras) * supersample)
    sets = [s for i, g in enumerate(character.grooms) if (s := strands.strand_set(g, seed=i)) is not None]
    shadow = strands.hair_shadow(sets, light_dir) if sets else None
    if shadow is not None:
        # hair shades the skin at the vertices: its shadow is soft, and a lookup per pixel costs
        scene = replace(scene, through_hair=shadow.transmittance(scene.positions))
    # panels are independent and numpy/OpenCV release the GIL in their heavy loops: one per core
    with ThreadPoolExecutor(max_workers=min(len(cameras), os.cpu_count() or 1)) as pool:
        meshes = list(pool.map(lambda c: _render_mesh(scene, c, light_dir, background, supersample), cameras))
        if not sets:
            return [srgb_encode(image) for image, _ in meshes]
        # strands are prefiltered lines: drawn at the output size, over the box-filtered mesh
        lit, drawn = _light_strands(sets, shadow, scene, [(c, zbuf) for c, (_, zbuf) in zip(cameras, meshes)], light_dir)
        return list(pool.map(lambda args: srgb_encode(_draw_hair(args[1][0], args[1][1], args[0], lit, args[2], light_dir)),
                             zip(cameras, meshes, drawn)))


def render(
    character: Character,
    camera: Camera,
    *,
    light_dir: tuple[float, float, float] = KEY_LIGHT_DIR,
    background: tuple = BACKGROUND,
    supersample: int = 2,
) -> np.ndarray:
    """Render all parts of a character in one z-buffer, and its grooms' strands over them.

    Args:
        character: the character; each part's material base-colour texture (else its factor) and
            ORM texture (occlusion, roughness, metallic) are used.
        camera: the view; the output has its width and height.
        light_dir: (3,) world direction *towards* the key light (need not be unit length).
        background: (top, bottom) sRGB colours in [0, 1] of a vertical gradient.
        supersample: render at this many times the resolution and box-filter down (anti-aliasing).

    Returns:
        (camera.height, camera.width, 3) uint8 sRGB image.
    """
    if supersample < 1:
        raise ValueError(f"supersample must be >= 1, got {supersample}")
    return _render_views(character, [camera], _unit(np.asarray(light_dir, np.float32)), background, supersample)[0]


def render_preview(character: Character, size: int = 512) -> np.ndarray:
    """The package preview: four square panels side by side, each ``size`` pixels.

    Layout, left to right: (1) full body from the front, (2) head close-up from the front,
    (3) head close-up three-quarter (turned towards the character's left), (4) the back of the
    head, framed with the hair hanging from it (:func:`hair_box`: a ponytail, bun or braid reads).
    Close-ups are framed with :func:`head_box`. Grooms are drawn as strands on every panel. Panels
    up to 1024 px are rendered 2× supersampled, larger ones at 1× (memory).

    Returns:
        (size, 4 * size, 3) uint8 sRGB image.
    """
    supersample = 2 if size <= 1024 else 1
    body = np.concatenate([p.positions for p in _visible_parts(character)])
    head = head_box(character)
    cameras = (
        camera_for_part(body, "front", size),
        camera_for_part(head, "front", size),
        camera_for_part(head, "three_quarter", size),
        camera_for_part(hair_box(character), "back", size),
    )
    light = _unit(np.asarray(KEY_LIGHT_DIR, np.float32))
    return np.concatenate(_render_views(character, cameras, light, BACKGROUND, supersample), axis=1)
