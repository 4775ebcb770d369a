"""Import a character package: skeletal mesh with morphs, textures, materials, grooms and bindings.

In the editor's Python console::

    from ue_scripts import import_package
    character = import_package.import_character(r"C:/chars/anna")

or headless: ``UnrealEditor-Cmd Game.uproject -ExecutePythonScript="ue_scripts/import_package.py C:/chars/anna"``.
Everything goes under ``<content root>/Characters/<Name>``; importing again replaces the assets in
place (actors using them keep working); a step that fails deletes what it created.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import unreal

from ue_scripts import assets, grooms, materials, ticker
from ue_scripts.environment import EngineInfo, engine_info
from ue_scripts.package import CharacterPackage, read_package

Progress = Callable[[float, str], None]
T = TypeVar("T")
GLTF_PIPELINE = "/Interchange/Pipelines/DefaultGLTFAssetsPipeline"


@dataclass
class ImportedCharacter:
    name: str
    folder: str
    package: CharacterPackage
    skeletal_mesh: object
    textures: dict[str, object] = field(default_factory=dict)
    materials: dict[str, object] = field(default_factory=dict)  # slot -> instance
    grooms: dict[str, object] = field(default_factory=dict)
    bindings: dict[str, object] = field(default_factory=dict)
    #: the studio's own skeletal meshes the backend matched (library id -> SkeletalMesh)
    studio_meshes: dict[str, object] = field(default_factory=dict)


def _no_progress(fraction: float, message: str) -> None:
    pass


def import_textures(pkg: CharacterPackage, folder: str) -> dict[str, object]:
    """Every PNG the materials use, with Unreal's colour space and compression for its role."""
    tasks = [assets.import_task(tex.path.resolve(), folder) for tex in pkg.textures.values()]
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks(tasks)
    out = {}
    for tex in pkg.textures.values():
        texture = assets.load(f"{folder}/{tex.key}", unreal.Texture2D)
        if texture is None:
            raise RuntimeError(f"Unreal did not import {tex.path.name} (see the Output Log)")
        texture.set_editor_property("srgb", tex.srgb)
        texture.set_editor_property("compression_settings", getattr(unreal.TextureCompressionSettings, tex.compression))
        texture.set_editor_property("flip_green_channel", tex.flip_green)
        out[tex.key] = texture
    return out


def gltf_pipeline(content_root: str, info: EngineInfo):
    """Our copy of the engine's glTF pipeline: a skeletal mesh with morphs and curve metadata only.

    Materials and textures are off: the textures come in with their own settings and the slots get
    our instances.
    """
    path = f"{content_root}/Pipelines/PL_MachCharacterGLTF"
    pipeline = assets.load(path, unreal.InterchangeGenericAssetsPipeline)
    if pipeline is None:
        pipeline = unreal.get_editor_subsystem(unreal.EditorAssetSubsystem).duplicate_asset(GLTF_PIPELINE, path)
        if pipeline is None:
            raise RuntimeError(f"cannot copy {GLTF_PIPELINE}: is the Interchange plugin enabled?")
    pipeline.common_meshes_properties.set_editor_property(
        "force_all_mesh_as_type", unreal.InterchangeForceMeshType.IFMT_SKELETAL_MESH)
    pipeline.mesh_pipeline.set_editor_property("import_skeletal_meshes", True)
    pipeline.mesh_pipeline.set_editor_property("import_static_meshes", False)
    pipeline.mesh_pipeline.set_editor_property("import_morph_targets", True)
    # the setting moved from the animation pipeline (5.4, 5.5) to the common skeletal properties (5.6)
    curves = pipeline.common_skeletal_meshes_and_animations_properties if info.major_minor >= (5, 6) \
        else pipeline.animation_pipeline
    curves.set_editor_property("add_curve_metadata_to_skeleton", True)
    pipeline.material_pipeline.set_editor_property("import_materials", False)
    pipeline.material_pipeline.texture_pipeline.set_editor_property("import_textures", False)
    pipeline.animation_pipeline.set_editor_property("import_animations", False)
    unreal.EditorAssetLibrary.save_loaded_asset(pipeline, only_if_is_dirty=False)
    return pipeline


def import_mesh(pkg: CharacterPackage, folder: str, content_root: str, info: EngineInfo):
    """The glb through Interchange; returns the skeletal mesh (with its skeleton and physics asset)."""
    pipeline = gltf_pipeline(content_root, info)
    params = unreal.ImportAssetParameters()
    params.is_automated = True
    params.replace_existing = True
    params.override_pipelines.append(unreal.SoftObjectPath(pipeline.get_path_name()))
    source = unreal.InterchangeManager.create_source_data(str(pkg.glb.resolve()))
    manager = unreal.InterchangeManager.get_interchange_manager_scripted()
    result = manager.import_asset(folder, source, params)
    if isinstance(result, bool):  # 5.4 says only whether it worked; 5.5+ returns the imported objects
        imported = [unreal.EditorAssetLibrary.load_asset(assets.package_path(p))
                    for p in unreal.EditorAssetLibrary.list_assets(folder, recursive=True, include_folder=False)] \
            if result else []
    else:
        imported = list(result or [])
    meshes = [a for a in imported if isinstance(a, unreal.SkeletalMesh)]
    if not meshes:
        raise RuntimeError(f"Interchange made no skeletal mesh from {pkg.glb.name} (see the Output Log)")
    mesh = meshes[0]
    missing = sorted(set(pkg.morph_targets) - set(mesh.get_all_morph_target_names()))
    if missing:
        raise RuntimeError(f"{mesh.get_path_name()} lacks morph targets {', '.join(missing[:5])}"
                           f"{'...' if len(missing) > 5 else ''}; is 'import morph targets' off?")
    return mesh


def assign_materials(mesh, slots: dict[str, object]) -> None:
    """Put each instance on the mesh slot of the same name."""
    entries = mesh.get_editor_property("materials")
    names = set()
    for entry in entries:
        name = str(entry.get_editor_property("material_slot_name"))
        names.add(name)
        if name in slots:
            entry.set_editor_property("material_interface", slots[name])
    if missing := sorted(set(slots) - names):
        raise RuntimeError(f"{mesh.get_path_name()} has no material slot {', '.join(missing)}")
    mesh.set_editor_property("materials", entries)


def load_studio_meshes(pkg: CharacterPackage) -> dict[str, object]:
    """The studio assets the package references, loaded from this project. One that is missing or
    is not a skeletal mesh is left out with a warning: the character still imports."""
    out = {}
    for asset in pkg.studio_assets:
        loaded = unreal.EditorAssetLibrary.load_asset(asset.object_path)
        if loaded is None:
            unreal.log_warning(f"MachCreator: {asset.id} ({asset.slot}) refers to {asset.object_path}, "
                               "which this project does not have; it is left out")
        elif not isinstance(loaded, unreal.SkeletalMesh):
            unreal.log_warning(f"MachCreator: {asset.object_path} is not a skeletal mesh; {asset.id} is left out")
        else:
            out[asset.id] = loaded
    return out


def import_steps(package_dir: str | Path, *, content_root: str = assets.DEFAULT_CONTENT_ROOT,
                 name: str | None = None, with_grooms: bool = True, verify_checksums: bool = True,
                 info: EngineInfo | None = None) -> Generator[tuple[float, str], None, ImportedCharacter]:
    """Import (or re-import in place) one package, one step per ``next()``: each yields (fraction
    done, what the next step does) before doing it and the generator returns the character. The
    editor runs one step per frame; closing the generator (a cancel) deletes what it created."""
    content_root = assets.check_content_root(content_root)
    info = info or engine_info()
    info.require("import")
    yield 0.0, "checking the package"
    pkg = read_package(package_dir, verify_checksums=verify_checksums, name=name)
    with_grooms = with_grooms and bool(pkg.grooms)
    if with_grooms:
        info.require("grooms")
    folder = assets.character_folder(content_root, pkg.name)
    with assets.rollback_on_failure(folder):
        yield 0.05, "building the master materials"
        masters = materials.ensure_masters(content_root)
        yield 0.1, "importing textures"
        textures = import_textures(pkg, f"{folder}/Textures")
        yield 0.3, "importing the skeletal mesh"
        mesh = import_mesh(pkg, f"{folder}/Mesh", content_root, info)
        yield 0.5, "building materials"
        instances = {slot.name: materials.make_instance(slot, f"{folder}/Materials", masters, textures,
                                                        hide=with_grooms)
                     for slot in pkg.materials}
        assign_materials(mesh, instances)
        character = ImportedCharacter(pkg.name, folder, pkg, mesh, textures, instances,
                                      studio_meshes=load_studio_meshes(pkg))
        if with_grooms:
            yield 0.6, "importing grooms"
            character.grooms, character.bindings = grooms.import_grooms(pkg, f"{folder}/Grooms", mesh, content_root)
        yield 0.95, "saving"
        unreal.EditorAssetLibrary.save_directory(folder, only_if_is_dirty=False, recursive=True)
    return character


def run_steps(steps: Generator[tuple[float, str], None, T], progress: Progress = _no_progress) -> T:
    """Drive a step generator to its end in one go (scripts, commandlets), reporting each step."""
    while True:
        try:
            fraction, message = next(steps)
        except StopIteration as stop:
            return stop.value
        progress(fraction, message)


def import_character(package_dir: str | Path, *, content_root: str = assets.DEFAULT_CONTENT_ROOT,
                     name: str | None = None, with_grooms: bool = True, verify_checksums: bool = True,
                     info: EngineInfo | None = None, progress: Progress = _no_progress) -> ImportedCharacter:
    """Import (or re-import in place) one package at once; see :func:`import_steps`."""
    character = run_steps(import_steps(package_dir, content_root=content_root, name=name, with_grooms=with_grooms,
                                       verify_checksums=verify_checksums, info=info), progress)
    progress(1.0, f"imported {character.name}")
    return character


def main(argv: list[str]) -> int:
    """``import_package.py PACKAGE_DIR [CONTENT_ROOT]`` for -ExecutePythonScript."""
    if not argv:
        unreal.log_error("usage: import_package.py PACKAGE_DIR [/Game/CONTENT_ROOT]")
        return 2
    with ticker.exclusive(), unreal.ScopedSlowTask(100, "Importing MachCreator character") as task:
        task.make_dialog(True)
        done = [0.0]

        def progress(fraction: float, message: str) -> None:
            task.enter_progress_frame(max(0.0, 100 * (fraction - done[0])), message)
            done[0] = fraction

        character = import_character(argv[0], content_root=argv[1] if len(argv) > 1 else assets.DEFAULT_CONTENT_ROOT,
                                     progress=progress)
    unreal.log(f"MachCreator: imported {character.name} into {character.folder}")
    if character.grooms:
        grooms.notify_skin_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
