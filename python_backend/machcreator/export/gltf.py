"""Export a :class:`~machcreator.character.Character` as one glTF 2.0 binary (.glb).

What the file holds (glTF 2.0 spec, https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html):
- Y-up metres, the character standing on +Y and facing +Z: ``(x, y, z)_gltf = (x, z, -y)`` of the
  Character's Z-up, -Y-forward space, applied to positions, normals, tangents, morph deltas and
  joint transforms alike.
- one mesh, one primitive per MeshPart with its own material, all skinned by one skin whose
  joints are a node hierarchy (local TRS) with inverse bind matrices;
- the Character's morph targets (the 52 ARKit shapes) on every primitive in one order, named in
  ``mesh.extras.targetNames`` (read by Blender, three.js and Unreal), stored as sparse accessors
  holding only the vertices a shape moves;
- metallic-roughness PBR materials whose images are PNG files next to the glb, referenced by URI.

The JSON and binary chunks are written directly (not through pygltflib) so that the output is
byte-for-byte deterministic and sparse/bufferless accessors are exactly as the spec words them.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from machcreator.character import Character, Material, MeshPart
from machcreator.core.normals import unit_rows, vertex_tangents

#: Z-up, -Y forward -> glTF Y-up, +Z forward: (x, y, z) -> (x, z, -y).
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
#: a morph delta shorter than this (metres) is treated as "does not move this vertex".
MORPH_EPSILON_M = 1e-6
#: glTF allows at most 4 influences in JOINTS_0/WEIGHTS_0.
MAX_INFLUENCES = 4
GENERATOR = "MachCreator"

# glTF enums
_FLOAT, _UBYTE, _USHORT, _UINT = 5126, 5121, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _LINEAR_MIPMAP_LINEAR = 9729, 9987
_TRIANGLES = 4
_COMPONENT = {np.dtype(np.float32): _FLOAT, np.dtype(np.uint8): _UBYTE,
              np.dtype(np.uint16): _USHORT, np.dtype(np.uint32): _UINT}
_TYPE = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}


@dataclass(frozen=True)
class GlbStats:
    """What :func:`write_glb` wrote: file size (bytes), vertex and triangle totals over all
    primitives, and how many (morph, vertex) deltas are stored as non-zero."""

    bytes: int
    vertices: int
    triangles: int
    morph_nonzero: int


# --- geometry helpers (pure functions) -----------------------------------------------------------

def to_y_up(v: np.ndarray) -> np.ndarray:
    """(..., 3) Z-up vectors/points -> (..., 3) glTF Y-up, float64."""
    return np.asarray(v, dtype=np.float64) @ Z_UP_TO_Y_UP.T


def matrices_to_y_up(m: np.ndarray) -> np.ndarray:
    """(..., 4, 4) Z-up rigid transforms -> the same transforms expressed in glTF Y-up axes."""
    c = np.eye(4)
    c[:3, :3] = Z_UP_TO_Y_UP
    return c @ np.asarray(m, dtype=np.float64) @ c.T


def local_trs(rest_world: np.ndarray, parents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split joint world transforms into glTF node TRS relative to each parent.

    rest_world: (J, 4, 4) world matrices; parents: (J,) parent index or -1.
    Returns translation (J, 3), rotation quaternion (J, 4) as glTF's (x, y, z, w), scale (J, 3).
    Any shear is dropped (a TRS node cannot hold it).
    """
    J = len(parents)
    local = np.empty((J, 4, 4))
    for j in range(J):
        p = int(parents[j])
        local[j] = rest_world[j] if p < 0 else np.linalg.inv(rest_world[p]) @ rest_world[j]
    m = local[:, :3, :3]
    scale = np.linalg.norm(m, axis=1)  # column norms
    rot = m / scale[:, None, :]
    flip = np.linalg.det(rot) < 0  # a mirrored joint: carry the reflection in the X scale
    scale[flip, 0] *= -1
    rot[flip, :, 0] *= -1
    quat = Rotation.from_matrix(rot).as_quat()  # (x, y, z, w), unit
    quat *= np.where(quat[:, 3:] < 0, -1.0, 1.0)  # one canonical sign: w >= 0
    translation = np.where(np.abs(local[:, :3, 3]) < 1e-9, 0.0, local[:, :3, 3])  # drop float noise
    return translation, quat, scale


def compose_world(translation: np.ndarray, quat: np.ndarray, scale: np.ndarray,
                  parents: np.ndarray) -> np.ndarray:
    """Inverse of :func:`local_trs`: node TRS (J, 3), (J, 4) xyzw, (J, 3) -> (J, 4, 4) world."""
    local = np.tile(np.eye(4), (len(parents), 1, 1))
    local[:, :3, :3] = Rotation.from_quat(quat).as_matrix() * scale[:, None, :]
    local[:, :3, 3] = translation
    world = np.empty_like(local)
    for j, p in enumerate(parents):
        world[j] = local[j] if p < 0 else world[int(p)] @ local[j]
    return world


def top_influences(joints: np.ndarray, weights: np.ndarray, num_joints: int,
                   k: int = MAX_INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """Keep each vertex's ``k`` strongest joints and renormalise.

    joints: (V, K) int joint indices; weights: (V, K) float. Repeated joints in a row are merged.
    Returns joints (V, k) int64 (unused slots: joint 0, weight 0) and weights (V, k) float32 whose
    rows sum to 1 in float32. Raises ValueError for a vertex with no positive weight.
    """
    V = joints.shape[0]
    dense = np.zeros((V, max(num_joints, k)))  # at least k columns, so every row has k slots
    np.add.at(dense, (np.repeat(np.arange(V), joints.shape[1]), joints.reshape(-1)),
              np.asarray(weights, dtype=np.float64).reshape(-1))
    order = np.argsort(-dense, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(dense, order, axis=1).clip(min=0.0)
    total = w.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise ValueError(f"{int((total <= 0).sum())} vertices have no positive skin weight")
    w32 = (w / total).astype(np.float32)
    w32[:, 0] += np.float32(1.0) - w32.sum(axis=1, dtype=np.float32)  # absorb float32 rounding
    j = np.where(w32 > 0, order, 0)
    return j, np.where(w32 > 0, w32, np.float32(0.0))


def sparse_morph(delta: np.ndarray, eps: float = MORPH_EPSILON_M) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) glTF-axis delta -> indices (N,) int64 of vertices moved more than ``eps`` metres,
    ascending, and their values (N, 3) float32."""
    idx = np.flatnonzero(np.linalg.norm(delta, axis=1) > eps)
    return idx, np.asarray(delta[idx], dtype=np.float32)


# --- binary chunk --------------------------------------------------------------------------------

class _Bin:
    """Accumulates the BIN chunk, buffer views and accessors (4-byte aligned views)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def view(self, raw: bytes, target: int | None = None, name: str | None = None) -> int:
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        if name:
            view["name"] = name
        self.data += raw
        self.data += b"\0" * (-len(self.data) % 4)
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, target: int | None = None, *, min_max: bool = False,
                 name: str | None = None) -> int:
        """Store ``array`` (N,) or (N, C) of a glTF component type in its own view."""
        a = np.ascontiguousarray(array)
        width = 1 if a.ndim == 1 else int(np.prod(a.shape[1:]))
        acc = {"bufferView": self.view(a.tobytes(), target, name), "componentType": _COMPONENT[a.dtype],
               "count": int(a.shape[0]), "type": _TYPE[width]}
        if min_max:
            flat = a.reshape(len(a), -1)
            acc["min"] = [float(x) for x in flat.min(axis=0)]
            acc["max"] = [float(x) for x in flat.max(axis=0)]
        return self._add(acc, name)

    def zeros(self, count: int, name: str | None = None) -> int:
        """A bufferless VEC3 float accessor: all zeros by the spec, no bytes stored."""
        return self._add({"componentType": _FLOAT, "count": count, "type": "VEC3",
                          "min": [0.0, 0.0, 0.0], "max": [0.0, 0.0, 0.0]}, name)

    def sparse_vec3(self, count: int, idx: np.ndarray, values: np.ndarray, index_view: int,
                    value_view: int, index_offset: int, value_offset: int, name: str | None = None) -> int:
        """A zero VEC3 float accessor of ``count`` elements with ``values`` (N, 3) at ``idx``."""
        full_min = values.min(axis=0)
        full_max = values.max(axis=0)
        if len(idx) < count:  # untouched vertices are zero
            full_min, full_max = np.minimum(full_min, 0), np.maximum(full_max, 0)
        return self._add({
            "componentType": _FLOAT, "count": count, "type": "VEC3",
            "min": [float(x) for x in full_min], "max": [float(x) for x in full_max],
            "sparse": {"count": int(len(idx)),
                       "indices": {"bufferView": index_view, "byteOffset": index_offset,
                                   "componentType": _USHORT if count <= 65536 else _UINT},
                       "values": {"bufferView": value_view, "byteOffset": value_offset}},
        }, name)

    def _add(self, acc: dict, name: str | None) -> int:
        if name:
            acc["name"] = name
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _glb_bytes(doc: dict, binary: bytes) -> bytes:
    """Assemble a GLB: 12-byte header, JSON chunk (space padded), BIN chunk (zero padded)."""
    js = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * (-len(js) % 4)
    binary = binary + b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join([struct.pack("<4sII", b"glTF", 2, total),
                     struct.pack("<I4s", len(js), b"JSON"), js,
                     struct.pack("<I4s", len(binary), b"BIN\0"), binary])


# --- document sections ---------------------------------------------------------------------------

def _materials(character: Character, used: list[str], texture_uris: dict[str, str]) -> tuple[list, list, list, list]:
    """glTF materials for the material keys in ``used`` (in that order), plus the textures, images
    and sampler they need. Texture keys without a URI are left out of the material."""
    images: list[dict] = []
    textures: list[dict] = []
    index: dict[str, int] = {}

    def tex(key: str | None) -> dict | None:
        if key is None or key not in texture_uris:
            return None
        if key not in index:
            images.append({"name": key, "uri": texture_uris[key], "mimeType": "image/png"})
            textures.append({"name": key, "sampler": 0, "source": len(images) - 1})
            index[key] = len(textures) - 1
        return {"index": index[key]}

    out = []
    for key in used:
        m: Material = character.materials[key]
        pbr: dict = {"baseColorFactor": [float(c) for c in m.base_color_factor],
                     "metallicFactor": float(m.metallic_factor), "roughnessFactor": float(m.roughness_factor)}
        mat: dict = {"name": m.name, "pbrMetallicRoughness": pbr}
        if (t := tex(m.base_color_texture)) is not None:
            pbr["baseColorTexture"] = t
        if (t := tex(m.orm_texture)) is not None:  # glTF reads G = roughness, B = metal, R = occlusion
            pbr["metallicRoughnessTexture"] = t
            mat["occlusionTexture"] = dict(t)
        if (t := tex(m.normal_texture)) is not None:
            mat["normalTexture"] = t
        if m.alpha_mode != "OPAQUE":
            mat["alphaMode"] = m.alpha_mode
        if m.double_sided:
            mat["doubleSided"] = True
        out.append(mat)
    samplers = [{"magFilter": _LINEAR, "minFilter": _LINEAR_MIPMAP_LINEAR}] if textures else []
    return out, textures, images, samplers


def _sparse_section(parts: list[MeshPart]) -> tuple[list[list], bytes, bytes]:
    """Per part, per morph: the moved vertices of each morph target, with all sparse indices and
    values packed into two byte strings at 4-byte aligned offsets.

    Returns (entries[part][morph] = (idx, values, index_offset, value_offset), index bytes,
    value bytes); ``idx`` is empty where the morph moves nothing in that part.
    """
    index_bytes, value_bytes = bytearray(), bytearray()
    entries: list[list] = []
    for part in parts:
        row = []
        itype = np.uint16 if part.num_vertices <= 65536 else np.uint32
        for delta in part.morph_deltas:
            idx, vals = sparse_morph(to_y_up(delta))
            row.append((idx, vals, len(index_bytes), len(value_bytes)))
            index_bytes += idx.astype(itype).tobytes()
            index_bytes += b"\0" * (-len(index_bytes) % 4)
            value_bytes += vals.tobytes()
        entries.append(row)
    return entries, bytes(index_bytes), bytes(value_bytes)


def build_gltf(character: Character, texture_uris: dict[str, str], *,
               sparse_morphs: bool = True) -> tuple[dict, bytes, int]:
    """The glTF JSON document, its BIN chunk, and the number of stored non-zero morph deltas.

    ``sparse_morphs=False`` stores every morph densely (for importers without sparse accessors);
    it is several times larger.
    """
    skel = character.skeleton
    J = skel.num_joints
    if J == 0:
        raise ValueError("the character has no skeleton joints to skin to")
    M = len(character.morph_names)
    for part in character.parts:
        if part.morph_deltas.shape != (M, part.num_vertices, 3):
            raise ValueError(f"part {part.name!r}: morph_deltas {part.morph_deltas.shape} "
                             f"!= ({M}, {part.num_vertices}, 3)")
    b = _Bin()

    # 1. skeleton: nodes 0 = "character" (holds the joint roots), 1 = the skinned mesh, 2 + j = joint j
    parents = np.asarray(skel.parents, dtype=np.int64)
    t, q, s = local_trs(matrices_to_y_up(skel.rest_world), parents)
    joint_nodes = []
    for j in range(J):
        node: dict = {"name": skel.bone_names[j]}
        if np.abs(t[j]).max() > 0:
            node["translation"] = [float(x) for x in t[j]]
        if np.abs(q[j, :3]).max() > 0:
            node["rotation"] = [float(x) for x in q[j]]
        if np.abs(s[j] - 1).max() > 1e-6:
            node["scale"] = [float(x) for x in s[j]]
        children = [2 + int(c) for c in np.flatnonzero(parents == j)]
        if children:
            node["children"] = children
        joint_nodes.append(node)
    # IBMs from the TRS actually written, so joint world @ IBM is identity for any reader
    world = compose_world(t, q, s, parents)
    ibm = np.linalg.inv(world)
    ibm[:, 3] = [0.0, 0.0, 0.0, 1.0]
    ibm_acc = b.accessor(ibm.transpose(0, 2, 1).reshape(J, 16).astype(np.float32), name="inverseBindMatrices")
    roots = [int(j) for j in np.flatnonzero(parents < 0)]

    # 2. morph targets, shared sparse index/value views
    entries, index_bytes, value_bytes = _sparse_section(character.parts)
    index_view = b.view(index_bytes, name="morph_sparse_indices") if sparse_morphs and index_bytes else -1
    value_view = b.view(value_bytes, name="morph_sparse_values") if sparse_morphs and value_bytes else -1

    # 3. primitives
    used = list(dict.fromkeys(p.material for p in character.parts))
    materials, textures, images, samplers = _materials(character, used, texture_uris)
    joint_type = np.uint8 if J <= 256 else np.uint16
    primitives = []
    morph_nonzero = 0
    for part, row in zip(character.parts, entries):
        V = part.num_vertices
        pos = to_y_up(part.positions).astype(np.float32)
        nrm = unit_rows(to_y_up(part.normals), (0.0, 1.0, 0.0))
        joints, weights = top_influences(np.asarray(part.joints, dtype=np.int64), part.weights, J)
        attrs = {
            "POSITION": b.accessor(pos, _ARRAY_BUFFER, min_max=True, name=f"{part.name}_position"),
            "NORMAL": b.accessor(nrm.astype(np.float32), _ARRAY_BUFFER, name=f"{part.name}_normal"),
        }
        mat = character.materials[part.material]
        if mat.normal_texture in texture_uris:  # normal maps need a tangent frame
            tan = vertex_tangents(pos, nrm, part.uvs, part.faces)
            attrs["TANGENT"] = b.accessor(tan, _ARRAY_BUFFER, name=f"{part.name}_tangent")
        attrs["TEXCOORD_0"] = b.accessor(np.asarray(part.uvs, dtype=np.float32), _ARRAY_BUFFER,
                                         name=f"{part.name}_uv")
        attrs["JOINTS_0"] = b.accessor(joints.astype(joint_type), _ARRAY_BUFFER, name=f"{part.name}_joints")
        attrs["WEIGHTS_0"] = b.accessor(weights, _ARRAY_BUFFER, name=f"{part.name}_weights")
        itype = np.uint16 if V < 65535 else np.uint32  # 65535 is the uint16 primitive-restart value
        faces = np.asarray(part.faces).reshape(-1).astype(itype)
        indices = b.accessor(faces, _ELEMENT_ARRAY_BUFFER, name=f"{part.name}_indices")
        zero = None
        targets = []
        for name, delta, (idx, vals, io, vo) in zip(character.morph_names, part.morph_deltas, row):
            morph_nonzero += len(idx)
            if not sparse_morphs:
                acc = b.accessor(to_y_up(delta).astype(np.float32), min_max=True, name=f"{part.name}_{name}")
            elif len(idx):
                acc = b.sparse_vec3(V, idx, vals, index_view, value_view, io, vo, name=f"{part.name}_{name}")
            else:  # a sparse accessor needs count >= 1: share one bufferless (all-zero) accessor
                if zero is None:
                    zero = b.zeros(V, name=f"{part.name}_morph_zero")
                acc = zero
            targets.append({"POSITION": acc})
        prim = {"attributes": attrs, "indices": indices, "material": used.index(part.material),
                "mode": _TRIANGLES, "extras": {"name": part.name}}
        if targets:
            prim["targets"] = targets
        primitives.append(prim)

    # 4. document
    mesh: dict = {"name": "character_mesh", "primitives": primitives}
    if M:
        mesh["weights"] = [0.0] * M
        mesh["extras"] = {"targetNames": list(character.morph_names)}
    # the skinned mesh node is a scene root beside the skeleton: glTF ignores a skinned mesh
    # node's parents, and the validator warns (NODE_SKINNED_MESH_NON_ROOT) when it has any
    nodes = [{"name": "character", "children": [2 + r for r in roots]},
             {"name": "character_mesh", "mesh": 0, "skin": 0}] + joint_nodes
    skin = {"name": "character_skeleton", "inverseBindMatrices": ibm_acc, "joints": [2 + j for j in range(J)],
            "skeleton": 2 + roots[0] if len(roots) == 1 else 0}
    doc: dict = {
        "asset": {"version": "2.0", "generator": GENERATOR},
        "scene": 0,
        "scenes": [{"name": "character", "nodes": [0, 1]}],
        "nodes": nodes,
        "meshes": [mesh],
        "skins": [skin],
        "materials": materials,
        "accessors": b.accessors,
        "bufferViews": b.views,
        "buffers": [{"byteLength": len(b.data) + (-len(b.data) % 4)}],
    }
    for key, value in (("textures", textures), ("images", images), ("samplers", samplers)):
        if value:
            doc[key] = value
    return doc, bytes(b.data), morph_nonzero


def write_glb(character: Character, path: Path, texture_uris: dict[str, str], *,
              sparse_morphs: bool = True) -> GlbStats:
    """Write ``character`` to ``path`` as glTF 2.0 binary.

    texture_uris: texture key (e.g. ``"head_albedo"``) -> URI of its PNG relative to the glb
        (e.g. ``"textures/head_albedo.png"``); the caller writes the PNGs. Textures a material
        names but that have no URI here are left out of that material.
    Returns the file's :class:`GlbStats`.
    """
    doc, binary, morph_nonzero = build_gltf(character, texture_uris, sparse_morphs=sparse_morphs)
    data = _glb_bytes(doc, binary)
    Path(path).write_bytes(data)
    return GlbStats(bytes=len(data), vertices=sum(p.num_vertices for p in character.parts),
                    triangles=sum(len(p.faces) for p in character.parts), morph_nonzero=morph_nonzero)
