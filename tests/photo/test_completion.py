"""Completion: the procedural skin takes the photo's tone, the photo's trusted texels are blended
in without a seam, and the error-prone regions come from the procedural skin."""

import cv2
import numpy as np
import pytest

from machcreator.photo.completion import complete_texture, match_tone, region_mask

S = 128


def _textures(seed: int = 0):
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:S, 0:S] / (S - 1)
    pores = cv2.GaussianBlur(rng.normal(0, 0.03, (S, S)).astype(np.float32), (0, 0), 1.5)
    procedural = np.stack([0.80 + pores, 0.62 + pores, 0.55 + pores], -1).clip(0, 1).astype(np.float32)
    # the photo: a darker, warmer tone with its own pattern (a light gradient and freckles)
    freckles = (cv2.GaussianBlur(rng.uniform(0, 1, (S, S)).astype(np.float32), (0, 0), 2) > 0.56) * -0.08
    photo = np.stack([0.55 + 0.1 * u + freckles, 0.38 + 0.1 * u + freckles, 0.30 + 0.08 * u + freckles], -1)
    visibility = np.clip(1.0 - 2.2 * np.hypot(u - 0.5, v - 0.5), 0, 1)  # a face seen in the middle
    return procedural, photo.clip(0, 1).astype(np.float32), visibility


def _lab_mean(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2LAB)[mask].mean(0)


def test_the_procedural_skin_takes_the_photo_tone():
    procedural, photo, visibility = _textures()
    shared = visibility > 0.3
    matched = match_tone(procedural, photo, shared)
    assert np.abs(_lab_mean(matched, shared) - _lab_mean(photo, shared)).max() < 1.0
    assert np.abs(_lab_mean(procedural, shared) - _lab_mean(photo, shared)).max() > 10.0  # it had to move


def test_the_photo_is_blended_in_without_a_seam_and_the_eyes_come_from_the_skin():
    procedural, photo, visibility = _textures(1)
    photo = photo.copy()
    photo[int(0.43 * S):int(0.47 * S), int(0.37 * S):int(0.43 * S)] = 0.08  # the photo's eyes: dark, to be left out
    photo[int(0.43 * S):int(0.47 * S), int(0.57 * S):int(0.63 * S)] = 0.08
    eyes = region_mask([np.array([[0.35, 0.42], [0.45, 0.42], [0.45, 0.48], [0.35, 0.48]]),
                        np.array([[0.55, 0.42], [0.65, 0.42], [0.65, 0.48], [0.55, 0.48]])], S, dilate_px=3)
    assert eyes.sum() > 2 * (0.1 * S) * (0.06 * S)  # both boxes, grown
    out = complete_texture(photo, visibility, procedural, eyes)
    base = match_tone(procedural, photo, (visibility >= 0.3) & ~eyes)
    trusted = (visibility >= 0.3) & ~eyes
    inner = cv2.erode(trusted.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    outside = ~cv2.dilate(trusted.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    # outside the trusted region: the tone-matched skin (ears, neck, the eyes), but for 8-bit
    # rounding and OpenCV's few texels of feathering at the mask's edge
    assert np.percentile(np.abs(out[outside] - base[outside]), 99) < 2 / 255
    assert np.abs(out[outside] - base[outside]).max() < 5 / 255
    hole = eyes & outside  # the eyes come from the skin, not the photo
    assert np.abs(out[hole] - base[hole]).mean() < 0.1 * np.abs(photo[hole] - base[hole]).mean()
    # inside: the photo's detail (the freckles) survives the blend; the blend itself only adds a
    # smooth membrane that takes the seams away
    def detail(x: np.ndarray) -> np.ndarray:
        return x[..., 0] - cv2.GaussianBlur(x[..., 0], (0, 0), 3)
    corr = np.corrcoef(detail(out)[inner], detail(photo)[inner])[0, 1]
    assert corr > 0.9, corr
    # no seam: across the region's edge the texture changes no more than within the skin
    edge = cv2.dilate(trusted.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~trusted
    step = np.abs(np.diff(out, axis=1)).max(-1)[edge[:, :-1] | edge[:, 1:]].mean()
    skin_step = np.abs(np.diff(base, axis=1)).max(-1)[outside[:, :-1]].mean()
    assert step < 1.5 * skin_step + 0.5 / 255, (step, skin_step)  # pasted without blending: 2.4x the skin's


def test_without_shared_texels_the_tone_cannot_be_matched():
    procedural, photo, visibility = _textures()
    with pytest.raises(ValueError, match="too few texels"):
        match_tone(procedural, photo, np.zeros((S, S), bool))
