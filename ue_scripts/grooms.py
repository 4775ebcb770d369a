"""Strand grooms: Alembic import with the manifest's conversion settings, bindings to the mesh, and
what it takes for them to follow the face's morph targets.

A groom bound to a skeletal mesh follows the *skinned surface* it is rooted on. The hair strands
read that surface from the GPU skin cache, the only place where the mesh is deformed with its
morph targets; without it the groom falls back to the hair system's own bone skinning ("manual
skin cache"), which knows bones only, so brows, lashes and beard stay put while the character
blinks or opens its jaw (HairStrandsInterpolation.cpp ``GetCacheGeometryForHair``: "1. Get cached
geometry from GPU SkinCache, if enabled ... 2. If no cached geometry is extracted from the skel.
mesh proxy, compute it using the manual hair skin cache"; izzy2lost/UnrealEngineUWP = 5.4,
unicorn2022/UE5.8.0 = 5.8). So, in UE 5.4-5.7:

1. the project setting "Support Compute Skin Cache" (``r.SkinCache.CompileShaders``, read-only,
   ``[/Script/Engine.RendererSettings]`` in Config/DefaultEngine.ini, editor restart) must be on,
   ``r.SkinCache.Mode`` not 0 (default 1) and ``r.SkinCache.Allow`` true (default);
2. the mesh must use the skin cache: every LOD's ``skin_cache_usage`` is set to ENABLED here, as a
   project with ``r.SkinCache.DefaultBehavior=0`` (MetaHuman projects set that) leaves AUTO meshes out;
3. every groom LOD must bind by ``GroomBindingType.SKINNING`` (follow the skin surface), not RIGID
   (follow the attachment socket), set here explicitly;
4. the GroomComponent needs the GroomBindingAsset made for this mesh (``actors.py`` sets it).

Python cannot switch (1) on in the running editor: :func:`notify_skin_cache` says so once per
session, logs it, and (asked) offers to write the setting with :mod:`ue_scripts.project_settings`
and tells the user to restart.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import unreal

from ue_scripts import assets, project_settings
from ue_scripts.package import CharacterPackage, GroomFile

#: the console variables the skin cache depends on (GPUSkinCache.cpp)
CVAR_COMPILE_SHADERS = "r.SkinCache.CompileShaders"
CVAR_MODE = "r.SkinCache.Mode"
CVAR_ALLOW = "r.SkinCache.Allow"
CVAR_DEFAULT_BEHAVIOR = "r.SkinCache.DefaultBehavior"
SETTING_NAME = "Support Compute Skin Cache"
SETTING_PATH = "Project Settings > Engine > Rendering > Optimizations > Support Compute Skin Cache"

_logged = False  # the skin-cache warning is logged once per editor session
_asked = False  # and the dialog offered once


@dataclass(frozen=True)
class SkinCacheState:
    """The skin cache as the running editor has it."""
    compile_shaders: bool  # r.SkinCache.CompileShaders, as the editor started
    mode: int  # r.SkinCache.Mode
    allowed: bool  # r.SkinCache.Allow
    default_behavior: int  # r.SkinCache.DefaultBehavior: 1 inclusive (meshes opt out), 0 exclusive (opt in)
    in_ini: bool = False  # Config/DefaultEngine.ini turns it on (it applies after a restart)

    @property
    def on(self) -> bool:
        return self.compile_shaders and self.allowed and self.mode != 0

    @property
    def restart_pending(self) -> bool:
        return not self.compile_shaders and self.in_ini

    def problems(self) -> list[str]:
        """Why a groom cannot follow morph targets in this editor (empty: it can)."""
        out = []
        if not self.compile_shaders:
            out.append(f"the project setting '{SETTING_NAME}' ({CVAR_COMPILE_SHADERS}) is off"
                       + (" in this session: it is on in Config/DefaultEngine.ini, restart the editor"
                          if self.restart_pending else ""))
        if not self.allowed:
            out.append(f"{CVAR_ALLOW} is 0 (the skin cache is disallowed on this platform or by the project)")
        if self.mode == 0:
            out.append(f"{CVAR_MODE} is 0 (set it to 1, e.g. in the console or Config/DefaultEngine.ini)")
        return out


def skin_cache_state() -> SkinCacheState:
    lib = unreal.SystemLibrary
    try:
        in_ini = project_settings.skin_cache_in_ini()
    except (OSError, project_settings.SettingsError):
        in_ini = False
    return SkinCacheState(compile_shaders=lib.get_console_variable_bool_value(CVAR_COMPILE_SHADERS),
                          mode=lib.get_console_variable_int_value(CVAR_MODE),
                          allowed=lib.get_console_variable_bool_value(CVAR_ALLOW),
                          default_behavior=lib.get_console_variable_int_value(CVAR_DEFAULT_BEHAVIOR),
                          in_ini=in_ini)


def skin_cache_message(state: SkinCacheState) -> str:
    return ("MachCreator: the grooms (hair, brows, lashes, beard) will not follow the face's morph targets "
            "(blinks, jaw open...) in this project: " + "; ".join(state.problems()) + ". They follow the "
            "skinned surface only through the GPU skin cache: turn on " + SETTING_PATH + " and restart the editor.")


def notify_skin_cache(*, ask: bool = True, state: SkinCacheState | None = None) -> str:
    """Say once per editor session that grooms cannot follow morphs here, if so: a log warning and,
    with ``ask``, a dialog offering to turn the setting on (then: "restart the editor").

    Returns what happened: ``"ok"`` (nothing to say), ``"notified"`` (logged, now or before; or
    already asked), ``"declined"``, ``"enabled"`` (written to DefaultEngine.ini, restart needed) or
    ``"failed"``. The import logs (``ask=False``); call it with ``ask`` after an import, not from
    inside an import step: the dialog is modal."""
    global _logged, _asked
    state = state or skin_cache_state()
    if not state.problems():
        return "ok"
    message = skin_cache_message(state)
    if not _logged:
        _logged = True
        unreal.log_warning(message)
    if not ask or _asked or state.restart_pending or state.compile_shaders:
        return "notified"  # only a restart, or a console variable, is missing: nothing to write
    _asked = True
    answer = unreal.EditorDialog.show_message(
        "MachCreator: grooms and morph targets",
        message + "\n\nTurn on 'Support Compute Skin Cache' in this project's Config/DefaultEngine.ini now?",
        unreal.AppMsgType.YES_NO, unreal.AppReturnType.NO)
    if answer != unreal.AppReturnType.YES:
        return "declined"
    try:
        project_settings.enable_skin_cache()
    except (OSError, project_settings.SettingsError) as exc:
        unreal.log_error(f"MachCreator: could not write the setting: {exc}")
        unreal.EditorDialog.show_message("MachCreator", f"Could not change the project setting: {exc}\n\nTurn on "
                                         f"{SETTING_PATH} yourself and restart the editor.",
                                         unreal.AppMsgType.OK, unreal.AppReturnType.OK)
        return "failed"
    unreal.log_warning(f"MachCreator: '{SETTING_NAME}' is now on in Config/DefaultEngine.ini; restart the editor "
                       "for the grooms to follow the morph targets")
    unreal.EditorDialog.show_message("MachCreator", f"'{SETTING_NAME}' is on in Config/DefaultEngine.ini.\n\n"
                                     "Restart the editor: the skin cache shaders are compiled at start.",
                                     unreal.AppMsgType.OK, unreal.AppReturnType.OK)
    return "enabled"


def use_skin_cache(mesh) -> None:
    """Every LOD of ``mesh`` uses the skin cache (not left to the project's default behaviour).

    Array and struct properties come back from ``get_editor_property`` as copies: they are edited
    and set back whole."""
    lods = list(mesh.get_editor_property("lod_info"))
    if all(lod.get_editor_property("skin_cache_usage") == unreal.SkinCacheUsage.ENABLED for lod in lods):
        return
    for lod in lods:
        lod.set_editor_property("skin_cache_usage", unreal.SkinCacheUsage.ENABLED)
    mesh.set_editor_property("lod_info", lods)


def bind_by_skinning(groom) -> None:
    """Every LOD of every group of ``groom`` follows the skin surface (GroomBindingType.SKINNING)."""
    groups = list(groom.get_editor_property("hair_groups_lod"))
    changed = False
    for group in groups:
        lods = list(group.get_editor_property("lo_ds"))
        for lod in lods:
            if lod.get_editor_property("binding_type") != unreal.GroomBindingType.SKINNING:
                lod.set_editor_property("binding_type", unreal.GroomBindingType.SKINNING)
                changed = True
        group.set_editor_property("lo_ds", lods)
    if changed:
        groom.set_editor_property("hair_groups_lod", groups)


@dataclass
class MorphFollowing:
    """Whether the grooms bound to a mesh follow its morph targets, and if not why."""
    skin_cache: SkinCacheState
    problems: list[str] = field(default_factory=list)

    @property
    def follows(self) -> bool:
        return not self.problems


def morph_following(mesh, groom_assets: dict[str, object] | None = None,
                    state: SkinCacheState | None = None) -> MorphFollowing:
    """Check everything a groom needs to follow ``mesh``'s morph targets (see the module docstring)."""
    state = state or skin_cache_state()
    out = MorphFollowing(state, list(state.problems()))
    lods = mesh.get_editor_property("lod_info")
    for i, lod in enumerate(lods):
        usage = lod.get_editor_property("skin_cache_usage")
        if usage == unreal.SkinCacheUsage.DISABLED or (usage != unreal.SkinCacheUsage.ENABLED
                                                        and state.default_behavior == 0):
            why = ("Disabled" if usage == unreal.SkinCacheUsage.DISABLED
                   else "Auto, and the project excludes meshes by default")
            out.problems.append(f"{mesh.get_name()} LOD {i} does not use the skin cache (skin_cache_usage {why})")
    for name, groom in (groom_assets or {}).items():
        for group in groom.get_editor_property("hair_groups_lod"):
            for i, lod in enumerate(group.get_editor_property("lo_ds")):
                if lod.get_editor_property("binding_type") != unreal.GroomBindingType.SKINNING:
                    out.problems.append(f"groom {name} LOD {i} binds rigidly (binding type is not Skinning)")
    return out


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
    The mesh is set to use the skin cache and every groom to bind by skinning, so they follow the
    morph targets wherever the project has the skin cache (a warning, once, where it has not).
    """
    use_skin_cache(mesh)
    notify_skin_cache(ask=False)
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
        bind_by_skinning(asset)
        binding_path = f"{folder}/GB_{groom.name}"
        if unreal.EditorAssetLibrary.does_asset_exist(binding_path):
            unreal.EditorAssetLibrary.delete_asset(binding_path)
        binding = unreal.GroomLibrary.create_new_groom_binding_asset_with_path(
            binding_path, asset, mesh, num_interpolation_points=100)
        if binding is None:
            raise RuntimeError(f"cannot bind groom {groom.name} to {mesh.get_path_name()}")
        groom_assets[groom.name], bindings[groom.name] = asset, binding
    return groom_assets, bindings
