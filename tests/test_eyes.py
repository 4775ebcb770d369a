"""Eyeball frames, polar eye UVs and the procedural iris texture."""

import colorsys

import numpy as np
import pytest

from _anny_fixture import shaped_body
from machcreator.eyes import IRIS_HALF_ANGLE, IRIS_UV_RADIUS, eye_uvs, eyeball_frames, iris_texture

CENTER = np.array([0.03, -0.1, 0.65])
FORWARD = np.array([0.0, -1.0, 0.0])


def _on_eye(theta: float, phi: float) -> np.ndarray:
    """A point on a 12 mm eye at angle theta from the gaze, azimuth phi (0 = +X, pi/2 = up)."""
    right, up = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    d = np.cos(theta) * FORWARD + np.sin(theta) * (np.cos(phi) * right + np.sin(phi) * up)
    return CENTER + 0.012 * d


def test_eye_uvs_polar_layout():
    pts = np.stack([_on_eye(0, 0), _on_eye(np.pi / 2, np.pi / 2), _on_eye(np.pi / 2, 0),
                    _on_eye(IRIS_HALF_ANGLE, 1.0), _on_eye(np.pi, 0), _on_eye(2.5, 4.0)])
    uv = eye_uvs(pts, CENTER, FORWARD * 3)
    np.testing.assert_allclose(uv[0], [0.5, 0.5], atol=1e-6)  # front pole
    np.testing.assert_allclose(uv[1], [0.5, 0.0], atol=1e-6)  # up -> top of the image
    np.testing.assert_allclose(uv[2], [1.0, 0.5], atol=1e-6)  # +X -> right
    assert np.linalg.norm(uv[3] - 0.5) == pytest.approx(IRIS_UV_RADIUS, abs=1e-5)
    assert IRIS_UV_RADIUS == pytest.approx(0.161, abs=1e-3)  # 29° of 90°, halved
    assert np.linalg.norm(uv[4:] - 0.5, axis=1) == pytest.approx([0.5, 0.5], abs=1e-5)  # back: rim
    assert ((uv >= 0) & (uv <= 1)).all()


def test_eye_uvs_rejects_vertical_gaze():
    with pytest.raises(ValueError):
        eye_uvs(CENTER[None], CENTER, np.array([0.0, 0.0, 1.0]))


@pytest.fixture(scope="module")
def body():
    return shaped_body()


def test_eyeball_frames_on_anny(body):
    frames = eyeball_frames(body)
    assert set(frames) == {"L", "R"}
    (cl, fl, rl), (cr, fr, rr) = frames["L"], frames["R"]
    assert cl[0] > 0 > cr[0]  # L is the character's left, +X
    assert fl @ [0, -1, 0] > 0.95 and fr @ [0, -1, 0] > 0.95  # looking forward (-Y)
    assert 0.010 < rl < 0.02 and rl == pytest.approx(rr, rel=0.02)
    for side, (c, f, r) in frames.items():
        front = np.unique(body.faces[body.face_labels == f"eye_front.{side}"])
        back = np.unique(body.faces[body.face_labels == f"eye_back.{side}"])
        pts = body.positions[np.union1d(front, back)]
        np.testing.assert_allclose(np.linalg.norm(pts - c, axis=1), r, rtol=0.1)
        uv_front = eye_uvs(body.positions[front], c, f)
        uv_back = eye_uvs(body.positions[back], c, f)
        # the front hemisphere fills the disc (anny's first ring is ~11 degrees from the pole),
        # the back hemisphere lands on its rim
        assert np.linalg.norm(uv_front - 0.5, axis=1).min() < 0.08
        assert np.linalg.norm(uv_back - 0.5, axis=1).min() > 0.4


def _ring(img: np.ndarray, r0: float, r1: float) -> np.ndarray:
    h = img.shape[0]
    c = (np.arange(h) + 0.5) / h - 0.5
    r = np.hypot(*np.meshgrid(c, c, indexing="ij"))
    return img[(r >= r0) & (r < r1)].astype(float)


@pytest.mark.parametrize("rgb", [(70, 110, 160), (100, 62, 30), (80, 120, 60)])
def test_iris_texture_regions(rgb):
    img = iris_texture(rgb, size=256, seed=1, pupil_ratio=0.4)
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8
    assert _ring(img, 0, 0.04).max() < 30  # pupil (radius 0.4 * 0.161 = 0.064)
    iris = _ring(img, 0.12, 0.14).mean(0)
    hue = colorsys.rgb_to_hsv(*(iris / 255))[0]
    want = colorsys.rgb_to_hsv(*(np.array(rgb) / 255))[0]
    assert min(abs(hue - want), 1 - abs(hue - want)) < 0.05  # the iris hue
    sclera = _ring(img, 0.26, 0.34)
    assert np.median(sclera, 0).min() > 215  # near-white sclera outside the limbus
    limbus = _ring(img, IRIS_UV_RADIUS - 0.004, IRIS_UV_RADIUS + 0.004).mean()
    assert limbus < sclera.mean() - 60  # dark limbal ring


def test_iris_texture_seeded_and_pupil_size():
    a = iris_texture((70, 110, 160), size=128, seed=5)
    np.testing.assert_array_equal(a, iris_texture((70, 110, 160), size=128, seed=5))
    assert not np.array_equal(a, iris_texture((70, 110, 160), size=128, seed=6))
    wide = iris_texture((70, 110, 160), size=256, seed=5, pupil_ratio=0.7)
    assert _ring(wide, 0.09, 0.11).max() < 30 < _ring(a, 0.09, 0.11).mean()
    with pytest.raises(ValueError):
        iris_texture((70, 110, 160), pupil_ratio=0.95)
