"""The procedural iris: pupil, iris hue, limbal ring and sclera where the eye UVs put them."""

import colorsys

import numpy as np
import pytest

from machcreator.body.eyes import IRIS_UV_RADIUS
from machcreator.skin.iris import iris_texture


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
