"""The fake ``unreal`` module is as strict as the real one: names, arguments and types come from each
engine version's stub (and the documented extras), and anything else raises. It behaves like the
editor where the plugin depends on it: Slate ticks from slow tasks and dialogs, modality, slow-task
order, material compilation, per-version return types; and its stubs are the pinned wheels."""
from __future__ import annotations

import zipfile

import pytest

import stubs
from machcreator.core.files import sha256_file
from editor_fixtures import editor  # noqa: F401 - fixture
from fake_unreal import EditorCrash, FakeEditor, SlowTaskOrderError, UnrealApiError
from unreal_api import VERSIONS, load_api


def test_stub_parses_into_the_whole_api():
    api = load_api("5.6")
    assert len(api.classes) > 8000
    binding = api.method("GroomLibrary", "create_new_groom_binding_asset_with_path")
    assert binding.classmethod and [p.name for p in binding.params][:3] == ["desired_package_path", "groom_asset",
                                                                            "skeletal_mesh"]
    assert "IFMT_SKELETAL_MESH" in api.classes["InterchangeForceMeshType"].values
    assert api.editor_prop("Material", "blend_mode").writable  # an editor property...
    assert not api.prop("Material", "blend_mode").writable  # ...that Python may not assign


def test_misspelt_names_raise(editor):
    unreal = editor.module
    with pytest.raises(UnrealApiError, match="GroomLibary"):
        unreal.GroomLibary
    with pytest.raises(UnrealApiError, match="create_groom_binding"):
        unreal.GroomLibrary.create_groom_binding
    with pytest.raises(UnrealApiError, match="IFMT_SKELETAL"):
        unreal.InterchangeForceMeshType.IFMT_SKELETAL
    task = unreal.AssetImportTask()
    with pytest.raises(UnrealApiError, match="file_name"):
        task.file_name = "x.png"
    with pytest.raises(UnrealApiError, match="srgb_on"):
        unreal.Texture2D().set_editor_property("srgb_on", True)


def test_wrong_arguments_and_types_raise(editor):
    unreal = editor.module
    with pytest.raises(TypeError, match="unexpected keyword argument 'interpolation_points'"):
        unreal.GroomLibrary.create_new_groom_binding_asset_with_path("/Game/G", None, None, interpolation_points=4)
    with pytest.raises(TypeError, match="missing required arguments: skeletal_mesh"):
        unreal.GroomLibrary.create_new_groom_binding_asset_with_path("/Game/G", None)
    with pytest.raises(TypeError, match="expects bool"):
        unreal.Texture2D().set_editor_property("srgb", "false")
    with pytest.raises(TypeError, match="expects TextureCompressionSettings"):
        unreal.Texture2D().set_editor_property("compression_settings", unreal.MaterialSamplerType.SAMPLERTYPE_NORMAL)
    with pytest.raises(UnrealApiError, match="read-only"):
        unreal.Material().blend_mode = unreal.BlendMode.BLEND_MASKED


def test_calls_are_recorded_with_their_arguments(editor):
    unreal = editor.module
    unreal.SystemLibrary.get_engine_version()
    unreal.log("hello")
    assert editor.calls_to("SystemLibrary", "get_engine_version")
    assert editor.calls_to("unreal", "log")[0].args == {"arg": "hello"}
    assert ("log", "hello") in editor.logs


def test_a_call_without_simulated_behaviour_refuses_to_invent_a_value(editor):
    with pytest.raises(NotImplementedError, match="EditorAssetLibrary.find_asset_data"):
        editor.module.EditorAssetLibrary.find_asset_data("/Game/X")


def test_plugin_apis_exist_only_where_the_plugin_and_engine_have_them(tmp_path, monkeypatch):
    old = FakeEditor(tmp_path / "a")  # 5.6, no MetaHuman plugin
    with pytest.raises(AttributeError, match="MetaHumanCharacter is not enabled"):
        old.module.MetaHumanCharacterEditorSubsystem
    on_56 = FakeEditor(tmp_path / "b", plugins=old.plugins | {"MetaHumanCharacter"})
    with pytest.raises(AttributeError, match="new in 5.7"):
        on_56.module.MetaHumanCharacterEditorSubsystem
    on_57 = FakeEditor(tmp_path / "c", engine_version="5.7.1-0+++UE5+Release-5.7",
                       plugins=old.plugins | {"MetaHumanCharacter"})
    assert on_57.module.MetaHumanCharacterEditorSubsystem.__name__ == "MetaHumanCharacterEditorSubsystem"
    with pytest.raises(UnrealApiError, match="new in 5.8"):
        on_57.subsystem("MetaHumanCharacterEditorSubsystem").align_to_target_meshes


def test_python_defined_types_follow_the_uclass_rules(editor):
    unreal = editor.module

    @unreal.uenum()
    class Colour(unreal.EnumBase):
        RED = unreal.uvalue(0)
        BLUE = unreal.uvalue(1)

    @unreal.uclass()
    class Request(unreal.Object):
        prompt = unreal.uproperty(str, meta={"Category": "Prompt"})
        colour = unreal.uproperty(Colour)

    request = Request()
    assert request.prompt == "" and request.colour == Colour.RED
    request.set_editor_property("colour", Colour.BLUE)
    assert request.get_editor_property("colour") == Colour.BLUE
    with pytest.raises(ValueError, match="Catgory"):
        unreal.uproperty(str, meta={"Catgory": "Prompt"})


# --- one fake per engine version -------------------------------------------------------------------

@pytest.mark.parametrize("version, stub, engine", [("5.4", "0.1", "5.4."), ("5.5", "0.2.1", "5.5.4-"),
                                                   ("5.6", "0.3", "5.6.0-43139311+++UE5+Release-5.6"),
                                                   ("5.7", "0.3", "5.7.")])
def test_each_version_is_its_stub_and_says_its_engine_version(tmp_path, version, stub, engine):
    ed = FakeEditor(tmp_path, version)
    assert ed.version == version and ed.api.stub == stub and ed.api.version == version
    reported = ed.module.SystemLibrary.get_engine_version()
    assert reported.startswith(engine) and reported.endswith(f"+++UE5+Release-{version}")
    from_string = FakeEditor(tmp_path / "again", engine_version=reported)  # an engine string picks its version
    assert from_string.version == version


def test_the_oldest_stub_is_ue_5_4():
    """unreal-stub 0.1 names no engine version: its own text dates it (members deprecated in 5.4,
    none in 5.5; 5.4's Modular Control Rig), and the 5.5 stub's summary says 5.5.4."""
    text = stubs.stub_text(stubs.wheel(stubs.RELEASES["5.4"]))
    assert "deprecated: 5.4" in text and "deprecated: 5.5" not in text
    assert "class ModularRig(" in text
    with zipfile.ZipFile(stubs.wheel(stubs.RELEASES["5.5"])) as z:
        assert "latest: 5.5.4" in z.read("unreal_stub-0.2.1.dist-info/METADATA").decode()


def test_names_differ_between_versions_as_their_stubs_do(tmp_path):
    """add_curve_metadata_to_skeleton is new in 5.6's Interchange pipeline."""
    for version in VERSIONS:
        ed = FakeEditor(tmp_path / version, version)
        props = ed.module.InterchangeGenericCommonSkeletalMeshesAndAnimationsProperties()
        if version in ("5.4", "5.5"):
            with pytest.raises(UnrealApiError, match=r"add_curve_metadata_to_skeleton.*|editor property"):
                props.set_editor_property("add_curve_metadata_to_skeleton", True)
        else:
            props.set_editor_property("add_curve_metadata_to_skeleton", True)


def test_a_plugin_the_5_4_stub_was_made_without_comes_from_the_next_stub(tmp_path):
    api = load_api("5.4")
    groom = api.classes["GroomLibrary"]
    assert groom.plugin == "HairStrands" and "backfilled" in groom.source
    assert api.method("GroomLibrary", "create_new_groom_binding_asset_with_path").classmethod
    without = FakeEditor(tmp_path, "5.4", plugins={"PythonScriptPlugin", "Interchange"})
    with pytest.raises(AttributeError, match="HairStrands is not enabled"):
        without.module.GroomLibrary
    assert load_api("5.5").classes["GroomLibrary"].source == "stub"


def _import_params(ed):
    unreal = ed.module
    params = unreal.ImportAssetParameters()
    params.is_automated = True
    params.override_pipelines.append(unreal.SoftObjectPath("/Interchange/Pipelines/DefaultGLTFAssetsPipeline"))
    ed.assets["/Interchange/Pipelines/DefaultGLTFAssetsPipeline"].common_meshes_properties._props[
        "force_all_mesh_as_type"] = unreal.InterchangeForceMeshType.IFMT_SKELETAL_MESH
    return params


def test_interchange_import_asset_returns_a_bool_in_5_4_and_the_objects_from_5_5(tmp_path, fisherman_package):
    glb = str((fisherman_package / "character.glb").resolve())
    for version in VERSIONS:
        ed = FakeEditor(tmp_path / version, version)
        unreal = ed.module
        manager = unreal.InterchangeManager.get_interchange_manager_scripted()
        result = manager.import_asset("/Game/X", unreal.InterchangeManager.create_source_data(glb), _import_params(ed))
        declared = ed.api.method("InterchangeManager", "import_asset").returns
        if version == "5.4":
            assert declared == "bool" and result is True
        else:
            assert declared == "Optional[Array[Object]]"
            assert any(isinstance(o, unreal.SkeletalMesh) for o in result)


def test_a_value_the_stub_declares_none_is_not_returned(editor):
    editor.handlers[("MaterialEditingLibrary", "recompile_material")] = lambda cls, material: ["an error"]
    assert editor.module.MaterialEditingLibrary.recompile_material(editor.module.Material()) is None


# --- Slate ----------------------------------------------------------------------------------------

def test_a_callback_unregistered_during_a_tick_is_not_called_again(editor):
    unreal = editor.module
    seen = []
    handles = {}

    def first(dt):
        seen.append("first")
        unreal.unregister_slate_post_tick_callback(handles["second"])

    def second(dt):
        seen.append("second")

    handles["first"] = unreal.register_slate_post_tick_callback(first)
    handles["second"] = unreal.register_slate_post_tick_callback(second)
    editor.tick()
    assert seen == ["first"]
    unreal.unregister_slate_post_tick_callback(handles["first"])
    editor.tick()
    assert seen == ["first"]


def test_progress_inside_a_tick_callback_re_enters_it(editor):
    """FFeedbackContextEditor ticks Slate from a slow task's progress: the callback runs again
    inside its own enter_progress_frame (once per UI update: at most five a second)."""
    unreal = editor.module
    depth, calls = [0], []

    def poll(dt):
        calls.append(depth[0])
        depth[0] += 1
        try:
            if len(calls) == 1:
                with unreal.ScopedSlowTask(2, "working") as task:
                    task.make_dialog(True)  # opens the window: Slate ticks (and runs poll) right away
                    editor.advance(0.5)
                    task.enter_progress_frame(1, "half")
        finally:
            depth[0] -= 1

    unreal.register_slate_post_tick_callback(poll)
    editor.tick()
    assert calls[0] == 0 and max(calls) == 1 and len(calls) > 2  # re-entered, one level deep
    assert editor.reentered_ticks() >= 3
    assert {t.source for t in editor.slate_ticks if t.reentry} == {"progress"}


def test_progress_updates_are_throttled_to_five_a_second(editor):
    unreal = editor.module
    ticks = []
    unreal.register_slate_post_tick_callback(lambda dt: ticks.append(editor.clock))
    with unreal.ScopedSlowTask(10, "work") as task:
        task.make_dialog()
        made = len(ticks)
        for _ in range(5):
            task.enter_progress_frame(1)  # no time passes: no UI update
        assert len(ticks) == made
        editor.advance(0.3)
        task.enter_progress_frame(1)
        assert len(ticks) == made + 1
    assert len(ticks) == made + 3  # leaving the task that opened the window: ForceRefresh, twice


def test_progress_without_a_dialog_ticks_nothing(editor):
    unreal = editor.module
    ticks = []
    unreal.register_slate_post_tick_callback(lambda dt: ticks.append(dt))
    with unreal.ScopedSlowTask(2, "quiet") as task:
        editor.advance(1.0)
        task.enter_progress_frame(1)
    assert ticks == [] and editor.modal_depth == 0


def test_a_callback_that_recurses_through_progress_crashes_the_editor(editor):
    unreal = editor.module
    task = unreal.ScopedSlowTask(1000, "job")
    task.__enter__()
    task.make_dialog(True)

    def poll(dt):  # reports progress after slow work on every call: each report ticks Slate again
        editor.advance(1.0)
        task.enter_progress_frame(1, "still working")

    unreal.register_slate_post_tick_callback(poll)
    with pytest.raises(EditorCrash, match="re-entered itself 8 levels deep"):
        editor.tick()


def test_a_slow_task_dialog_is_modal_until_it_ends(editor):
    unreal = editor.module
    task = unreal.ScopedSlowTask(100, "generating")
    task.__enter__()
    task.make_dialog(True)
    assert editor.modal_depth == 1
    editor.tick(times=5)
    editor.assert_modal_for(5)  # five editor frames in which the user could not use the editor
    task.__exit__(None, None, None)
    assert editor.modal_depth == 0
    editor.tick(times=3)
    editor.assert_modal_for(5)
    with pytest.raises(AssertionError, match="modal for 5 frame ticks, expected at most 0"):
        editor.assert_modal_for(0, at_most=True)


def test_dialogs_run_a_modal_loop_that_ticks_slate(editor):
    unreal = editor.module
    during = []
    unreal.register_slate_post_tick_callback(lambda dt: during.append(editor.modal_depth))
    unreal.EditorDialog.show_message("T", "hello", unreal.AppMsgType.OK)
    assert during == [1] * editor.dialog_ticks and editor.modal_depth == 0
    obj = unreal.EditorDialogLibraryObjectDetailsViewOptions()
    assert unreal.EditorDialog.show_object_details_view("Details", obj)
    assert len(during) == 2 * editor.dialog_ticks
    assert editor.modal_ticks("dialog") == 2 * editor.dialog_ticks


def test_slow_tasks_end_in_the_reverse_order_they_began(editor):
    unreal = editor.module
    outer, inner = unreal.ScopedSlowTask(2, "outer"), unreal.ScopedSlowTask(2, "inner")
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(SlowTaskOrderError, match="destroying 'outer' but 'inner' is at the top"):
        outer.__exit__(None, None, None)
    inner.__exit__(None, None, None)
    outer.__exit__(None, None, None)
    assert not editor.slow_task_stack


def test_the_engines_imports_open_slow_tasks_that_tick_slate(editor, fisherman_package):
    unreal = editor.module
    ticks = []
    unreal.register_slate_post_tick_callback(lambda dt: ticks.append(editor.modal_depth))
    task = unreal.AssetImportTask()
    task.filename = str(fisherman_package / "textures" / "head_albedo.png")
    task.destination_path = "/Game/T"
    task.automated = True
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks([task])
    [slow] = editor.engine_slow_tasks
    assert slow.owner == "AssetTools.import_asset_tasks" and slow.created_dialog and not slow.open
    assert ticks and set(ticks) == {1}  # its own progress window: modal while it imports
    assert editor.slow_tasks == []  # the script opened none
    assert editor.assets["/Game/T/head_albedo"].get_editor_property("srgb")  # the factory's default


# --- materials ------------------------------------------------------------------------------------

def _master(editor, name="M_Test", sampler="SAMPLERTYPE_COLOR", texture="unset"):
    unreal = editor.module
    mel = unreal.MaterialEditingLibrary
    material = unreal.AssetToolsHelpers.get_asset_tools().create_asset(name, "/Game/M", unreal.Material,
                                                                      unreal.MaterialFactoryNew())
    node = mel.create_material_expression(material, unreal.MaterialExpressionTextureSampleParameter2D, 0, 0)
    node.set_editor_property("parameter_name", "Tex")
    node.set_editor_property("sampler_type", getattr(unreal.MaterialSamplerType, sampler))
    if texture != "unset":
        node.set_editor_property("texture", texture)
    mel.connect_material_property(node, "RGB", unreal.MaterialProperty.MP_BASE_COLOR)
    return material


def test_a_texture_parameter_without_a_texture_does_not_compile(editor):
    material = _master(editor)
    assert material.get_editor_property("used_with_skeletal_mesh") is False
    editor.module.MaterialEditingLibrary.recompile_material(material)
    error = "[SM6] (Node TextureSampleParameter2D) Param2D> Found NULL, requires Texture2D"
    assert material._data["compiled"] is False and material._data["compile_errors"] == [error]
    assert ("log_error", f"LogMaterial: /Game/M/M_Test.M_Test: {error}") in editor.logs
    stats = editor.module.MaterialEditingLibrary.get_statistics(material)
    assert stats.get_editor_property("num_pixel_shader_instructions") == 0  # no shader map


def test_a_sampler_type_that_does_not_match_the_texture_does_not_compile(editor):
    normal = editor.assets["/Engine/EngineMaterials/DefaultNormal"]
    assert normal.get_editor_property("srgb") is False
    assert normal.get_editor_property("compression_settings") == editor.module.TextureCompressionSettings.TC_NORMALMAP
    material = _master(editor, sampler="SAMPLERTYPE_COLOR", texture=normal)
    editor.module.MaterialEditingLibrary.recompile_material(material)
    assert material._data["compile_errors"] == [
        "[SM6] (Node TextureSampleParameter2D) Sampler type is Color, should be Normal for "
        "/Engine/EngineMaterials/DefaultNormal.DefaultNormal"]
    diffuse = editor.assets["/Engine/EngineMaterials/DefaultDiffuse"]
    ok = _master(editor, "M_Ok", sampler="SAMPLERTYPE_COLOR", texture=diffuse)
    editor.module.MaterialEditingLibrary.recompile_material(ok)
    assert ok._data["compiled"] and not ok._data["compile_errors"]
    assert editor.module.MaterialEditingLibrary.get_statistics(ok).get_editor_property("num_pixel_texture_samples") == 1


def test_an_instance_of_a_master_that_failed_renders_the_default_material(editor):
    unreal = editor.module
    mel = unreal.MaterialEditingLibrary
    master = _master(editor)
    mel.recompile_material(master)
    instance = unreal.AssetToolsHelpers.get_asset_tools().create_asset(
        "MI_Test", "/Game/M", unreal.MaterialInstanceConstant, unreal.MaterialInstanceConstantFactoryNew())
    mel.set_material_instance_parent(instance, master)
    assert editor.rendered_material(instance) == "/Engine/EngineMaterials/WorldGridMaterial"
    node = master._data["graph"]["expressions"][0]
    node.set_editor_property("texture", editor.assets["/Engine/EngineMaterials/DefaultDiffuse"])
    mel.recompile_material(master)
    assert editor.rendered_material(instance) == "/Game/M/MI_Test"


def test_a_material_on_a_morphing_skeletal_mesh_without_the_usage_flags_is_set_by_the_editor(editor):
    unreal = editor.module
    master = _master(editor, texture=editor.assets["/Engine/EngineMaterials/DefaultDiffuse"])
    unreal.MaterialEditingLibrary.recompile_material(master)
    master.set_editor_property("used_with_skeletal_mesh", True)
    mesh = editor.new("SkeletalMesh", "/Game/M/SK_Head")
    mesh._data["morphs"] = ["jawOpen"]
    mesh._props["materials"] = [editor.new("SkeletalMaterial", material_interface=master)]
    actor = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).spawn_actor_from_object(
        mesh, unreal.Vector(0.0, 0.0, 0.0))
    assert actor is not None and master.get_editor_property("used_with_morph_targets")
    assert master._data["usage_set_by_editor"] == ["bUsedWithMorphTargets"]
    assert "/Game/M/M_Test" in editor.dirty
    assert ("log_warning", "LogMaterial: Material /Game/M/M_Test.M_Test needed to have new flag set "
                           "bUsedWithMorphTargets !") in editor.logs
    assert editor.rendered_material(master) == "/Game/M/M_Test"
    assert editor.rendered_material(master, cooked=True) == "/Engine/EngineMaterials/WorldGridMaterial"


# --- the stubs ------------------------------------------------------------------------------------

def test_a_stub_wheel_whose_sha256_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(stubs.ENV_VAR, str(tmp_path))
    release = stubs.StubRelease("0.1", "0" * 64, "5.4.0")

    def fake_download(rel, dest):
        with zipfile.ZipFile(dest / rel.wheel_name, "w") as z:
            z.writestr("unreal/unreal.py", "class Object(_ObjectBase):\n    ...\n")

    with pytest.raises(stubs.StubError, match="not the pinned 0000"):
        stubs.wheel(release, download=fake_download)
    assert not (tmp_path / release.wheel_name).exists()  # deleted, fetched again next time


def test_a_failed_download_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(stubs.ENV_VAR, str(tmp_path))

    def offline(rel, dest):
        raise stubs.StubError(f"cannot download unreal-stub=={rel.version} from PyPI: ['No route to host']")

    with pytest.raises(stubs.StubError, match=r"unreal-stub==0.1 from PyPI.*No route"):
        stubs.wheel(stubs.RELEASES["5.4"], download=offline)


def test_the_cached_wheels_are_the_pinned_ones():
    for release in stubs.RELEASES.values():
        path = stubs.wheel(release)  # checks the sha256 every time
        assert sha256_file(path) == release.sha256 and path.stat().st_size < 4_000_000
