"""The detector's own error taken out of a photo's landmarks (photo/head.py, step 3). Its premise:
MediaPipe's error depends on the face's shape and pose, not on the light, so the same face seen by
the same camera in the fit's default light shows the error the photo's landmarks carry. (With the
prior's face instead of the truth's, the correction is partial; the fit repeats it as its face
nears the photo's. The NoW-style benchmark, photo/benchmark.py, measures what it gains.)"""

import numpy as np
import pytest

from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.photo.benchmark import photo_camera
from machcreator.photo.camera import PhotoCamera
from machcreator.photo.correspondence import bare_face, cached_correspondence
from machcreator.photo.head import detector_view
from machcreator.photo.landmarks import MediaPipeFaceMesh
from machcreator.render.preview import head_box, render


def _photo_camera(camera) -> PhotoCamera:
    """The preview renderer's camera as the photo path's (rotation rows: right, down, forward)."""
    basis = camera.basis()
    return PhotoCamera(basis, -basis @ np.asarray(camera.eye), camera.focal_px, camera.width, camera.height)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    detector = MediaPipeFaceMesh()
    prior = build_geometry(resolve(apply_overrides(Attributes(), ["body.gender=female", "body.age_years=35"]), 0))
    truth = build_geometry(resolve(apply_overrides(Attributes(), ["body.gender=female", "body.age_years=60"]), 5))
    correspondence = cached_correspondence(prior, detector, tmp_path_factory.mktemp("corr"))
    camera = photo_camera(head_box(truth), yaw_deg=12.0, pitch_deg=-5.0, fov_deg=20.0)
    return detector, prior, truth, correspondence, camera


def test_the_camera_converts_to_the_preview_renderers(scene):
    _, _, truth, _, camera = scene
    points = truth.part("head").positions.astype(np.float64)
    np.testing.assert_allclose(_photo_camera(camera).view().project(points)[0], camera.project(points)[0], atol=1e-6)


def test_the_detectors_error_on_the_same_face_in_the_fits_light_cancels_its_error_on_the_photo(scene):
    detector, _, truth, correspondence, camera = scene
    # the "photo": an older face, turned away and lit from the side; its landmarks' true pixels are known
    photo = render(bare_face(truth), camera, light_dir=(0.6, -0.7, 0.4))
    detected = detector.detect(photo)[0].points[:, :2].astype(np.float64)
    head = truth.part("head")
    exact = camera.project(correspondence.points(head.positions.astype(np.float64), head.faces))[0]
    seen, predicted = detector_view(truth, _photo_camera(camera), np.zeros(len(truth.morph_names)), detector,
                                    correspondence)
    corrected = detected - (seen - predicted)
    ok = correspondence.valid
    raw = np.linalg.norm(detected - exact, axis=1)[ok].mean()
    after = np.linalg.norm(corrected - exact, axis=1)[ok].mean()
    assert raw > 3.0, raw  # pixels at 512²: more than a face's difference from the prior
    assert after < 0.5 * raw, (raw, after)  # measured: 5.9 -> 1.9 px
