"""The template correspondence found by rendering the generated head and detecting landmarks on
the render: landmarks land on the head, trace back to their pixels, and mean what they should
(nose tip, mouth corners and chin agree with the template's own named vertices)."""

import dataclasses

import numpy as np
import pytest

from machcreator.photo.correspondence import cached_correspondence, find_correspondence, front_camera
from machcreator.photo.landmarks import MediaPipeFaceMesh
from machcreator.render.preview import render

# MediaPipe face-mesh indices, used here only to check meanings (the code has no such table)
NOSE_TIP, MOUTH_RIGHT, MOUTH_LEFT, CHIN = 1, 61, 291, 152


@pytest.fixture(scope="module")
def found(fisherman_result):
    return find_correspondence(fisherman_result.character, MediaPipeFaceMesh())


def test_landmarks_land_on_the_head_and_trace_back_to_their_pixels(fisherman_result, found):
    character = fisherman_result.character
    head = character.part("head")
    # all but those seen on the eyeballs (most of the irises, a few eye-corner points)
    assert found.faces.shape == (478,) and found.valid.mean() > 0.92
    points = found.points(head.positions.astype(np.float64), head.faces)[found.valid]
    xy, _ = front_camera(character).project(points)
    bare = dataclasses.replace(character, parts=[p for p in character.parts if p.name in ("head", "eyes", "teeth")],
                               grooms=[])
    detected = MediaPipeFaceMesh().detect(render(bare, front_camera(character)))[0].points[found.valid, :2]
    assert np.abs(xy - detected).max() < 1.0  # pixels


def test_no_landmark_traces_through_an_eye_or_the_mouth_into_its_cavity(fisherman_result, found):
    """The eyeballs and teeth hide the sockets behind them: an iris is seen on the eyeball, not
    traced 1-2 cm deeper to the eye cavity (such points bias the fitted pose and nose depth)."""
    from machcreator.body.geometry import HEAD_LABELS, shaped_body
    from machcreator.body.template import load_anny

    body = shaped_body(load_anny(), fisherman_result.resolved)
    labels = body.face_labels[np.isin(body.face_labels, HEAD_LABELS)]  # the head part's faces, in order
    assert (labels[found.faces[found.valid]] == "head").all()
    left_iris, right_iris = 468, 473  # their centres
    assert not found.valid[left_iris] and not found.valid[right_iris]


def test_landmarks_mean_what_the_template_names(fisherman_result, found):
    character = fisherman_result.character
    head = character.part("head")
    points = found.points(head.positions.astype(np.float64), head.faces)
    marks = character.landmarks
    assert np.linalg.norm(points[NOSE_TIP] - marks["nose_tip"]) < 0.012
    assert np.linalg.norm(points[MOUTH_LEFT] - marks["mouth_corner_l"]) < 0.015
    assert np.linalg.norm(points[MOUTH_RIGHT] - marks["mouth_corner_r"]) < 0.015
    assert np.linalg.norm(points[CHIN] - marks["chin"]) < 0.02


def test_the_correspondence_is_cached_per_topology(fisherman_result, found, tmp_path, monkeypatch):
    first = cached_correspondence(fisherman_result.character, MediaPipeFaceMesh(), tmp_path)
    import machcreator.photo.correspondence as module
    monkeypatch.setattr(module, "find_correspondence", lambda *a, **k: pytest.fail("not cached"))
    again = cached_correspondence(fisherman_result.character, MediaPipeFaceMesh(), tmp_path)
    assert np.array_equal(first.faces, again.faces) and np.allclose(first.bary, again.bary)
    assert first.topology == found.topology


def test_the_template_render_places_its_own_camera(fisherman_result, found):
    """The landmarks of the template's render, traced to the surface, give back the render's camera
    (PnP at the render's focal length) with sub-pixel reprojection: the starting point of a fit."""
    from machcreator.photo.camera import solve_pose
    character = fisherman_result.character
    head = character.part("head")
    camera = front_camera(character)
    points = found.points(head.positions.astype(np.float64), head.faces)
    bare = dataclasses.replace(character, parts=[p for p in character.parts if p.name in ("head", "eyes", "teeth")],
                               grooms=[])
    detected = MediaPipeFaceMesh().detect(render(bare, camera))[0].points[:, :2]
    pose, error = solve_pose(points, detected, camera.width, camera.height, focal_px=camera.focal_px)
    assert error < 1.0  # pixels at 512²
    eye = -pose.rotation.T @ pose.translation
    assert np.linalg.norm(eye - np.asarray(camera.eye)) < 0.01  # metres
