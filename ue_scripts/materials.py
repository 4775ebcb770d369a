"""Master materials (built once per project by script) and one material instance per slot.

Masters live in ``<content root>/Materials`` and carry a version tag: a newer plugin rebuilds them
in place, so every character's instances pick the change up.
"""
from __future__ import annotations

from dataclasses import dataclass

import unreal

from ue_scripts.assets import create_or_load, load
from ue_scripts.package import MaterialSlot

MASTER_VERSION = "2"
VERSION_TAG = "MachCreatorMasterVersion"


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


def _build_master(material, spec: MasterSpec) -> None:
    mel = unreal.MaterialEditingLibrary
    mel.delete_all_material_expressions(material)
    material.set_editor_property("shading_model", _enum(unreal.MaterialShadingModel, spec.shading_model))
    material.set_editor_property("blend_mode", _enum(unreal.BlendMode, spec.blend_mode))
    material.set_editor_property("two_sided", spec.two_sided)
    material.set_editor_property("used_with_skeletal_mesh", True)
    y = 0
    for tex in spec.textures:
        node = mel.create_material_expression(material, unreal.MaterialExpressionTextureSampleParameter2D, -500, y)
        node.set_editor_property("parameter_name", tex.name)
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
    mel.recompile_material(material)


def ensure_masters(content_root: str) -> dict[str, object]:
    """The master materials, built if missing or older than this plugin; kind -> Material."""
    folder = f"{content_root}/Materials"
    out = {}
    for kind, spec in MASTERS.items():
        material = load(f"{folder}/{spec.asset}", unreal.Material)
        if material is None or unreal.EditorAssetLibrary.get_metadata_tag(material, VERSION_TAG) != MASTER_VERSION:
            material = create_or_load(spec.asset, folder, unreal.Material, unreal.MaterialFactoryNew())
            _build_master(material, spec)
            unreal.EditorAssetLibrary.set_metadata_tag(material, VERSION_TAG, MASTER_VERSION)
            unreal.EditorAssetLibrary.save_loaded_asset(material, only_if_is_dirty=False)
        out[kind] = material
    return out


def make_instance(slot: MaterialSlot, folder: str, masters: dict, textures: dict, *, hide: bool = False):
    """``MI_<slot>`` under ``folder``: the slot's master with its textures; created or updated in place."""
    mel = unreal.MaterialEditingLibrary
    instance = create_or_load(f"MI_{slot.name}", folder, unreal.MaterialInstanceConstant,
                              unreal.MaterialInstanceConstantFactoryNew())
    mel.set_material_instance_parent(instance, masters[slot.master])
    for param, key in slot.textures.items():
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
