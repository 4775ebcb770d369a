"""Glasses in a photo: told by their bridge across the nose, kept out of the skin texture, and
given to the character unless the prompt says otherwise. Real photos shipped in packages
(scikit-image's astronaut: none; matplotlib's Grace Hopper: glasses) and rendered characters with
and without the generator's own glasses."""

from __future__ import annotations

import matplotlib.cbook
import numpy as np
import pytest
from PIL import Image
from skimage import data

from machcreator.photo.appearance import GLASSES_RIDGE, glasses_ridge, shows_glasses
from machcreator.photo.head import face_crop
from machcreator.photo.head_texture import error_prone_regions
from machcreator.photo.image import Photo, load_photo
from machcreator.pipeline import GenerateRequest
from machcreator.render.preview import camera_for_part, head_box, render

GRACE_HOPPER = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
NOSE_ROOT = 168  # MediaPipe: between the brows, where a frame's bridge sits


def _crop(rgb: np.ndarray, detector):
    return face_crop(Photo(rgb=rgb, source_format="PNG", source_mode="RGB"), detector)


def test_real_photos_with_and_without_glasses(pipeline):
    detector = pipeline.landmark_detector()
    assert not shows_glasses(_crop(data.astronaut(), detector))
    assert shows_glasses(face_crop(load_photo(str(GRACE_HOPPER)), detector))


@pytest.mark.parametrize("glasses", ["none", "round", "cat_eye"])
def test_rendered_faces_with_and_without_the_generators_glasses(pipeline, glasses):
    result = pipeline(GenerateRequest(prompt="a man", seed=2, overrides=[f"glasses={glasses}", "headwear=none"],
                                      texture_size=256, preview_size=64, hair_detail=0.05))
    image = render(result.character, camera_for_part(head_box(result.character), "front", 512))
    ridge = glasses_ridge(_crop(image, pipeline.landmark_detector()))
    assert (ridge > GLASSES_RIDGE) == (glasses != "none"), ridge


def test_with_glasses_the_texture_leaves_out_one_band_over_eyes_brows_and_the_nose_bridge(pipeline):
    import cv2

    points = face_crop(load_photo(str(GRACE_HOPPER)), pipeline.landmark_detector()).landmarks.points[:, :2]

    def inside(polygons, point) -> bool:
        return any(cv2.pointPolygonTest(p.astype(np.float32), tuple(map(float, point)), False) >= 0 for p in polygons)

    assert not inside(error_prone_regions(points), points[NOSE_ROOT])
    band = error_prone_regions(points, glasses=True)
    assert inside(band, points[NOSE_ROOT]) and len(band) == 3  # the band, the mouth, the nostrils
    brow_left, brow_right, under_eye = 105, 334, 118
    assert all(inside(band, points[i]) for i in (brow_left, brow_right, under_eye))


def test_a_photo_with_glasses_gives_the_character_glasses_unless_the_prompt_says_otherwise(pipeline, tmp_path):
    path = tmp_path / "grace.png"
    Image.open(GRACE_HOPPER).save(path)
    # the smallest maps and preview: only the attributes and the parts are read (the head fit, which
    # costs the time, does not depend on them)
    draft = {"texture_size": 64, "preview_size": 64, "hair_detail": 0.05}
    worn = pipeline(GenerateRequest(prompt="an old woman", photo=str(path), **draft))
    assert worn.attributes.glasses == "rectangular"
    assert {"glasses_frame", "glasses_lenses"} <= {p.name for p in worn.character.parts}
    assert worn.attributes.eyebrows.color is None  # not read: the frames' upper rim runs along the brows
    bare = pipeline(GenerateRequest(prompt="an old woman without glasses", photo=str(path), **draft))
    assert bare.attributes.glasses == "none"
    assert not {"glasses_frame", "glasses_lenses"} & {p.name for p in bare.character.parts}
