"""Glasses fitted to a real generated head: on the nose, level, outside the head, temples at the ears."""

from __future__ import annotations

import numpy as np
import pytest

from machcreator.assets.fitting import BodySurface
from machcreator.assets.glasses import STYLES, fit_glasses, nose_bridge
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.body.template import load_anny


@pytest.fixture(scope="module")
def surface() -> BodySurface:
    attrs = resolve(apply_overrides(Attributes(), ["body.gender=male", "body.age_years=70"]), 1)
    return BodySurface.from_character(build_geometry(attrs, model=load_anny()))


@pytest.fixture(scope="module")
def fitted(surface):
    return {style: fit_glasses(style, surface, num_morphs=52) for style in STYLES}


def _frame(asset) -> np.ndarray:
    return next(p for p in asset.parts if p.name == "glasses_frame").positions.astype(np.float64)


def test_bridge_rests_on_the_nose_within_3mm(surface, fitted):
    bridge = nose_bridge(surface)
    for style, asset in fitted.items():
        frame = _frame(asset)
        # the frame's points over the nose ridge: near the midline, around the bridge point
        near = frame[(np.abs(frame[:, 0]) < 0.003) & (np.abs(frame[:, 2] - bridge[2]) < 0.01)]
        gap = surface.cloud.signed_distance(near).min()
        assert 0.0 < gap < 0.003, (style, gap)


def test_lenses_are_level_within_1mm(fitted):
    for style, asset in fitted.items():
        lenses = next(p for p in asset.parts if p.name == "glasses_lenses").positions
        left, right = lenses[lenses[:, 0] > 0], lenses[lenses[:, 0] < 0]
        assert abs(left[:, 2].mean() - right[:, 2].mean()) < 0.001, style


def test_nothing_is_inside_the_head(surface, fitted):
    for style, asset in fitted.items():
        pts = np.concatenate([p.positions for p in asset.parts]).astype(np.float64)
        assert surface.cloud.signed_distance(pts).min() > 0.0, style


def test_temples_end_near_the_ears(surface, fitted):
    for style, asset in fitted.items():
        tips = asset.labels["fit"]["temple_tip_to_ear_m"]
        assert max(tips) < 0.02, (style, tips)
        # and they do reach back there: frame points within 2 cm of each ear exist
        frame = _frame(asset)
        for ear in ("ear_l", "ear_r"):
            assert np.linalg.norm(frame - surface.landmarks[ear], axis=1).min() < 0.02, (style, ear)


def test_styles_differ_in_shape_and_material(fitted):
    sizes = {tuple(a.labels["fit"]["lens_size_m"]) for a in fitted.values()}
    assert len(sizes) == len(STYLES)
    assert fitted["aviator"].materials["aviator_glasses_frame"].metallic_factor == 1.0
    assert fitted["sunglasses"].asset_id == "sunglasses" and fitted["round"].asset_id == "round_glasses"
    assert fitted["sunglasses"].materials["sunglasses_glasses_lenses"].base_color_factor[3] >= 0.7
    assert fitted["reading"].materials["reading_glasses_lenses"].base_color_factor[3] <= 0.2


def test_rigid_to_the_head_bone(surface, fitted):
    head = surface.skeleton.bone_names.index("head")
    for part in fitted["round"].parts:
        assert np.all(part.joints[:, 0] == head) and np.allclose(part.weights[:, 0], 1.0)
