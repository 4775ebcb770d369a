"""The geometry stage: parts, seams, normals, head UV resolution, eyes, landmarks."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from machcreator.attributes import Attributes, resolve
from machcreator.character import ARKIT_BLENDSHAPES
from machcreator.body.geometry import FACE_ISLAND_MAX_WIDTH, UV_MARGIN, build_geometry, texels_per_cm
from machcreator.body.template import load_anny

ATTRS = resolve(Attributes(), seed=11)


@pytest.fixture(scope="module")
def character():
    return build_geometry(ATTRS, model=load_anny())


def test_parts_and_materials(character):
    names = {p.name: p.material for p in character.parts}
    assert names == {"head": "head_skin", "body": "body_skin", "eyes": "eyes", "tongue": "tongue",
                     "teeth": "teeth"}
    assert character.materials["head_skin"].base_color_texture == "head_albedo"
    assert character.materials["body_skin"].orm_texture == "body_orm"
    for p in character.parts:
        assert p.material in character.materials
        assert p.faces.min() >= 0 and p.faces.max() < p.num_vertices
        assert p.uvs.min() >= 0 and p.uvs.max() <= 1
        assert p.morph_deltas.shape == (len(ARKIT_BLENDSHAPES), p.num_vertices, 3)
        np.testing.assert_allclose(p.weights.sum(1), 1.0, atol=1e-5)
        assert p.joints.max() < character.skeleton.num_joints


def test_split_at_uv_seams_only(character):
    for name in ("head", "body", "tongue"):
        p = character.part(name)
        key = np.concatenate([p.positions, p.uvs], 1)
        assert len(np.unique(key, axis=0)) == p.num_vertices  # no duplicate (position, uv)
        assert p.template_uvs is not None and p.template_uvs.shape == p.uvs.shape


def test_head_face_has_50_texels_per_cm(character):
    head, lm = character.part("head"), character.landmarks
    tri = head.positions[head.faces]
    c = tri.mean(1)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_column = head.uvs[head.faces][..., 0].max(1) < UV_MARGIN + FACE_ISLAND_MAX_WIDTH
    front = ((c[:, 2] > lm["chin"][2]) & (c[:, 2] < lm["forehead_center"][2])
             & (np.abs(c[:, 0]) < abs(lm["eye_center_l"][0]) + 0.01) & (n[:, 1] < 0) & face_column)
    assert front.sum() > 1000
    assert texels_per_cm(head, 2048, front) >= 50
    assert texels_per_cm(head, 2048, front) > 1.8 * _template_texels(head, 2048, front)


def _template_texels(part, size, mask):
    from dataclasses import replace

    return texels_per_cm(replace(part, uvs=part.template_uvs), size, mask)


def test_normals_unit_and_continuous_across_the_neck_seam(character):
    head, body = character.part("head"), character.part("body")
    for p in character.parts:
        np.testing.assert_allclose(np.linalg.norm(p.normals, axis=1), 1.0, atol=1e-4)
    dist, idx = cKDTree(body.positions).query(head.positions)
    shared = dist < 1e-7
    assert shared.sum() > 30  # the ring of vertices around the neck
    np.testing.assert_allclose(head.normals[shared], body.normals[idx[shared]], atol=1e-6)


def test_eye_front_poles_at_uv_centre(character):
    eyes, lm = character.part("eyes"), character.landmarks
    r = float(lm["eye_radius"][0])
    assert 0.010 < r < 0.020  # anny's eyeballs are ~16 mm in radius
    for side in ("l", "r"):
        centre = lm[f"eye_center_{side}"]
        pole = centre + np.array([0.0, -r, 0.0])  # eyes look down -Y
        i = np.argmin(np.linalg.norm(eyes.positions - pole, axis=1))
        assert np.linalg.norm(eyes.uvs[i] - 0.5) < 0.08


def test_landmarks_are_where_a_face_has_them(character):
    lm = character.landmarks
    assert lm["eye_center_l"][0] > 0 > lm["eye_center_r"][0]  # +X is the character's left
    assert lm["mouth_corner_l"][0] > lm["mouth_center"][0] > lm["mouth_corner_r"][0]
    assert lm["head_top"][2] > lm["forehead_center"][2] > lm["eye_center_l"][2] > lm["nose_tip"][2] \
        > lm["mouth_center"][2] > lm["chin"][2] > lm["neck_base"][2]
    assert lm["nose_tip"][1] < lm["eye_center_l"][1]  # nose in front of the eyes (-Y)
    assert abs(float(lm["ear_l"][0])) > abs(float(lm["eye_center_l"][0])) + 0.02
    assert lm["feet_center"][2] == pytest.approx(min(p.positions[:, 2].min() for p in character.parts), abs=1e-6)


def test_deterministic(character):
    again = build_geometry(ATTRS, model=load_anny())
    for a, b in zip(character.parts, again.parts):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.uvs, b.uvs)
        np.testing.assert_array_equal(a.normals, b.normals)
    for k in character.landmarks:
        np.testing.assert_array_equal(character.landmarks[k], again.landmarks[k])
