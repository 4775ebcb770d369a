"""The tongue albedo (the teeth atlas is tested against the teeth mesh in body/test_mouth.py)."""

import numpy as np

from machcreator.skin.teeth import tongue_texture


def test_tongue_texture_is_pinkish_red_and_seeded():
    a, b = tongue_texture(512, 1), tongue_texture(512, 2)
    assert a.shape == (512, 512, 3) and a.dtype == np.uint8
    mean = a.reshape(-1, 3).astype(float).mean(0)
    assert mean[0] > mean[1] + 40 and mean[0] > mean[2] + 30
    assert np.array_equal(a, tongue_texture(512, 1)) and not np.array_equal(a, b)
