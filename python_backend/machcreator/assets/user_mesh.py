"""A studio's own garments: glTF meshes authored on the reference body, fitted to any generated body.

The reference body (:data:`REFERENCE_OVERRIDES`) is the body our pipeline builds for
``resolve(apply_overrides(Attributes(), REFERENCE_OVERRIDES), seed=0)``: a 30-year-old woman of
average height, weight and muscle (``mach assets reference-body -o ref.glb`` writes it, glTF
Y-up metres, so an artist can model clothes on it). Every generated body has the same welded
anny topology in :class:`~machcreator.assets.fitting.BodySurface`: the same triangles in the same
order (:func:`check_same_topology` verifies it), so a garment is fitted by

1. binding each garment vertex to its nearest point on the reference skin (triangle,
   barycentric coordinates, and the offset in that triangle's frame: along its edge, across,
   along its normal),
2. re-evaluating the binding on the target skin's same triangle,
3. pushing out whatever ended up inside the target skin, and
4. transferring the skin weights of the nearest target skin, so the garment follows every pose.

UVs and the material's base colour (factor and embedded texture) are kept.

Reading a user's file is hostile-input code: size, triangle count, URIs, JSON and numbers are
all checked before trimesh decodes it (:func:`check_asset_glb`).
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from machcreator.assets.fitting import BodySurface, FittedAsset, asset_part, push_out, transfer_weights
from machcreator.assets.library import Asset, AssetError
from machcreator.attributes import COLORS, Attributes, apply_overrides, resolve
from machcreator.character import Material

#: the attributes of the body user meshes are authored on (seed 0 fills the rest)
REFERENCE_OVERRIDES: tuple[str, ...] = (
    "body.gender=female", "body.age_years=30", "body.height=0", "body.weight=0", "body.muscle=0",
    "body.ancestry=mixed",
)
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_TRIANGLES = 500_000
MAX_JSON_BYTES = 8 * 1024 * 1024
#: a garment vertex ends at least this far outside the target skin, metres
CLEARANCE_M = 0.003
#: glTF Y-up <-> our Z-up, -Y forward: (x, y, z)_gltf = (x, z, -y)
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
#: where on the reference body (share of its height, feet at 0) each category must reach, and how
#: far (median, metres) from the skin its vertices may sit
_REGION: dict[str, tuple[float, float, float]] = {
    "top": (0.45, 0.85, 0.15), "dress": (0.3, 0.85, 0.2), "outerwear": (0.4, 0.85, 0.2),
    "bottom": (0.0, 0.6, 0.15), "shoes": (-0.02, 0.1, 0.1), "glasses": (0.86, 0.97, 0.1),
    "headwear": (0.86, 1.1, 0.15), "accessory": (0.0, 1.05, 0.3),
}


def reference_attributes() -> Attributes:
    return resolve(apply_overrides(Attributes(), list(REFERENCE_OVERRIDES)), 0)


@lru_cache(maxsize=1)
def reference_surface() -> BodySurface:
    """The reference body's skin (built once per process, about 5 s with anny loading)."""
    from machcreator.body.geometry import build_geometry

    return BodySurface.from_character(build_geometry(reference_attributes()))


def write_reference_glb(path: Path, surface: BodySurface | None = None) -> None:
    """The reference skin as a plain glb (Y-up metres) to model garments on."""
    import trimesh

    surface = surface if surface is not None else reference_surface()
    mesh = trimesh.Trimesh(surface.positions @ _Z_UP_TO_Y_UP.T, surface.faces, process=False)
    Path(path).write_bytes(mesh.export(file_type="glb"))


# --- reading a user's glb -------------------------------------------------------------------

@dataclass
class UserMeshPart:
    """One primitive of a user's glb, in our axes (metres, Z-up)."""

    positions: np.ndarray  # (V, 3) float64
    faces: np.ndarray  # (F, 3) int64
    uvs: np.ndarray | None  # (V, 2) top-left origin
    base_color: tuple[float, float, float, float]
    texture: np.ndarray | None  # (H, W, 3|4) uint8
    double_sided: bool


def _glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a binary glTF, checked for shape; AssetError if the bytes are not one."""
    if len(data) < 20 or data[:4] != b"glTF":
        raise AssetError("not a glb file (a binary glTF 2.0 starts with 'glTF')")
    version, length = struct.unpack_from("<II", data, 4)
    chunk_len, chunk_type = struct.unpack_from("<II", data, 12)
    if version != 2 or length != len(data) or chunk_type != 0x4E4F534A or 20 + chunk_len > len(data):
        raise AssetError("malformed glb header (truncated, or not glTF 2.0)")
    if chunk_len > MAX_JSON_BYTES:
        raise AssetError(f"glb JSON chunk is larger than {MAX_JSON_BYTES // 2**20} MB")
    try:
        doc = json.loads(data[20:20 + chunk_len])
    except (ValueError, RecursionError):  # RecursionError: a deeply nested JSON bomb
        raise AssetError("the glb's JSON is invalid") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise AssetError("the glb's JSON is not a glTF document")
    return doc


def _check_doc(doc: dict[str, Any]) -> None:
    """External references and the triangle count, before anything decodes the buffers."""
    for kind in ("buffers", "images"):
        for item in doc.get(kind) or []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if uri is not None and not (isinstance(uri, str) and uri.startswith("data:")):
                raise AssetError(f"the glb refers to an external file {str(uri)[:80]!r}: embed everything in the glb")
    accessors = doc.get("accessors") or []
    triangles = 0
    try:
        for mesh in doc.get("meshes") or []:
            for prim in mesh.get("primitives") or []:
                if prim.get("mode", 4) != 4:
                    continue
                index = prim.get("indices", prim.get("attributes", {}).get("POSITION"))
                triangles += int(accessors[index]["count"]) // 3
    except (TypeError, KeyError, IndexError, AttributeError, ValueError):
        raise AssetError("the glb's meshes refer to missing accessors") from None
    if triangles > MAX_TRIANGLES:
        raise AssetError(f"the glb has {triangles:,} triangles; at most {MAX_TRIANGLES:,}")


def read_glb(data: bytes) -> list[UserMeshPart]:
    """The triangle meshes of a checked glb, node transforms applied, in our axes."""
    import trimesh

    _check_doc(_glb_json(data))
    try:
        scene = trimesh.load(io.BytesIO(data), file_type="glb", force="scene", process=False)
    except Exception as exc:  # trimesh raises many kinds on corrupt buffers
        raise AssetError(f"cannot read the glb: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}") from None
    parts: list[UserMeshPart] = []
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        mesh = scene.geometry[name]
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            continue
        positions = trimesh.transform_points(np.asarray(mesh.vertices, np.float64), transform) @ _Z_UP_TO_Y_UP
        uvs, color, texture, double_sided = None, (1.0, 1.0, 1.0, 1.0), None, False
        material = getattr(mesh.visual, "material", None)
        if getattr(mesh.visual, "uv", None) is not None and len(mesh.visual.uv) == len(positions):
            uvs = np.asarray(mesh.visual.uv, np.float64).copy()
            uvs[:, 1] = 1.0 - uvs[:, 1]  # trimesh flips glTF's top-left v on import: flip back
        if material is not None:
            factor = getattr(material, "baseColorFactor", None)
            if factor is not None:
                color = tuple(float(c) / (255.0 if np.asarray(factor).dtype == np.uint8 else 1.0) for c in factor)
            image = getattr(material, "baseColorTexture", None)
            if image is not None:
                texture = np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))
            double_sided = bool(getattr(material, "doubleSided", False))
        parts.append(UserMeshPart(positions, np.asarray(mesh.faces, np.int64), uvs, color, texture, double_sided))
    if not parts:
        raise AssetError("the glb holds no triangle mesh")
    for p in parts:
        if not np.isfinite(p.positions).all() or (p.uvs is not None and not np.isfinite(p.uvs).all()):
            raise AssetError("the glb has NaN or infinite vertex positions or UVs")
    return parts


def check_asset_glb(path: Path, category: str, reference: BodySurface | None = None) -> bytes:
    """The bytes of ``path`` when it is a safe, readable glb that sits on the reference body where
    a ``category`` asset belongs; AssetError (one line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"{path} is not a file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise AssetError(f"{path} is {size / 2**20:.0f} MB; at most {MAX_FILE_BYTES // 2**20} MB")
    data = path.read_bytes()
    parts = read_glb(data)
    check_on_body(np.concatenate([p.positions for p in parts]), category, reference or reference_surface())
    return data


def check_on_body(points: np.ndarray, category: str, reference: BodySurface) -> None:
    """AssetError unless ``points`` reach the body region of ``category`` and sit near the skin."""
    lo, hi, far = _REGION[category]
    height = float(reference.positions[:, 2].max())
    skin_lo, skin_hi = reference.positions.min(0) - 0.3, reference.positions.max(0) + 0.3
    box_lo, box_hi = points.min(0), points.max(0)
    hint = "model it on `mach assets reference-body` (glTF Y-up, metres)"
    if box_hi[2] < lo * height or box_lo[2] > hi * height or (box_hi[:2] < skin_lo[:2]).any() \
            or (box_lo[:2] > skin_hi[:2]).any():
        raise AssetError(f"the mesh is not where a {category} sits on the reference body; {hint}")
    distance = float(np.median(reference.tree.query(points)[0]))
    if distance > far:
        raise AssetError(f"the mesh is {distance * 100:.0f} cm from the reference body's skin (median); {hint}")


# --- fitting --------------------------------------------------------------------------------

def check_same_topology(a: BodySurface, b: BodySurface) -> np.ndarray:
    """(V,) index of each vertex of ``a`` in ``b``; raises ValueError unless both skins have the same
    triangles in the same order (what every anny body built by our pipeline has)."""
    if a.faces.shape != b.faces.shape or len(a.positions) != len(b.positions):
        raise ValueError("the two bodies do not share anny's topology")
    mapping = np.full(len(a.positions), -1, np.int64)
    mapping[a.faces.reshape(-1)] = b.faces.reshape(-1)
    if (mapping < 0).any() or not np.array_equal(mapping[a.faces], b.faces) or len(np.unique(mapping)) != len(mapping):
        raise ValueError("the two bodies' triangles do not correspond")
    return mapping


@dataclass
class Binding:
    """Points bound to a skin: ``face`` (N,), ``bary`` (N, 3), ``local`` (N, 3) offset in the face's
    frame (along its first edge, across, along its normal), metres."""

    face: np.ndarray
    bary: np.ndarray
    local: np.ndarray


def _frames(surface: BodySurface, face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corners (N, 3, 3) and orthonormal frames (N, 3, 3) (rows: edge, across, normal) of ``face``."""
    tri = surface.positions[surface.faces[face]]
    e1 = tri[:, 1] - tri[:, 0]
    n = np.cross(e1, tri[:, 2] - tri[:, 0])
    e1 /= np.maximum(np.linalg.norm(e1, axis=1, keepdims=True), 1e-12)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return tri, np.stack([e1, np.cross(n, e1), n], 1)


def bind(points: np.ndarray, surface: BodySurface, k: int = 8) -> Binding:
    """Bind each point to its nearest point on the skin: among the triangles around its ``k``
    nearest skin vertices, the one whose closest point is nearest."""
    points = np.asarray(points, np.float64)
    _, near = surface.tree.query(points, k=k)
    ring = _vertex_faces(surface)[near].reshape(len(points), -1)  # (N, k * max valence), -1 padded
    valid = ring >= 0
    cand = np.where(valid, ring, 0)
    tri = surface.positions[surface.faces[cand]]  # (N, C, 3, 3)
    closest, bary = _closest_on_triangles(np.broadcast_to(points[:, None], cand.shape + (3,)), tri)
    d = np.where(valid, np.linalg.norm(closest - points[:, None], axis=2), np.inf)
    best = d.argmin(1)
    rows = np.arange(len(points))
    face, bary = cand[rows, best], bary[rows, best]
    _, frame = _frames(surface, face)
    local = np.einsum("nij,nj->ni", frame, points - closest[rows, best])
    return Binding(face, bary, local)


def evaluate(binding: Binding, surface: BodySurface) -> np.ndarray:
    """(N, 3) the bound points placed on ``surface`` (same triangles, their frames)."""
    tri, frame = _frames(surface, binding.face)
    return np.einsum("nk,nkc->nc", binding.bary, tri) + np.einsum("nij,ni->nj", frame, binding.local)


@lru_cache(maxsize=4)
def _vertex_faces_cached(faces_bytes: bytes, n_vertices: int) -> np.ndarray:
    faces = np.frombuffer(faces_bytes, np.int64).reshape(-1, 3)
    order = np.argsort(faces.reshape(-1), kind="stable")
    vertex = faces.reshape(-1)[order]
    counts = np.bincount(vertex, minlength=n_vertices)
    out = np.full((n_vertices, max(int(counts.max()), 1)), -1, np.int64)
    slot = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    out[vertex, slot] = order // 3
    return out


def _vertex_faces(surface: BodySurface) -> np.ndarray:
    """(V, max valence) faces around each vertex, -1 padded (same for every anny body: cached)."""
    return _vertex_faces_cached(np.ascontiguousarray(surface.faces, np.int64).tobytes(), len(surface.positions))


def _closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points (..., 3) on triangles (..., 3, 3) to points (..., 3), and their barycentrics
    (..., 3): the nearest of the interior projection and the three edges' nearest points."""
    a, b, c = tri[..., 0, :], tri[..., 1, :], tri[..., 2, :]
    ab, ac = b - a, c - a
    # the plane projection in barycentrics (Cramer's rule on the 2x2 normal equations)
    d00, d01, d11 = (ab * ab).sum(-1), (ab * ac).sum(-1), (ac * ac).sum(-1)
    ap = p - a
    d20, d21 = (ap * ab).sum(-1), (ap * ac).sum(-1)
    denom = np.maximum(d00 * d11 - d01 * d01, 1e-20)
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    candidates = [np.stack([1 - v - w, v, w], -1)]
    for i, j in ((0, 1), (1, 2), (2, 0)):  # each edge: clamp the projection onto the segment
        e0, e1 = tri[..., i, :], tri[..., j, :]
        t = np.clip(((p - e0) * (e1 - e0)).sum(-1) / np.maximum(((e1 - e0) ** 2).sum(-1), 1e-20), 0.0, 1.0)
        bc = np.zeros(p.shape[:-1] + (3,))
        bc[..., i], bc[..., j] = 1 - t, t
        candidates.append(bc)
    inside = (v >= 0) & (w >= 0) & (v + w <= 1)
    best_bary = None
    best_d = np.full(p.shape[:-1], np.inf)
    for k, bc in enumerate(candidates):
        q = np.einsum("...k,...kc->...c", bc, tri)
        d = ((q - p) ** 2).sum(-1)
        if k == 0:
            d = np.where(inside, d, np.inf)
        better = d < best_d
        best_d = np.where(better, d, best_d)
        best_bary = bc if best_bary is None else np.where(better[..., None], bc, best_bary)
    return np.einsum("...k,...kc->...c", best_bary, tri), best_bary


def fit_user_mesh(asset: Asset, reference: BodySurface, target: BodySurface, num_morphs: int,
                  color: str | None = None) -> FittedAsset:
    """A library asset's glb (authored on ``reference``) fitted and skinned to ``target``.

    Args:
        asset: a user-library asset with a glb in ``asset.root``.
        num_morphs: the character's morph count (asset parts carry zero deltas).
        color: a COLORS name multiplied into the base colour (the prompt asked for it), or None
            to keep the asset's own.
    """
    check_same_topology(reference, target)
    rel = asset.entry.glb
    if asset.root is None or rel is None:
        raise AssetError(f"asset {asset.id} has no mesh file to fit")
    parts = read_glb((asset.root / rel).read_bytes())
    slug = asset.id.replace("/", "_")
    fitted, materials, textures = [], {}, {}
    for i, part in enumerate(parts):
        points = push_out(evaluate(bind(part.positions, reference), target), [target.cloud], CLEARANCE_M)
        joints, weights = transfer_weights(points, target)
        name = f"{slug}_{i}"
        factor = part.base_color
        if color is not None:
            factor = (*(c / 255.0 for c in COLORS[color]), factor[3])
        texture_key = f"{name}_albedo" if part.texture is not None else None
        if part.texture is not None:
            textures[texture_key] = part.texture
        materials[name] = Material(name, base_color_texture=texture_key, base_color_factor=tuple(factor),
                                   roughness_factor=0.8, double_sided=part.double_sided,
                                   alpha_mode="BLEND" if factor[3] < 1.0 else "OPAQUE")
        uvs = part.uvs if part.uvs is not None else np.zeros((len(points), 2))
        fitted.append(asset_part(name, name, points, part.faces, uvs, joints, weights, num_morphs))
    return FittedAsset(asset_id=asset.id, category=asset.entry.category, parts=fitted, materials=materials,
                       textures=textures, labels={"asset_id": asset.id, "library": asset.library,
                                                  "file": rel, "licence": asset.entry.licence, "color": color})
