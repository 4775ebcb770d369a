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

from machcreator.character import Character
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


#: where correspondences are cached unless told otherwise
CACHE_ENV = "MACH_PHOTO_CACHE"


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "machcreator" / "photo")


def topology_key(head_faces: np.ndarray, num_vertices: int) -> str:
    """A short hash of the head mesh's connectivity (positions do not matter)."""
    digest = hashlib.sha256(np.ascontiguousarray(head_faces, np.int64).tobytes())
    digest.update(str(num_vertices).encode())
    return digest.hexdigest()[:16]


def front_camera(character: Character, size: int = RENDER_PX) -> Camera:
    """The frontal head close-up the correspondence is found on (the preview's head panel)."""
    return camera_for_part(head_box(character), "front", size)


def find_correspondence(character: Character, detector: LandmarkDetector, size: int = RENDER_PX) -> Correspondence:
    """Render the head from the front, detect landmarks and trace each to its head triangle."""
    head = character.part("head")
    camera = front_camera(character, size)
    # the face as a detector expects it: no hair, brows or lashes strands hiding it; skin, eyes
    # and teeth painted (a bare geometry stage's character has no textures yet)
    textures = character.textures
    if "head_albedo" not in textures:
        from machcreator.attributes import Attributes, resolve
        from machcreator.skin.textures import make_textures

        textures = make_textures(character, resolve(Attributes(), 0), 0, size=PAINT_PX)
    bare = dataclasses.replace(character, parts=[p for p in character.parts if p.name in ("head", "eyes", "teeth")],
                               grooms=[], textures=textures)
    image = render(bare, camera)
    try:
        face = find_face(image, detector, label="the template render")
    except PhotoError as exc:
        raise RuntimeError(f"the landmark detector found no usable face on the template's own render: {exc}") from None
    xy, depth = camera.project(head.positions.astype(np.float64))
    face_id, _, _ = rasterize(xy, depth, head.faces, camera.height, camera.width)
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
                          topology=topology_key(head.faces, head.num_vertices))


def cached_correspondence(character: Character, detector: LandmarkDetector, cache_dir: str | Path) -> Correspondence:
    """:func:`find_correspondence`, computed once per head topology and detector under ``cache_dir``."""
    head = character.part("head")
    key = topology_key(head.faces, head.num_vertices)
    path = Path(cache_dir) / f"correspondence_{detector.name}_{key}.npz"
    if path.is_file():
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            if meta == {"detector": detector.name, "topology": key}:
                return Correspondence(data["faces"], data["bary"], detector.name, key)
    found = find_correspondence(character, detector)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, faces=found.faces, bary=found.bary, meta=json.dumps({"detector": detector.name, "topology": key}))
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
