"""The portrait stage's prompts, QA and reseed loop (issue 23, scopes 3 and 4).

QA runs on a real photo (skimage's astronaut: frontal, eyes open, a smile showing the teeth);
painting runs the tiny random SD1.5 + ControlNets at 64 px for 2 steps; a tiny random model paints
no face, so the pass/fail loop is driven by a detector that reports the astronaut's face and a
CLIP scorer scripted per seed, through the real scoring and checks.
"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import skimage.data

from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.core.errors import ModelConfigError, ModelLoadError
from machcreator.core.models import PortraitSettings
from machcreator.photo.landmarks import FaceLandmarks, MediaPipeFaceMesh
from machcreator.portrait import PortraitQA, PortraitResult, paint_portrait
from machcreator.portrait.generate import paint
from machcreator.portrait.prompting import FRAMING, clip_token_estimate, portrait_prompts
from machcreator.portrait.qa import (EYE_POINTS, LIPS_MID, TransformersClip, clip_scorer, expression_from_landmarks,
                                     failed_checks)

from .tiny_models import save_tiny_tokenizer

LONG_PROMPT = ("an old fisherman with a grey beard and a wool cap, weathered face, standing on a pier at dawn "
               "with gulls overhead and a rusty trawler behind him, smiling at the sea, " * 4)


def person(*overrides: str, seed: int = 0) -> Attributes:
    return resolve(apply_overrides(Attributes(), list(overrides)), seed)


# --- prompts ---------------------------------------------------------------------------------

def test_the_prompt_words_the_attributes_after_the_framing():
    a = person("body.gender=female", "body.age_years=30", "hair.color=red", "hair.style=bob", "eyes.iris_color=green",
               "skin.freckles=0.8", "glasses=round", "headwear=none", "makeup.lipstick_color=none")
    positive, negative = portrait_prompts(a, "a woman", "sd15")
    assert positive.startswith(", ".join(FRAMING))
    for words in ("30-year-old", "woman", "red hair", "bob hairstyle", "green eyes", "freckles", "round glasses"):
        assert words in positive
    assert positive.endswith(", a woman")
    assert "hat" in negative.split(", ") and "glasses" not in negative.split(", ")
    for words in ("smile", "open mouth", "teeth", "closed eyes", "profile", "cartoon", "watermark"):
        assert words in negative.split(", ")


def test_the_text_wins_over_habit_beards_glasses_and_hats():
    """The negative prompt forbids only what the attributes say is absent."""
    bearded = person("body.gender=male", "body.age_years=50", "facial_hair.type=full_beard", "headwear=wool_cap",
                     "glasses=none")
    positive, negative = portrait_prompts(bearded, "", "sdxl")
    assert "full beard" in positive and "beard" not in negative.split(", ")
    assert "hat" not in negative.split(", ") and "glasses" in negative.split(", ")
    shaven = person("body.gender=male", "body.age_years=50", "facial_hair.type=none")
    positive, negative = portrait_prompts(shaven, "", "sd15")
    assert "clean-shaven" in positive and "beard" in negative.split(", ")


def test_prompts_keep_within_clips_77_tokens_dropping_the_users_words_first(tmp_path):
    """The token count is an upper estimate of CLIP's BPE (clip_token_estimate: one token per mark
    and digit, one per 8 letters of a word), and, exactly, the tiny byte-level CLIP tokenizer (one
    token per character, far stricter) passed as the counter."""
    from transformers import CLIPTokenizer

    for seed in range(12):
        positive, negative = portrait_prompts(person(seed=seed), LONG_PROMPT, "sd15")
        assert clip_token_estimate(positive) <= 75 and clip_token_estimate(negative) <= 75
        assert positive.startswith(", ".join(FRAMING))
        users = positive.split("photorealistic, ")[1]  # the user's words come last, cut at a word
        assert users and LONG_PROMPT.startswith(users) and not users.endswith(",")
    tokenizer = CLIPTokenizer.from_pretrained(save_tiny_tokenizer(tmp_path))
    count = lambda text: len(tokenizer(text).input_ids) - 2  # noqa: E731
    positive, negative = portrait_prompts(person(seed=0), LONG_PROMPT, "sd15", count)
    assert len(tokenizer(positive).input_ids) <= 77 and len(tokenizer(negative).input_ids) <= 77
    assert positive.startswith("frontal studio portrait, head and shoulders")  # the first clauses survive


def test_an_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="sd15, sdxl"):
        portrait_prompts(person(), "", "sd3")


# --- QA on real photos -----------------------------------------------------------------------

SETTINGS = PortraitSettings()


@pytest.fixture(scope="module")
def qa() -> PortraitQA:
    return PortraitQA(MediaPipeFaceMesh())


@pytest.fixture(scope="module")
def astronaut_face(qa) -> FaceLandmarks:
    return qa.detector.detect(skimage.data.astronaut())[0]


def test_a_frontal_photo_passes_pose_and_eyes_and_its_toothy_smile_is_caught(qa):
    scores = qa.score(skimage.data.astronaut(), "a woman")
    assert scores.face_found and scores.expression_from == "landmarks" and scores.clip is None
    assert max(abs(scores.yaw), abs(scores.pitch), abs(scores.roll)) < 5.0  # degrees
    assert scores.eyes_open == 1.0
    # the astronaut smiles with her teeth showing: lips apart 16 % of the mouth's width
    assert failed_checks(scores, SETTINGS) == [f"mouth open {scores.mouth_open:.2f} > 0.3"]


def test_a_rolled_head_fails_the_roll_check(qa):
    image = skimage.data.astronaut()
    rolled = cv2.warpAffine(image, cv2.getRotationMatrix2D((256.0, 256.0), 20.0, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    scores = qa.score(rolled, "a woman")
    straight = qa.score(image, "a woman")
    assert scores.roll - straight.roll == pytest.approx(-20.0, abs=1.5)  # image turned 20° anticlockwise
    assert any(r.startswith("roll -1") and r.endswith("> 10°") for r in failed_checks(scores, SETTINGS))


def test_a_blank_image_fails_for_no_face(qa):
    scores = qa.score(np.full((256, 256, 3), 128, np.uint8), "a woman")
    assert not scores.face_found and scores.yaw is None
    assert len(failed_checks(scores, SETTINGS)) == 1 and "no face found" in failed_checks(scores, SETTINGS)[0]


def test_closed_eyes_and_an_open_mouth_from_the_landmark_geometry(astronaut_face):
    points = astronaut_face.points.copy()
    eyes, mouth = expression_from_landmarks(points)
    assert eyes == 1.0 and 0.3 < mouth < 0.45  # the toothy smile
    closed = points.copy()
    for corner, up1, up2, corner2, low2, low1 in EYE_POINTS:  # upper lid points onto the lower lid
        closed[up1], closed[up2] = closed[low1], closed[low2]
    closed[LIPS_MID[0]] = closed[LIPS_MID[1]]  # lips together
    assert expression_from_landmarks(closed) == (0.0, 0.0)
    agape = points.copy()
    agape[LIPS_MID[1], 1] += 0.5 * np.linalg.norm(points[61, :2] - points[291, :2])  # jaw dropped
    assert expression_from_landmarks(agape)[1] == 1.0


def test_blendshape_scores_are_used_when_a_face_landmarker_is_configured(qa):
    """The real reader is MediaPipe Tasks' FaceLandmarker on a user's face_landmarker.task (not
    shipped, so not run here); any reader of the same shape is scored the same way."""
    reader = SimpleNamespace(read=lambda rgb: {"eyeBlinkLeft": 0.1, "eyeBlinkRight": 0.7, "jawOpen": 0.05})
    scores = PortraitQA(qa.detector, blendshapes=reader).score(skimage.data.astronaut(), "a woman")
    assert scores.expression_from == "blendshapes"
    assert scores.eyes_open == pytest.approx(0.3) and scores.mouth_open == pytest.approx(0.05)
    assert failed_checks(scores, SETTINGS) == ["eyes open 0.30 < 0.5"]


def test_model_errors_are_one_line(tmp_path):
    from machcreator.portrait.qa import FaceLandmarkerBlendshapes, OpenClip

    with pytest.raises(ModelConfigError, match="face_landmarker.task") as err:
        FaceLandmarkerBlendshapes(tmp_path / "face_landmarker.task")
    assert "\n" not in str(err.value)
    ckpt = tmp_path / "open_clip.safetensors"
    ckpt.write_bytes(b"")
    config = SimpleNamespace(clip=ckpt, clip_arch=None, resolved_device=lambda: "cpu")
    with pytest.raises(ModelConfigError, match="needs clip_arch"):
        clip_scorer(config)
    with pytest.raises(ModelConfigError, match="does not exist"):
        clip_scorer(SimpleNamespace(clip=tmp_path / "missing", clip_arch=None, resolved_device=lambda: "cpu"))
    try:
        import open_clip  # noqa: F401
    except ImportError:
        with pytest.raises(ModelLoadError, match="pip install open-clip-torch") as err:
            OpenClip(ckpt, "ViT-H-14")
        assert "\n" not in str(err.value)
