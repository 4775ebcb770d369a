"""Which point of the template head each landmark means, found by looking (no index tables).

The template head is rendered from the front with the preview renderer; the landmark detector
runs on that render; each landmark's pixel is traced back through the rasteriser to the head
triangle under it and its barycentric coordinates. The result depends only on the head's topology
and the detector, so it is cached per (topology, detector) and serves any head built on that
template: a new template topology gets its own correspondence the same way.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from machcreator.character import Character, MeshPart
from machcreator.photo.image import PhotoError
from machcreator.photo.landmarks import LandmarkDetector, find_face
from machcreator.render.preview import Camera, camera_for_part, head_box, render
from machcreator.render.raster import rasterize

#: the render the detector looks at, pixels a side
RENDER_PX = 512
#: the skin texture painted for that render when the character has none yet, texels a side
PAINT_PX = 512


@dataclass(frozen=True)
class Correspondence:
    """Landmark i lies on head triangle ``faces[i]`` at barycentrics ``bary[i]``.

    faces: (P,) int64 indices into the head part's faces (-1: the landmark fell off the head,
        e.g. on hair; such landmarks take no part in fitting); bary: (P, 3) float64.
    detector: the detector's name; topology: the head mesh's topology key.
    """

    faces: np.ndarray
    bary: np.ndarray
    detector: str
    topology: str

    @property
    def valid(self) -> np.ndarray:
        return self.faces >= 0

    def points(self, positions: np.ndarray, head_faces: np.ndarray) -> np.ndarray:
        """(P, 3) the landmarks' surface points on a head with these vertex ``positions`` (NaN where invalid)."""
        tri = positions[head_faces[np.maximum(self.faces, 0)]]  # (P, 3, 3)
        out = np.einsum("pk,pkc->pc", self.bary, tri)
        out[~self.valid] = np.nan
        return out


#: bumped when the tracing changes, so older cached correspondences are found anew
METHOD_VERSION = 2
#: where correspondences are cached unless told otherwise
CACHE_ENV = "MACH_PHOTO_CACHE"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "machcreator" / "photo")


def topology_key(head: MeshPart) -> str:
    """A short hash of which template triangles make the head: their corners' UVs in the
    template's own layout. Positions do not matter, nor how the part's seams split vertices
    (that depends on the shape), so every head built on one template shares the key."""
    corners = head.template_uvs[head.faces] if head.template_uvs is not None else head.faces
    return hashlib.sha256(np.ascontiguousarray(corners).tobytes()).hexdigest()[:16]


def front_camera(character: Character, size: int = RENDER_PX) -> Camera:
    """The frontal head close-up the correspondence is found on (the preview's head panel)."""
    return camera_for_part(head_box(character), "front", size)


#: the parts a bare face render shows
FACE_PARTS = ("head", "eyes", "teeth")


def bare_face(character: Character, expression: np.ndarray | None = None) -> Character:
    """The face as a landmark detector expects it: head, eyes and teeth only (no hair, brows or
    lashes strands hiding it), painted with the default procedural skin when the character has
    no textures yet (a geometry stage's character), posed by ``expression`` ((E,) weights of the
    character's morphs) when given. Every render the detector looks at for the fit is this one,
    so what it sees differs only in shape, pose and expression."""
    textures = character.textures
    if "head_albedo" not in textures:
        from machcreator.attributes import Attributes, resolve
        from machcreator.skin.textures import make_textures

        textures = make_textures(character, resolve(Attributes(), 0), 0, size=PAINT_PX)
    parts = [p for p in character.parts if p.name in FACE_PARTS]
    if expression is not None:
        parts = [dataclasses.replace(p, positions=(p.positions + np.einsum("e,evc->vc", expression, p.morph_deltas))
                                     .astype(np.float32)) for p in parts]
    return dataclasses.replace(character, parts=parts, grooms=[], textures=textures)


def find_correspondence(character: Character, detector: LandmarkDetector, size: int = RENDER_PX) -> Correspondence:
    """Render the head from the front, detect landmarks and trace each to its head triangle."""
    head = character.part("head")
    camera = front_camera(character, size)
    bare = bare_face(character)
    image = render(bare, camera)
    try:
        face = find_face(image, detector, label="the template render")
    except PhotoError as exc:
        raise RuntimeError(f"the landmark detector found no usable face on the template's own render: {exc}") from None
    # the eyeballs and teeth take part in the z-buffer: a landmark seen on them (an iris, an eye
    # corner over the white) must not trace through to the socket behind
    occluders = [p for p in bare.parts if p.name != "head"]
    positions = np.concatenate([head.positions, *(p.positions for p in occluders)]).astype(np.float64)
    offsets = np.cumsum([head.num_vertices] + [p.num_vertices for p in occluders])[:-1]
    all_faces = np.concatenate([head.faces] + [p.faces + o for p, o in zip(occluders, offsets)])
    xy, depth = camera.project(positions)
    face_id, _, _ = rasterize(xy, depth, all_faces, camera.height, camera.width)
    face_id = np.where(face_id < len(head.faces), face_id, -1)  # only the head's own surface counts
    px = face.points[:, :2].astype(np.float64)
    # the triangle holding the landmark's exact sub-pixel position: among those the rasteriser
    # saw at the pixels around it, the one it is most inside of
    best_inside = np.full(len(px), -np.inf)
    faces = np.full(len(px), -1, np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            rows = np.clip((px[:, 1] + dy).astype(int), 0, camera.height - 1)
            cols = np.clip((px[:, 0] + dx).astype(int), 0, camera.width - 1)
            candidate = face_id[rows, cols].astype(np.int64)
            seen = candidate >= 0
            inside = np.full(len(px), -np.inf)
            inside[seen] = _barycentric(px[seen], xy[head.faces[candidate[seen]]], clip=False).min(1)
            better = inside > best_inside
            faces[better], best_inside[better] = candidate[better], inside[better]
    faces[best_inside < -0.05] = -1  # in no triangle near it: off the head's surface (a gap, an edge)
    bary = np.zeros((len(px), 3))
    hit = faces >= 0
    bary[hit] = _barycentric(px[hit], xy[head.faces[faces[hit]]])
    return Correspondence(faces=faces, bary=bary, detector=detector.name,
                          topology=topology_key(head))


def cached_correspondence(character: Character, detector: LandmarkDetector, cache_dir: str | Path) -> Correspondence:
    """:func:`find_correspondence`, computed once per head topology and detector under ``cache_dir``."""
    head = character.part("head")
    key = topology_key(head)
    path = Path(cache_dir) / f"correspondence_{detector.name}_{key}_v{METHOD_VERSION}.npz"
    if path.is_file():
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            if meta == {"detector": detector.name, "topology": key, "version": METHOD_VERSION}:
                return Correspondence(data["faces"], data["bary"], detector.name, key)
    found = find_correspondence(character, detector)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    meta = {"detector": detector.name, "topology": key, "version": METHOD_VERSION}
    np.savez(tmp, faces=found.faces, bary=found.bary, meta=json.dumps(meta))
    tmp.replace(path)
    return found


def _barycentric(p: np.ndarray, tri: np.ndarray, clip: bool = True) -> np.ndarray:
    """(N, 2) points in (N, 3, 2) triangles -> (N, 3) barycentrics (clipped to the triangle)."""
    e1, e2, q = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], p - tri[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    area = np.where(np.abs(area) < 1e-12, 1e-12, area)
    b1 = (q[:, 0] * e2[:, 1] - q[:, 1] * e2[:, 0]) / area
    b2 = (e1[:, 0] * q[:, 1] - e1[:, 1] * q[:, 0]) / area
    b = np.stack([1 - b1 - b2, b1, b2], 1)
    if not clip:
        return b
    b = np.clip(b, 0.0, 1.0)
    return b / b.sum(1, keepdims=True)
