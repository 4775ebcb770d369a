"""Issue 20 (7): Live Link Face (ARKit mode) drives the character's morph targets: the plugin names
Apple ARKit Face Support, and a script wires the placed character to a Live Link subject."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from editor_fixtures import EDITOR_VERSIONS, purge_editor_modules
from fake_unreal import DEFAULT_PLUGINS
from test_editor_grooms import start_editor

REPO = Path(__file__).resolve().parents[2]
LIVE_LINK = set(DEFAULT_PLUGINS) | {"LiveLink", "AppleARKitFaceSupport"}
LISTENING = "[/Script/AppleARKit.AppleARKitSettings]\nbEnableLiveLinkForFaceTracking=True\n"


@pytest.fixture(params=EDITOR_VERSIONS)
def version(request):
    yield request.param
    purge_editor_modules()


def _placed(fisherman_package):
    from ue_scripts import actors
    from ue_scripts.import_package import import_character
    character = import_character(fisherman_package, name="Fisherman", with_grooms=False)
    return character, actors.place(character)


def test_the_descriptor_names_the_arkit_face_source_as_an_optional_windows_and_mac_plugin():
    descriptor = json.loads((REPO / "Plugin" / "MachCreator" / "MachCreator.uplugin").read_text())
    plugins = {p["Name"]: p for p in descriptor["Plugins"]}
    arkit = plugins["AppleARKitFaceSupport"]
    assert arkit["Enabled"] and arkit["Optional"]  # a missing optional plugin does not stop the editor
    assert sorted(arkit["PlatformAllowList"]) == ["Mac", "Win64"]  # its module exists for Win64, Mac, iOS only
    assert plugins["LiveLink"]["Enabled"] and not plugins["LiveLink"].get("Optional")
    assert "EngineVersion" not in descriptor


def test_live_link_face_drives_the_morph_targets_of_the_placed_character(tmp_path, monkeypatch, version,
                                                                         fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=LISTENING, plugins=LIVE_LINK)
    from ue_scripts import livelink
    character, placed = _placed(fisherman_package)
    wiring = livelink.wire_live_link(character.skeletal_mesh, "Anna's iPhone")
    assert wiring.wired and wiring.actors == [placed.actor] and wiring.morphs == 52
    assert any("Live Link Pose" in note for note in wiring.notes)  # PIE needs an AnimBP: said, not hidden
    assert ed.push_live_link_face("Anna's iPhone", {"EyeBlinkLeft": 1.0, "JawOpen": 0.4, "HeadYaw": 0.1})
    assert ed.morph_weights(placed.actor) == {"eyeBlinkLeft": 1.0, "jawOpen": 0.4}
    assert ed.morph_weights(placed.actor, playing=True) == {"eyeBlinkLeft": 1.0, "jawOpen": 0.4}
    assert livelink.subject_of(placed.actor) == "Anna's iPhone"


def test_a_reloaded_level_is_wired_again_from_the_actors_tags(tmp_path, monkeypatch, version, fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=LISTENING, plugins=LIVE_LINK)
    from ue_scripts import livelink
    character, placed = _placed(fisherman_package)
    livelink.wire_live_link(character.skeletal_mesh, "iPhone", actors=[placed.actor])
    component = placed.actor.skeletal_mesh_component
    component._data["anim_instance"] = ed.new("LiveLinkInstance")  # the level reloaded: a fresh instance, no subject
    ed.push_live_link_face("iPhone", {"MouthSmileLeft": 0.7})
    assert ed.morph_weights(placed.actor) == {}
    assert livelink.rewire_level() == 1
    assert ed.morph_weights(placed.actor) == {"mouthSmileLeft": 0.7}


def test_what_is_missing_for_live_link_face_is_named(tmp_path, monkeypatch, version):
    ed = start_editor(tmp_path, monkeypatch, version)  # stock plugins, no project setting
    from ue_scripts import livelink, project_settings
    from ue_scripts.environment import engine_info
    missing = livelink.live_link_missing(engine_info())
    assert [m.split(" ")[1] for m in missing[:2]] == ["LiveLink", "AppleARKitFaceSupport"]
    assert "bEnableLiveLinkForFaceTracking=True" in missing[2]
    assert not ed.push_live_link_face("iPhone", {"JawOpen": 1.0})  # nothing listens
    assert project_settings.enable_live_link_face() is True
    assert "bEnableLiveLinkForFaceTracking=True" in (tmp_path / "Project" / "Config" / "DefaultEngine.ini").read_text()
    with pytest.raises(RuntimeError, match="enable the Live Link plugin"):
        livelink.wire_live_link(object(), "iPhone")


def test_a_mesh_without_the_arkit_morphs_or_a_subject_is_refused(tmp_path, monkeypatch, version, fisherman_package):
    ed = start_editor(tmp_path, monkeypatch, version, ini=LISTENING, plugins=LIVE_LINK)
    from ue_scripts import livelink
    character, placed = _placed(fisherman_package)
    with pytest.raises(ValueError, match="subject name is empty"):
        livelink.wire_live_link(character.skeletal_mesh, " ")
    mesh = character.skeletal_mesh
    mesh._data["morphs"] = [m for m in mesh._data["morphs"] if "jaw" not in m.lower()]
    with pytest.raises(RuntimeError, match=r"has 48 of the 52 ARKit morph targets \(missing JawForward"):
        livelink.wire_live_link(character.skeletal_mesh, "iPhone")
    assert ed.morph_weights(placed.actor) == {}
