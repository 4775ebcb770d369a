"""Faces read as asked, measured on the mesh: age changes the head monotonically, gender shows in
the face, ancestry shapes it (not only the skin)."""
from __future__ import annotations

import numpy as np
import pytest

from machcreator.attributes import Attributes, resolve
from machcreator.body.ageing import age_soft_tissue
from machcreator.body.geometry import LANDMARK_VERTICES, body_landmarks
from machcreator.body.shape_table import anny_parameters, derived_levels
from machcreator.body.template import load_anny, shape_body

MM = 1e-3
AGES = (20.0, 35.0, 50.0, 65.0, 80.0, 95.0)


@pytest.fixture(scope="module")
def model():
    return load_anny()


def head(model, seed: int = 3, **fields):
    attrs = Attributes()
    for path, value in fields.items():
        attrs = attrs.with_value(path.replace("__", "."), value)
    attrs = resolve(attrs, seed=seed)
    body = shape_body(model, anny_parameters(attrs))
    return age_soft_tissue(body, body_landmarks(body), derived_levels(attrs)["ageing"]).positions.astype(np.float64)


@pytest.fixture(scope="module")
def probes(model):
    """Vertex indices of a few soft-tissue points, found on a 25-year-old (the topology is fixed)."""
    p = head(model, body__age_years=25.0, body__gender="female")
    v = {k: i[0] for k, i in LANDMARK_VERTICES.items()}
    corner, nose, chin = p[v["mouth_corner_l"]], p[v["nose_tip"]], p[v["chin"]]

    def nearest(point):
        return int(np.argmin(((p - point) ** 2).sum(1)))

    return {**v,
            "jowl": nearest([corner[0] * 1.55, corner[1] + 0.012, corner[2] - 0.022]),
            "jaw_l": nearest([0.055, chin[1] + 0.06, chin[2] + 0.02]),
            "jaw_r": nearest([-0.055, chin[1] + 0.06, chin[2] + 0.02]),
            "brow": nearest([0.03, nose[1] + 0.01, nose[2] + 0.06]),
            "under_chin": nearest([0.0, chin[1] + 0.03, chin[2] - 0.01])}


def measures(p, v) -> dict[str, float]:
    return {
        "jowl_sag": p[v["ear_l"], 2] - p[v["jowl"], 2],  # how far the jowl hangs below the ear
        "nose_length": p[v["forehead_center"], 2] - p[v["nose_tip"], 2],  # the nose tip drops with age
        "neck_sag": p[v["chin"], 2] - p[v["under_chin"], 2],
        "jaw_width": p[v["jaw_l"], 0] - p[v["jaw_r"], 0],
        "brow_ridge": p[v["nose_tip"], 1] - p[v["brow"], 1],  # larger: the brow stands further forward
    }


@pytest.mark.parametrize("gender", ["female", "male"])
def test_the_lower_face_sags_and_the_nose_lengthens_steadily_with_age(model, probes, gender):
    rows = [measures(head(model, body__age_years=a, body__gender=gender), probes) for a in AGES]
    for key in ("jowl_sag", "nose_length", "neck_sag"):
        series = np.array([r[key] for r in rows])
        assert np.all(np.diff(series) > 0), f"{key} is not monotonic in age: {np.round(series / MM, 2)} mm"
    assert rows[-1]["jowl_sag"] - rows[0]["jowl_sag"] > 4 * MM
    assert rows[-1]["nose_length"] - rows[0]["nose_length"] > 5 * MM


def test_male_and_female_faces_of_one_seed_differ_where_gender_shows(model, probes):
    female = measures(head(model, body__age_years=35.0, body__gender="female"), probes)
    male = measures(head(model, body__age_years=35.0, body__gender="male"), probes)
    assert male["jaw_width"] - female["jaw_width"] > 8 * MM
    assert male["brow_ridge"] - female["brow_ridge"] > 5 * MM  # a heavier brow ridge on the man


def test_masculinity_moves_a_face_between_the_two(model, probes):
    jaws = [measures(head(model, body__age_years=35.0, body__gender="female", face__masculinity=m), probes)["jaw_width"]
            for m in (-1.0, 0.0, 1.0)]
    assert jaws[0] < jaws[1] < jaws[2]


def test_ancestry_shapes_the_face(model):
    faces = {a: head(model, body__age_years=35.0, body__gender="female", body__ancestry=a)
             for a in ("african", "asian", "caucasian")}
    nose = faces["caucasian"][LANDMARK_VERTICES["nose_tip"][0]]
    near = np.linalg.norm(faces["caucasian"] - nose, axis=1) < 0.08  # the face, not the body
    for a, b in (("african", "asian"), ("asian", "caucasian"), ("african", "caucasian")):
        pa, pb = faces[a][near], faces[b][near]
        pa, pb = pa - pa.mean(0), pb - pb.mean(0)  # shape, not position
        assert np.percentile(np.linalg.norm(pa - pb, axis=1), 90) > 2 * MM, f"{a} and {b} faces are nearly the same shape"
