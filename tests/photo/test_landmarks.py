"""Landmarks on real photos that ship inside scikit-image, and the policy for which face to fit
(one usable face, or a clear error)."""

import numpy as np
import pytest
from PIL import Image
from skimage import data

from machcreator.photo.image import PhotoError
from machcreator.photo.landmarks import MIN_FACE_PX, FaceLandmarks, MediaPipeFaceMesh, find_face


@pytest.fixture(scope="module")
def detector():
    return MediaPipeFaceMesh()


def test_the_astronaut_has_one_frontal_face_with_478_landmarks(detector):
    image = data.astronaut()
    face = find_face(image, detector)
    assert face.points.shape == (478, 3)
    x0, y0, x1, y1 = face.box
    # her face in scikit-image's astronaut photo lies at about x 180-270, y 70-180
    assert 150 < x0 < x1 < 300 and 40 < y0 < y1 < 210 and face.height_px > MIN_FACE_PX
    assert abs(face.yaw_deg) < 20
    # the irises (the last ten points) sit inside the eye region, above the nose tip
    assert (face.points[468:, 1] < face.points[1, 1]).all()


@pytest.mark.parametrize("image", [data.camera(), np.full((256, 256), 200, np.uint8)], ids=["camera", "blank"])
def test_a_photo_without_a_face_says_so(detector, image):
    with pytest.raises(PhotoError, match="no face found"):
        find_face(np.repeat(image[..., None], 3, axis=2), detector, label="street.png")


def test_a_face_too_small_to_fit_says_so(detector):
    canvas = Image.new("RGB", (640, 640), (120, 120, 120))
    canvas.paste(Image.fromarray(data.astronaut()).resize((150, 150)), (240, 240))  # a 30-px face
    with pytest.raises(PhotoError, match="no face found|too small"):
        find_face(np.asarray(canvas), detector)


class _TwoFaces:
    """A stand-in detector returning two faces (MediaPipe rarely finds both in a test collage),
    to pin down the policy, not the detection."""

    name, num_points = "two", 3

    def __init__(self, yaw: float = 0.0) -> None:
        self.yaw = yaw

    def detect(self, rgb):
        big = FaceLandmarks(np.zeros((3, 3), np.float32), (0, 0, 200, 220), self.yaw)
        small = FaceLandmarks(np.zeros((3, 3), np.float32), (300, 0, 380, 90), 0.0)
        return [big, small]


def test_several_faces_are_refused_unless_the_largest_is_asked_for():
    with pytest.raises(PhotoError, match="2 faces found"):
        find_face(np.zeros((8, 8, 3), np.uint8), _TwoFaces())
    assert find_face(np.zeros((8, 8, 3), np.uint8), _TwoFaces(), largest=True).height_px == 220


def test_a_profile_view_is_refused():
    with pytest.raises(PhotoError, match="turned about 55°"):
        find_face(np.zeros((8, 8, 3), np.uint8), _TwoFaces(yaw=55.0), largest=True)


def test_a_turned_head_reads_as_turned(detector):
    """The yaw estimate moves the right way: a photo squeezed on one half reads as turned."""
    image = data.astronaut()
    straight = find_face(image, detector).yaw_deg
    x0, x1 = 150, 300
    face = Image.fromarray(image[:, x0:x1])
    left, right = face.crop((0, 0, 75, 512)).resize((40, 512)), face.crop((75, 0, 150, 512)).resize((110, 512))
    turned = image.copy()
    turned[:, x0:x0 + 40] = np.asarray(left)
    turned[:, x0 + 40:x1] = np.asarray(right)
    [seen] = detector.detect(turned)
    assert abs(seen.yaw_deg - straight) > 10
