"""Strand grooms: Alembic import with the manifest's conversion settings, bindings to the mesh."""
from __future__ import annotations

import unreal

from ue_scripts import assets
from ue_scripts.package import CharacterPackage, GroomFile


def _vector(values: tuple[float, float, float]):
    return unreal.Vector(float(values[0]), float(values[1]), float(values[2]))


def groom_import_task(groom: GroomFile, folder: str):
    """An automated import of one .abc; the conversion settings are always explicit because the
    editor remembers the last ones a user chose."""
    options = unreal.GroomImportOptions()
    options.conversion_settings = unreal.GroomConversionSettings(rotation=_vector(groom.rotation_deg),
                                                                 scale=_vector(groom.scale))
    task = assets.import_task(groom.path.resolve(), folder)
    task.factory = unreal.HairStrandsFactory()
    task.options = options
    return task


def import_grooms(pkg: CharacterPackage, folder: str, mesh, content_root: str) -> tuple[dict, dict]:
    """Import every groom and bind it to ``mesh``; returns (name -> GroomAsset, name -> GroomBindingAsset).

    A binding is rebuilt on every import: it records the mesh's vertices, which an edit changes.
    """
    tasks = [groom_import_task(g, folder) for g in pkg.grooms]
    unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks(tasks)
    groom_assets, bindings = {}, {}
    for groom, task in zip(pkg.grooms, tasks):
        paths = [assets.package_path(p) for p in task.imported_object_paths]
        asset = next((a for a in (unreal.EditorAssetLibrary.load_asset(p) for p in paths)
                      if isinstance(a, unreal.GroomAsset)), None)
        if asset is None:
            raise RuntimeError(f"Unreal did not import groom {groom.path.name} (is AlembicHairImporter enabled? "
                               "see the Output Log)")
        binding_path = f"{folder}/GB_{groom.name}"
        if unreal.EditorAssetLibrary.does_asset_exist(binding_path):
            unreal.EditorAssetLibrary.delete_asset(binding_path)
        binding = unreal.GroomLibrary.create_new_groom_binding_asset_with_path(
            binding_path, asset, mesh, num_interpolation_points=100)
        if binding is None:
            raise RuntimeError(f"cannot bind groom {groom.name} to {mesh.get_path_name()}")
        groom_assets[groom.name], bindings[groom.name] = asset, binding
    return groom_assets, bindings
