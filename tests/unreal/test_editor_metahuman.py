"""The face rig in the (fake) editor: MetaHuman where the editor can make one, best effort, and the
glb's ARKit morphs otherwise.

The fake's MetaHuman Creator (fake_metahuman.py) follows the 5.7 engine source: cloud requests run
for a few editor frames, a failed one leaves nothing a script can read, the assembly writes
BP_<Name>; ``editor.metahuman`` switches its failures on (not signed in, no Core Data, refused
edit, cloud error).
"""
from __future__ import annotations

import math

import pytest

from editor_fixtures import install, purge_editor_modules
from fake_unreal import FakeEditor

FOLDER = "/Game/MachCreator/Characters/Fisherman"
MH_FOLDER = f"{FOLDER}/MetaHuman"
PLUGINS = {"PythonScriptPlugin", "EditorScriptingUtilities", "Interchange", "HairStrands", "AlembicHairImporter",
           "RigLogic", "MetaHumanCharacter"}


@pytest.fixture(params=["5.6.1-44394996+++UE5+Release-5.6", "5.7.1-0+++UE5+Release-5.7"], ids=["5.6", "5.7"])
def editor(request, tmp_path, monkeypatch):
    """An editor without MetaHuman Creator (5.6: no Python API for it; 5.7: the plugin is off)."""
    yield install(FakeEditor(tmp_path, engine_version=request.param), monkeypatch)
    purge_editor_modules()


@pytest.fixture
def imported(editor, fisherman_package):
    from ue_scripts.import_package import import_character
    return import_character(fisherman_package, name="Fisherman")


@pytest.fixture
def ue57(tmp_path, monkeypatch):
    """A UE 5.7 editor with MetaHuman Creator enabled and its Core Data installed."""
    yield install(FakeEditor(tmp_path, engine_version="5.7.1-0+++UE5+Release-5.7", plugins=set(PLUGINS)), monkeypatch)
    purge_editor_modules()


@pytest.fixture
def character57(ue57, fisherman_package):
    from ue_scripts.import_package import import_character
    return import_character(fisherman_package, name="Fisherman")


def drive(ed: FakeEditor, steps, *, ticks_per_step: int = 1):
    """Run rig_steps as the editor does: one step per Slate tick. Returns (result, messages)."""
    messages = []
    while True:
        try:
            message = next(steps)
        except StopIteration as stop:
            return stop.value, messages
        messages.append(message)
        ed.tick(0.02, times=ticks_per_step)


def rig(ed: FakeEditor, character, **kwargs):
    from ue_scripts import metahuman
    from ue_scripts.environment import engine_info
    return drive(ed, metahuman.rig_steps(character, engine_info(), **kwargs))


def assert_arkit_fallback(ed: FakeEditor, binding, *, says: tuple[str, ...]):
    from ue_scripts.package import ARKIT_LIVE_LINK_CURVES
    assert binding.kind == "arkit" and set(binding.curve_map) == set(ARKIT_LIVE_LINK_CURVES)  # still bindable
    for words in says:
        assert words in binding.notes[0], (words, binding.notes[0])
    assert ed.assets_under(MH_FOLDER) == {}  # nothing half-made
    assert not ed.metahuman["editing"]  # MetaHuman Creator let go of the character
    assert any(level == "log_warning" and "MetaHuman" in text for level, text in ed.logs)


# --- where MetaHuman cannot run --------------------------------------------------------------
def test_without_metahuman_the_arkit_morphs_are_mapped_for_live_link(editor, imported):
    from ue_scripts import metahuman
    from ue_scripts.environment import engine_info
    from ue_scripts.package import ARKIT_LIVE_LINK_CURVES
    info = engine_info()
    binding = metahuman.bind_rig(imported, info)
    assert binding.kind == "arkit"
    assert set(binding.curve_map) == set(ARKIT_LIVE_LINK_CURVES) and len(binding.curve_map) == 52
    assert binding.curve_map["EyeBlinkLeft"] == "eyeBlinkLeft" and binding.curve_map["TongueOut"] == "tongueOut"
    assert "MetaHumanCharacter plugin" in binding.notes[0]
    assert ("needs Unreal Engine 5.7 or later" in binding.notes[0]) == (info.major_minor < (5, 7))


def test_asking_for_metahuman_where_it_is_absent_says_what_is_missing(editor, imported):
    from ue_scripts import metahuman
    from ue_scripts.environment import MissingFeature, engine_info
    with pytest.raises(MissingFeature, match="MetaHumanCharacter plugin"):
        metahuman.bind_rig(imported, engine_info(), mode="metahuman")
    assert not [c for c in editor.calls_to("AssetTools", "create_asset")
                if c.args["asset_class"]._spec_name == "MetaHumanCharacter"]  # nothing half-made


def package_only(fisherman_package):
    """What head_vertices_cm reads of an imported character: its package."""
    from types import SimpleNamespace

    from ue_scripts.package import read_package
    return SimpleNamespace(package=read_package(fisherman_package))


def test_head_vertices_match_the_glb_in_unreal_space(editor, fisherman_package):
    from ue_scripts import metahuman
    character = package_only(fisherman_package)
    head = metahuman.head_vertices_cm(character)
    assert len(head) == character.package.manifest["template"]["parts"]["head"]["vertices"]
    zs = [p[2] for p in head]
    assert 120.0 < min(zs) < max(zs) < 200.0  # Z up, centimetres: a standing adult's head


def test_every_precondition_is_checked_up_front_with_how_to_fix_it(ue57, character57):
    from ue_scripts import metahuman
    from ue_scripts.environment import MissingFeature, engine_info
    assert metahuman.metahuman_missing(engine_info()) == []  # what the self-test prints: nothing missing
    ue57.metahuman["core_data"] = False
    lines = metahuman.metahuman_missing(engine_info())
    assert len(lines) == 1 and "MetaHuman Creator Core Data" in lines[0] and "Epic Games Launcher" in lines[0]
    with pytest.raises(MissingFeature, match="MetaHuman Creator Core Data"):
        rig(ue57, character57, mode="metahuman")
    assert not ue57.calls_to("MetaHumanCharacterEditorSubsystem", "try_add_object_to_edit")  # before anything
    assert ue57.assets_under(MH_FOLDER) == {}


def test_no_core_data_falls_back_to_arkit_saying_how_to_install_it(ue57, character57):
    ue57.metahuman["core_data"] = False
    binding, _ = rig(ue57, character57)
    assert_arkit_fallback(ue57, binding, says=("MetaHuman Creator Core Data", "Epic Games Launcher"))
    assert not ue57.calls_to("MetaHumanCharacterEditorSubsystem", "try_add_object_to_edit")


# --- failures once MetaHuman has started -------------------------------------------------------
def test_not_signed_in_falls_back_to_arkit_with_the_sign_in_message(ue57, character57):
    from ue_scripts import metahuman
    from ue_scripts.environment import engine_info
    ue57.metahuman["signed_in"] = False
    binding = metahuman.bind_rig(character57, engine_info())  # a script: blocking requests, no deadlock
    assert_arkit_fallback(ue57, binding, says=("auto-rigging", "signed in", "Epic Games account", "MHC_Fisherman"))
    params = ue57.calls_to("MetaHumanCharacterEditorSubsystem", "request_auto_rigging")[-1].args["params"]
    assert params.blocking is True and params.rig_type.name == "JOINTS_AND_BLEND_SHAPES"


def test_a_refused_edit_falls_back_and_removes_the_character_asset(ue57, character57):
    ue57.metahuman["refuse_edit"] = True
    binding, _ = rig(ue57, character57)
    assert_arkit_fallback(ue57, binding, says=("refused to open MHC_Fisherman", "try_add_object_to_edit"))
    assert not ue57.calls_to("MetaHumanCharacterEditorSubsystem", "request_auto_rigging")


def test_a_cloud_error_mid_rig_falls_back_and_leaves_nothing_half_made(ue57, character57):
    """The rig arrives, then the texture download fails: nothing the script can read says so, so the
    wait runs out; everything the attempt made is deleted."""
    ue57.metahuman["cloud_error"] = "textures"
    binding, messages = rig(ue57, character57, cloud_timeout_s=0.3)
    assert_arkit_fallback(ue57, binding, says=("texture sources", "signed in"))
    assert any("auto-rigged" in m for m in messages)  # it failed after the rig, not before
    assert not ue57.calls_to("MetaHumanCharacterEditorSubsystem", "build_meta_human")
    assert not ue57.module.EditorAssetLibrary.does_directory_exist(MH_FOLDER)


def test_closing_the_steps_mid_rig_deletes_what_they_made(ue57, character57):
    from ue_scripts import metahuman
    from ue_scripts.environment import engine_info
    steps = metahuman.rig_steps(character57, engine_info())
    for message in steps:
        ue57.tick(0.02)
        if isinstance(message, metahuman.Waiting):
            break
    assert ue57.assets_under(MH_FOLDER)  # the character asset exists while it waits
    steps.close()  # Cancel
    assert ue57.assets_under(MH_FOLDER) == {} and not ue57.metahuman["editing"]


def test_mode_metahuman_raises_after_cleaning_up(ue57, character57):
    ue57.metahuman["refuse_edit"] = True
    with pytest.raises(RuntimeError, match="refused to open MHC_Fisherman"):
        rig(ue57, character57, mode="metahuman")
    assert ue57.assets_under(MH_FOLDER) == {}


# --- the happy path on 5.7 ------------------------------------------------------------------------
def test_metahuman_is_built_placed_and_wears_the_grooms_without_a_transfer(ue57, character57):
    from ue_scripts import metahuman
    binding, messages = rig(ue57, character57)
    assert binding.kind == "metahuman", binding.notes
    mhc = binding.metahuman
    assert mhc._asset_path == f"{MH_FOLDER}/MHC_Fisherman"
    assert mhc._data["committed"] and len(mhc._data["landmark_deltas"]) == len(ue57.metahuman["landmarks"])
    assert mhc._data["rig"] == "JOINTS_AND_BLEND_SHAPES" and mhc._data["built"] == "CINEMATIC"
    assert mhc._data["build_root"] == f"{MH_FOLDER}/Fisherman"  # inside the character's folder
    assert not ue57.metahuman["editing"]  # released even on success
    for call in ("request_auto_rigging", "request_texture_sources"):
        assert ue57.calls_to("MetaHumanCharacterEditorSubsystem", call)[-1].args["params"].blocking is False
    assert binding.blueprint._asset_path == binding.blueprint_path == f"{MH_FOLDER}/Fisherman/BP_Fisherman"

    for name, groom in character57.grooms.items():
        bound = binding.bindings[name]
        assert bound._data["groom"] is groom and bound._data["mesh"] is binding.face_mesh
        assert bound._data["transfer_from"] is None  # roots projected on the face: the UVs differ

    actor = metahuman.spawn_metahuman(binding, ue57.module.Vector(100.0, 0.0, 0.0), ue57.module.Rotator(0.0, 0.0, 90.0))
    assert actor._data["blueprint"] is binding.blueprint and actor in ue57.actors
    assert actor._data["location"] == (100.0, 0.0, 0.0) and actor._data["rotation"][2] == 90.0
    face = metahuman.face_component(actor, binding)
    assert face.get_skeletal_mesh_asset() is binding.face_mesh and face.get_name() == "Face"


def test_rig_steps_yields_between_polls_while_the_cloud_works(ue57, character57):
    from ue_scripts import metahuman
    from ue_scripts.environment import engine_info
    ue57.metahuman["cloud_frames"] = 7
    binding, messages = rig(ue57, character57)
    assert binding.kind == "metahuman"
    waits = [m for m in messages if isinstance(m, metahuman.Waiting)]
    assert len(waits) >= 2 * (7 - 1)  # one step per frame while the rig, then the textures, are pending
    assert all(m.startswith("MetaHuman: waiting for Epic's") for m in waits)
    # a loop that never gives the editor a frame waits in vain: the request never progresses
    ue57.metahuman["cloud_frames"] = 10 ** 9
    stalled, _ = drive(ue57, metahuman.rig_steps(character57, engine_info(), cloud_timeout_s=0.2), ticks_per_step=0)
    assert stalled.kind == "arkit" and "auto-rigging" in stalled.notes[0]


def test_the_similarity_fit_does_not_stretch(editor, fisherman_package):
    """A head scaled uniformly by s (and turned into another frame) is recovered with scale s and
    no anisotropy: every landmark goes back onto the head."""
    from ue_scripts import metahuman
    head = metahuman.head_vertices_cm(package_only(fisherman_package))
    front = sorted(head, key=lambda p: -p[1])[: len(head) // 3]
    picked = front[:: max(1, len(front) // 150)]

    def turn(deg_x, deg_z):
        cx, sx, cz, sz = (math.cos(math.radians(deg_x)), math.sin(math.radians(deg_x)),
                          math.cos(math.radians(deg_z)), math.sin(math.radians(deg_z)))
        rx = ((1, 0, 0), (0, cx, -sx), (0, sx, cx))
        rz = ((cz, -sz, 0), (sz, cz, 0), (0, 0, 1))
        return tuple(tuple(sum(rx[i][k] * rz[k][j] for k in range(3)) for j in range(3)) for i in range(3))

    for s, rotation in ((0.87, turn(90.0, 10.0)), (1.15, turn(0.0, -8.0))):
        landmarks = [tuple(s * sum(rotation[i][j] * p[j] for j in range(3)) + (3.0, -2.0, 12.0)[i] for i in range(3))
                     for p in picked]
        targets = metahuman.wrap_landmarks(landmarks, head)
        # every landmark goes back onto the head, where it came from
        assert max(math.dist(t, lm) for t, lm in zip(targets, landmarks)) < 1e-3 * s
        # no anisotropy: along every axis the targets spread as the landmarks do
        for k in range(3):
            spread = max(p[k] for p in landmarks) - min(p[k] for p in landmarks)
            assert max(t[k] for t in targets) - min(t[k] for t in targets) == pytest.approx(spread, rel=1e-3)
        fit, again = metahuman.fit_similarity(landmarks, head)
        assert fit.scale == pytest.approx(s, rel=1e-3) and again == targets
