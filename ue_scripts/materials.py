"""Master materials (built once per project by script) and one material instance per slot.

Masters live in ``<content root>/Materials`` and carry a version tag: a newer plugin rebuilds them
in place, so every character's instances pick the change up.

A master must compile, or every instance of it renders as the engine's default material
(WorldGridMaterial). Two things make a scripted master fail where an editor-made one does not:

* a ``TextureSampleParameter2D`` made by ``create_material_expression`` gets no texture of its
  sampler's kind: none at all where the node is made without ``SetDefaultTexture`` (the material
  editor's node factory calls it, the scripting library does not), which the translator rejects
  with "Param2D> Found NULL, requires Texture2D"; at best the engine's sRGB ``DefaultTexture``
  (what that function and older constructors assign), which a Normal or Masks sampler rejects;
* the node's sampler type must be the one the texture's own settings give
  (``UMaterialExpressionTextureBase::VerifySamplerType``: "Sampler type is Normal, should be
  Color for ..."; Normal and Masks also need sRGB off).

So each texture parameter gets an engine texture of its sampler's type (:data:`DEFAULT_TEXTURES`),
checked against the texture's settings before compiling (:func:`sampler_type_for` mirrors
``UMaterialExpressionTextureBase::GetSamplerTypeForTexture``), and the compile itself is checked
(:func:`compile_master`): UE 5.8's ``recompile_material`` returns the compiler's errors; before it,
``get_statistics`` (which finishes the shader compile) shows whether a shader map came out.
Sources: Engine/Source/Runtime/Engine/Private/Materials/MaterialExpressions.cpp
(GetSamplerTypeForTexture, VerifySamplerType, UMaterialExpressionTextureSampleParameter2D::
SetDefaultTexture; izzy2lost/UnrealEngineUWP = 5.4, unicorn2022/UE5.8.0 = 5.8) and
Engine/Source/Editor/MaterialEditor/Private/MaterialEditingLibrary.cpp (RecompileMaterial,
GetStatistics; 5.8 returns ``TArray<FString>`` errors, 5.4-5.6 return nothing, per the stubs).
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import unreal

from ue_scripts.assets import create_or_load, import_task, load
from ue_scripts.package import MaterialSlot

#: 3: texture parameters have engine default textures, usage flags are explicit, the compile is checked
MASTER_VERSION = "3"
VERSION_TAG = "MachCreatorMasterVersion"

#: Engine textures a texture parameter starts with, by sampler type (first that loads and has the
#: right settings wins; each is checked with :func:`sampler_type_for` before use):
#:
#: * Color: ``/Engine/EngineResources/DefaultTexture`` is what
#:   ``UMaterialExpressionTextureSampleParameter2D::SetDefaultTexture`` assigns to a new node whose
#:   sampler type defaults to Color (sRGB, TC_Default); ``DefaultDiffuse`` is the same kind.
#: * Normal: ``/Engine/EngineMaterials/DefaultNormal`` (TC_Normalmap, sRGB off: the flat normal the
#:   engine's default material samples); ``FlatNormal`` likewise.
#: * Masks: ``/Engine/EngineMaterials/DefaultDiffuse_TC_Masks`` (TC_Masks, sRGB off, as its name says).
#:
#: Loaded with ``unreal.load_object``: ``EditorAssetLibrary.load_asset`` goes through the asset
#: registry, which a commandlet (``-run=pythonscript``) may not have scanned for /Engine.
DEFAULT_TEXTURES: dict[str, tuple[str, ...]] = {
    "SAMPLERTYPE_COLOR": ("/Engine/EngineResources/DefaultTexture.DefaultTexture",
                          "/Engine/EngineMaterials/DefaultDiffuse.DefaultDiffuse"),
    "SAMPLERTYPE_NORMAL": ("/Engine/EngineMaterials/DefaultNormal.DefaultNormal",
                           "/Engine/EngineMaterials/FlatNormal.FlatNormal"),
    "SAMPLERTYPE_MASKS": ("/Engine/EngineMaterials/DefaultDiffuse_TC_Masks.DefaultDiffuse_TC_Masks",),
}

#: What our meshes need of every master, set explicitly: the character is a skeletal mesh with 52
#: morph targets (the glb's hair cards, eyes, teeth and accessories are sections of that same
#: mesh). Left to automatic setting, the editor flips these on the first time it meets the mesh,
#: recompiles and dirties the master, and a packaged game that never did renders the default
#: material on the character.
USAGE_FLAGS = ("used_with_skeletal_mesh", "used_with_morph_targets")
#: the same as MaterialUsage values, for ``MaterialEditingLibrary.has_material_usage``
USAGES = ("MATUSAGE_SKELETAL_MESH", "MATUSAGE_MORPH_TARGETS")


class MasterCompileError(RuntimeError):
    """A master material does not compile: every instance of it would render the default material."""


@dataclass(frozen=True)
class TextureParam:
    name: str  # parameter name, e.g. "Albedo"
    sampler: str  # MaterialSamplerType value
    outputs: tuple[tuple[str, str], ...]  # (expression output, MaterialProperty) pairs


@dataclass(frozen=True)
class MasterSpec:
    asset: str
    shading_model: str
    blend_mode: str = "BLEND_OPAQUE"
    two_sided: bool = False
    textures: tuple[TextureParam, ...] = ()
    scalars: tuple[tuple[str, float, str], ...] = ()  # (name, default, MaterialProperty)
    vectors: tuple[tuple[str, tuple[float, float, float, float], str], ...] = ()  # (name, default RGBA, property)


_ALBEDO = TextureParam("Albedo", "SAMPLERTYPE_COLOR", (("RGB", "MP_BASE_COLOR"),))
_PBR = (
    _ALBEDO,
    TextureParam("Normal", "SAMPLERTYPE_NORMAL", (("RGB", "MP_NORMAL"),)),
    # glTF ORM: R occlusion, G roughness, B metal
    TextureParam("ORM", "SAMPLERTYPE_MASKS", (("R", "MP_AMBIENT_OCCLUSION"), ("G", "MP_ROUGHNESS"),
                                              ("B", "MP_METALLIC"))),
)
_FACTORS = (("Roughness", 0.5, "MP_ROUGHNESS"), ("Metallic", 0.0, "MP_METALLIC"))
MASTERS: dict[str, MasterSpec] = {
    "skin": MasterSpec("M_MachSkin", "MSM_SUBSURFACE_PROFILE", textures=_PBR,
                       scalars=(("Specular", 0.35, "MP_SPECULAR"),)),
    # garments, shoes and hats: the same maps on an opaque surface, no light under it
    "cloth": MasterSpec("M_MachCloth", "MSM_DEFAULT_LIT", textures=_PBR),
    # frames, buttons, jewellery: the glTF factors alone
    "plain": MasterSpec("M_MachPlain", "MSM_DEFAULT_LIT", scalars=_FACTORS,
                        vectors=(("BaseColor", (1.0, 1.0, 1.0, 1.0), "MP_BASE_COLOR"),)),
    # lenses: tinted and see-through from both sides
    "glass": MasterSpec("M_MachGlass", "MSM_DEFAULT_LIT", "BLEND_TRANSLUCENT", True,
                        scalars=_FACTORS + (("Opacity", 0.3, "MP_OPACITY"),),
                        vectors=(("BaseColor", (1.0, 1.0, 1.0, 1.0), "MP_BASE_COLOR"),)),
    "eye": MasterSpec("M_MachEye", "MSM_DEFAULT_LIT", textures=(_ALBEDO,),
                      scalars=(("Roughness", 0.05, "MP_ROUGHNESS"), ("Specular", 0.8, "MP_SPECULAR"))),
    "mouth": MasterSpec("M_MachMouth", "MSM_DEFAULT_LIT", textures=(_ALBEDO,),
                        scalars=(("Roughness", 0.3, "MP_ROUGHNESS"),)),
    # cards: the glb's fallback hair; Opacity 0 hides them where strands are imported
    "hair_card": MasterSpec("M_MachHairCard", "MSM_DEFAULT_LIT", "BLEND_MASKED", True, textures=(
        TextureParam("Albedo", "SAMPLERTYPE_COLOR", (("RGB", "MP_BASE_COLOR"),)),
    ), scalars=(("Roughness", 0.45, "MP_ROUGHNESS"),)),
}


def _enum(enum_type, name: str):
    return getattr(enum_type, name)


def sampler_type_for(texture) -> str:
    """The sampler type the material compiler requires for ``texture`` (a MaterialSamplerType
    name), as ``UMaterialExpressionTextureBase::GetSamplerTypeForTexture`` computes it from the
    texture's LOD group, virtual-texture streaming, compression settings and sRGB."""
    group = texture.get_editor_property("lod_group")
    if group in (unreal.TextureGroup.TEXTUREGROUP_8_BIT_DATA, unreal.TextureGroup.TEXTUREGROUP_16_BIT_DATA):
        return "SAMPLERTYPE_DATA"
    virtual = "VIRTUAL_" if texture.get_editor_property("virtual_texture_streaming") else ""
    srgb = bool(texture.get_editor_property("srgb"))
    tc = unreal.TextureCompressionSettings
    compression = texture.get_editor_property("compression_settings")
    if compression == tc.TC_NORMALMAP:
        return f"SAMPLERTYPE_{virtual}NORMAL"
    if compression == tc.TC_GRAYSCALE:
        return f"SAMPLERTYPE_{virtual}{'' if srgb else 'LINEAR_'}GRAYSCALE"
    if compression == tc.TC_ALPHA:
        return f"SAMPLERTYPE_{virtual}ALPHA"
    if compression == tc.TC_MASKS:
        return f"SAMPLERTYPE_{virtual}MASKS"
    if compression == tc.TC_DISTANCE_FIELD_FONT:
        return "SAMPLERTYPE_DISTANCE_FIELD_FONT"
    return f"SAMPLERTYPE_{virtual}{'' if srgb else 'LINEAR_'}COLOR"


def _display(sampler: str) -> str:
    return sampler.removeprefix("SAMPLERTYPE_").replace("_", " ").title()


def sampler_error(texture, sampler: str) -> str | None:
    """What the compiler would say about sampling ``texture`` with ``sampler`` (None: nothing),
    worded as ``UMaterialExpressionTextureBase::VerifySamplerType`` words it."""
    if texture is None:
        return "Found NULL, requires Texture2D"
    wanted = sampler_type_for(texture)
    if wanted != sampler:
        return f"Sampler type is {_display(sampler)}, should be {_display(wanted)} for {texture.get_path_name()}"
    if sampler in ("SAMPLERTYPE_NORMAL", "SAMPLERTYPE_MASKS") and texture.get_editor_property("srgb"):
        return f"To use '{_display(sampler)}' as sampler type, SRGB must be disabled for {texture.get_path_name()}"
    return None


def default_texture(sampler: str, folder: str | None = None):
    """The engine texture a ``sampler`` parameter starts with (see :data:`DEFAULT_TEXTURES`); where
    none fits and ``folder`` is given, a small texture of the right kind made there
    (:func:`project_default_texture`)."""
    found = []
    for path in DEFAULT_TEXTURES[sampler]:
        texture = unreal.load_object(None, path)
        if texture is None:
            found.append(f"{path}: missing")
            continue
        problem = sampler_error(texture, sampler)
        if problem is None:
            return texture
        found.append(problem)
    if folder is not None:
        unreal.log_warning(f"MachCreator: no engine texture fits a {_display(sampler)} texture parameter ("
                           + "; ".join(found) + f"); making one in {folder}")
        return project_default_texture(sampler, folder)
    raise MasterCompileError(f"no engine texture fits a {_display(sampler)} texture parameter: " + "; ".join(found))


#: a made default texture, by sampler: (RGB, compression settings, sRGB). Masks: occlusion 1,
#: roughness 0.5, metal 0 (glTF ORM order)
PROJECT_DEFAULTS = {
    "SAMPLERTYPE_COLOR": ((128, 128, 128), "TC_DEFAULT", True),
    "SAMPLERTYPE_NORMAL": ((128, 128, 255), "TC_NORMALMAP", False),
    "SAMPLERTYPE_MASKS": ((255, 128, 0), "TC_MASKS", False),
}


def _png(rgb: tuple[int, int, int], size: int = 4) -> bytes:
    """A ``size``² PNG of one colour (8-bit RGB), written with the standard library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def project_default_texture(sampler: str, folder: str):
    """``<folder>/T_MachDefault<Kind>``: a 4×4 texture whose settings give ``sampler``, imported
    from a PNG written to the project's Saved folder (made once, reused)."""
    rgb, compression, srgb = PROJECT_DEFAULTS[sampler]
    name = "T_MachDefault" + _display(sampler).replace(" ", "")
    texture = load(f"{folder}/{name}", unreal.Texture2D)
    if texture is None:
        saved = Path(unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_saved_dir())) / "MachCreator"
        saved.mkdir(parents=True, exist_ok=True)
        png = saved / f"{name}.png"
        png.write_bytes(_png(rgb))
        unreal.AssetToolsHelpers.get_asset_tools().import_asset_tasks([import_task(png, folder)])
        texture = load(f"{folder}/{name}", unreal.Texture2D)
        if texture is None:
            raise MasterCompileError(f"could not import {png} as {folder}/{name} (see the Output Log)")
    texture.set_editor_property("srgb", srgb)
    texture.set_editor_property("compression_settings", getattr(unreal.TextureCompressionSettings, compression))
    problem = sampler_error(texture, sampler)
    if problem:
        raise MasterCompileError(f"{texture.get_path_name()}: {problem}")
    unreal.EditorAssetLibrary.save_loaded_asset(texture, only_if_is_dirty=False)
    return texture


@dataclass
class CompileReport:
    """How one master compiled; ``compiled`` is True, False, or None where the engine did not say."""
    asset: str
    errors: list[str] = field(default_factory=list)
    #: the engine confirmed the compile: 5.8's error list, or shader statistics from a finished shader map
    confirmed: bool = False
    pixel_instructions: int = 0
    pixel_texture_samples: int = 0

    @property
    def compiled(self) -> bool | None:
        if self.errors:
            return False
        return True if self.confirmed else None

    def line(self) -> str:
        if self.errors:
            return "NO: " + "; ".join(self.errors)
        if self.confirmed:
            samples = self.pixel_texture_samples
            return (f"yes ({self.pixel_instructions} pixel shader instructions, {samples} texture "
                    f"sample{'s' * (samples != 1)})")
        return "not confirmed (the engine reported no shader statistics; see the Output Log, LogMaterial)"


def check_master(material, spec: MasterSpec) -> list[str]:
    """What stops ``material`` compiling that can be read without compiling: a texture parameter
    without a texture or with one of the wrong type, a usage flag off."""
    mel = unreal.MaterialEditingLibrary
    errors = []
    for tex in spec.textures:
        texture = mel.get_material_default_texture_parameter_value(material, tex.name)
        problem = sampler_error(texture, tex.sampler)
        if problem:
            errors.append(f"texture parameter {tex.name}: {problem}")
    for flag in USAGE_FLAGS:
        if not material.get_editor_property(flag):
            errors.append(f"{flag} is off")
    return errors


def compile_master(material, spec: MasterSpec) -> CompileReport:
    """Recompile ``material`` and say whether it compiled (see the module docstring)."""
    mel = unreal.MaterialEditingLibrary
    report = CompileReport(material.get_path_name(), check_master(material, spec))
    result = mel.recompile_material(material)
    if isinstance(result, (list, tuple)):  # UE 5.8+: the compiler's error messages
        report.errors += [str(e) for e in result]
        report.confirmed = True
    stats = mel.get_statistics(material)  # finishes the shader compile first
    report.pixel_instructions = int(stats.num_pixel_shader_instructions)
    report.pixel_texture_samples = int(stats.num_pixel_texture_samples)
    # a failed compile leaves no shader map, so every count is 0; a compiled master has instructions
    # (and, with textures, estimated texture samples from the translator)
    if report.pixel_instructions > 0 or report.pixel_texture_samples > 0:
        report.confirmed = True
    return report


def _build_master(material, spec: MasterSpec, folder: str | None = None) -> None:
    mel = unreal.MaterialEditingLibrary
    mel.delete_all_material_expressions(material)
    material.set_editor_property("shading_model", _enum(unreal.MaterialShadingModel, spec.shading_model))
    material.set_editor_property("blend_mode", _enum(unreal.BlendMode, spec.blend_mode))
    material.set_editor_property("two_sided", spec.two_sided)
    for flag in USAGE_FLAGS:
        material.set_editor_property(flag, True)
    y = 0
    for tex in spec.textures:
        node = mel.create_material_expression(material, unreal.MaterialExpressionTextureSampleParameter2D, -500, y)
        node.set_editor_property("parameter_name", tex.name)
        node.set_editor_property("texture", default_texture(tex.sampler, folder and f"{folder}/Defaults"))
        node.set_editor_property("sampler_type", _enum(unreal.MaterialSamplerType, tex.sampler))
        for output, prop in tex.outputs:
            mel.connect_material_property(node, output, _enum(unreal.MaterialProperty, prop))
        if spec.blend_mode == "BLEND_MASKED" and tex.name == "Albedo":
            opacity = mel.create_material_expression(material, unreal.MaterialExpressionScalarParameter, -500, y + 250)
            opacity.set_editor_property("parameter_name", "Opacity")
            opacity.set_editor_property("default_value", 1.0)
            mask = mel.create_material_expression(material, unreal.MaterialExpressionMultiply, -200, y + 200)
            mel.connect_material_expressions(node, "A", mask, "A")
            mel.connect_material_expressions(opacity, "", mask, "B")
            mel.connect_material_property(mask, "", unreal.MaterialProperty.MP_OPACITY_MASK)
        y += 300
    for name, default, prop in spec.vectors:
        node = mel.create_material_expression(material, unreal.MaterialExpressionVectorParameter, -500, y)
        node.set_editor_property("parameter_name", name)
        node.set_editor_property("default_value", unreal.LinearColor(*default))
        mel.connect_material_property(node, "", _enum(unreal.MaterialProperty, prop))
        y += 150
    for name, default, prop in spec.scalars:
        node = mel.create_material_expression(material, unreal.MaterialExpressionScalarParameter, -500, y)
        node.set_editor_property("parameter_name", name)
        node.set_editor_property("default_value", default)
        mel.connect_material_property(node, "", _enum(unreal.MaterialProperty, prop))
        y += 150
    mel.layout_material_expressions(material)


def ensure_masters(content_root: str) -> dict[str, object]:
    """The master materials, built if missing or older than this plugin; kind -> Material.

    Raises :class:`MasterCompileError` naming the master and the compiler's complaint if one does
    not compile (its version tag is then left unset, so the next import rebuilds it)."""
    folder = f"{content_root}/Materials"
    out = {}
    for kind, spec in MASTERS.items():
        material = load(f"{folder}/{spec.asset}", unreal.Material)
        if material is None or unreal.EditorAssetLibrary.get_metadata_tag(material, VERSION_TAG) != MASTER_VERSION:
            material = create_or_load(spec.asset, folder, unreal.Material, unreal.MaterialFactoryNew())
            _build_master(material, spec, folder)
            report = compile_master(material, spec)
            if report.errors:
                raise MasterCompileError(
                    f"master material {material.get_path_name()} does not compile, so every {kind} instance would "
                    f"render as the default material: {'; '.join(report.errors)}")
            if not report.confirmed:
                unreal.log_warning(f"MachCreator: {material.get_path_name()}: {report.line()}")
            unreal.EditorAssetLibrary.set_metadata_tag(material, VERSION_TAG, MASTER_VERSION)
            unreal.EditorAssetLibrary.save_loaded_asset(material, only_if_is_dirty=False)
        out[kind] = material
    return out


def check_masters(content_root: str) -> dict[str, CompileReport]:
    """Recompile every existing master and report how each compiled (for the self-test); a master
    that is missing is reported as such, nothing is built."""
    folder = f"{content_root}/Materials"
    out = {}
    for kind, spec in MASTERS.items():
        material = load(f"{folder}/{spec.asset}", unreal.Material)
        out[kind] = (compile_master(material, spec) if material is not None
                     else CompileReport(f"{folder}/{spec.asset}", ["missing (nothing imported yet)"]))
    return out


def _texture_samplers(master: str) -> dict[str, str]:
    return {t.name: t.sampler for t in MASTERS[master].textures}


def make_instance(slot: MaterialSlot, folder: str, masters: dict, textures: dict, *, hide: bool = False):
    """``MI_<slot>`` under ``folder``: the slot's master with its textures; created or updated in place."""
    mel = unreal.MaterialEditingLibrary
    instance = create_or_load(f"MI_{slot.name}", folder, unreal.MaterialInstanceConstant,
                              unreal.MaterialInstanceConstantFactoryNew())
    mel.set_material_instance_parent(instance, masters[slot.master])
    samplers = _texture_samplers(slot.master)
    for param, key in slot.textures.items():
        problem = sampler_error(textures[key], samplers[param]) if param in samplers else None
        if problem:  # e.g. a project that turns large imports into virtual textures
            raise RuntimeError(f"{instance.get_path_name()}: texture {key} cannot go in {param}: {problem}")
        if not mel.set_material_instance_texture_parameter_value(instance, param, textures[key]):
            raise RuntimeError(f"{instance.get_path_name()}: master {slot.master} has no texture parameter {param}")
    if slot.master == "hair_card":
        mel.set_material_instance_scalar_parameter_value(instance, "Opacity", 0.0 if hide else 1.0)
    if slot.master in ("plain", "glass"):
        mel.set_material_instance_vector_parameter_value(instance, "BaseColor", unreal.LinearColor(*slot.base_color))
        mel.set_material_instance_scalar_parameter_value(instance, "Roughness", slot.roughness)
        mel.set_material_instance_scalar_parameter_value(instance, "Metallic", slot.metallic)
    if slot.master == "glass":
        mel.set_material_instance_scalar_parameter_value(instance, "Opacity", slot.base_color[3])
    mel.update_material_instance(instance)
    return instance
