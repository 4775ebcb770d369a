"""The portrait stage's models: the config (file < env < flags), one clear line per problem, tiny random
models loaded from diffusers folders and from LDM-layout single files to the same image, SDXL, a LoRA,
`mach models check`."""

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from machcreator.cli import app
from machcreator.core.errors import ModelConfigError
from machcreator.core.models import load_models_config
from machcreator.portrait.generate import paint
from machcreator.portrait.models import check_models, detect_arch, load_portrait_pipeline

from .tiny_models import (IMAGE_SIZE, save_tiny_controlnet, save_tiny_controlnet_single_file, save_tiny_lora,
                          write_models_toml)


@pytest.fixture(scope="module")
def sdxl_controlnet(tmp_path_factory):
    """A tiny ControlNet with SDXL's text-time embedding, as a folder and as an LDM single file."""
    folder = tmp_path_factory.mktemp("sdxl_cn")
    return save_tiny_controlnet(folder / "folder", arch="sdxl"), save_tiny_controlnet_single_file(folder / "cn.safetensors", arch="sdxl")


def test_file_then_env_then_overrides(tmp_path):
    file = write_models_toml(tmp_path / "models.toml", {"base": "sd", "lora_scale": 0.5, "device": "cpu"},
                             {"steps": 12, "scheduler": "ddim"})
    from_file = load_models_config(file, env={})
    assert (from_file.base, from_file.lora_scale, from_file.portrait.steps) == (tmp_path / "sd", 0.5, 12)
    assert from_file.source == file and from_file.resolved_dtype() == "float32"
    env = {"MACH_MODEL_LORA_SCALE": "0.6", "MACH_MODEL_STEPS": "20"}
    from_env = load_models_config(file, env=env)
    assert (from_env.lora_scale, from_env.portrait.steps, from_env.portrait.scheduler) == (0.6, 20, "ddim")
    flags = load_models_config(file, env=env, lora_scale=0.7, steps=None, scheduler="unipc")
    assert (flags.lora_scale, flags.portrait.steps, flags.portrait.scheduler) == (0.7, 20, "unipc")
    assert load_models_config(env={"MACH_MODELS": str(file)}).base == tmp_path / "sd"


def test_relative_paths_and_the_user_file(tmp_path, monkeypatch):
    (tmp_path / "conf" / "machcreator").mkdir(parents=True)
    write_models_toml(tmp_path / "conf" / "machcreator" / "models.toml", {"base": "../weights/sd", "clip": "/abs/clip"})
    config = load_models_config(env={"XDG_CONFIG_HOME": str(tmp_path / "conf")})
    assert config.base == tmp_path / "conf" / "machcreator" / ".." / "weights" / "sd"
    assert str(config.clip) == "/abs/clip" and not config.portrait_configured
    monkeypatch.chdir(tmp_path)  # env and flag paths are relative to the working folder
    assert load_models_config(env={"MACH_MODEL_VAE": "vae"}).vae == tmp_path / "vae"
    nothing = load_models_config(env={"XDG_CONFIG_HOME": str(tmp_path / "empty")})
    assert nothing.source is None and nothing.model_paths() == {}


@pytest.mark.parametrize("toml, line", [
    ('base = "sd"\nbsae = "x"\n', "unknown key 'bsae'"),
    ('[portrait]\nsteps = 500\n', "portrait.steps: Input should be less than or equal to 200"),
    ('device = "gpu"\n', "device: Input should be 'auto', 'cuda' or 'cpu'"),
    ('base = \n', "not valid TOML"),
])
def test_config_file_errors_are_one_line(tmp_path, toml, line):
    (tmp_path / "models.toml").write_text(toml)
    with pytest.raises(ModelConfigError) as err:
        load_models_config(tmp_path / "models.toml", env={})
    assert line in str(err.value) and "\n" not in str(err.value)


def test_a_missing_config_file_and_unknown_env_setting():
    with pytest.raises(ModelConfigError, match=r"models config .*nowhere.toml \(\$MACH_MODELS\) does not exist"):
        load_models_config(env={"MACH_MODELS": "/nowhere.toml"})
    with pytest.raises(ModelConfigError, match="env MACH_MODEL_\\*: unknown models setting 'bsae'"):
        load_models_config(env={"MACH_MODEL_BSAE": "x"})


def _garbage(tmp_path):
    (tmp_path / "garbage.safetensors").write_bytes(b"\x00not a checkpoint" * 8)
    return tmp_path / "garbage.safetensors"


PROBLEMS = {
    "missing folder": (lambda c, t, xl: {"base": t / "nope"}, "base", "does not exist"),
    "garbage file": (lambda c, t, xl: {"base": _garbage(t)}, "base", "is not a readable .safetensors file"),
    "not a model": (lambda c, t, xl: {"controlnet_canny": c.clip}, "controlnet_canny", "is not a ControlNet"),
    "sdxl controlnet (folder)": (lambda c, t, xl: {"controlnet_openpose": xl[0]}, "controlnet_openpose",
                                 "the openpose ControlNet is SDXL but the base is SD 1.5"),
    "sdxl controlnet (file)": (lambda c, t, xl: {"controlnet_canny": xl[1]}, "controlnet_canny",
                               "the canny ControlNet is SDXL but the base is SD 1.5"),
    "controlnet as base": (lambda c, t, xl: {"base": c.controlnet_openpose}, "base",
                           "is a ControlNet, not a Stable Diffusion 1.5 or SDXL base model"),
    "base as controlnet": (lambda c, t, xl: {"controlnet_openpose": c.base}, "controlnet_openpose",
                           "is a Stable Diffusion base model, not a ControlNet"),
    "cuda without cuda": (lambda c, t, xl: {"device": "cuda"}, "device", "CUDA is not available here"),
    "unset controlnet": (lambda c, t, xl: {"controlnet_canny": None}, "controlnet_canny", "controlnet_canny is not set"),
}


@pytest.mark.parametrize("case", list(PROBLEMS))
def test_each_model_problem_is_one_line(case, tiny_models, sdxl_controlnet, tmp_path):
    change, row, line = PROBLEMS[case]
    if case == "cuda without cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = tiny_models.model_copy(update=change(tiny_models, tmp_path, sdxl_controlnet))
    problems = {c.name: c.problem for c in check_models(config, load=False) if c.problem}
    assert list(problems) == [row] and line in problems[row] and "\n" not in problems[row]
    with pytest.raises(ModelConfigError) as err:
        load_portrait_pipeline(config)
    assert "\n" not in str(err.value)


def test_detect_arch(tiny_models, tiny_models_single_file, sdxl_controlnet):
    assert detect_arch(tiny_models.base, "base") == detect_arch(tiny_models_single_file.base, "base") == "sd15"
    assert detect_arch(tiny_models_single_file.controlnet_openpose, "controlnet") == "sd15"
    assert detect_arch(sdxl_controlnet[0], "controlnet") == detect_arch(sdxl_controlnet[1], "controlnet") == "sdxl"


def _paint(config) -> np.ndarray:
    portrait = load_portrait_pipeline(config)
    assert (portrait.arch, portrait.device, portrait.dtype, portrait.size) == ("sd15", "cpu", "float32", IMAGE_SIZE)
    clue = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    clue[16:48, 16:48] = 255
    clue = Image.fromarray(clue)
    return portrait.pipe(prompt="a frontal studio portrait", image=[clue, clue], num_inference_steps=2,
                         height=IMAGE_SIZE, width=IMAGE_SIZE, generator=torch.Generator().manual_seed(3),
                         controlnet_conditioning_scale=[1.0, 0.5], output_type="np").images[0]


def test_folders_and_single_files_paint_the_same_image(tiny_models, tiny_models_single_file):
    folder = _paint(tiny_models)
    assert folder.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and np.isfinite(folder).all()
    np.testing.assert_allclose(_paint(tiny_models_single_file), folder, atol=1e-5)
    np.testing.assert_array_equal(_paint(tiny_models), folder)  # seeded: the same again


def test_the_scheduler_is_the_configured_one(tiny_models):
    config = tiny_models.model_copy(update={"portrait": tiny_models.portrait.model_copy(update={"scheduler": "euler_a"})})
    assert type(load_portrait_pipeline(config).pipe.scheduler).__name__ == "EulerAncestralDiscreteScheduler"


def test_check_loads_every_model(tiny_models_single_file):
    checks = {c.name: c for c in check_models(tiny_models_single_file)}
    assert set(checks) == {"base", "base_config", "controlnet_openpose", "controlnet_canny", "clip"}
    for name in ("base", "controlnet_openpose", "controlnet_canny", "clip"):
        assert checks[name].found and checks[name].loadable and checks[name].problem is None
    assert checks["base"].arch == "sd15" and checks["base"].device == "cpu" and checks["base"].dtype == "float32"
    assert checks["base"].vram_gb > 0  # weights + the activation margin


def test_mach_models_check(tiny_models, tmp_path, monkeypatch):
    monkeypatch.delenv("MACH_MODELS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    runner = CliRunner()
    ok = runner.invoke(app, ["models", "check", "--models", str(tiny_models.source), "--no-load"])
    assert ok.exit_code == 0, ok.output
    assert "controlnet_openpose" in ok.output and "portrait stage ready on cpu" in ok.output
    broken = write_models_toml(tmp_path / "broken.toml", {"base": str(tiny_models.controlnet_canny),
                                                          "controlnet_openpose": "missing", "controlnet_canny": "missing"})
    bad = runner.invoke(app, ["models", "check", "--models", str(broken), "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert len(report["problems"]) == 3 and "is a ControlNet, not" in report["problems"][0]
    nothing = runner.invoke(app, ["models", "check"])
    assert nothing.exit_code == 0 and "No models configured" in nothing.output and "CPU" in nothing.output


#: control images for paint(): a bright square on black, at the painted size
CLUES = SimpleNamespace(openpose=np.pad(np.full((32, 32, 3), 255, np.uint8), ((16, 16), (16, 16), (0, 0))),
                        canny=np.pad(np.full((32, 32, 3), 255, np.uint8), ((16, 16), (16, 16), (0, 0))))


def test_sdxl_is_detected_loaded_and_painted_seeded_step_by_step(tiny_sdxl_models):
    config = tiny_sdxl_models
    assert detect_arch(config.base, "base") == "sdxl"
    assert detect_arch(config.controlnet_openpose, "controlnet") == detect_arch(config.controlnet_canny, "controlnet") == "sdxl"
    assert [c.problem for c in check_models(config)] == [None, None, None]
    portrait = load_portrait_pipeline(config)
    assert type(portrait.pipe).__name__ == "StableDiffusionXLControlNetPipeline"
    assert (portrait.arch, portrait.size) == ("sdxl", IMAGE_SIZE)
    steps = []
    image = paint(portrait, "a woman", "smile", CLUES, config.portrait, 7, lambda *a: steps.append(a))
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and image.dtype == np.uint8
    assert steps == [(1, 2, "portrait: step 1/2"), (2, 2, "portrait: step 2/2")]
    assert np.array_equal(paint(portrait, "a woman", "smile", CLUES, config.portrait, 7), image)
    assert not np.array_equal(paint(portrait, "a woman", "smile", CLUES, config.portrait, 8), image)


def test_sdxl_controlnets_as_single_files_in_either_key_layout_paint_as_folders(tiny_sdxl_models, tmp_path):
    """LDM-layout files (diffusers' converter drops SDXL's label_emb: renamed by the loader) and diffusers-layout
    files (most SDXL ControlNet .safetensors on the hub: no input_hint_block to read the widths from)."""
    config = tiny_sdxl_models
    folders = paint(load_portrait_pipeline(config), "a man", "", CLUES, config.portrait, 3)
    ldm = {name: save_tiny_controlnet_single_file(tmp_path / f"{name}.safetensors", "sdxl", seed)
           for name, seed in (("controlnet_openpose", 10), ("controlnet_canny", 11))}
    renamed = {name: Path(shutil.copy(getattr(config, name) / "diffusion_pytorch_model.safetensors",
                                      tmp_path / f"{name}_diffusers.safetensors"))
               for name in ("controlnet_openpose", "controlnet_canny")}
    for files in (ldm, renamed):
        single = load_portrait_pipeline(config.model_copy(update=files))
        np.testing.assert_array_equal(paint(single, "a man", "", CLUES, config.portrait, 3), folders)


def test_a_lora_changes_the_portrait_and_at_scale_0_does_not(tiny_models, tmp_path):
    lora = save_tiny_lora(tmp_path / "loras" / "tiny_lora.safetensors")
    assert [c.problem for c in check_models(tiny_models.model_copy(update={"lora": lora}), load=False)] == [None] * 5

    def painted(**lora_fields) -> np.ndarray:
        portrait = load_portrait_pipeline(tiny_models.model_copy(update=lora_fields))
        return paint(portrait, "a woman", "smile", CLUES, tiny_models.portrait, 7).astype(int)

    plain = painted()
    assert np.abs(painted(lora=lora, lora_scale=1.0) - plain).mean() > 1.0
    np.testing.assert_allclose(painted(lora=lora, lora_scale=0.0), plain, atol=1)
