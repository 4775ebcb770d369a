"""Issue 20 (2): the master materials compile. A scripted TextureSampleParameter2D has no texture
until the script gives it one, and the compiler rejects that ("Found NULL, requires Texture2D"):
every instance then renders the engine's default material."""
from __future__ import annotations

import pytest

from editor_fixtures import editor  # noqa: F401 - fixture
from fake_materials import ENGINE_TEXTURES, engine_sampler_type

ROOT = "/Game/MachCreator"
FOLDER = f"{ROOT}/Characters/Fisherman"


def _texture_nodes(material):
    return [e for e in material._data["graph"]["expressions"]
            if e._spec_name == "MaterialExpressionTextureSampleParameter2D"]


def test_every_texture_parameter_starts_with_an_engine_texture_of_its_sampler_type(editor):
    from ue_scripts.materials import MASTERS, ensure_masters
    masters = ensure_masters(ROOT)
    assert set(masters) == set(MASTERS)
    for kind, material in masters.items():
        nodes = _texture_nodes(material)
        assert len(nodes) == len(MASTERS[kind].textures), kind
        for node in nodes:
            texture = node._props.get("texture")
            assert texture is not None, f"{kind}: {node._props['parameter_name']} has no texture"
            assert texture._asset_path in ENGINE_TEXTURES, texture
            assert engine_sampler_type(texture) == node._props["sampler_type"].name, (kind, texture)
        assert material._data["compiled"], (kind, material._data["compile_errors"])
    normal = next(n for n in _texture_nodes(masters["skin"]) if n._props["parameter_name"] == "Normal")
    assert normal._props["texture"]._asset_path == "/Engine/EngineMaterials/DefaultNormal"


def test_masters_are_set_for_skinned_morphing_meshes_explicitly(editor):
    from ue_scripts.materials import ensure_masters
    for kind, material in ensure_masters(ROOT).items():
        assert material.get_editor_property("used_with_skeletal_mesh"), kind
        assert material.get_editor_property("used_with_morph_targets"), kind
        sets = {c.name[len("set:"):] for c in editor.calls if c.target is material and c.name.startswith("set:")}
        assert {"used_with_skeletal_mesh", "used_with_morph_targets"} <= sets, kind  # set, not left to chance


def test_masters_of_an_older_plugin_are_rebuilt(editor):
    from ue_scripts import materials
    masters = materials.ensure_masters(ROOT)
    for material in masters.values():  # a project whose masters the previous plugin built
        material._data["metadata"][materials.VERSION_TAG] = "2"
    builds = len(editor.calls_to("MaterialEditingLibrary", "recompile_material"))
    materials.ensure_masters(ROOT)
    assert len(editor.calls_to("MaterialEditingLibrary", "recompile_material")) == builds + len(masters)
    assert {m._data["metadata"][materials.VERSION_TAG] for m in masters.values()} == {materials.MASTER_VERSION}
    assert materials.MASTER_VERSION not in ("1", "2")


def test_a_texture_parameter_without_a_texture_fails_the_import_with_the_compilers_words(
        editor, fisherman_package, monkeypatch):
    """What the issue saw: the node had no texture. Now the import stops and says so, instead of a
    character that renders grey-checkered."""
    from ue_scripts import materials
    from ue_scripts.import_package import import_character
    monkeypatch.setattr(materials, "default_texture", lambda sampler, folder=None: None)
    with pytest.raises(materials.MasterCompileError,
                       match=r"M_MachSkin does not compile.*Albedo: Found NULL, requires Texture2D"):
        import_character(fisherman_package, name="Fisherman")
    skin = editor.assets[f"{ROOT}/Materials/M_MachSkin"]
    assert skin._data.get("metadata", {}).get(materials.VERSION_TAG) is None  # rebuilt next time
    assert editor.assets_under(FOLDER) == {}


def test_compiler_errors_reported_by_the_engine_fail_the_import(editor, fisherman_package, monkeypatch):
    """UE 5.8's recompile_material returns the compiler's errors (TArray<FString>; 5.4-5.7 return
    nothing, as the fake's stubs declare); whatever they are, the import stops."""
    from ue_scripts.import_package import import_character
    from ue_scripts.materials import MasterCompileError
    mel = editor.module.MaterialEditingLibrary
    monkeypatch.setattr(mel, "recompile_material", lambda material: (
        ["[SM6] Missing Material Function"] if material.get_name() == "M_MachEye" else []))
    with pytest.raises(MasterCompileError,
                       match=r"M_MachEye does not compile.*eye instance.*Missing Material Function"):
        import_character(fisherman_package, name="Fisherman")


def test_a_compile_the_engine_does_not_confirm_is_a_warning_not_a_failure(editor):
    """5.4-5.7 report no errors to Python; a master with no shader statistics is flagged in the log
    (the self-test reports it) but the import goes on."""
    from ue_scripts import materials
    editor.handlers[("MaterialEditingLibrary", "get_statistics")] = \
        lambda cls, material: editor.new("MaterialStatistics")  # no shader statistics
    materials.ensure_masters(ROOT)
    warnings = [text for level, text in editor.logs if level == "log_warning" and "not confirmed" in text]
    assert len(warnings) == len(materials.MASTERS)


def test_no_engine_texture_of_the_right_kind_is_named(editor):
    from ue_scripts import materials
    editor.assets["/Engine/EngineMaterials/DefaultDiffuse_TC_Masks"]._props["srgb"] = True
    with pytest.raises(materials.MasterCompileError,
                       match="no engine texture fits a Masks texture parameter: To use 'Masks' as sampler type, "
                             "SRGB must be disabled"):
        materials.default_texture("SAMPLERTYPE_MASKS")
    del editor.assets["/Engine/EngineMaterials/DefaultNormal"]  # the next candidate is used
    assert materials.default_texture("SAMPLERTYPE_NORMAL")._asset_path == "/Engine/EngineMaterials/FlatNormal"


def test_where_no_engine_texture_fits_a_small_one_of_the_right_kind_is_made(editor):
    """DefaultDiffuse_TC_Masks is known by name and use, not read from the engine's content: if an
    engine has it otherwise (or not at all), the Masks parameters get a project texture instead."""
    from ue_scripts import materials
    del editor.assets["/Engine/EngineMaterials/DefaultDiffuse_TC_Masks"]
    masters = materials.ensure_masters(ROOT)
    made = editor.assets[f"{ROOT}/Materials/Defaults/T_MachDefaultMasks"]
    assert made.get_editor_property("srgb") is False
    assert made.get_editor_property("compression_settings") == editor.module.TextureCompressionSettings.TC_MASKS
    orm = next(n for n in _texture_nodes(masters["skin"]) if n._props["parameter_name"] == "ORM")
    assert orm._props["texture"] is made and masters["skin"]._data["compiled"]
    assert (editor.project_dir / "Saved" / "MachCreator" / "T_MachDefaultMasks.png").read_bytes().startswith(b"\x89PNG")
    assert any("no engine texture fits a Masks texture parameter" in t for _, t in editor.logs)


def test_sampler_types_follow_the_engines_rules(editor):
    from ue_scripts.materials import sampler_error, sampler_type_for
    U = editor.module
    tex = editor.new("Texture2D", "/Game/T", srgb=True, compression_settings=U.TextureCompressionSettings.TC_DEFAULT)
    assert sampler_type_for(tex) == "SAMPLERTYPE_COLOR"
    tex._props["srgb"] = False
    assert sampler_type_for(tex) == "SAMPLERTYPE_LINEAR_COLOR"
    assert sampler_error(tex, "SAMPLERTYPE_COLOR") == "Sampler type is Color, should be Linear Color for /Game/T.T"
    tex._props["compression_settings"] = U.TextureCompressionSettings.TC_MASKS
    assert sampler_type_for(tex) == "SAMPLERTYPE_MASKS" and sampler_error(tex, "SAMPLERTYPE_MASKS") is None
    tex._props["virtual_texture_streaming"] = True
    assert sampler_type_for(tex) == "SAMPLERTYPE_VIRTUAL_MASKS"
    tex._props["lod_group"] = U.TextureGroup.TEXTUREGROUP_8_BIT_DATA
    assert sampler_type_for(tex) == "SAMPLERTYPE_DATA"
    assert sampler_error(None, "SAMPLERTYPE_COLOR") == "Found NULL, requires Texture2D"


def test_an_instance_texture_of_the_wrong_kind_is_refused_by_name(editor, fisherman_package):
    """A project that imports large textures as virtual textures would hand the master a sampler it
    cannot compile for; the instance says which texture and why."""
    from ue_scripts.import_package import import_character
    original = editor.handlers[("AssetTools", "import_asset_tasks")]

    def virtual_textures(tools, import_tasks):
        original(tools, import_tasks)
        for task in import_tasks:
            for path in task.imported_object_paths:
                editor.assets[path.split(".")[0]]._props["virtual_texture_streaming"] = True
    editor.handlers[("AssetTools", "import_asset_tasks")] = virtual_textures
    with pytest.raises(RuntimeError, match=r"cannot go in Albedo: Sampler type is Color, should be Virtual Color"):
        import_character(fisherman_package, name="Fisherman", with_grooms=False)


def test_the_self_test_check_recompiles_existing_masters_and_names_missing_ones(editor):
    from ue_scripts import materials
    assert {r.compiled for r in materials.check_masters(ROOT).values()} == {False}  # nothing built yet
    materials.ensure_masters(ROOT)
    reports = materials.check_masters(ROOT)
    assert all(r.compiled is True for r in reports.values()), {k: r.line() for k, r in reports.items()}
    assert reports["skin"].line().startswith("yes (") and reports["skin"].pixel_texture_samples == 3
    skin = editor.assets[f"{ROOT}/Materials/M_MachSkin"]
    next(n for n in _texture_nodes(skin) if n._props["parameter_name"] == "ORM")._props["texture"] = None
    report = materials.check_masters(ROOT)["skin"]
    assert report.compiled is False and "ORM: Found NULL" in report.line()
