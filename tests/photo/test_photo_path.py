"""A real portrait (scikit-image's astronaut, Eileen Collins) through the whole photo path: the
head fitted, textured, delit and completed, packaged, and checked by the Khronos validator."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree
from skimage import data

from machcreator.body.geometry import build_geometry
from machcreator.export.package import PHOTO_PREVIEW, validate_package
from machcreator.photo.image import PhotoError
from machcreator.pipeline import GenerateRequest

#: small where it does not change what is measured: the texture fit runs at 32, 128, 256
PHOTO_DRAFT = {"texture_size": 256, "preview_size": 128, "hair_detail": 0.05}


@pytest.fixture(scope="module")
def astronaut_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


@pytest.fixture(scope="module")
def astronaut_result(pipeline, astronaut_png):
    return pipeline(GenerateRequest(prompt="a woman in a white t-shirt", photo=str(astronaut_png), **PHOTO_DRAFT))


def test_the_head_reaches_the_landmarks_within_2_5_px_at_512(astronaut_result):
    errors = astronaut_result.photo_report["reprojection_error_px"]
    assert errors["final"] <= 2.5, errors  # Mach reports 3.19 px for its detector
    # each step helps: anny's face space and the expressions, then the position map
    assert errors["final"] < errors["parametric"] < errors["pnp"], errors
    # the detector itself, run on the result's render, finds the photo's landmarks (measured 1.9-2.1 px)
    assert errors["detected"] <= 2.5, errors


def test_the_rerendered_head_matches_the_photo_inside_the_face(astronaut_result):
    assert astronaut_result.photo_report["psnr_db"] >= 25.0, astronaut_result.photo_report


def test_the_delit_albedo_has_less_shading_than_the_extraction(astronaut_result):
    spread = astronaut_result.photo_report["shading_spread"]
    assert spread["delit"] < 0.85 * spread["extracted"], spread


def test_the_photo_decides_colours_the_prompt_left_open(astronaut_result):
    specified = astronaut_result.attributes
    # a light-skinned woman with light brown hair; the prompt said neither
    assert specified.hair.color in ("light_brown", "brown", "blonde", "strawberry_blonde"), specified.hair.color
    assert specified.eyebrows.color in ("light_brown", "brown", "dark_brown", "blonde"), specified.eyebrows.color
    assert specified.skin.tone_ita_deg > 28, specified.skin.tone_ita_deg  # "light" or lighter


def test_what_the_user_asks_for_wins_over_the_photo(pipeline, astronaut_result):
    # (an override and a prompt's words are both "specified": the photo fills only what neither set)
    asked = astronaut_result.request.model_copy(update={"overrides": ["hair.color=black"]})
    result = pipeline(asked)  # the head's fit comes from the stage cache: hair colour leaves it alone
    assert result.attributes.hair.color == "black"
    assert result.attributes.eyebrows.color == astronaut_result.attributes.eyebrows.color


def test_the_head_is_the_photo_neutral_and_the_body_is_the_prompts(astronaut_result):
    prompt_only = build_geometry(astronaut_result.resolved)
    fitted, template = astronaut_result.character.landmarks, prompt_only.landmarks
    moved = {k: float(np.linalg.norm(fitted[k] - template[k])) for k in ("nose_tip", "chin", "mouth_corner_l", "forehead_center")}
    assert max(moved.values()) > 0.002 and max(moved.values()) < 0.03, moved  # reshaped by millimetres
    # the body below the neck is untouched: the head's offsets fade out before the seam
    body, plain = astronaut_result.character.part("body"), prompt_only.part("body")
    low = body.positions[:, 2] < fitted["neck_base"][2] - 0.02
    # (garments took the covered skin out of the dressed body: each vertex left is a plain one)
    assert cKDTree(plain.positions).query(body.positions[low])[0].max() == 0.0


def test_the_eyes_and_teeth_follow_the_fitted_head(astronaut_result):
    ch = astronaut_result.character
    head = ch.part("head")
    for side, sign in (("l", 1), ("r", -1)):
        centre = ch.landmarks[f"eye_center_{side}"]
        # the eyeball sits in its socket: the skin's nearest point around it is about a radius away
        lid = np.linalg.norm(head.positions - centre, axis=1).min()
        assert 0.5 * ch.landmarks["eye_radius"][0] < lid < 1.6 * ch.landmarks["eye_radius"][0], lid
        assert np.sign(centre[0]) == sign
    teeth = ch.part("teeth").positions
    lo, hi = head.positions.min(0), head.positions.max(0)
    assert (teeth > lo).all() and (teeth < hi).all()
    mouth = ch.landmarks["mouth_center"]
    assert np.linalg.norm(teeth.mean(0)[[0, 2]] - mouth[[0, 2]]) < 0.03


def test_the_package_validates_and_shows_the_photo_beside_the_head(astronaut_result, pipeline, tmp_path):
    manifest = pipeline.write(astronaut_result, tmp_path / "pkg")
    assert [i for i in validate_package(tmp_path / "pkg") if i.severity == "error"] == []
    side_by_side = np.asarray(Image.open(tmp_path / "pkg" / PHOTO_PREVIEW))
    assert side_by_side.shape == (128, 4 * 128, 3)
    assert manifest.photo["landmarks"] == 478
    written = json.loads((tmp_path / "pkg" / "manifest.json").read_text())
    assert written["photo"]["psnr_db"] == manifest.photo["psnr_db"]


@pytest.mark.parametrize("image, words", [
    (data.camera(), "no face found"),                       # a man from behind a camera, turned away
    (np.full((256, 256, 3), 255, np.uint8), "no face found"),  # blank
])
def test_a_photo_without_a_face_is_a_clear_error(pipeline, tmp_path, image, words):
    path = tmp_path / "photo.png"
    Image.fromarray(image).save(path)
    with pytest.raises(PhotoError, match=words):
        pipeline(GenerateRequest(prompt="a man", photo=str(path), **PHOTO_DRAFT))


@pytest.mark.parametrize("content, words", [
    (b"\xff\xd8\xff\xe0 not a jpeg at all", "corrupt"),
    (b"", "empty"),
])
def test_the_cli_refuses_a_bad_photo_in_one_line_and_writes_nothing(tmp_path, content, words):
    photo, out = tmp_path / "face.jpg", tmp_path / "out"
    photo.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "machcreator.cli", "generate", "--image", str(photo), "a man",
                           "-o", str(out)], capture_output=True, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert words in err and len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert not out.exists()


def test_the_cli_refuses_a_faceless_photo_and_writes_nothing(tmp_path):
    photo, out = tmp_path / "camera.png", tmp_path / "out"
    Image.fromarray(data.camera()).save(photo)
    proc = subprocess.run([sys.executable, "-m", "machcreator.cli", "generate", "--image", str(photo), "-o", str(out),
                           "--texture-size", "128", "--hair-detail", "0.05"], capture_output=True, timeout=300)
    assert proc.returncode == 2 and "no face found" in proc.stderr.decode(), proc.stderr.decode()[-2000:]
    assert not out.exists()


def test_a_learned_delighter_plugs_in_from_a_local_folder(pipeline, astronaut_png, astronaut_result, tmp_path):
    from machcreator.core.errors import ModelLoadError
    from machcreator.photo.delight import GeneratorConfig, GlobalGenerator, save_generator

    save_generator(GlobalGenerator(GeneratorConfig(width=8, downsampling=2, blocks=1)), tmp_path / "delighter")
    request = astronaut_result.request.model_copy(update={"delighter_dir": str(tmp_path / "delighter")})
    learned = pipeline(request)  # everything but the head's texture comes from the stage cache
    assert learned.character.textures["head_albedo"].shape == astronaut_result.character.textures["head_albedo"].shape
    assert not np.array_equal(learned.character.textures["head_albedo"], astronaut_result.character.textures["head_albedo"])
    (tmp_path / "broken").mkdir()
    with pytest.raises(ModelLoadError, match="config.json"):
        pipeline(request.model_copy(update={"delighter_dir": str(tmp_path / "broken")}))


def test_a_detector_blind_to_the_fits_renders_leaves_the_photos_landmarks_as_they_are(pipeline, astronaut_result,
                                                                                       astronaut_png, monkeypatch):
    """The detector's-error rounds need the detector to find the rendered face; where it does not,
    the fit keeps the photo's landmarks and says the check could not be made (null, not NaN)."""
    from machcreator.photo.head import face_crop
    from machcreator.photo.image import load_photo
    from machcreator.photo.report import photo_report
    from machcreator.pipeline import PhotoFace
    from machcreator.pipeline.stages import PhotoInput

    detector = pipeline.landmark_detector()
    photo = load_photo(str(astronaut_png))
    face = PhotoFace(PhotoInput.of(photo.rgb, largest_face=False), face_crop(photo, detector), {})

    class BlindToRenders:  # the crop is already found: every later call is on a render
        name = detector.name

        def detect(self, image):
            return []

    monkeypatch.setattr(pipeline, "landmark_detector", lambda: BlindToRenders())
    inputs = pipeline.geometry_input(astronaut_result.resolved, astronaut_result.attributes, face)
    fit = pipeline._fit_head(inputs, face, pipeline.template()).head_fit
    assert np.isnan(fit.errors_px["detected"]) and fit.errors_px["final"] <= 2.5, fit.errors_px
    report = photo_report(fit, SimpleNamespace(psnr_db=0.0, shading_std={}))  # (the texture's part is not at stake)
    assert report["reprojection_error_px"]["detected"] is None
    json.dumps(report, allow_nan=False)  # what the manifest writes
