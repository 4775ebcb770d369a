"""The fake editor's materials: graphs built with MaterialEditingLibrary, their compilation, material
instances and what they render, usage flags, and the engine content scripts use as defaults.

Engine source: Engine/Source/Runtime/Engine/Private/Materials/MaterialExpressions.cpp (e.g.
https://github.com/unicorn2022/UE5.8.0/blob/5d9a05c15b1f8c6d7b3354b360677ce30d688149/Engine/Source/Runtime/Engine/Private/Materials/MaterialExpressions.cpp)
and Materials/Material.cpp:

* a ``MaterialExpressionTextureSampleParameter2D`` made by ``create_material_expression`` has no
  texture: the material editor's node factory calls ``SetDefaultTexture``, the scripting library
  does not (UE 4's constructor assigned ``/Engine/EngineResources/DefaultTexture``; scripted 5.x
  masters report the NULL texture, see ue_scripts/materials.py's sources);
* compiling it without a texture fails: the expression's caption is ``Param2D`` (GetCaption) and
  the engine's message ``Found NULL, requires Texture2D`` (the string is in the engine binary);
  the editor prints ``[SM6] (Node TextureSampleParameter2D) Param2D> Found NULL, requires Texture2D``;
* ``VerifySamplerType``: the sampler type must be the one ``GetSamplerTypeForTexture`` gives for
  the texture (8/16-bit data LOD groups -> Data; TC_Normalmap -> Normal, TC_Masks -> Masks,
  TC_Grayscale -> Grayscale / Linear Grayscale, TC_Alpha -> Alpha, otherwise sRGB ? Color : Linear
  Color; "Virtual " variants for virtual-texture streaming), else ``Sampler type is Normal, should
  be Color for /Engine/EngineMaterials/DefaultDiffuse.DefaultDiffuse``; Normal and Masks samplers
  also need sRGB off (``To use 'Normal' as sampler type, SRGB must be disabled for ...``);
* a material that fails to compile renders the default material (``DefaultMaterialName =
  /Engine/EngineMaterials/WorldGridMaterial`` in Engine/Config/BaseEngine.ini), and so does every
  instance of it (a failed compile leaves no shader map: ``get_statistics`` counts are 0);
* ``UMaterial::SetMaterialUsage``: a material drawn on a skeletal mesh, or a mesh with morph
  targets, without ``bUsedWithSkeletalMesh`` / ``bUsedWithMorphTargets`` is fixed up in the editor
  ("Material %s needed to have new flag set %s !", logged as Display in 5.x, Warning before; the
  package marked dirty) and in a cooked game renders the default material ("Material %s missing
  %s=True!").

Only expressions connected to a material output are compiled, as in the engine. Test helpers on
the editor: ``editor.rendered_material(obj, cooked=False)`` and ``editor.mesh_drawn(mesh)``.
"""
from __future__ import annotations

from fake_unreal import ENGINE_SECONDS, FakeEditor, FakeObject

#: the default material (BaseEngine.ini: DefaultMaterialName)
DEFAULT_MATERIAL = "/Engine/EngineMaterials/WorldGridMaterial"

#: engine textures a script may take as a parameter's default: path -> (sRGB, TextureCompressionSettings).
#: DefaultTexture: BaseEngine.ini DefaultTextureName, what SetDefaultTexture assigns to a node whose
#: sampler defaults to Color (so an sRGB colour texture); DefaultDiffuse: BaseEngine.ini
#: DefaultDiffuseTextureName (colour); DefaultNormal: the flat normal map Epic's normal-map
#: parameter used as its default (UE3's MaterialExpressionTextureSampleParameterNormal:
#: ``Texture=Texture2D'EngineMaterials.DefaultNormal'``), TC_Normalmap and sRGB off; FlatNormal and
#: DefaultDiffuse_TC_Masks: the candidates ue_scripts/materials.py names, with the settings their
#: names and use give (not read from the assets). There is no /Engine/EngineMaterials/DefaultWhite
#: in BaseEngine.ini; it is not modelled.
ENGINE_TEXTURES = {
    "/Engine/EngineResources/DefaultTexture": (True, "TC_DEFAULT"),
    "/Engine/EngineMaterials/DefaultDiffuse": (True, "TC_DEFAULT"),
    "/Engine/EngineMaterials/DefaultNormal": (False, "TC_NORMALMAP"),
    "/Engine/EngineMaterials/FlatNormal": (False, "TC_NORMALMAP"),
    "/Engine/EngineMaterials/DefaultDiffuse_TC_Masks": (False, "TC_MASKS"),
}

#: the usage flag a mesh feature needs (editor property, the engine's name in its log line)
USAGES = {"skeletal_mesh": ("used_with_skeletal_mesh", "bUsedWithSkeletalMesh"),
          "morph_targets": ("used_with_morph_targets", "bUsedWithMorphTargets")}
#: the shader platform named in compile errors (D3D SM6, the editor's default on Windows)
PLATFORM = "SM6"


def _is(obj, class_name: str, editor: FakeEditor) -> bool:
    return isinstance(obj, FakeObject) and any(s.name == class_name for s in editor.api.mro(obj._spec_name))


def engine_sampler_type(texture) -> str:
    """UMaterialExpressionTextureBase::GetSamplerTypeForTexture: the MaterialSamplerType (name) a
    texture must be sampled with."""
    group = texture.get_editor_property("lod_group").name
    if group in ("TEXTUREGROUP_8_BIT_DATA", "TEXTUREGROUP_16_BIT_DATA"):
        return "SAMPLERTYPE_DATA"
    virtual = "VIRTUAL_" if texture.get_editor_property("virtual_texture_streaming") else ""
    srgb = bool(texture.get_editor_property("srgb"))
    compression = texture.get_editor_property("compression_settings").name
    if compression == "TC_NORMALMAP":
        return f"SAMPLERTYPE_{virtual}NORMAL"
    if compression == "TC_GRAYSCALE":
        return f"SAMPLERTYPE_{virtual}{'' if srgb else 'LINEAR_'}GRAYSCALE"
    if compression == "TC_ALPHA":
        return f"SAMPLERTYPE_{virtual}ALPHA"
    if compression == "TC_MASKS":
        return f"SAMPLERTYPE_{virtual}MASKS"
    if compression == "TC_DISTANCE_FIELD_FONT":
        return "SAMPLERTYPE_DISTANCE_FIELD_FONT"
    return f"SAMPLERTYPE_{virtual}{'' if srgb else 'LINEAR_'}COLOR"


def sampler_display(sampler: str) -> str:
    """A MaterialSamplerType's display name (``SAMPLERTYPE_LINEAR_COLOR`` -> ``Linear Color``)."""
    return sampler.removeprefix("SAMPLERTYPE_").replace("_", " ").title()


def base_material(obj):
    """The Material an instance (chain) ends in, or None."""
    seen = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if obj._spec_name == "Material" or "parent" not in obj._props:
            return obj if obj._spec_name == "Material" else None
        obj = obj._props.get("parent")
    return None


def install_materials(editor: FakeEditor) -> None:
    h = editor.handle
    U = editor.module

    # --- engine content ------------------------------------------------------------------
    for path, (srgb, compression) in ENGINE_TEXTURES.items():
        editor.new("Texture2D", path, srgb=srgb,
                   compression_settings=getattr(U.TextureCompressionSettings, compression))._data["engine"] = True
    world_grid = editor.new("Material", DEFAULT_MATERIAL)
    world_grid._data.update(engine=True, compiled=True, errors=[])

    def graph(material):
        return material._data.setdefault("graph", {"expressions": [], "properties": {}, "links": []})

    @h("MaterialEditingLibrary", "create_material_expression")
    def _expression(cls, material, expression_class, node_pos_x=0, node_pos_y=0):
        node = editor.new(expression_class._spec_name)
        graph(material)["expressions"].append(node)
        node._data["material"] = material
        return node

    @h("MaterialEditingLibrary", "delete_all_material_expressions")
    def _clear(cls, material):
        material._data["graph"] = {"expressions": [], "properties": {}, "links": []}

    def owner_of(expression):
        material = expression._data.get("material")
        if material is None or expression not in graph(material)["expressions"]:
            raise RuntimeError(f"{expression!r} is in no material's graph")
        return material

    @h("MaterialEditingLibrary", "connect_material_property")
    def _connect_property(cls, from_expression, from_output_name, property_):
        graph(owner_of(from_expression))["properties"][property_.name] = (from_expression, from_output_name)
        return True

    @h("MaterialEditingLibrary", "connect_material_expressions")
    def _connect(cls, from_expression, from_output_name, to_expression, to_input_name):
        graph(owner_of(from_expression))["links"].append((from_expression, from_output_name, to_expression, to_input_name))
        return True

    h("MaterialEditingLibrary", "layout_material_expressions")(lambda cls, material: None)

    # --- compiling ----------------------------------------------------------------------
    def compiled_expressions(material) -> list:
        """The expressions reachable from the material's outputs (the ones the compiler visits)."""
        g = graph(material)
        todo = [expr for expr, _ in g["properties"].values()]
        seen: list = []
        while todo:
            expr = todo.pop()
            if any(expr is s for s in seen):
                continue
            seen.append(expr)
            todo += [src for src, _, dst, _ in g["links"] if dst is expr]
        return seen

    def compile_errors(material) -> list[str]:
        errors = []
        for expr in compiled_expressions(material):
            if not _is(expr, "MaterialExpressionTextureSampleParameter2D", editor):
                continue
            node = f"[{PLATFORM}] (Node {expr._spec_name.removeprefix('MaterialExpression')})"
            texture = expr._props.get("texture")
            if texture is None:
                errors.append(f"{node} Param2D> Found NULL, requires Texture2D")
                continue
            sampler = expr.get_editor_property("sampler_type").name
            want = engine_sampler_type(texture)
            where = texture.get_path_name()
            if sampler != want:
                errors.append(f"{node} Sampler type is {sampler_display(sampler)}, should be "
                              f"{sampler_display(want)} for {where}")
            elif sampler in ("SAMPLERTYPE_NORMAL", "SAMPLERTYPE_MASKS") and texture.get_editor_property("srgb"):
                errors.append(f"{node} To use '{sampler_display(sampler)}' as sampler type, SRGB must be disabled "
                              f"for {where}")
        return errors

    @h("MaterialEditingLibrary", "recompile_material")
    def _recompile(cls, material):
        editor.advance(ENGINE_SECONDS["recompile_material"])
        errors = compile_errors(material)
        material._data.update(compiled=not errors, compile_errors=errors)
        for error in errors:
            editor.logs.append(("log_error", f"LogMaterial: {material.get_path_name()}: {error}"))
        if errors:
            editor.logs.append(("log_warning", f"LogMaterial: Failed to compile Material {material.get_path_name()} "
                                               f"for platform PCD3D_{PLATFORM}, Default Material will be used in game."))

    @h("MaterialEditingLibrary", "get_statistics")
    def _statistics(cls, material):
        """A compiled material's shader counts; a failed (or never compiled) one has no shader map: 0."""
        stats = editor.new("MaterialStatistics")
        if material._data.get("compiled"):
            samples = sum(1 for e in compiled_expressions(material)
                          if _is(e, "MaterialExpressionTextureSampleParameter2D", editor))
            stats._props.update(num_pixel_shader_instructions=40 + 8 * len(compiled_expressions(material)),
                                num_pixel_texture_samples=samples, num_samplers=samples)
        return stats

    @h("MaterialEditingLibrary", "get_material_default_texture_parameter_value")
    def _default_texture_value(cls, material, parameter_name, association=None):
        return next((e._props.get("texture") for e in graph(material)["expressions"]
                     if _is(e, "MaterialExpressionTextureSampleParameter2D", editor)
                     and e._props.get("parameter_name") == str(parameter_name)), None)

    # --- instances ----------------------------------------------------------------------
    @h("MaterialEditingLibrary", "set_material_instance_parent")
    def _parent(cls, instance, new_parent):
        instance._props["parent"] = new_parent

    def parameter(instance, name: str, expression_class: str):
        parent = base_material(instance)
        expressions = graph(parent)["expressions"] if parent is not None else []
        return any(_is(e, expression_class, editor) and e._props.get("parameter_name") == str(name) for e in expressions)

    def setter(kind: str, expression_class: str):
        def set_value(cls, instance, parameter_name, value, association=None):
            if not parameter(instance, parameter_name, expression_class):
                return False
            instance._data.setdefault(kind, {})[str(parameter_name)] = value
            return True
        return set_value

    h("MaterialEditingLibrary", "set_material_instance_texture_parameter_value")(
        setter("textures", "MaterialExpressionTextureSampleParameter2D"))
    h("MaterialEditingLibrary", "set_material_instance_scalar_parameter_value")(
        setter("scalars", "MaterialExpressionScalarParameter"))
    h("MaterialEditingLibrary", "set_material_instance_vector_parameter_value")(
        setter("vectors", "MaterialExpressionVectorParameter"))
    h("MaterialEditingLibrary", "update_material_instance")(lambda cls, instance: None)

    # --- what renders ---------------------------------------------------------------------
    def rendered_material(obj, *, cooked: bool = False) -> str:
        """The path of the material ``obj`` (a Material or an instance) renders with in the editor
        (or, ``cooked``, in a packaged game): its own, or the default WorldGridMaterial when its
        base material failed to compile (or, cooked, lacks a usage flag the editor had to set)."""
        base = base_material(obj)
        if base is None or base._data.get("compiled") is False:
            return DEFAULT_MATERIAL
        if cooked and base._data.get("usage_set_by_editor"):
            return DEFAULT_MATERIAL
        return obj._asset_path or obj.get_path_name()

    def check_usage(material_interface, *, morph_targets: bool) -> None:
        """UMaterial::SetMaterialUsage for a material drawn on a skeletal mesh (with morph targets)."""
        base = base_material(material_interface) if material_interface is not None else None
        if base is None or base._data.get("engine"):
            return
        needed = ["skeletal_mesh"] + (["morph_targets"] if morph_targets else [])
        for usage in needed:
            prop, flag = USAGES[usage]
            if base.get_editor_property(prop):
                continue
            base._props[prop] = True
            base._data.setdefault("usage_set_by_editor", []).append(flag)
            editor.dirty.add(base._asset_path)
            editor.logs.append(("log_warning", f"LogMaterial: Material {base.get_path_name()} needed to have new "
                                               f"flag set {flag} !"))

    def mesh_drawn(mesh) -> None:
        """A skeletal mesh gets a render proxy (placed in the level): its materials' usage is checked."""
        morphs = bool(mesh._data.get("morphs"))
        for slot in mesh._props.get("materials", []):
            check_usage(slot._props.get("material_interface"), morph_targets=morphs)

    editor.rendered_material = rendered_material
    editor.mesh_drawn = mesh_drawn
