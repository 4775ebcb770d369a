"""What the fake editor does when a script calls it: the part of the engine our scripts consume.

Each behaviour is registered for a real ``Class.method`` (``FakeEditor.handle`` refuses names the
API lacks). Imports read the real files: the glb through pygltflib, PNG sizes through Pillow, the
Alembic header; a missing or wrong file fails as the editor would (nothing imported, a log line).
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pygltflib
from PIL import Image

from fake_materials import install_materials
from fake_grooms import install_grooms
from fake_livelink import install_livelink
from fake_metahuman import install_metahuman
from fake_unreal import (ENGINE_SECONDS, Dialog, EnumValue, FakeEditor, FakeObject, ImportRecord, PropertyDef,
                         SlowTask, ValueDef)

#: uproperty meta keys Unreal's details panel understands (a typo here is silently ignored in the
#: editor, so the fake refuses it)
UPROPERTY_META = {"Category", "DisplayName", "ToolTip", "ClampMin", "ClampMax", "UIMin", "UIMax", "MultiLine",
                  "EditCondition", "EditConditionHides", "InlineEditConditionToggle", "DisplayPriority",
                  "FilePathFilter"}

#: engine content the scripts start from: (path, class, props)
ENGINE_ASSETS = ("/Interchange/Pipelines/DefaultGLTFAssetsPipeline", "/Interchange/Pipelines/DefaultAssetsPipeline")

FACTORY_MAKES = {"MaterialFactoryNew": "Material", "MaterialInstanceConstantFactoryNew": "MaterialInstanceConstant",
                 "MetaHumanCharacterFactoryNew": "MetaHumanCharacter"}


def _package(path: str) -> str:
    return str(path).split(".", 1)[0].rstrip("/")


def _is(obj, class_name: str, editor: FakeEditor) -> bool:
    return isinstance(obj, FakeObject) and any(s.name == class_name for s in editor.api.mro(obj._spec_name))


def clone(editor: FakeEditor, obj: FakeObject, path: str | None) -> FakeObject:
    """A deep copy of an asset (sub-objects and structs copied too), as duplicate_asset makes."""
    out = editor.new(obj._spec_name, path)
    for key, value in obj._props.items():
        out._props[key] = clone(editor, value, None) if isinstance(value, FakeObject) else copy.copy(value)
    out._data.update(copy.deepcopy({k: v for k, v in obj._data.items() if not isinstance(v, FakeObject)}))
    return out


def install(editor: FakeEditor) -> None:  # noqa: C901 - one registry of behaviours
    h = editor.handle
    U = editor.module

    # --- engine content ----------------------------------------------------------------
    for path in ENGINE_ASSETS:
        pipeline = editor.new("InterchangeGenericAssetsPipeline", path)
        # the engine defaults the scripts must override
        pipeline.common_meshes_properties._props["force_all_mesh_as_type"] = U.InterchangeForceMeshType.IFMT_NONE
        pipeline.mesh_pipeline._props.update(import_skeletal_meshes=True, import_static_meshes=True,
                                             import_morph_targets=False)
        pipeline.material_pipeline._props["import_materials"] = True
        pipeline.material_pipeline.texture_pipeline._props["import_textures"] = True
        pipeline.animation_pipeline._props["import_animations"] = True
        # bAddCurveMetadataToSkeleton = true (InterchangeGenericAnimationPipeline.h up to 5.5,
        # InterchangeGenericAssetsPipelineSharedSettings.h from 5.6, where it moved)
        for holder in (pipeline.animation_pipeline, pipeline.common_skeletal_meshes_and_animations_properties):
            if editor.api.editor_prop(holder._spec_name, "add_curve_metadata_to_skeleton") is not None:
                holder._props["add_curve_metadata_to_skeleton"] = True
    editor.menus["LevelEditor.MainMenu"] = editor.new("ToolMenu")
    editor.menus["LevelEditor.MainMenu"]._data["name"] = "LevelEditor.MainMenu"

    # --- Python type generation (uclass / uenum / uproperty) ------------------------------
    @h("unreal", "uproperty")
    def _uproperty(_, type, meta=None, getter=None, setter=None):
        unknown = set(meta or {}) - UPROPERTY_META
        if unknown:
            raise ValueError(f"uproperty meta {sorted(unknown)} is not a details-panel specifier")
        return PropertyDef(type, meta, getter, setter)

    @h("unreal", "uvalue")
    def _uvalue(_, val, meta=None):
        return ValueDef(val, meta)

    @h("unreal", "uclass")
    def _uclass(_):
        def generate(cls):
            props = dict(getattr(cls, "_uprops", {}))
            for name, value in list(vars(cls).items()):
                if isinstance(value, PropertyDef):
                    props[name] = (value, _uprop_default(editor, value.type))
                    delattr(cls, name)
            cls._uprops = props
            cls._python_class = True
            return cls
        return generate

    @h("unreal", "uenum")
    def _uenum(_):
        def generate(cls):
            for name, value in list(vars(cls).items()):
                if isinstance(value, ValueDef):
                    setattr(cls, name, EnumValue(cls.__name__, name, value.value))
            return cls
        return generate

    @h("unreal", "get_editor_subsystem")
    def _editor_subsystem(_, subsystem):
        return editor.subsystem(subsystem._spec_name)

    for fn in ("log", "log_warning", "log_error"):
        h("unreal", fn)(lambda _, arg, level=fn: editor.logs.append((level, str(arg))))

    @h("unreal", "register_slate_post_tick_callback")
    def _register_tick(_, callable):
        handle = next(editor._handles)
        editor.tick_callbacks[handle] = callable
        return handle

    @h("unreal", "unregister_slate_post_tick_callback")
    def _unregister_tick(_, handle):
        if handle not in editor.tick_callbacks:
            raise ValueError(f"no post-tick callback with handle {handle!r}")
        del editor.tick_callbacks[handle]  # a tick running now does not call it again

    # --- engine facts --------------------------------------------------------------------
    h("SystemLibrary", "get_engine_version")(lambda cls: editor.engine_version)

    # console variables: UKismetSystemLibrary::GetConsoleVariable*Value warns and returns 0 for an unknown name
    def cvar(kind):
        def read(cls, variable_name):
            name = str(variable_name)
            if name not in editor.console_variables:
                editor.logs.append(("log_warning", f"Failed to find console variable '{name}'."))
                return kind()
            return kind(editor.console_variables[name])
        return read

    for kind, suffix in ((bool, "bool"), (int, "int"), (float, "float"), (str, "string")):
        h("SystemLibrary", f"get_console_variable_{suffix}_value")(cvar(kind))

    @h("SystemLibrary", "print_string")
    def _print(cls, world_context_object, string="Hello", print_to_screen=True, print_to_log=True,
               text_color=None, duration=2.0, key="None"):
        """UKismetSystemLibrary::PrintString: a line on the viewport (one per key: a line with the same
        key replaces it; key None adds a line) and/or the log."""
        if print_to_screen:
            line = str(key) if str(key) != "None" else f"#{len(editor.screen_messages)}"
            editor.screen_messages[line] = str(string)
        if print_to_log:
            editor.logs.append(("log", f"LogBlueprintUserMessages: {string}"))
    h("PluginBlueprintLibrary", "get_enabled_plugin_names")(lambda cls: sorted(editor.plugins))
    h("PluginBlueprintLibrary", "is_plugin_mounted")(lambda cls, plugin_name: plugin_name in editor.plugins)
    h("Paths", "project_saved_dir")(lambda cls: str(editor.project_dir / "Saved") + "/")
    h("Paths", "project_dir")(lambda cls: str(editor.project_dir) + "/")

    @h("Paths", "convert_relative_path_to_full")
    def _full_path(cls, path, base_path=""):
        full = Path(base_path or editor.project_dir) / str(path) if not Path(str(path)).is_absolute() else Path(str(path))
        return full.resolve().as_posix() + ("/" if str(path).endswith("/") else "")

    # --- slow tasks and transactions (Slate ticks: see fake_unreal's docstring) ---------------
    @h("ScopedSlowTask", "__enter__")
    def _task_enter(task):
        init = task._data["init"]
        task._data["state"] = editor.begin_slow_task(SlowTask(float(init["work"]), str(init.get("desc", ""))))
        return task

    @h("ScopedSlowTask", "__exit__")
    def _task_exit(task, type, value, traceback):
        editor.end_slow_task(_state(task))
        return False

    @h("ScopedSlowTask", "make_dialog")
    def _task_dialog(task, can_cancel=False, allow_in_pie=False):
        editor.slow_task_dialog(_state(task), bool(can_cancel))

    @h("ScopedSlowTask", "enter_progress_frame")
    def _task_frame(task, work=1.0, desc=""):
        editor.slow_task_frame(_state(task), float(work), str(desc))

    @h("ScopedSlowTask", "should_cancel")
    def _should_cancel(task):
        # FSlowTask::ShouldCancel: the user's Cancel on the open progress window, if it has the button
        window = next((w for w in editor.modal_windows if w.kind == "slow_task"), None)
        return bool(editor.cancel_slow_tasks and window is not None and window.task.can_cancel)

    def _state(task) -> SlowTask:
        if "state" not in task._data:
            raise RuntimeError("a ScopedSlowTask used before __enter__ (use it in a with block)")
        return task._data["state"]

    @h("ScopedEditorTransaction", "__enter__")
    def _tx_enter(tx):
        if editor.open_transaction is not None:
            raise RuntimeError("nested editor transaction")
        # what happened inside it: actors spawned, imports and saves (which an undo step should not hold)
        editor.open_transaction = {"description": str(tx._data["init"]["desc"]), "actors": [], "cancelled": False,
                                   "imports": [], "saves": []}
        return tx

    @h("ScopedEditorTransaction", "__exit__")
    def _tx_exit(tx, type, value, traceback):
        editor.transactions.append(editor.open_transaction)
        editor.open_transaction = None
        return False

    @h("ScopedEditorTransaction", "cancel")
    def _tx_cancel(tx):
        editor.open_transaction["cancelled"] = True

    # --- the asset registry ----------------------------------------------------------------
    def exists(path: str) -> bool:
        return _package(path) in editor.assets

    def folder_exists(path: str) -> bool:
        folder = path.rstrip("/")
        return folder in editor.directories or any(p.startswith(folder + "/") for p in editor.assets)

    for owner in ("EditorAssetLibrary", "EditorAssetSubsystem"):
        h(owner, "does_asset_exist")(lambda _, asset_path: exists(asset_path))
        h(owner, "does_directory_exist")(lambda _, directory_path: folder_exists(directory_path))

        @h(owner, "load_asset")
        def _load(_, asset_path):
            return editor.assets.get(_package(asset_path))

        @h(owner, "delete_directory")
        def _delete_dir(_, directory_path):
            folder = directory_path.rstrip("/")
            for p in list(editor.assets_under(folder)):
                del editor.assets[p]
            editor.directories = {d for d in editor.directories if not (d == folder or d.startswith(folder + "/"))}
            return True

    @h("EditorAssetLibrary", "make_directory")
    def _mkdir(cls, directory_path):
        editor.directories.add(directory_path.rstrip("/"))
        return True

    @h("EditorAssetLibrary", "list_assets")
    def _list(cls, directory_path, recursive=True, include_folder=False):
        folder = directory_path.rstrip("/")
        out = []
        for p in sorted(editor.assets_under(folder)):
            if recursive or p.rsplit("/", 1)[0] == folder:
                out.append(f"{p}.{p.rsplit('/', 1)[1]}")
        return out

    @h("EditorAssetLibrary", "delete_asset")
    def _delete(cls, asset_path_to_delete):
        return editor.assets.pop(_package(asset_path_to_delete), None) is not None

    def note(kind: str, what) -> None:
        if editor.open_transaction is not None:
            editor.open_transaction[kind].append(what)

    @h("EditorAssetLibrary", "save_loaded_asset")
    def _save(cls, asset_to_save, only_if_is_dirty=True):
        note("saves", asset_to_save._asset_path)
        editor.saved.add(asset_to_save._asset_path)
        editor.dirty.discard(asset_to_save._asset_path)
        return True

    @h("EditorAssetLibrary", "save_directory")
    def _save_dir(cls, directory_path, only_if_is_dirty=True, recursive=True):
        note("saves", directory_path)
        saved = set(editor.assets_under(directory_path))
        editor.saved.update(saved)
        editor.dirty -= saved
        return True

    @h("unreal", "load_object")
    def _load_object(_, outer, name, type=None, follow_redirectors=True):
        return editor.assets.get(_package(str(name)))

    h("EditorAssetLibrary", "get_metadata_tag")(lambda cls, object, tag: object._data.get("metadata", {}).get(str(tag), ""))

    @h("EditorAssetLibrary", "set_metadata_tag")
    def _set_tag(cls, object, tag, value):
        object._data.setdefault("metadata", {})[str(tag)] = str(value)

    @h("EditorAssetSubsystem", "duplicate_asset")
    def _duplicate(subsystem, source_asset_path, destination_asset_path):
        source = editor.assets.get(_package(source_asset_path))
        if source is None or exists(destination_asset_path):
            return None
        return clone(editor, source, _package(destination_asset_path))

    h("AssetToolsHelpers", "get_asset_tools")(lambda cls: editor.subsystem("AssetTools"))

    @h("AssetTools", "create_asset")
    def _create(tools, asset_name, package_path, asset_class, factory, calling_context=""):
        path = f"{package_path.rstrip('/')}/{asset_name}"
        if exists(path) or FACTORY_MAKES.get(factory._spec_name) != asset_class._spec_name:
            return None
        return editor.new(asset_class._spec_name, path)

    # --- imports ---------------------------------------------------------------------------
    @h("AssetTools", "import_asset_tasks")
    def _import_tasks(tools, import_tasks):
        # UAssetToolsImpl::ImportAssetTasks: FScopedSlowTask(N, "Importing") + MakeDialog, one frame per file
        with editor.engine_slow_task(len(import_tasks), "Importing", "AssetTools.import_asset_tasks", dialog=True) as slow:
            for task in import_tasks:
                editor.slow_task_frame(slow, 1.0, f'Importing "{Path(str(task.filename)).stem}"...')
                editor.advance(ENGINE_SECONDS["import_file"])
                _import_one(task)

    def _import_one(task):
        """One AssetImportTask, as the factory its file needs imports it."""
        note("imports", str(task.filename))
        task._props["imported_object_paths"] = []
        filename = Path(task.filename)
        folder = task.destination_path.rstrip("/")
        if not filename.is_file():
            editor.logs.append(("log_error", f"import: {filename} does not exist"))
            return
        path = f"{folder}/{filename.stem}"
        if exists(path) and not task.replace_existing:
            return
        suffix = filename.suffix.lower()
        if suffix == ".png":
            with Image.open(filename) as im:
                size = im.size
            # the texture factory's defaults: an sRGB colour texture (the script sets its role's settings)
            asset = editor.new("Texture2D", path, srgb=True,
                               compression_settings=U.TextureCompressionSettings.TC_DEFAULT)
            asset._data.update(source=str(filename), size=size)
        elif suffix == ".abc":
            if not (_is(task.factory, "HairStrandsFactory", editor) and _is(task.options, "GroomImportOptions", editor)):
                raise RuntimeError("an .abc without HairStrandsFactory and GroomImportOptions imports as a "
                                   "geometry cache (or opens a dialog)")
            if "conversion_settings" not in task.options._props:
                raise RuntimeError("groom import without explicit conversion settings uses the user's last ones")
            if filename.read_bytes()[:5] != b"Ogawa":
                editor.logs.append(("log_error", f"import: {filename} is not an Alembic (Ogawa) file"))
                return
            settings = task.options.conversion_settings
            asset = editor.new("GroomAsset", path)
            asset._data.update(source=str(filename), rotation=_xyz(settings.rotation), scale=_xyz(settings.scale))
        else:
            editor.logs.append(("log_error", f"import: no factory for {filename.suffix}"))
            return
        editor.imports.append(_record("task", filename, folder, task.options))
        task._props["imported_object_paths"] = [f"{path}.{filename.stem}"]


    h("InterchangeManager", "get_interchange_manager_scripted")(lambda cls: editor.subsystem("InterchangeManager"))

    @h("InterchangeManager", "create_source_data")
    def _source(cls, file_name):
        data = editor.new("InterchangeSourceData")
        data._data["filename"] = file_name
        return data

    @h("InterchangeManager", "import_asset")
    def _interchange(manager, content_path, source_data, import_asset_parameters):
        # a synchronous Interchange import shows its progress through a slow task of its own; 5.4's
        # stub declares -> bool, 5.5 on the imported objects (FakeEditor._as_declared converts)
        with editor.engine_slow_task(1, "Importing", "InterchangeManager.import_asset", dialog=False) as slow:
            editor.advance(ENGINE_SECONDS["interchange_import"])
            editor.slow_task_frame(slow, 1.0, f"Importing {Path(str(source_data._data['filename'])).name}")
            return _interchange_import(content_path, source_data, import_asset_parameters)

    def _interchange_import(content_path, source_data, import_asset_parameters):
        note("imports", str(source_data._data["filename"]))
        params = import_asset_parameters
        if not params.is_automated:
            raise RuntimeError("a non-automated Interchange import opens a dialog")
        filename = Path(source_data._data["filename"])
        pipelines = [editor.assets.get(_package(p._props.get("path_string", "") if isinstance(p, FakeObject) else p))
                     for p in params.override_pipelines]
        if not pipelines or any(p is None for p in pipelines):
            raise RuntimeError(f"override pipelines {params.override_pipelines!r} do not exist")
        pipeline = pipelines[-1]
        if not filename.is_file() or filename.suffix.lower() not in (".glb", ".gltf"):
            editor.logs.append(("log_error", f"interchange: cannot read {filename}"))
            return None
        gltf = pygltflib.GLTF2().load(str(filename))
        folder = content_path.rstrip("/")
        name = gltf.meshes[0].name or filename.stem
        skeletal = (pipeline.common_meshes_properties.force_all_mesh_as_type == U.InterchangeForceMeshType.IFMT_SKELETAL_MESH
                    or bool(gltf.skins)) and pipeline.mesh_pipeline.import_skeletal_meshes
        if not skeletal:
            editor.logs.append(("log_error", "interchange: no skeletal mesh (skeletal meshes off)"))
            return []
        if exists(f"{folder}/{name}") and not params.replace_existing:
            return [editor.assets[f"{folder}/{name}"]]
        mesh = editor.new("SkeletalMesh", f"{folder}/{name}")
        morphs = [t for m in gltf.meshes for t in (m.extras or {}).get("targetNames", [])]
        mesh._data.update(source=str(filename), morphs=morphs if pipeline.mesh_pipeline.import_morph_targets else [],
                          vertices=sum(gltf.accessors[p.attributes.POSITION].count for m in gltf.meshes for p in m.primitives),
                          # 5.6 moved the setting from the animation pipeline to the common skeletal settings
                          curve_metadata=_first_setting((pipeline.common_skeletal_meshes_and_animations_properties,
                                                         pipeline.animation_pipeline), "add_curve_metadata_to_skeleton"))
        slots = []
        for material in gltf.materials:
            slot = editor.new("SkeletalMaterial", material_slot_name=material.name,
                              material_interface=editor.new("MaterialInstanceConstant", f"{folder}/{material.name}")
                              if pipeline.material_pipeline.import_materials else None)
            slots.append(slot)
        mesh._props["materials"] = slots
        made = [mesh, editor.new("Skeleton", f"{folder}/{name}_Skeleton"),
                editor.new("PhysicsAsset", f"{folder}/{name}_PhysicsAsset")]
        if pipeline.material_pipeline.texture_pipeline.import_textures:
            made += [editor.new("Texture2D", f"{folder}/{Path(im.uri).stem}") for im in gltf.images if im.uri]
        editor.imports.append(_record("interchange", filename, folder, None, pipeline))
        return made

    h("SkeletalMesh", "get_all_morph_target_names")(lambda mesh: list(mesh._data.get("morphs", [])))

    install_materials(editor)

    # --- grooms ----------------------------------------------------------------------------
    @h("GroomLibrary", "create_new_groom_binding_asset_with_path")
    def _binding(cls, desired_package_path, groom_asset, skeletal_mesh, num_interpolation_points=100,
                 source_skeletal_mesh_for_transfer=None, matching_section=0):
        if exists(desired_package_path) or groom_asset._asset_path not in editor.assets \
                or skeletal_mesh._asset_path not in editor.assets:
            return None
        binding = editor.new("GroomBindingAsset", _package(desired_package_path))
        binding._data.update(groom=groom_asset, mesh=skeletal_mesh, transfer_from=source_skeletal_mesh_for_transfer)
        return binding

    # --- actors ----------------------------------------------------------------------------
    def place(actor, location, rotation):
        actor._data.update(location=_xyz(location), rotation=_xyz(rotation) if rotation is not None else (0.0, 0.0, 0.0))
        editor.actors.append(actor)
        if editor.open_transaction is not None:
            editor.open_transaction["actors"].append(actor)
        return actor

    @h("EditorActorSubsystem", "spawn_actor_from_object")
    def _spawn_object(subsystem, object_to_use, location, rotation=None, transient=False):
        if not _is(object_to_use, "SkeletalMesh", editor):
            raise NotImplementedError("the fake spawns actors from skeletal meshes only")
        actor = editor.new("SkeletalMeshActor")
        actor.skeletal_mesh_component._props["skeletal_mesh_asset"] = object_to_use
        editor.mesh_drawn(object_to_use)  # a render proxy: its materials' usage flags are checked
        return place(actor, location, rotation)

    @h("EditorActorSubsystem", "spawn_actor_from_class")
    def _spawn_class(subsystem, actor_class, location, rotation=None, transient=False):
        return place(editor.new(actor_class._spec_name), location, rotation)

    h("EditorActorSubsystem", "get_all_level_actors")(lambda subsystem: list(editor.actors))
    h("EditorActorSubsystem", "get_selected_level_actors")(lambda subsystem: list(editor.selected))

    @h("EditorActorSubsystem", "set_selected_level_actors")
    def _select(subsystem, actors_to_select):
        editor.selected = list(actors_to_select)

    @h("EditorActorSubsystem", "destroy_actor")
    def _destroy(subsystem, actor_to_destroy):
        if actor_to_destroy not in editor.actors:
            return False
        editor.actors.remove(actor_to_destroy)
        return True

    @h("Actor", "set_actor_label")
    def _label(actor, new_actor_label, mark_dirty=True):
        actor._data["label"] = new_actor_label

    h("Actor", "get_actor_label")(lambda actor, create_if_none=True: actor._data.get("label", actor._spec_name))

    @h("Actor", "set_folder_path")
    def _folder(actor, new_folder_path):
        actor._data["folder"] = str(new_folder_path)

    @h("Actor", "attach_to_actor")
    def _attach(actor, parent_actor, socket_name, location_rule, rotation_rule, scale_rule, weld_simulated_bodies=False):
        actor._data["parent"] = parent_actor
        return True

    h("Actor", "get_attach_parent_actor")(lambda actor: actor._data.get("parent"))
    h("Actor", "actor_has_tag")(lambda actor, tag: str(tag) in [str(t) for t in actor.tags])
    h("Actor", "get_actor_location")(lambda actor: editor.new("Vector", **dict(zip("xyz", actor._data["location"]))))
    h("Actor", "get_actor_rotation")(lambda actor: editor.new("Rotator", **dict(zip(("roll", "pitch", "yaw"),
                                                                                     actor._data["rotation"]))))

    @h("Actor", "get_component_by_class")
    def _component(actor, component_class=None):
        return next((c for c in actor._data.get("components", []) if _is(c, component_class._spec_name, editor)), None)

    @h("SkeletalMeshComponent", "set_skeletal_mesh_asset")
    def _set_mesh(component, new_mesh):
        component._props["skeletal_mesh_asset"] = new_mesh
        if new_mesh is not None:
            editor.mesh_drawn(new_mesh)

    @h("GroomComponent", "set_groom_asset")
    def _set_groom(component, asset):
        component._props["groom_asset"] = asset

    @h("GroomComponent", "set_binding_asset")
    def _set_binding(component, binding):
        component._props["binding_asset"] = binding

    h("SplineComponent", "get_spline_length")(lambda spline: _polyline_length(spline._data["points"]))

    @h("SplineComponent", "get_location_at_distance_along_spline")
    def _spline_location(spline, distance, coordinate_space):
        x, y, z, _ = _along(spline._data["points"], distance)
        return editor.new("Vector", x=x, y=y, z=z)

    @h("SplineComponent", "get_rotation_at_distance_along_spline")
    def _spline_rotation(spline, distance, coordinate_space):
        return editor.new("Rotator", roll=0.0, pitch=0.0, yaw=_along(spline._data["points"], distance)[3])

    # --- dialogs and menus ----------------------------------------------------------------
    # modal: FMessageDialog / the details view run Slate's modal loop until the user answers
    @h("EditorDialog", "show_message")
    def _message(cls, title, message, message_type, default_value=None, message_category=None):
        dialog = Dialog(str(title), str(message), message_type)
        editor.dialogs.append(dialog)
        editor.run_modal("message", dialog.title)
        if editor.message_reply is not None:
            return editor.message_reply(dialog)
        return U.AppReturnType.YES if message_type.name.startswith("YES") else U.AppReturnType.OK

    @h("EditorDialog", "show_object_details_view")
    def _details(cls, title, out_object, options=None):
        editor.details_views.append((str(title), out_object))
        editor.run_modal("details", str(title))
        return bool(editor.on_details_view(out_object))

    h("ToolMenus", "get")(lambda cls: editor.subsystem("ToolMenus"))
    h("ToolMenus", "find_menu")(lambda menus, name: editor.menus.get(str(name)))
    h("ToolMenus", "refresh_all_widgets")(lambda menus: None)

    @h("ToolMenu", "add_sub_menu")
    def _sub_menu(menu, owner, section_name, name, label, tool_tip=""):
        sub = editor.new("ToolMenu")
        full = f"{menu._data['name']}.{name}"
        sub._data.update(name=full, label=str(label), owner=owner)
        editor.menus[full] = sub
        return sub

    @h("ToolMenu", "add_section")
    def _section(menu, section_name, label="", insert_name="", insert_type=None, alignment=None):
        menu._data.setdefault("sections", []).append(str(section_name))

    @h("ToolMenu", "add_menu_entry")
    def _entry(menu, section_name, args):
        editor.menu_entries.setdefault(menu._data["name"], []).append(args)

    @h("ToolMenuEntry", "set_label")
    def _entry_label(entry, label):
        entry._data["label"] = str(label)

    @h("ToolMenuEntry", "set_tool_tip")
    def _entry_tip(entry, tool_tip):
        entry._data["tool_tip"] = str(tool_tip)

    @h("ToolMenuEntry", "set_string_command")
    def _entry_command(entry, type, custom_type, string):
        entry._data["command"] = (type, str(string))

    install_metahuman(editor)
    install_grooms(editor)
    install_livelink(editor)


def _setting(obj: FakeObject, name: str):
    """A setting the engine reads, where this version has it (None where it does not)."""
    editor = type(obj)._editor
    return obj.get_editor_property(name) if editor.api.editor_prop(obj._spec_name, name) is not None else None


def _first_setting(objs, name: str):
    """The setting from the first of ``objs`` that has it in this version."""
    return next((v for v in (_setting(o, name) for o in objs) if v is not None), None)


def _uprop_default(editor: FakeEditor, type_):
    simple = {str: "", int: 0, float: 0.0, bool: False}
    if type_ in simple:
        return simple[type_]
    if isinstance(type_, type) and issubclass(type_, FakeObject):
        members = [v for v in vars(type_).values() if isinstance(v, EnumValue)]
        if members:
            return members[0]
        return type_() if editor.api.kind(type_._spec_name) == "struct" else None
    raise TypeError(f"uproperty type {type_!r} is not one the fake knows")


def _xyz(value) -> tuple[float, float, float]:
    if isinstance(value, FakeObject):
        names = ("x", "y", "z") if value._spec_name == "Vector" else ("roll", "pitch", "yaw")
        return tuple(float(value._props.get(n, 0.0)) for n in names)
    return tuple(float(v) for v in value)


def _record(kind, filename, folder, options=None, pipeline=None) -> ImportRecord:
    return ImportRecord(kind, str(filename), folder, options, pipeline)


def _polyline_length(points) -> float:
    return sum(sum((b[k] - a[k]) ** 2 for k in range(3)) ** 0.5 for a, b in zip(points, points[1:]))


def _along(points, distance: float):
    """(x, y, z, yaw deg) at ``distance`` cm along a polyline."""
    left = distance
    for a, b in zip(points, points[1:]):
        seg = sum((b[k] - a[k]) ** 2 for k in range(3)) ** 0.5
        yaw = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        if left <= seg or (a, b) == (points[-2], points[-1]):
            t = min(left / seg, 1.0) if seg else 0.0
            return (*(a[k] + t * (b[k] - a[k]) for k in range(3)), yaw)
        left -= seg
    raise ValueError("empty spline")
