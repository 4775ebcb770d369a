"""Importing a real generated package into the (fake) editor: mesh, morphs, textures, materials,
grooms, bindings, actors; re-import in place; all-or-nothing; the rig binding."""
from __future__ import annotations

import json
import shutil

import pytest

from editor_fixtures import editor  # noqa: F401 - fixture
from fake_unreal import FakeEditor

FOLDER = "/Game/MachCreator/Characters/Fisherman"


@pytest.fixture
def imported(editor, fisherman_package):
    from ue_scripts.import_package import import_character
    return import_character(fisherman_package, name="Fisherman")


def test_the_mesh_comes_in_through_interchange_with_every_morph_and_curve(editor, imported, fisherman_package):
    manifest = json.loads((fisherman_package / "manifest.json").read_text())
    record = next(r for r in editor.imports if r.kind == "interchange")
    assert record.filename == str((fisherman_package / "character.glb").resolve())
    pipeline = record.pipeline
    unreal = editor.module
    assert pipeline.common_meshes_properties.force_all_mesh_as_type == unreal.InterchangeForceMeshType.IFMT_SKELETAL_MESH
    assert pipeline.mesh_pipeline.import_morph_targets and not pipeline.material_pipeline.import_materials
    mesh = imported.skeletal_mesh
    assert mesh._asset_path.startswith(f"{FOLDER}/Mesh/")
    assert sorted(mesh.get_all_morph_target_names()) == sorted(manifest["template"]["morph_targets"])
    assert len(manifest["template"]["morph_targets"]) == 52
    assert mesh._data["curve_metadata"]  # curves on the skeleton: Live Link can drive the morphs


def test_textures_get_the_colour_space_and_compression_of_their_role(editor, imported, fisherman_package):
    unreal = editor.module
    manifest = json.loads((fisherman_package / "manifest.json").read_text())
    roles = {f["path"].rsplit("/", 1)[-1][:-4]: f["role"] for f in manifest["files"] if f["path"].endswith(".png")}
    assert set(imported.textures) <= set(roles) and "head_albedo" in imported.textures
    for key, texture in imported.textures.items():
        assert texture._asset_path == f"{FOLDER}/Textures/{key}"
        role = roles[key]
        assert texture.get_editor_property("srgb") is (role == "albedo"), key
        expected = {"albedo": "TC_DEFAULT", "normal": "TC_NORMALMAP", "orm": "TC_MASKS"}[role]
        assert texture.get_editor_property("compression_settings") == getattr(unreal.TextureCompressionSettings, expected)
        assert texture.get_editor_property("flip_green_channel") is (role == "normal")  # OpenGL -> DirectX
        assert texture._data["source"] == str((fisherman_package / "textures" / f"{key}.png").resolve())


def test_master_materials_are_built_once_and_every_slot_gets_an_instance(editor, imported, fisherman_package):
    from ue_scripts.import_package import import_character
    unreal = editor.module
    skin = editor.assets["/Game/MachCreator/Materials/M_MachSkin"]
    graph = skin._data["graph"]
    assert {"MP_BASE_COLOR", "MP_NORMAL", "MP_ROUGHNESS", "MP_AMBIENT_OCCLUSION"} <= set(graph["properties"])
    assert skin.get_editor_property("shading_model") == unreal.MaterialShadingModel.MSM_SUBSURFACE_PROFILE
    card = editor.assets["/Game/MachCreator/Materials/M_MachHairCard"]
    assert card.get_editor_property("blend_mode") == unreal.BlendMode.BLEND_MASKED
    assert "MP_OPACITY_MASK" in card._data["graph"]["properties"]

    slots = {str(s.get_editor_property("material_slot_name")): s.get_editor_property("material_interface")
             for s in imported.skeletal_mesh.get_editor_property("materials")}
    assert set(slots) == {m.name for m in imported.package.materials}
    head = slots["head_skin"]
    assert head._asset_path == f"{FOLDER}/Materials/MI_head_skin" and head.get_editor_property("parent") is skin
    assert head._data["textures"] == {"Albedo": imported.textures["head_albedo"],
                                      "Normal": imported.textures["head_normal"], "ORM": imported.textures["head_orm"]}
    # strands are imported, so the glb's hair cards are masked away (Opacity 0), not deleted
    assert slots["scalp_cards"]._data["scalars"]["Opacity"] == 0.0

    # issue 20 (2): every slot renders its own material, in the editor and in a cooked game (the
    # masters compile, and their skeletal-mesh and morph-target usage is set, not left to the editor)
    from ue_scripts import actors
    actors.place(imported)
    for name, instance in slots.items():
        assert editor.rendered_material(instance) == instance._asset_path, name
        assert editor.rendered_material(instance, cooked=True) == instance._asset_path, name

    builds = len(editor.calls_to("MaterialEditingLibrary", "recompile_material"))
    import_character(fisherman_package, name="Other")
    assert len(editor.calls_to("MaterialEditingLibrary", "recompile_material")) == builds  # masters reused


def test_garments_get_the_cloth_master_and_factor_only_parts_their_gltf_factors(editor, imported, fisherman_package):
    unreal = editor.module
    cloth = editor.assets["/Game/MachCreator/Materials/M_MachCloth"]
    assert cloth.get_editor_property("shading_model") == unreal.MaterialShadingModel.MSM_DEFAULT_LIT
    slots = {str(s.get_editor_property("material_slot_name")): s.get_editor_property("material_interface")
             for s in imported.skeletal_mesh.get_editor_property("materials")}
    coat = slots["garment_coat"]
    assert coat.get_editor_property("parent") is cloth and set(coat._data["textures"]) == {"Albedo", "Normal", "ORM"}

    from ue_scripts.package import glb_json
    doc = glb_json(fisherman_package / "character.glb")
    trim = next(m for m in doc["materials"] if m["name"] == "garment_coat_trim")["pbrMetallicRoughness"]
    button = slots["garment_coat_trim"]
    assert button.get_editor_property("parent") is editor.assets["/Game/MachCreator/Materials/M_MachPlain"]
    color = button._data["vectors"]["BaseColor"]._data["init"]
    assert [color[c] for c in "rgba"] == pytest.approx(trim["baseColorFactor"])
    assert button._data["scalars"]["Roughness"] == pytest.approx(trim.get("roughnessFactor", 1.0))


def test_lenses_get_the_translucent_glass_master_with_their_tint_and_opacity(editor):
    from ue_scripts.materials import ensure_masters, make_instance
    from ue_scripts.package import MaterialSlot, _master_for
    unreal = editor.module
    lens = {"name": "glasses_lens", "alphaMode": "BLEND",
            "pbrMetallicRoughness": {"baseColorFactor": [0.1, 0.1, 0.12, 0.6], "roughnessFactor": 0.05}}
    assert _master_for(lens["name"], lens) == "glass"
    masters = ensure_masters("/Game/MachCreator")
    glass = masters["glass"]
    assert glass.get_editor_property("blend_mode") == unreal.BlendMode.BLEND_TRANSLUCENT
    assert "MP_OPACITY" in glass._data["graph"]["properties"]
    slot = MaterialSlot(name="glasses_lens", master="glass", textures={}, base_color=(0.1, 0.1, 0.12, 0.6),
                        roughness=0.05, metallic=0.0, masked=False, two_sided=True)
    instance = make_instance(slot, "/Game/MachCreator/Characters/Test/Materials", masters, {})
    assert instance._data["scalars"]["Opacity"] == pytest.approx(0.6)
    assert instance._data["scalars"]["Roughness"] == pytest.approx(0.05)


def test_grooms_import_with_the_manifests_conversion_and_bind_to_the_mesh(editor, imported, fisherman_package):
    manifest = json.loads((fisherman_package / "manifest.json").read_text())
    assert set(imported.grooms) == {g["name"] for g in manifest["grooms"]} and "facial_hair" in imported.grooms
    for entry in manifest["grooms"]:
        groom = imported.grooms[entry["name"]]
        assert groom._asset_path == f"{FOLDER}/Grooms/{entry['name']}"
        assert groom._data["source"] == str((fisherman_package / entry["files"]["abc"]).resolve())
        assert groom._data["rotation"] == tuple(entry["unreal_import"]["rotation"])
        assert groom._data["scale"] == tuple(entry["unreal_import"]["scale"])
        binding = imported.bindings[entry["name"]]
        assert binding._asset_path == f"{FOLDER}/Grooms/GB_{entry['name']}"
        assert binding._data["groom"] is groom and binding._data["mesh"] is imported.skeletal_mesh


def test_placing_attaches_the_grooms_to_the_mesh_actor(editor, imported):
    from ue_scripts import actors
    unreal = editor.module
    placed = actors.place(imported, unreal.Vector(100.0, 0.0, 0.0), 180.0, job_id="job-1", package_dir="/p")
    actor = placed.actor
    assert actor.skeletal_mesh_component.get_editor_property("skeletal_mesh_asset") is imported.skeletal_mesh
    # facing -X: the mesh's front (+Y at yaw 0) turned by 90 degrees
    assert actor._data["location"] == (100.0, 0.0, 0.0) and actor._data["rotation"][2] == 90.0
    assert {"MachCreator", "MachCreator.Job=job-1", "MachCreator.Package=/p"} <= set(actor.tags)
    assert set(placed.grooms) == set(imported.grooms)
    for name, groom_actor in placed.grooms.items():
        assert groom_actor.get_attach_parent_actor() is actor
        assert groom_actor.groom_component.get_editor_property("binding_asset") is imported.bindings[name]
    found = actors.find_placed(placed.grooms["scalp"])  # selecting a groom finds its character
    assert found.actor is actor and set(found.grooms) == set(placed.grooms)


def test_reimport_replaces_in_place(editor, imported, fisherman_package):
    from ue_scripts.import_package import import_character
    before = set(editor.assets_under(FOLDER))
    again = import_character(fisherman_package, name="Fisherman")
    assert set(editor.assets_under(FOLDER)) == before
    assert again.skeletal_mesh._asset_path == imported.skeletal_mesh._asset_path
    # instances are updated, not recreated: actors and meshes that use them keep working
    assert again.materials["head_skin"] is imported.materials["head_skin"]


def test_a_failing_step_leaves_nothing_half_created(editor, fisherman_package):
    from ue_scripts.import_package import import_character
    editor.handlers[("GroomLibrary", "create_new_groom_binding_asset_with_path")] = lambda *a, **k: None
    with pytest.raises(RuntimeError, match="cannot bind groom"):
        import_character(fisherman_package, name="Fisherman")
    assert editor.assets_under(FOLDER) == {}


def test_a_damaged_package_is_refused_before_any_asset_is_made(editor, fisherman_package, tmp_path):
    from ue_scripts.import_package import import_character
    from ue_scripts.package import PackageError
    copy = tmp_path / "copy"
    shutil.copytree(fisherman_package, copy)
    with open(copy / "textures" / "head_albedo.png", "r+b") as f:
        f.seek(100)
        f.write(b"\0\0\0\0")
    with pytest.raises(PackageError, match="head_albedo.png: its sha256 does not match"):
        import_character(copy, name="Fisherman")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"][0]["path"] = "../../etc/passwd"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="must stay inside the package folder"):
        import_character(copy, name="Fisherman")
    assert not editor.imports and editor.assets_under("/Game/MachCreator") == {}


def test_missing_groom_plugins_are_named(tmp_path, monkeypatch, fisherman_package):
    from editor_fixtures import install
    ed = install(FakeEditor(tmp_path, plugins={"PythonScriptPlugin", "EditorScriptingUtilities", "Interchange"}),
                 monkeypatch)
    from ue_scripts.environment import MissingFeature
    from ue_scripts.import_package import import_character
    with pytest.raises(MissingFeature, match="the HairStrands plugin .*the AlembicHairImporter plugin"):
        import_character(fisherman_package, name="Fisherman")
    character = import_character(fisherman_package, name="Fisherman", with_grooms=False)
    assert character.grooms == {} and ed.assets_under(FOLDER)


def test_the_script_entry_point_imports_with_a_progress_dialog(editor, fisherman_package):
    from ue_scripts import import_package
    assert import_package.main([str(fisherman_package), "/Game/Chars"]) == 0
    assert editor.assets_under("/Game/Chars/Characters/Fisherman")
    task = editor.slow_tasks[-1]
    assert task.dialog and abs(sum(w for w, _ in task.frames) - 100.0) < 1e-6
    assert any("imported Fisherman" in line for _, line in editor.logs)
    assert import_package.main([]) == 2


def test_studio_meshes_the_manifest_references_are_placed_on_the_body(editor, imported, fisherman_package, tmp_path):
    """A studio's Unreal outfit matched by the backend is loaded from the project, attached to the
    character and driven by its pose; one the project lacks is a warning, not a failed import."""
    from ue_scripts import actors
    from ue_scripts.import_package import import_character
    unreal = editor.module
    pkg = tmp_path / "dressed"
    shutil.copytree(fisherman_package, pkg)
    manifest = json.loads((pkg / "manifest.json").read_text())
    outfit = imported.skeletal_mesh.get_path_name()  # stands in for an outfit skinned to our skeleton
    manifest["assets"] += [{"slot": "top", "id": "studio/hoodie", "unreal_asset": outfit},
                           {"slot": "shoes", "id": "studio/boots", "unreal_asset": "/Game/Missing/Boots.Boots"}]
    (pkg / "manifest.json").write_text(json.dumps(manifest))

    character = import_character(pkg, name="Dressed")
    assert set(character.studio_meshes) == {"studio/hoodie"}
    assert any(level == "log_warning" and "/Game/Missing/Boots.Boots" in text for level, text in editor.logs)

    placed = actors.place(character, unreal.Vector(0.0, 0.0, 0.0), 0.0)
    outfit_actor = placed.studio["studio/hoodie"]
    assert outfit_actor.get_attach_parent_actor() is placed.actor
    leader = [c for c in editor.calls if c.name == "set_leader_pose_component" and c.target is outfit_actor.skeletal_mesh_component]
    assert leader and leader[-1].args["new_leader_bone_component"] is placed.actor.skeletal_mesh_component
    found = actors.find_placed(outfit_actor)  # selecting the outfit finds its character
    assert found.actor is placed.actor and set(found.studio) == {"studio/hoodie"}
    actors.refresh(found, character)  # an edit re-binds: still one outfit actor, not two
    assert sum(1 for a in editor.actors if actors.tag_value(a, actors.TAG_ASSET) == "studio/hoodie") == 1


def test_a_manifest_asset_path_that_is_not_an_unreal_object_path_is_refused(fisherman_package, tmp_path):
    from ue_scripts.package import PackageError, read_package
    pkg = tmp_path / "bad"
    shutil.copytree(fisherman_package, pkg)
    manifest = json.loads((pkg / "manifest.json").read_text())
    manifest["assets"].append({"slot": "top", "id": "x", "unreal_asset": "../../etc/passwd"})
    (pkg / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError, match="not an Unreal object path"):
        read_package(pkg)
