"""The fake editor's skin cache and groom deformation (issue 20.6): whether a placed groom follows the
morph targets of the mesh it is bound to.

The engine (see ue_scripts/grooms.py for the sources): hair strands read the deformed skin surface
from the GPU skin cache, the only place a mesh is deformed with its morph targets; without it the
hair system skins the roots by bones only. So a groom follows the morphs only if

* ``r.SkinCache.CompileShaders`` was on when the editor started (read-only console variable; the
  fake's stock value, overridden by ``[/Script/Engine.RendererSettings]`` in the project's
  Config/DefaultEngine.ini: a change needs a restart, i.e. a new FakeEditor on the same project
  folder), ``r.SkinCache.Mode`` is not 0 and ``r.SkinCache.Allow`` is on;
* the mesh's LOD uses the skin cache (``skin_cache_usage`` Enabled, or Auto with
  ``r.SkinCache.DefaultBehavior`` 1);
* every LOD of the groom binds by Skinning (the engine's default for an imported groom) and the
  GroomComponent has a binding asset made for the mesh of the component it is attached to.
"""
from __future__ import annotations

import re
from pathlib import Path

from fake_unreal import FakeEditor

RENDERER = "/Script/Engine.RendererSettings"


def ini_settings(path: Path, section: str) -> dict[str, str]:
    """Plain ``key=value`` lines of one section (last one wins), as the engine reads a scalar."""
    out, current = {}, None
    if not path.is_file():
        return out
    raw = path.read_bytes()
    text = raw[2:].decode("utf-16-le") if raw.startswith(b"\xff\xfe") else raw.decode("utf-8-sig")
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"^\[(.*)\]$", s)
        if m:
            current = m.group(1).strip()
        elif current == section and s and s[0] not in ";#+-.!" and "=" in s:
            key, value = s.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _as_int(value: str) -> int:
    v = value.strip().lower()
    return 1 if v == "true" else 0 if v == "false" else int(float(v))


def install_grooms(editor: FakeEditor) -> None:
    U = editor.module
    project = editor.project_dir
    (project / "Config").mkdir(parents=True, exist_ok=True)
    if not any(project.glob("*.uproject")):
        (project / "Game.uproject").write_text('{"FileVersion": 3, "EngineAssociation": "5.6"}\n')
    editor.engine_ini = project / "Config" / "DefaultEngine.ini"
    # the console variables as the editor starts: the fake's stock values, then the project's ini
    # (editor.console_variables and the SystemLibrary getters are fake_unreal's / fake_editor_behaviour's)
    for key, value in ini_settings(editor.engine_ini, RENDERER).items():
        if key.startswith("r.SkinCache."):
            editor.console_variables[key] = _as_int(value)
    cvars = editor.console_variables

    def has(class_name: str) -> bool:
        return class_name in editor.api.classes

    def new_groom_lods(groom) -> None:
        """An imported groom: one group, one LOD, bound by Skinning (FHairLODSettings' default)."""
        if "hair_groups_lod" in groom._props or not has("HairGroupsLOD"):
            return
        lod = editor.new("HairLODSettings", binding_type=U.GroomBindingType.SKINNING)
        groom._props["hair_groups_lod"] = [editor.new("HairGroupsLOD", lo_ds=[lod])]

    def new_mesh_lods(mesh) -> None:
        """An imported skeletal mesh: one LOD whose skin cache usage is Auto (the engine's default)."""
        if "lod_info" not in mesh._props:
            mesh._props["lod_info"] = [editor.new("SkeletalMeshLODInfo", skin_cache_usage=U.SkinCacheUsage.AUTO)]

    def after_import() -> None:
        for asset in list(editor.assets.values()):
            if asset._spec_name == "GroomAsset":
                new_groom_lods(asset)
            elif asset._spec_name == "SkeletalMesh":
                new_mesh_lods(asset)

    for key in (("AssetTools", "import_asset_tasks"), ("InterchangeManager", "import_asset")):
        original = editor.handlers.get(key)
        if original is None:
            continue

        def wrapped(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            after_import()
            return result
        editor.handlers[key] = wrapped

    def groom_follows_morphs(groom_actor) -> tuple[bool, list[str]]:
        """Whether this placed groom moves with its mesh's morph targets, and if not why."""
        why = []
        if not cvars.get("r.SkinCache.CompileShaders"):
            why.append("r.SkinCache.CompileShaders was off when the editor started")
        if not cvars.get("r.SkinCache.Allow", 1):
            why.append("r.SkinCache.Allow is off")
        if cvars.get("r.SkinCache.Mode", 1) == 0:
            why.append("r.SkinCache.Mode is 0")
        component = groom_actor.groom_component
        groom, binding = component._props.get("groom_asset"), component._props.get("binding_asset")
        parent = groom_actor._data.get("parent")
        mesh = parent.skeletal_mesh_component._props.get("skeletal_mesh_asset") if parent is not None else None
        if mesh is None:
            why.append("not attached to a skeletal mesh actor")
        elif binding is None or binding._data.get("mesh") is not mesh or binding._data.get("groom") is not groom:
            why.append("no binding asset made for this groom and this mesh")
        else:
            for i, lod in enumerate(mesh._props.get("lod_info", [])):
                usage = lod._props.get("skin_cache_usage")
                if usage == U.SkinCacheUsage.DISABLED or (
                        usage != U.SkinCacheUsage.ENABLED and cvars.get("r.SkinCache.DefaultBehavior", 1) == 0):
                    why.append(f"mesh LOD {i} is not skinned through the skin cache")
            if not mesh._data.get("morphs"):
                why.append("the mesh has no morph targets")
        for group in (groom._props.get("hair_groups_lod", []) if groom is not None else []):
            for i, lod in enumerate(group._props.get("lo_ds", [])):
                if lod._props.get("binding_type") != U.GroomBindingType.SKINNING:
                    why.append(f"groom LOD {i} binds rigidly")
        return not why, why

    editor.groom_follows_morphs = groom_follows_morphs
