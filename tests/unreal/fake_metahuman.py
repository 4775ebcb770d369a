"""The fake editor's MetaHuman Creator (plugin MetaHumanCharacter, UE 5.7 API), after Epic's source.

What it follows (``MetaHumanCharacterEditorSubsystem.cpp`` / ``MetaHumanCharacterEditorModule.cpp``
at strangezakary/Crane@d4966eb, the 5.7.3 engine):

* ``try_add_object_to_edit`` returns False when the character is already open for editing or its
  editing data cannot be made; every edit, request and build needs the character open;
* the face landmarks move with ``translate_face_landmarks`` and are kept by ``commit_face_state``;
* ``request_auto_rigging`` / ``request_texture_sources`` call Epic's cloud: non-blocking they run
  for ``cloud_frames`` editor frames (the engine ticks HTTP once per frame) and then either set the
  character's ``has_face_dna_blendshapes`` / ``has_high_resolution_textures`` or fail with only an
  Output Log line (nothing a script can read); blocking they end inside the call. A result that
  arrives after the character left editing is dropped;
* ``can_build_meta_human`` is False while a request runs and until the character is rigged and has
  its texture sources; ``build_meta_human`` then writes ``BP_<Name>`` with Face/Body meshes under
  ``<absolute_build_path>/<Name>`` (or logs why not and writes nothing);
* the Core Data is the plugin's ``Content/Optional`` folder with ``BodyTextures/*.uasset`` and a
  ``*.ar`` model (``IsOptionalMetaHumanContentInstalled``); ``get_plugin_content_dir`` reports it.

Failure toggles in ``editor.metahuman``: ``signed_in`` (False: every cloud request fails as
Unauthorized), ``core_data`` (False: no Optional content), ``refuse_edit`` (try_add_object_to_edit
returns False), ``cloud_error`` ("rig" or "textures": that request fails with a service error),
``cloud_frames`` (how long a request takes).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from fake_unreal import FakeEditor, FakeObject

PLUGIN = "MetaHumanCharacter"
S = "MetaHumanCharacterEditorSubsystem"
#: the archetype's face landmarks (cm, Unreal space, facing +Y): a curved 5 x 5 patch
DEFAULT_LANDMARKS = [(x, 8.0 - 0.08 * x * x - 0.04 * (z - 160.0) ** 2, z)
                     for x in (-5.0, -2.5, 0.0, 2.5, 5.0) for z in (152.0, 156.0, 160.0, 164.0, 168.0)]


def _xyz(value) -> tuple[float, float, float]:
    from fake_editor_behaviour import _xyz as xyz
    return xyz(value)


def _core_data(editor: FakeEditor, installed: bool) -> Path:
    """The plugin's content folder on disk, with or without the Core Data (Content/Optional)."""
    content = editor.project_dir.parent / "Engine" / "Plugins" / "MetaHuman" / PLUGIN / "Content"
    (content / "Face").mkdir(parents=True, exist_ok=True)
    if not installed:
        shutil.rmtree(content / "Optional", ignore_errors=True)
    else:
        (content / "Optional" / "BodyTextures").mkdir(parents=True, exist_ok=True)
        (content / "Optional" / "BodyTextures" / "T_BodyBaseColor.uasset").write_bytes(b"\0")
        (content / "Optional" / "TextureSynthesis").mkdir(parents=True, exist_ok=True)
        (content / "Optional" / "TextureSynthesis" / "model.ar").write_bytes(b"\0")
    return content


def install_metahuman(editor: FakeEditor) -> None:
    """A MetaHuman Character editor (UE 5.7 API) that records what a script asks of it."""
    h = editor.handle
    state: dict = {"editing": set(), "landmarks": list(DEFAULT_LANDMARKS), "signed_in": True, "core_data": True,
                   "refuse_edit": False, "cloud_error": None, "cloud_frames": 3, "requests": {}}
    editor.metahuman = state

    def log_error(text: str) -> None:
        editor.logs.append(("LogMetaHumanCharacterEditor: Error", text))

    def editing(character) -> None:
        if character._asset_path not in state["editing"]:
            # the engine indexes its editing data without a check: a crash, not a Python error
            raise RuntimeError(f"MetaHuman Creator: {character.get_name()} is not open for editing")

    # --- the plugin's content (Core Data) ---------------------------------------------------
    previous_content_dir = editor.handlers.get(("PluginBlueprintLibrary", "get_plugin_content_dir"))

    @h("PluginBlueprintLibrary", "get_plugin_content_dir")
    def _content_dir(cls, plugin_name):
        if plugin_name == PLUGIN and PLUGIN in editor.plugins:
            return str(_core_data(editor, state["core_data"]))
        return previous_content_dir(cls, plugin_name) if previous_content_dir else None

    if ("Paths", "convert_relative_path_to_full") not in editor.handlers:
        h("Paths", "convert_relative_path_to_full")(
            lambda cls, path, base_path="": str(Path(base_path or editor.project_dir, path).resolve()))

    # --- editing -----------------------------------------------------------------------------
    @h(S, "try_add_object_to_edit")
    def _add(subsystem, character):
        if character._asset_path in state["editing"]:
            log_error(f"TryAddObjectToEdit called for '{character.get_name()}' which is already added for editing")
            return False
        if state["refuse_edit"]:
            log_error(f"Failed to create editing state for {character.get_path_name()}")
            return False
        state["editing"].add(character._asset_path)
        return True

    h(S, "is_object_added_for_editing")(lambda subsystem, character: character._asset_path in state["editing"])

    @h(S, "remove_object_to_edit")
    def _remove(subsystem, character):
        state["editing"].discard(character._asset_path)

    @h(S, "get_face_landmarks")
    def _landmarks(subsystem, character):
        editing(character)
        moved = dict(character._data.get("landmark_deltas", []))
        return [editor.new("Vector", x=p[0] + moved.get(i, (0, 0, 0))[0], y=p[1] + moved.get(i, (0, 0, 0))[1],
                           z=p[2] + moved.get(i, (0, 0, 0))[2]) for i, p in enumerate(state["landmarks"])]

    @h(S, "translate_face_landmarks")
    def _translate(subsystem, character, landmark_indices, deltas):
        editing(character)
        if len(landmark_indices) != len(deltas):
            log_error("TranslateFaceLandmark called with inconsistent number of Indices and Deltas")
            return
        character._data["landmark_deltas"] = [(i, _xyz(d)) for i, d in zip(landmark_indices, deltas)]
        character._data["committed"] = False

    @h(S, "commit_face_state")
    def _commit(subsystem, character):
        editing(character)
        character._data["committed"] = True

    # --- Epic's cloud --------------------------------------------------------------------------
    def finish(path: str, kind: str) -> None:
        request = state["requests"][path].pop(kind)
        if not state["requests"][path]:
            del state["requests"][path]
        character = request["character"]
        failure = None
        if not state["signed_in"]:
            failure = ("Auto-Rigging of Face failed with code 'Unauthorized'" if kind == "rig"
                       else "User not logged in, please autorig before downloading source face textures")
        elif state["cloud_error"] == ("rig" if kind == "rig" else "textures"):
            failure = ("Auto-Rigging of Face failed with code 'ServerError'" if kind == "rig"
                       else "Download of source face textures failed with code 'ServerError'")
        if failure is not None:
            log_error(failure)
            return
        if path not in state["editing"]:
            return  # the asset editor was closed: the response is dropped
        if kind == "rig":
            character._data["rig"] = request["rig_type"]
            character._props["has_face_dna_blendshapes"] = request["rig_type"] == "JOINTS_AND_BLEND_SHAPES"
        else:
            character._props["has_high_resolution_textures"] = True

    def request(character, kind: str, params, **data) -> None:
        editing(character)
        pending = state["requests"].setdefault(character._asset_path, {})
        if kind in pending:
            log_error(f"Request{'AutoRigging' if kind == 'rig' else 'TextureSources'} called for character "
                      f"{character.get_name()} that already has an active request")
            return
        pending[kind] = dict(character=character, frames=state["cloud_frames"], **data)
        if params is not None and params.blocking:  # WaitForCloudRequests pumps HTTP until it ends
            finish(character._asset_path, kind)

    @h(S, "request_auto_rigging")
    def _rig(subsystem, character, params=None):
        rig_type = params.rig_type.name if params is not None else "JOINTS_ONLY"
        request(character, "rig", params, rig_type=rig_type)

    @h(S, "request_texture_sources")
    def _textures(subsystem, character, params=None):
        request(character, "textures", params)

    def pump() -> None:
        """One engine frame of Epic's cloud requests."""
        for path in list(state["requests"]):
            for kind in list(state["requests"].get(path, {})):
                entry = state["requests"][path][kind]
                entry["frames"] -= 1
                if entry["frames"] <= 0:
                    finish(path, kind)

    frame = editor.tick

    def tick(seconds: float = 0.05, times: int = 1) -> None:
        for _ in range(times):
            frame(seconds)
            pump()

    editor.tick = tick

    # --- assembly ----------------------------------------------------------------------------
    def why_not_buildable(character) -> str | None:
        if character._asset_path not in state["editing"]:
            return "Character data is not loaded."
        pending = state["requests"].get(character._asset_path, {})
        if "textures" in pending:
            return "Requesting HighRes texture in progress."
        if "rig" in pending:
            return "Face auto rig in progress."
        if not character._data.get("rig"):
            return "Character is not rigged."
        if not character._props.get("has_high_resolution_textures"):
            return "The Character is missing textures, use Download Texture Sources to create them before assembling"
        return None

    @h(S, "can_build_meta_human")
    def _can_build(subsystem, character, log_error=False):
        reason = why_not_buildable(character)
        if reason and log_error:
            editor.logs.append(("LogMetaHumanCharacterEditor: Error",
                                f"Failed to build MetaHuman Character '{character.get_name()}: {reason}"))
        return reason is None

    @h(S, "build_meta_human")
    def _build(subsystem, character, params):
        reason = why_not_buildable(character)
        if reason:
            log_error(f"MetaHuman Character '{character.get_name()}' not ready for assembly: {reason}")
            return
        name = params.name_override or character.get_name()
        root = f"{(params.absolute_build_path or '/Game/MetaHumans').rstrip('/')}/{name}"
        face = editor.new("SkeletalMesh", f"{root}/Face/SKM_{name}_FaceMesh")
        body = editor.new("SkeletalMesh", f"{root}/Body/SKM_{name}_BodyMesh")
        blueprint = editor.new("Blueprint", f"{root}/BP_{name}")
        blueprint._data.update(metahuman=character, face=face, body=body)
        character._data["built"] = params.pipeline_type.name
        character._data["build_root"] = root

    # --- placing the built Blueprint ------------------------------------------------------------
    spawn_other = editor.handlers[("EditorActorSubsystem", "spawn_actor_from_object")]

    @h("EditorActorSubsystem", "spawn_actor_from_object")
    def _spawn(subsystem, object_to_use, location, rotation=None, transient=False):
        if not (isinstance(object_to_use, FakeObject) and "metahuman" in object_to_use._data):
            return spawn_other(subsystem, object_to_use, location, rotation, transient)
        blueprint = object_to_use
        actor = spawn_other(subsystem, blueprint._data["body"], location, rotation, transient)
        components = []
        for label in ("Body", "Face"):
            component = editor.new("SkeletalMeshComponent")
            component._data["name"] = label
            component._props["skeletal_mesh_asset"] = blueprint._data[label.lower()]
            components.append(component)
        actor._data.update(blueprint=blueprint, components=components)
        return actor

    if ("Actor", "get_components_by_class") not in editor.handlers:
        @h("Actor", "get_components_by_class")
        def _components(actor, component_class=None):
            return [c for c in actor._data.get("components", [])
                    if component_class is None or any(s.name == component_class._spec_name
                                                      for s in editor.api.mro(c._spec_name))]

    if ("SkeletalMeshComponent", "get_skeletal_mesh_asset") not in editor.handlers:
        h("SkeletalMeshComponent", "get_skeletal_mesh_asset")(
            lambda component: component._props.get("skeletal_mesh_asset"))
