"""The Backend dialog's models line: what hello's capabilities say of the portrait's weights."""
import pytest

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
