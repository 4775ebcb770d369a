"""Wrinkle relief shows in the rendered preview and grows with age (same face, same light)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from machcreator.pipeline import GenerateRequest, Pipeline

AGES = (30.0, 60.0, 90.0)
PANEL = 384


def _relief(preview: np.ndarray) -> float:
    """Line-scale luminance detail in the head-front panel where lines fall and no feature edge does:
    the forehead above the brows and the cheeks beside the nose (mean |difference of Gaussians| at
    1-3 px: wrinkles, not pores or the face's broad shading)."""
    head = cv2.cvtColor(preview[:, PANEL:2 * PANEL], cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = np.abs(cv2.GaussianBlur(head, (0, 0), 1.0) - cv2.GaussianBlur(head, (0, 0), 3.0))
    rows, cols = lambda a, b: slice(int(a * PANEL), int(b * PANEL)), lambda a, b: slice(int(a * PANEL), int(b * PANEL))
    regions = (lap[rows(0.2, 0.36), cols(0.35, 0.65)], lap[rows(0.56, 0.72), cols(0.28, 0.4)],
               lap[rows(0.56, 0.72), cols(0.6, 0.72)])
    return float(np.mean([r.mean() for r in regions]))


@pytest.fixture(scope="module")
def own_pipeline() -> Pipeline:
    """Not the session's pipeline: these runs would push its cached fisherman out (it keeps two runs)."""
    return Pipeline()


@pytest.mark.slow  # over 25 s: the default run stays near 10 minutes
def test_wrinkle_relief_in_the_preview_grows_with_age(own_pipeline):
    relief = []
    for age in AGES:
        request = GenerateRequest(prompt="a bald man", seed=5, texture_size=512, preview_size=PANEL, hair_detail=0.05,
                                  overrides=[f"body.age_years={age}", "facial_hair.type=none", "skin.freckles=0",
                                             "skin.moles=0", "skin.blemishes=0", "eyebrows.thickness=-0.5"])
        relief.append(_relief(own_pipeline(request).preview))
    assert relief[0] < relief[1] < relief[2], relief
    assert relief[2] > 1.25 * relief[0], relief
