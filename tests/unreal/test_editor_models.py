"""The Backend dialog's models line: what hello's capabilities say of the portrait's weights."""
import pytest
from editor_fixtures import editor  # noqa: F401 - the fake editor of each engine version

CHECKS = [
    {"name": "base", "path": "/w/sd15.safetensors", "found": True, "arch": "sd15", "device": "cuda",
     "dtype": "float16", "vram_gb": 3.9, "problem": None},
    {"name": "controlnet_openpose", "path": "/w/openpose", "found": True, "arch": "sd15", "device": "cuda",
     "dtype": "float16", "vram_gb": 0.7, "problem": None},
    {"name": "controlnet_canny", "path": "/w/canny_xl", "found": True, "arch": "sdxl", "device": "cuda",
     "dtype": "float16", "vram_gb": 2.5, "problem": "the canny ControlNet is SDXL but the base is SD 1.5"},
]


def test_the_models_report_names_the_base_and_each_problem():
    from machcreator_editor.replies import ModelsReport
    text = ModelsReport.from_capabilities({"portrait": True, "models": CHECKS}).summary()
    lines = text.splitlines()
    assert lines[0] == "Portrait: painted from the text (sd15 on cuda, float16, about 3.9 GB of GPU memory)."
    assert "  controlnet_openpose: /w/openpose: found" in lines
    assert "  controlnet_canny: /w/canny_xl: the canny ControlNet is SDXL but the base is SD 1.5" in lines


def test_a_backend_without_weights_says_the_portrait_is_off():
    from machcreator_editor.replies import ModelsReport
    text = ModelsReport.from_capabilities({"portrait": False, "models": []}).summary()
    assert text.startswith("Portrait: off") and "mach models check" in text


def test_capabilities_without_the_portrait_fields_are_refused():
    from machcreator_editor.replies import ModelsReport, ReplyError
    with pytest.raises(ReplyError, match="no 'portrait'"):
        ModelsReport.from_capabilities({"models": []})


def test_each_denoising_step_shows_in_the_jobs_progress_line(editor):
    from machcreator_editor import backend as backend_mod
    from machcreator_editor import settings as settings_mod
    from machcreator_editor.jobs import GENERATION_SHARE, JobMonitor

    settings = settings_mod.Settings()
    monitor = JobMonitor(backend_mod.Backend(settings), settings, "j_1", title="Generate", name="Fisher")
    monitor._on_event({"event": "stage_started", "stage": "portrait", "fraction": 0.05,
                       "message": "Painting the reference portrait"})
    for step in (1, 2):
        monitor._on_event({"event": "stage_progress", "stage": "portrait", "fraction": 0.05 + 0.1 * step,
                           "message": f"portrait try 1/4: step {step}/30"})
    assert monitor.progress.history[-2:] == ["portrait: portrait try 1/4: step 1/30",
                                             "portrait: portrait try 1/4: step 2/30"]
    assert monitor.progress.fraction == pytest.approx(GENERATION_SHARE * 0.25) and monitor.state == "running"
