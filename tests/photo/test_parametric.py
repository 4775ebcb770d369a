"""anny's face space and the camera fitted to landmarks, against a known answer: a head with known
local changes and a known smile, seen by a known camera."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from machcreator.attributes import Attributes, resolve
from machcreator.body.geometry import character_from_body, shaped_body
from machcreator.body.shape_table import AnnyParameters, anny_parameters
from machcreator.body.template import load_anny
from machcreator.character import ARKIT_BLENDSHAPES
from machcreator.photo.camera import PhotoCamera, focal_for, solve_pose
from machcreator.photo.correspondence import Correspondence
from machcreator.photo.head import head_offsets, head_vertex_sources
from machcreator.photo.parametric import ParametricConfig, face_groups, fit_parametric

TRUTH = {"nose-scale-horiz-incr": 0.8, "mouth-scale-horiz-incr": -0.6, "l-eye-trans-out": 0.5, "r-eye-trans-out": 0.5,
         "chin-height-incr": 0.7, "head-scale-vert-incr": 0.6}


@pytest.fixture(scope="module")
def setting():
    model = load_anny()
    attrs = resolve(Attributes(), 1)
    params = anny_parameters(attrs)
    body = shaped_body(model, attrs, params)
    head = character_from_body(body).part("head")
    rng = np.random.default_rng(0)
    front = np.flatnonzero(head.positions[head.faces].mean(1)[:, 1] < np.percentile(head.positions[:, 1], 20))
    corr = Correspondence(faces=rng.choice(front, 300, replace=False), bary=rng.dirichlet(np.ones(3), 300),
                          detector="synthetic", topology="test")
    return model, attrs, params, body, head, corr


def _camera(centre: np.ndarray) -> PhotoCamera:
    looking = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # along +Y at the face, Z up
    rotation = Rotation.from_euler("xy", [4, -6], degrees=True).as_matrix() @ looking
    return PhotoCamera(rotation, -rotation @ (centre + np.array([0.03, -0.7, 0.02])), focal_for(512), 512, 512)


def _aligned(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``points`` moved and scaled onto ``target`` (a single view knows neither size nor distance)."""
    p, t = points.astype(np.float64), target.astype(np.float64)
    pc, tc = p - p.mean(0), t - t.mean(0)
    return pc * (np.sqrt((tc**2).sum() / (pc**2).sum())) + t.mean(0)


def test_face_groups_pair_the_sides_and_leave_the_body_alone():
    groups = face_groups(list(load_anny().local_change_labels))
    assert ("l-eye-trans-out", "r-eye-trans-out") in groups and ("nose-scale-horiz-incr",) in groups
    labels = {label for g in groups for label in g}
    assert not any(label.startswith(("torso", "measure", "neck", "l-ear", "armslegs")) for label in labels)
    assert "mouth-trans-out" not in labels  # off the midline: a lopsided face


def test_known_local_changes_and_a_smile_are_recovered(setting):
    model, attrs, params, body, head, corr = setting
    truth_params = AnnyParameters(params.phenotypes, params.local_changes | TRUTH)
    truth_body = shaped_body(model, attrs, truth_params)
    truth_head = character_from_body(truth_body).part("head")
    smile = np.zeros(len(ARKIT_BLENDSHAPES))
    smile[[ARKIT_BLENDSHAPES.index("mouthSmileLeft"), ARKIT_BLENDSHAPES.index("mouthSmileRight")]] = 0.6
    posed = truth_head.positions + np.einsum("e,evc->vc", smile, truth_head.morph_deltas)
    camera = _camera(head.positions.mean(0))
    landmarks = camera.project(corr.points(posed.astype(np.float64), truth_head.faces))

    sources = head_vertex_sources(body, head.positions)
    points = corr.points(head.positions.astype(np.float64), head.faces)
    expressions = np.stack([corr.points(head.positions + d, head.faces) - points for d in head.morph_deltas])
    start, _ = solve_pose(points, landmarks, 512, 512, camera.focal_px)
    # exact landmarks: the weak prior a noiseless detector would allow (the default is set for
    # MediaPipe's 2-3 px)
    fit = fit_parametric(model, params, sources[head.faces[corr.faces]], corr.bary, landmarks, start,
                         rest_points=points, expressions=expressions, config=ParametricConfig(prior_weight=0.5))
    assert fit.initial_error_px > 2.0 and fit.error_px < 0.25 * fit.initial_error_px, (fit.initial_error_px, fit.error_px)
    # the face's shape, not the labels: neighbouring labels move the same points (nose widths
    # 1-3, flaring...), so the prior shares a change among them; across the view (x, z)
    fitted_body = shaped_body(model, attrs, fit.parameters)
    skin = np.unique(body.faces[body.face_labels == "head"])
    face = skin[body.positions[skin, 1] < np.percentile(body.positions[skin, 1], 25)]
    truth = truth_body.positions[face].astype(np.float64)
    before = np.abs(_aligned(body.positions[face], truth) - truth)[:, [0, 2]].mean()
    after = np.abs(_aligned(fitted_body.positions[face], truth) - truth)[:, [0, 2]].mean()
    # measured: 0.95 -> 0.61 mm with the smile (a smile and a wider mouth look alike from the
    # front: some of it goes to the shape), 0.95 -> 0.10 mm for the same face without it
    assert after < 0.7 * before, (before, after)
    widened = fit.parameters.local_changes["nose-scale-horiz-incr"] - params.local_changes.get("nose-scale-horiz-incr", 0)
    assert widened > 0.1, widened
    smiling = fit.expression[[ARKIT_BLENDSHAPES.index("mouthSmileLeft"), ARKIT_BLENDSHAPES.index("mouthSmileRight")]]
    assert (smiling > 0.25).all(), smiling
    # the view's direction is found; its distance trades against the head's size (one view)
    turn = np.degrees(np.linalg.norm(Rotation.from_matrix(fit.camera.rotation @ camera.rotation.T).as_rotvec()))
    assert turn < 2.0, turn


def test_head_offsets_fade_out_at_the_neck_and_carry_the_eyes(setting):
    model, attrs, params, body, head, corr = setting
    bulge = head.positions.astype(np.float64) * 0 + np.array([0.004, 0.0, 0.0])  # 4 mm to the left, everywhere
    offsets = head_offsets(body, head.positions.astype(np.float64), head.positions + bulge)
    labels = body.face_labels
    body_v = np.unique(body.faces[labels == "body"])
    assert np.abs(offsets[body_v]).max() == 0.0  # the body is untouched
    skin = np.unique(body.faces[labels == "head"])
    seam = np.intersect1d(skin, body_v)
    assert np.abs(offsets[seam]).max() == 0.0  # no step at the seam
    top = skin[body.positions[skin, 2] > body.positions[skin, 2].max() - 0.05]
    np.testing.assert_allclose(offsets[top], np.tile([0.004, 0.0, 0.0], (len(top), 1)), atol=1e-6)
    eye = np.unique(body.faces[labels == "eye_front.L"])
    cavity = np.unique(body.faces[labels == "eye_cavity.L"])
    np.testing.assert_allclose(offsets[eye], np.tile(offsets[cavity].mean(0), (len(eye), 1)), atol=1e-6)
