"""Text → clue maps → painted portrait → the photo path → a valid package (issue 23's must-show).

The weights are the tiny random ones of ``tiny_models.py``, loaded through the models config. No tiny
random model paints a face, and the photo path needs one, so the tests that go on past the portrait
swap one part for a stand-in and say so: the VAE decoder returns a real photo (scikit-image's
astronaut) instead of decoding the latents. Everything before it (the CLIP text encoder, both
ControlNets on the clue maps, the UNet, the scheduler's steps) and everything after it (QA, the reseed
loop, the photo path, the package) is the real code.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from diffusers.models.autoencoders.vae import DecoderOutput
from skimage import data as skdata

from machcreator.core.errors import ModelConfigError
from machcreator.core.models import ModelsConfig
from machcreator.export.package import validate_package
from machcreator.pipeline import GenerateRequest, Pipeline, stage_span

from .tiny_models import write_models_toml

PROMPT = "a woman with short blonde hair and round glasses"
#: small maps and a draft groom: the package is real, only smaller
SMALL = {"texture_size": 256, "preview_size": 128, "hair_detail": 0.05}


class PaintsAPhoto:
    """Stand-in for the VAE decoder: call ``i`` returns the astronaut rolled by ``rolls[i]`` degrees
    (the last roll repeats), as the decoder's [-1, 1] (B, 3, H, W) sample. She is 512² with a frontal
    face of ~110 px, whatever the latents' size: the tiny models denoise at 64² (at 512² their
    attention alone takes a minute a try on a CPU), the photo path gets a face it can fit."""

    def __init__(self, rolls: list[float]) -> None:
        self.rolls, self.calls = rolls, 0

    def __call__(self, latents: torch.Tensor, return_dict: bool = True, **_: object):
        roll = self.rolls[min(self.calls, len(self.rolls) - 1)]
        self.calls += 1
        photo = skdata.astronaut()
        turn = cv2.getRotationMatrix2D((photo.shape[1] / 2, photo.shape[0] / 2), roll, 1.0)
        photo = cv2.warpAffine(photo, turn, photo.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        sample = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1.0
        sample = sample.repeat(latents.shape[0], 1, 1, 1).to(latents.dtype)
        return DecoderOutput(sample=sample) if return_dict else (sample,)


def painting_pipeline(models: ModelsConfig, rolls: list[float], **kwargs) -> Pipeline:
    """A Pipeline whose portrait pipeline (loaded from ``models`` for real) decodes to the astronaut."""
    pipe = Pipeline(models=models, **kwargs)
    pipe.portrait_pipeline().pipe.vae.decode = PaintsAPhoto(rolls)
    return pipe


def checked_loosely(models: ModelsConfig, **portrait) -> ModelsConfig:
    """``models`` whose QA passes the astronaut upright: she smiles with her teeth showing (mouth 0.37),
    and the tiny CLIP's random scores must not fail a try."""
    settings = models.portrait.model_copy(update={"mouth_open_max": 0.5, "clip_threshold": -1.0, **portrait})
    return models.model_copy(update={"portrait": settings})


@pytest.fixture(scope="module")
def painted(tiny_models_single_file, tmp_path_factory):
    """One run from the single-file weights (the folder form paints the same: test_models.py): the
    first try rolled 25° (QA fails it), the second upright; its result, package and progress events."""
    events: list[tuple[str, float, str]] = []
    pipe = painting_pipeline(checked_loosely(tiny_models_single_file, max_tries=3), [25.0, 0.0],
                             progress=lambda stage, fraction, message: events.append((stage, fraction, message)))
    result = pipe(GenerateRequest(prompt=PROMPT, seed=5, **SMALL))
    out = tmp_path_factory.mktemp("painted") / "pkg"
    manifest = pipe.write(result, out)
    return result, manifest, out, events


def test_the_portrait_goes_through_the_photo_path_into_a_valid_package(painted):
    result, manifest, out, _ = painted
    assert validate_package(out) == []
    assert manifest.format_version == "1.3"
    assert manifest.photo is not None and manifest.photo["reprojection_error_px"]["final"] < 5.0  # the head fitted to it
    files = {f.path: f.role for f in manifest.files}
    assert {"clues/render.png", "clues/openpose.png", "clues/canny.png"} <= {p for p, r in files.items() if r == "clue"}
    assert {"portrait/try_0.png", "portrait/try_1.png"} == {p for p, r in files.items() if r == "portrait"}
    assert files["preview_portrait.png"] == "preview" and files["preview_photo.png"] == "preview"


def test_a_failed_check_reseeds_and_the_manifest_lists_every_try(painted):
    result, manifest, out, _ = painted
    record = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["portrait"]
    tries = record["tries"]
    assert [t["seed"] for t in tries] == [5, 6]  # the second passed: no third try
    assert tries[0]["reasons"] and all("roll" in r for r in tries[0]["reasons"]), tries[0]
    assert tries[1]["reasons"] == [] and record["chosen"] == 1 and record["chosen_seed"] == 6
    assert abs(tries[0]["scores"]["roll"]) > 20 and abs(tries[1]["scores"]["roll"]) < 10
    # the tiny byte-level tokenizer spends a token a letter: only the framing fits its 75 (test_portrait
    # checks the person's clauses within a real CLIP budget)
    assert record["prompt"].startswith("frontal studio portrait") and "smile" in record["negative_prompt"]
    assert not result.warnings or not any("portrait" in w for w in result.warnings)
    chosen = np.asarray(cv2.imread(str(out / "portrait" / "try_1.png"))[..., ::-1])
    assert np.array_equal(chosen, result.portrait.image)


def test_the_texts_attributes_win_over_what_the_portrait_shows(painted):
    result = painted[0]
    # the astronaut has dark hair and no glasses; the text said blonde and round glasses
    assert result.resolved.hair.color == "blonde"
    assert result.resolved.glasses == "round"
    assert any(a.get("slot") == "glasses" for a in result.assets)


def test_every_denoising_step_reports_progress(painted, tiny_models):
    events = painted[3]
    steps = [(f, m) for s, f, m in events if s == "portrait"][1:]  # after the stage's own start
    n = tiny_models.portrait.steps
    assert [m for _, m in steps] == [f"portrait try {t}/3: step {i}/{n}" for t in (1, 2) for i in range(1, n + 1)]
    start, end = stage_span("portrait")
    assert all(start < f <= end for f, _ in steps)


def test_asking_for_a_portrait_without_weights_is_refused_before_any_work():
    with pytest.raises(ModelConfigError, match="needs a Stable Diffusion base"):
        Pipeline(models=ModelsConfig())(GenerateRequest(prompt="a man", portrait=True))


def test_a_request_gives_a_photo_or_asks_for_a_portrait_not_both():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not both"):
        GenerateRequest(prompt="a man", portrait=True, photo="face.png")


def test_without_weights_the_package_is_the_cpu_path_s_byte_for_byte(tmp_path):
    request = GenerateRequest(prompt="a man with a beard", seed=3, texture_size=64, preview_size=64, hair_detail=0.05)
    written = {}
    for name, models in (("none", None), ("empty", ModelsConfig())):
        pipe = Pipeline(models=models)
        written[name] = pipe.write(pipe(request), tmp_path / name)
    digest = {}
    for name in written:
        manifest = json.loads((tmp_path / name / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["format_version"] == "1.2" and "portrait" not in manifest
        assert "portrait" not in manifest["request"]
        manifest.pop("timings_s")
        digest[name] = [json.dumps(manifest, sort_keys=True)] + [
            (p.relative_to(tmp_path / name).as_posix(), p.read_bytes())
            for p in sorted((tmp_path / name).rglob("*")) if p.is_file() and p.name != "manifest.json"]
    assert digest["none"] == digest["empty"]


def mach(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """``mach ARGS`` in this process, as its console script runs it: (exit code, stderr)."""
    from machcreator import cli

    monkeypatch.setattr("sys.argv", ["mach", *args])
    with pytest.raises(SystemExit) as end:
        cli.main()
    return end.value.code, capsys.readouterr().err


def test_mach_generate_paints_with_progress_and_names_a_faceless_portrait(tiny_models, tmp_path, monkeypatch, capsys):
    """The CLI from a models.toml: every denoising step on its progress lines, then the portrait stage's
    own one line when the random weights paint no face (the photo path never starts)."""
    out = tmp_path / "pkg"
    code, err = mach(monkeypatch, capsys, "generate", "a man", "-o", str(out), "--models", str(tiny_models.source),
                     "--portrait", "--texture-size", "256", "--hair-detail", "0.05")
    assert code == 2, err
    assert "portrait try 1/2: step 1/2" in err and "portrait try 2/2: step 2/2" in err
    assert err.strip().splitlines()[-1].startswith("error: none of the 2 portraits painted shows a face"), err
    assert not out.exists()


def test_mach_generate_refuses_a_portrait_without_its_weights_in_one_line(tmp_path, monkeypatch, capsys):
    config = write_models_toml(tmp_path / "models.toml", {"base": "missing_folder"})
    code, err = mach(monkeypatch, capsys, "generate", "a man", "-o", str(tmp_path / "pkg"), "--models", str(config),
                     "--portrait")
    assert code == 2
    assert err.strip().splitlines() == ["error: a painted portrait needs a Stable Diffusion base and the openpose and "
                                        "canny ControlNets in the models config (see `mach models check`)"], err


def test_an_llm_in_the_models_config_becomes_the_default_parser(tmp_path, monkeypatch, capsys):
    """No --parser: the models config's llm is the transformers parser's model (here a folder with no
    model in it, refused in its one line before any work)."""
    (tmp_path / "qwen").mkdir()
    config = write_models_toml(tmp_path / "models.toml", {"llm": "qwen", "device": "cpu"})
    code, err = mach(monkeypatch, capsys, "generate", "a man", "-o", str(tmp_path / "pkg"), "--models", str(config))
    assert code == 2
    assert err.strip().splitlines()[-1] == f"error: no chat model in {tmp_path / 'qwen'} (expected config.json and weights there)"
