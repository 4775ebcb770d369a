"""The self-test for a first real editor (issue 20, scope 3), run against the fake editor on the
session's real generated package: its report is plain text a user pastes into a bug report."""
from __future__ import annotations

import builtins
import json
import re
from pathlib import Path

import pytest

from editor_fixtures import EDITOR_VERSIONS, purge_editor_modules
from fake_unreal import DEFAULT_PLUGINS
from test_editor_grooms import SKIN_CACHE_OFF, SKIN_CACHE_ON
from test_editor_grooms import start_editor

DESCRIPTOR = json.loads((Path(__file__).resolve().parents[2] / "Plugin/MachCreator/MachCreator.uplugin").read_text())
#: what an editor with MachCreator enabled has: its required plugins are enabled with it
STOCK = set(DEFAULT_PLUGINS) | {p["Name"] for p in DESCRIPTOR["Plugins"] if not p.get("Optional")}
EVERYTHING = STOCK | {"AppleARKitFaceSupport"}
LISTENING = "[/Script/AppleARKit.AppleARKitSettings]\nbEnableLiveLinkForFaceTracking=True\n"


@pytest.fixture(params=EDITOR_VERSIONS)
def version(request):
    yield request.param
    purge_editor_modules()


def _section(text: str, name: str) -> list[str]:
    block = text.split(f"[{name}]\n", 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines()]


def test_a_well_set_up_project_passes(tmp_path, monkeypatch, version, fisherman_package, capsys):
    ed = start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_ON + LISTENING, plugins=EVERYTHING)
    from ue_scripts import selftest
    assert selftest.main([str(fisherman_package)]) == 0
    text = capsys.readouterr().out
    print(text)  # shown with -s: the example in the README comes from here
    assert text.startswith("MachCreator self-test\n")
    assert re.search(r"^engine +5\.\d", text, re.M)
    plugins = _section(text, "plugins")
    assert "ok    PythonScriptPlugin" in plugins and "ok    AppleARKitFaceSupport" in plugins
    assert any(line.startswith("info  MetaHumanCharacter") or "MetaHumanCharacter: MISSING (optional)" in line
               for line in plugins)
    masters = _section(text, "master materials")
    assert len(masters) == 7 and all(line.startswith("ok    M_Mach") and "compiled: yes" in line for line in masters)
    [morphs] = _section(text, "morph targets")
    assert morphs.startswith("ok    52 of 52 ARKit morph targets")
    grooms = _section(text, "grooms")
    assert grooms[0].startswith("ok    4 of 4 imported: ") and "eyebrows" in grooms[0]
    assert any(line == "ok    they follow the morph targets: yes" for line in grooms)
    assert any(line.startswith("ok    4 of 4 groom actors placed with their binding") for line in grooms)
    live = _section(text, "live link")
    assert live[0].startswith("ok    Live Link Face (ARKit) can reach this editor")
    assert live[1].startswith("ok    wiring: yes - LiveLinkInstance on the placed character")
    assert _section(text, "metahuman")  # whatever metahuman.metahuman_missing says for this version
    assert text.rstrip().endswith("exit status 0") and "RESULT: PASS (0 failures" in text
    # the report is also in the Output Log, and the checks' actors are gone
    assert any("RESULT: PASS" in line for _, line in ed.logs)
    assert not [a for a in ed.actors if a.actor_has_tag("MachCreator")]


def test_a_stock_project_warns_about_what_it_lacks(tmp_path, monkeypatch, version, fisherman_package):
    start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_OFF, plugins=STOCK)
    from ue_scripts import selftest
    text, status = selftest.report(fisherman_package)
    print(text)  # shown with -s
    assert status == 0, text  # what a project may lack is a warning, not a failure
    # optional: not enabled (Windows, macOS), or not on this platform (Linux)
    assert any(line.startswith("info  AppleARKitFaceSupport: not ") for line in _section(text, "plugins"))
    assert "WARN  they follow the morph targets: NO - the project setting 'Support Compute Skin Cache'" in text
    assert "WARN  needs the AppleARKitFaceSupport plugin" in text
    assert "WARN  needs [/Script/AppleARKit.AppleARKitSettings] bEnableLiveLinkForFaceTracking=True" in text
    assert "ok    wiring: yes" in text  # the wiring itself needs only Live Link
    assert "RESULT: PASS (0 failures, " in text


def test_a_required_plugin_that_is_off_fails(tmp_path, monkeypatch, version, fisherman_package):
    start_editor(tmp_path, monkeypatch, version, plugins=STOCK - {"LiveLink"})
    from ue_scripts import selftest
    text, status = selftest.report(fisherman_package)
    assert status == 1 and "FAIL  LiveLink: MISSING - Edit > Plugins, enable it, restart" in text
    assert "WARN  wiring not tried: the LiveLink plugin is off" in text


def test_a_master_that_does_not_compile_fails_the_self_test_with_the_compilers_words(
        tmp_path, monkeypatch, version, fisherman_package):
    start_editor(tmp_path, monkeypatch, version, ini=SKIN_CACHE_ON + LISTENING, plugins=EVERYTHING)
    from ue_scripts import materials, selftest
    monkeypatch.setattr(materials, "default_texture", lambda sampler, *a, **k: None)
    text, status = selftest.report(fisherman_package)
    assert status == 1
    assert "FAIL  " in _section(text, "import")[0] and "M_MachSkin does not compile" in _section(text, "import")[0]
    assert any(line.startswith("FAIL  M_MachSkin compiled: NO: texture parameter Albedo: Found NULL, "
                               "requires Texture2D")
               for line in _section(text, "master materials"))
    assert text.rstrip().endswith("exit status 1")


def test_without_a_package_or_a_backend_it_says_how_to_make_one(tmp_path, monkeypatch, version):
    start_editor(tmp_path, monkeypatch, version, plugins=EVERYTHING)
    real_import = builtins.__import__

    def no_backend(name, *args, **kwargs):
        if name.startswith("machcreator.pipeline"):
            raise ImportError("No module named 'machcreator.pipeline'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_backend)
    from ue_scripts import selftest
    text, status = selftest.report()
    assert status == 1
    assert 'mach generate "a self-test character' in text and "--texture-size 256" in text
    assert "[import]" not in text and "[master materials]" in text  # the masters are checked all the same


def test_the_script_runs_as_executepythonscript_runs_it(tmp_path, monkeypatch, version, fisherman_package):
    """-ExecutePythonScript="selftest.py DIR": the file runs as __main__ with sys.argv = [script, DIR];
    a failed self-test raises at the end (the pythonscript commandlet's non-zero exit)."""
    import runpy
    import sys
    start_editor(tmp_path, monkeypatch, version, plugins=STOCK)  # passes, with warnings
    from ue_scripts import selftest
    monkeypatch.setattr(sys, "argv", [selftest.__file__, str(fisherman_package)])
    runpy.run_path(selftest.__file__, run_name="__main__")
    monkeypatch.setattr(sys, "argv", [selftest.__file__, str(tmp_path / "no-such-package")])
    with pytest.raises(RuntimeError, match="self-test failed"):
        runpy.run_path(selftest.__file__, run_name="__main__")
