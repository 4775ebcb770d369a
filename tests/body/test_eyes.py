"""Eyeball frames and polar eye UVs."""

import numpy as np
import pytest

from machcreator.body.eyes import IRIS_HALF_ANGLE, IRIS_UV_RADIUS, eye_uvs, eyeball_frames

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
