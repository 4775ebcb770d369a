"""The portrait stage's prompts, QA and reseed loop (issue 23, scopes 3 and 4).

QA runs on a real photo (skimage's astronaut: frontal, eyes open, a smile showing the teeth);
painting runs the tiny random SD1.5 + ControlNets at 64 px for 2 steps; a tiny random model paints
no face, so the pass/fail loop is driven by a detector that reports the astronaut's face and a
CLIP scorer scripted per seed, through the real scoring and checks.
"""

from __future__ import annotations

import dataclasses
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
from machcreator.portrait.prompting import (
    FRAMING,
    clip_token_estimate,
    portrait_prompts,
)
from machcreator.portrait.qa import (
    EYE_POINTS,
    LIPS_MID,
    TransformersClip,
    clip_scorer,
    expression_from_landmarks,
    failed_checks,
)

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
    count = lambda text: len(tokenizer(text).input_ids) - 2
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
    assert failed_checks(scores, SETTINGS) == ["no face found"] and "no face found" in scores.problem


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


# --- painting and the reseed loop with the tiny random models -----------------------------------

@pytest.fixture(scope="module")
def tiny_pipeline(tiny_models):
    """The tiny SD1.5 base with the openpose and canny ControlNets, loaded through the config."""
    from machcreator.portrait.models import load_portrait_pipeline

    return load_portrait_pipeline(tiny_models)


@pytest.fixture(scope="module")
def clues():
    """ClueMaps-shaped drawings at 128 px (painting resizes them to the 64-px size): a head's
    outline, keypoint dots, and eye, nose and mouth edges."""
    render = np.full((128, 128, 3), 90, np.uint8)
    cv2.ellipse(render, (64, 60), (34, 44), 0, 0, 360, (200, 160, 140), -1)
    openpose = np.zeros_like(render)
    for x, y in ((50, 50), (78, 50), (64, 66), (54, 82), (74, 82)):
        cv2.circle(openpose, (x, y), 2, (255, 255, 255), -1)
    canny = np.zeros_like(render)
    cv2.ellipse(canny, (64, 60), (34, 44), 0, 0, 360, (255, 255, 255), 1)
    cv2.line(canny, (54, 82), (74, 82), (255, 255, 255), 1)
    return SimpleNamespace(render=render, openpose=openpose, canny=canny)


def test_painting_is_seeded_and_reports_every_denoising_step(tiny_pipeline, tiny_models, clues):
    settings = tiny_models.portrait  # 2 steps at 64 px
    steps = []
    image = paint(tiny_pipeline, "a woman", "smile", clues, settings, 7, lambda *a: steps.append(a), label="try 1/2")
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert steps == [(1, 2, "try 1/2: step 1/2"), (2, 2, "try 1/2: step 2/2")]
    assert np.array_equal(paint(tiny_pipeline, "a woman", "smile", clues, settings, 7), image)
    assert not np.array_equal(paint(tiny_pipeline, "a woman", "smile", clues, settings, 8), image)


class ScriptedClip:
    """A CLIP scorer whose score is set per call: the try's agreement with the prompt, scripted."""

    name = "scripted"

    def __init__(self, scores: list[float]) -> None:
        self.scores = list(scores)

    def score(self, rgb: np.ndarray, text: str) -> float:
        return self.scores.pop(0)


def astronaut_qa(astronaut_face: FaceLandmarks, clips: list[float]) -> PortraitQA:
    """Real QA whose detector reports the astronaut's face, lips closed (a passing face), on any
    image, and whose CLIP scores are ``clips`` in turn: only the prompt check decides."""
    points = astronaut_face.points.copy()
    points[LIPS_MID[0]] = points[LIPS_MID[1]]
    face = dataclasses.replace(astronaut_face, points=points)
    detector = SimpleNamespace(name="astronaut", num_points=478, detect=lambda rgb: [face])
    return PortraitQA(detector, scorer=ScriptedClip(clips))


def test_failing_tries_reseed_and_the_first_passing_one_is_chosen(tiny_pipeline, tiny_models, clues, astronaut_face):
    settings = tiny_models.portrait.model_copy(update={"max_tries": 4})
    steps = []
    result = paint_portrait(person(seed=3), "a woman", clues, tiny_pipeline, astronaut_qa(astronaut_face, [0.1, 0.15, 0.3]),
                            settings, seed=40, progress=lambda *a: steps.append(a))
    assert result.chosen == 2 and result.warning is None and result.image is result.tries[2].image
    manifest = result.manifest()
    assert [t["seed"] for t in manifest["tries"]] == [40, 41, 42] and manifest["chosen_seed"] == 42
    assert [t["passed"] for t in manifest["tries"]] == [False, False, True] and manifest["passed"]
    assert [t["reasons"] for t in manifest["tries"]] == [["clip 0.100 < 0.2"], ["clip 0.150 < 0.2"], []]
    assert manifest["tries"][2]["scores"]["clip"] == 0.3 and manifest["tries"][2]["scores"]["face_found"]
    assert manifest["settings"]["max_tries"] == 4 and manifest["prompt"] == result.prompt
    assert [s[0] for s in steps] == [1, 2] * 3 and steps[-1][2] == "portrait try 3/4: step 2/2"
    json_ready(manifest)


def json_ready(manifest: dict) -> None:
    import json

    assert json.loads(json.dumps(manifest)) == manifest


def test_when_no_try_passes_the_best_is_chosen_with_a_warning(tiny_pipeline, tiny_models, clues, astronaut_face):
    settings = tiny_models.portrait.model_copy(update={"max_tries": 3})
    result = paint_portrait(person(seed=3), "a woman", clues, tiny_pipeline, astronaut_qa(astronaut_face, [0.1, 0.18, 0.05]),
                            settings, seed=0, progress=None)
    assert len(result.tries) == 3 and not any(t.passed for t in result.tries)
    assert result.chosen == 1 and "no portrait passed QA in 3 tries; using seed 1" in result.warning
    assert result.manifest()["warning"] == result.warning and not result.manifest()["passed"]


def test_the_real_qa_scores_the_tiny_models_output_with_the_tiny_clip(tiny_pipeline, tiny_models, clues):
    """Random weights paint no face: every try fails "no face found" and still gets a CLIP score from a
    real forward pass of the tiny random CLIP through transformers; with no face in any try there is
    nothing for the photo path to fit, and the loop says so."""
    from machcreator.core.errors import PortraitError
    from machcreator.portrait.qa import failed_checks

    qa = PortraitQA(MediaPipeFaceMesh(), scorer=clip_scorer(tiny_models))
    assert isinstance(qa.scorer, TransformersClip)
    scored = []
    score = qa.score
    qa.score = lambda rgb, prompt: scored.append((rgb, prompt, score(rgb, prompt))) or scored[-1][2]
    with pytest.raises(PortraitError, match="none of the 2 portraits painted shows a face"):
        paint_portrait(person(seed=1), "a man", clues, tiny_pipeline, qa, tiny_models.portrait, seed=5)
    assert len(scored) == tiny_models.portrait.max_tries
    for _, _, scores in scored:
        assert not scores.face_found and failed_checks(scores, tiny_models.portrait)[0] == "no face found"
        assert -1.0 <= scores.clip <= 1.0
    image, prompt, scores = scored[-1]
    assert qa.scorer.score(image, prompt) == pytest.approx(scores.clip)
    assert qa.scorer.score(image, "a red car") != pytest.approx(scores.clip)


def test_the_contact_sheet_shows_the_clues_and_every_try_with_the_chosen_framed(tiny_models, clues, astronaut_face):
    from machcreator.portrait import FRAME_CHOSEN, PortraitTry
    from machcreator.portrait.qa import PortraitScores

    tries = [PortraitTry(s, PortraitScores(face_found=s == 2, yaw=1.0, pitch=-2.0, roll=0.5, eyes_open=0.9,
                                           mouth_open=0.1, clip=0.25) if s == 2 else PortraitScores(face_found=False),
                         [] if s == 2 else ["no face found"], np.full((64, 64, 3), 40 * s, np.uint8))
             for s in range(5)]
    result = PortraitResult(tries, 2, "p", "n", clues, tiny_models.portrait)
    sheet = result.contact_sheet(tile=128)
    caption = sheet.shape[0] // 3 - 128  # rows: the clues, tries 1-4, try 5
    assert sheet.shape == (3 * (128 + caption), 4 * 128, 3) and sheet.dtype == np.uint8
    chosen_tile = sheet[128 + caption:2 * (128 + caption), 2 * 128:3 * 128]
    assert (chosen_tile[2, :] == FRAME_CHOSEN).all()  # the frame's top edge
    assert not (sheet[128 + caption:2 * (128 + caption), 0:128][2, :] == FRAME_CHOSEN).all(axis=-1).any()
    text_band = chosen_tile[128 + 6:-6, 6:-6]
    assert (text_band < 128).any()  # the scores are written under it
    assert np.array_equal(sheet[:128, 128:256], cv2.resize(clues.openpose, (128, 128), interpolation=cv2.INTER_AREA))
