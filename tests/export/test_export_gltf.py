"""glTF export of a small synthetic Character, checked by the Khronos validator and by re-reading."""

from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from pygltflib import GLTF2
from scipy.spatial.transform import Rotation

from machcreator.character import ARKIT_BLENDSHAPES, Character, Material, MeshPart, Skeleton
from machcreator.core.errors import MachError
from machcreator.export.gltf import compose_world, to_y_up, top_influences, write_glb
from machcreator.export.gltf_validator import validate_gltf

TEXTURES = ("body_albedo", "body_normal", "body_orm", "eye_albedo")
JAW = ARKIT_BLENDSHAPES.index("jawOpen")
BLINK = ARKIT_BLENDSHAPES.index("eyeBlinkLeft")


def _part(name: str, material: str, mesh: trimesh.Trimesh, joints: np.ndarray, weights: np.ndarray) -> MeshPart:
    v = mesh.vertices
    uv = (v[:, [0, 2]] - v[:, [0, 2]].min(0)) / np.ptp(v[:, [0, 2]], axis=0)
    return MeshPart(name=name, material=material, positions=v.astype(np.float32),
                    normals=mesh.vertex_normals.astype(np.float32), uvs=uv.astype(np.float32),
                    faces=mesh.faces.astype(np.int64), joints=joints, weights=weights.astype(np.float32),
                    morph_deltas=np.zeros((52, len(v), 3), np.float32))


def make_character() -> Character:
    """A 1 m box "body" standing on z = 0 and an icosphere "eyes", skinned to root/spine/head."""
    body_mesh = trimesh.creation.box(extents=(0.4, 0.2, 1.0)).subdivide().subdivide()
    body_mesh.apply_translation((0, 0, 0.5))
    z = body_mesh.vertices[:, 2]
    # five influences per vertex, a repeated joint and a tiny fifth weight: exercises the top-4 cut
    bj = np.tile([0, 1, 2, 1, 0], (len(z), 1))
    bw = np.stack([1 - z, z, z**2, 0.1 * z, np.full_like(z, 0.01)], axis=1)
    bw /= bw.sum(1, keepdims=True)
    body = _part("body", "skin", body_mesh, bj, bw)
    eye_mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.02)
    eye_mesh.apply_translation((0.05, -0.1, 0.9))
    eyes = _part("eyes", "eye", eye_mesh, np.full((len(eye_mesh.vertices), 1), 2), np.ones((len(eye_mesh.vertices), 1)))
    body.morph_deltas[JAW, z > 0.8] = (0.0, 0.0, -0.01)
    eyes.morph_deltas[BLINK, eye_mesh.vertices[:, 2] > 0.9] = (0.0, 0.0, -0.005)
    rest = np.tile(np.eye(4, dtype=np.float32), (3, 1, 1))
    rest[1, :3, 3] = (0, 0, 0.5)
    rest[2, :3, :3] = Rotation.from_euler("x", 30, degrees=True).as_matrix()
    rest[2, :3, 3] = (0, 0.02, 0.9)
    rng = np.random.default_rng(0)
    textures = {k: rng.integers(0, 255, (8, 8, 3), dtype=np.uint8) for k in TEXTURES}
    return Character(
        skeleton=Skeleton(["root", "spine", "head"], np.array([-1, 0, 1]), rest),
        parts=[body, eyes],
        materials={"skin": Material("skin", "body_albedo", "body_normal", "body_orm", roughness_factor=0.6),
                   "eye": Material("eye", "eye_albedo", base_color_factor=(1, 1, 1, 0.9), alpha_mode="BLEND",
                                   double_sided=True)},
        textures=textures,
    )


def _uris(folder: Path, character: Character, keys=TEXTURES) -> dict[str, str]:
    (folder / "textures").mkdir(exist_ok=True)
    for k in keys:
        Image.fromarray(character.textures[k]).save(folder / "textures" / f"{k}.png")
    return {k: f"textures/{k}.png" for k in keys}


@pytest.fixture(scope="module")
def character() -> Character:
    return make_character()


@pytest.fixture(scope="module")
def exported(character, tmp_path_factory):
    folder = tmp_path_factory.mktemp("glb")
    stats = write_glb(character, folder / "c.glb", _uris(folder, character))
    return folder / "c.glb", stats


def _read(g: GLTF2, index: int) -> np.ndarray:
    """An accessor's data as (count, n) numpy, with its sparse substitution applied."""
    acc = g.accessors[index]
    dtype = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}[acc.componentType]
    n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
    blob = g.binary_blob()

    def view(vi: int, offset: int, dt, count: int) -> np.ndarray:
        bv = g.bufferViews[vi]
        return np.frombuffer(blob, dtype=dt, count=count, offset=(bv.byteOffset or 0) + (offset or 0))

    if acc.bufferView is None:
        out = np.zeros((acc.count, n), dtype)
    else:
        out = view(acc.bufferView, acc.byteOffset, dtype, acc.count * n).reshape(acc.count, n).copy()
    if acc.sparse is not None:
        sp = acc.sparse
        idt = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32}[sp.indices.componentType]
        idx = view(sp.indices.bufferView, sp.indices.byteOffset, idt, sp.count)
        out[idx] = view(sp.values.bufferView, sp.values.byteOffset, dtype, sp.count * n).reshape(sp.count, n)
    return out


def test_khronos_validator_reports_no_errors_or_warnings(exported):
    report = validate_gltf(exported[0])
    assert report.num_errors == 0, report.messages
    assert report.num_warnings == 0, report.warnings
    # the external PNGs were found and read
    images = [r for r in report.raw["info"]["resources"] if r["pointer"].startswith("/images/")]
    assert len(images) == 4 and all(r["storage"] == "external" and r["image"]["width"] == 8 for r in images)


def test_every_primitive_has_the_52_arkit_targets_in_order(exported):
    g = GLTF2().load(str(exported[0]))
    (mesh,) = g.meshes
    assert tuple(mesh.extras["targetNames"]) == ARKIT_BLENDSHAPES
    assert mesh.weights == [0.0] * 52
    assert [len(p.targets) for p in mesh.primitives] == [52, 52]


def test_positions_are_y_up_facing_plus_z(exported, character):
    g = GLTF2().load(str(exported[0]))
    body = g.meshes[0].primitives[0]
    pos = _read(g, body.attributes.POSITION)
    src = character.part("body").positions
    top = np.argmin(np.linalg.norm(src - (0, 0, 1), axis=1))
    assert np.allclose(src[top], (0, 0, 1)) and np.allclose(pos[top], (0, 1, 0))
    assert np.allclose(pos, src[:, [0, 2, 1]] * (1, 1, -1))
    # the character faces -Y in Z-up, so its front-facing normals point to +Z in glTF
    nrm = _read(g, body.attributes.NORMAL)
    front = np.argmin(src[:, 1])
    assert nrm[front, 2] > 0.5


def test_morph_deltas_round_trip_through_sparse_accessors(exported, character):
    g = GLTF2().load(str(exported[0]))
    for prim, part in zip(g.meshes[0].primitives, character.parts):
        for m in (JAW, BLINK, 0):
            got = _read(g, prim.targets[m]["POSITION"])
            assert np.allclose(got, to_y_up(part.morph_deltas[m]), atol=1e-7)
    jaw = g.accessors[g.meshes[0].primitives[0].targets[JAW]["POSITION"]]
    assert jaw.bufferView is None and 0 < jaw.sparse.count < jaw.count


def test_joints_and_weights_round_trip_top_four_renormalised(exported, character):
    g = GLTF2().load(str(exported[0]))
    body = character.part("body")
    prim = g.meshes[0].primitives[0]
    joints = _read(g, prim.attributes.JOINTS_0)
    weights = _read(g, prim.attributes.WEIGHTS_0)
    assert joints.dtype == np.uint8 and weights.shape == (body.num_vertices, 4)
    assert np.allclose(weights.sum(1), 1, atol=1e-6)
    # expected: the merged source weights, all 3 joints fit in 4 slots, so nothing is lost
    want = np.zeros((body.num_vertices, 3))
    np.add.at(want, (np.repeat(np.arange(body.num_vertices), 5), body.joints.reshape(-1)), body.weights.reshape(-1))
    got = np.zeros_like(want)
    np.add.at(got, (np.repeat(np.arange(body.num_vertices), 4), joints.reshape(-1).astype(int)), weights.reshape(-1))
    assert np.allclose(got, want / want.sum(1, keepdims=True), atol=1e-6)


def test_top_influences_keeps_the_four_strongest():
    j, w = top_influences(np.array([[0, 1, 2, 3, 4]]), np.array([[0.05, 0.3, 0.1, 0.4, 0.15]]), num_joints=5)
    assert j.tolist() == [[3, 1, 4, 2]]
    assert np.allclose(w, np.array([[0.4, 0.3, 0.15, 0.1]]) / 0.95) and w.sum() == np.float32(1)


def test_inverse_bind_matrices_undo_the_joint_world_transforms(exported, character):
    g = GLTF2().load(str(exported[0]))
    skin = g.skins[0]
    nodes = [g.nodes[i] for i in skin.joints]
    parents = np.full(len(nodes), -1)
    for k, n in enumerate(nodes):
        for c in n.children:
            parents[skin.joints.index(c)] = k
    world = compose_world(np.array([n.translation or [0, 0, 0] for n in nodes]),
                          np.array([n.rotation or [0, 0, 0, 1] for n in nodes]),
                          np.array([n.scale or [1, 1, 1] for n in nodes]), parents)
    ibm = _read(g, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    assert np.allclose(world @ ibm, np.eye(4), atol=1e-5)
    # and the joints sit where the Character put them, in Y-up
    assert np.allclose(world[:, :3, 3], to_y_up(character.skeleton.rest_world[:, :3, 3]), atol=1e-6)
    assert [n.name for n in nodes] == ["root", "spine", "head"]
    assert g.nodes[g.scenes[0].nodes[0]].name == "character"


def test_sparse_morphs_are_smaller_than_dense(exported, character, tmp_path):
    path, stats = exported
    dense = write_glb(character, tmp_path / "dense.glb", {}, sparse_morphs=False)
    sparse = write_glb(character, tmp_path / "sparse.glb", {})
    assert sparse.bytes < dense.bytes / 4
    assert stats.bytes == path.stat().st_size
    moved = sum(int((np.linalg.norm(p.morph_deltas, axis=2) > 1e-6).sum()) for p in character.parts)
    assert stats.morph_nonzero == moved > 0
    assert validate_gltf(tmp_path / "dense.glb").num_errors == 0


def test_trimesh_reads_every_vertex(exported, character):
    scene = trimesh.load(exported[0], process=False)
    assert sum(len(gm.vertices) for gm in scene.geometry.values()) == sum(p.num_vertices for p in character.parts)
    assert exported[1].vertices == sum(p.num_vertices for p in character.parts)
    assert exported[1].triangles == sum(len(p.faces) for p in character.parts)


def test_missing_texture_keys_give_a_valid_file_without_them(character, tmp_path):
    write_glb(character, tmp_path / "c.glb", _uris(tmp_path, character, ("body_albedo",)))
    report = validate_gltf(tmp_path / "c.glb")
    assert report.num_errors == 0, report.messages
    g = GLTF2().load(str(tmp_path / "c.glb"))
    skin, eye = g.materials
    assert skin.normalTexture is None and skin.pbrMetallicRoughness.baseColorTexture.index == 0
    assert eye.pbrMetallicRoughness.baseColorTexture is None and eye.alphaMode == "BLEND" and eye.doubleSided
    assert [i.uri for i in g.images] == ["textures/body_albedo.png"]


def test_missing_validator_is_a_clear_mach_error(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("MACH_NODE_MODULES", str(tmp_path))
    with pytest.raises(MachError, match="npm ci"):
        validate_gltf(exported[0])


def test_tangents_follow_u_and_image_up_on_the_front_face(exported, character):
    g = GLTF2().load(str(exported[0]))
    body = g.meshes[0].primitives[0]
    n, t = _read(g, body.attributes.NORMAL), _read(g, body.attributes.TANGENT)
    assert np.allclose(np.linalg.norm(t[:, :3], axis=1), 1, atol=1e-6) and set(np.unique(t[:, 3])) <= {-1.0, 1.0}
    assert np.allclose((n * t[:, :3]).sum(1), 0, atol=1e-5)
    src = character.part("body").positions
    front = np.flatnonzero((src[:, 1] < -0.099) & (np.abs(src[:, 0]) < 0.15) & (np.abs(src[:, 2] - 0.5) < 0.4))
    # u grows with x; v grows with z, so "up" in the image (v decreasing) is world down (-Y in glTF)
    assert np.allclose(t[front, :3], (1, 0, 0), atol=1e-5)
    bitangent = np.cross(n[front], t[front, :3]) * t[front, 3:]
    assert np.allclose(bitangent, (0, -1, 0), atol=1e-5)
    assert g.meshes[0].primitives[1].attributes.TANGENT is None  # the eyes have no normal map


def test_missing_node_is_a_clear_mach_error(exported, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MachError, match="Node.js"):
        validate_gltf(exported[0])
