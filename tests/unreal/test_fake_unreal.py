"""The fake ``unreal`` module is as strict as the real one: names, arguments and types come from the
5.6 stub (and the documented extras), and anything else raises."""
from __future__ import annotations

import pytest

from editor_fixtures import editor  # noqa: F401 - fixture
from fake_unreal import FakeEditor, UnrealApiError
from unreal_api import load_api


def test_stub_parses_into_the_whole_api():
    api = load_api()
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
