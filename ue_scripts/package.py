"""Read a character package for import (standard library only: runs in the editor's Python).

Everything is checked before the editor touches a single asset: the manifest's format, every file
it lists (inside the folder, present, sha256), the glb's materials and the textures they use, the
grooms and their Unreal conversion settings. A package that fails here leaves the project as it was.
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from machcreator.core.files import relative_member, sha256_file

FORMAT = "machcreator.character-package"
SUPPORTED_MAJOR = 1

#: The 52 ARKit blendshapes as Live Link Face sends them (PascalCase). Unreal matches curve names to
#: morph target names case-insensitively (FName), so these drive the glb's camelCase morphs.
ARKIT_LIVE_LINK_CURVES = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose",
    "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight",
    "MouthFrownLeft", "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft",
    "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft",
    "NoseSneerRight", "TongueOut",
)


class PackageError(ValueError):
    """The package cannot be imported; the message says which file and why."""


@dataclass(frozen=True)
class TextureFile:
    """One PNG and how Unreal must treat it."""
    key: str  # file stem, e.g. "head_albedo": also the texture asset's name
    path: Path
    role: str  # albedo | normal | orm | ...
    srgb: bool
    compression: str  # a TextureCompressionSettings value name
    flip_green: bool  # the package's normal maps are OpenGL (+Y); Unreal's are DirectX


@dataclass(frozen=True)
class MaterialSlot:
    """One glTF material = one material slot of the skeletal mesh."""
    name: str  # slot name, e.g. "head_skin"
    master: str  # a key of ue_scripts.materials.MASTERS: skin | cloth | eye | mouth | hair_card | plain | glass
    textures: dict[str, str]  # parameter (Albedo, Normal, ORM) -> texture key
    base_color: tuple[float, float, float, float]  # glTF baseColorFactor, linear RGBA
    roughness: float  # glTF roughnessFactor
    metallic: float  # glTF metallicFactor
    masked: bool
    two_sided: bool


@dataclass(frozen=True)
class GroomFile:
    name: str  # scalp | eyebrows | eyelashes | facial_hair
    path: Path
    rotation_deg: tuple[float, float, float]
    scale: tuple[float, float, float]
    num_strands: int


@dataclass
class StudioAsset:
    """A matched asset the studio has in its Unreal project: referenced, not shipped."""

    id: str  # the library id, e.g. "studio/hoodie_a"
    slot: str  # top | bottom | outerwear | shoes | glasses | headwear | accessories
    object_path: str  # e.g. "/Game/Outfits/Hoodie.Hoodie"


@dataclass
class CharacterPackage:
    root: Path
    name: str  # asset-safe character name
    manifest: dict
    glb: Path
    textures: dict[str, TextureFile] = field(default_factory=dict)
    materials: list[MaterialSlot] = field(default_factory=list)
    grooms: list[GroomFile] = field(default_factory=list)
    morph_targets: list[str] = field(default_factory=list)
    studio_assets: list[StudioAsset] = field(default_factory=list)

    @property
    def attributes(self) -> dict:
        """Every attribute as the backend resolved it (what the details panel edits)."""
        return self.manifest.get("attributes_resolved", {})


def asset_name(text: str) -> str:
    """A name Unreal accepts for an asset or folder: letters, digits, underscores, <= 48 chars."""
    words = re.findall(r"[A-Za-z0-9]+", text)
    name = "_".join(w[:1].upper() + w[1:] for w in words)[:48].strip("_")
    if not name:
        raise PackageError(f"cannot make an asset name from {text!r}")
    return name if not name[0].isdigit() else "C_" + name


def member(root: Path, rel: str) -> Path:
    """``root/rel`` for a manifest path; refuses absolute paths and any that leave ``root``."""
    posix = relative_member(rel)
    if posix is None:
        raise PackageError(f"{rel!r}: a package path must stay inside the package folder")
    path = root / posix
    if not path.resolve().is_relative_to(root.resolve()):  # a symlink pointing out
        raise PackageError(f"{rel!r}: resolves outside the package folder")
    return path


def glb_json(path: Path) -> dict:
    """The JSON chunk of a glb (its header is checked; the binary chunk is not read)."""
    with open(path, "rb") as f:
        header = f.read(20)
        if len(header) < 20:
            raise PackageError(f"{path.name}: too short to be a glb")
        magic, version, _length, chunk_len, chunk_type = struct.unpack("<4sIIII", header)
        if magic != b"glTF" or version != 2 or chunk_type != 0x4E4F534A:
            raise PackageError(f"{path.name}: not a glTF 2.0 binary")
        try:
            return json.loads(f.read(chunk_len))
        except ValueError as exc:
            raise PackageError(f"{path.name}: its JSON chunk is corrupt ({exc})") from None


_TEXTURE_SETTINGS = {  # role -> (sRGB, compression)
    "albedo": (True, "TC_DEFAULT"),
    "normal": (False, "TC_NORMALMAP"),
    "orm": (False, "TC_MASKS"),
}


def _master_for(name: str, material: dict) -> str:
    if name.endswith("_cards") or material.get("alphaMode") == "MASK":
        return "hair_card"
    if name.endswith("_skin"):
        return "skin"
    if material.get("alphaMode") == "BLEND":
        return "glass"  # lenses: tinted, see-through
    if "normalTexture" in material:
        return "cloth"  # garments, shoes, hats: albedo, normal and ORM, no subsurface
    if name.startswith("eye"):
        return "eye"
    if "baseColorTexture" in material.get("pbrMetallicRoughness", {}):
        return "mouth"  # teeth, tongue: lit albedo, no normal map
    return "plain"  # frames, buttons, jewellery: colour, roughness and metalness factors only


def read_package(path: str | Path, *, verify_checksums: bool = True, name: str | None = None) -> CharacterPackage:
    """Read and check a package folder; raises :class:`PackageError` naming the first problem."""
    root = Path(path)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise PackageError(f"{root}: no manifest.json (is this a character package folder?)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise PackageError(f"{manifest_path}: not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise PackageError(f"{manifest_path}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
    major = str(manifest.get("format_version", "0")).split(".")[0]
    if major != str(SUPPORTED_MAJOR):
        raise PackageError(f"{manifest_path}: format version {manifest.get('format_version')} is not supported "
                           f"(this plugin reads {SUPPORTED_MAJOR}.x); update the plugin")

    roles: dict[str, str] = {}
    for entry in manifest.get("files", []):
        file = member(root, entry["path"])
        if not file.is_file():
            raise PackageError(f"{entry['path']}: listed in the manifest but missing")
        if file.stat().st_size != entry["bytes"]:
            raise PackageError(f"{entry['path']}: {file.stat().st_size} bytes, the manifest says {entry['bytes']}")
        if verify_checksums and sha256_file(file) != entry["sha256"]:
            raise PackageError(f"{entry['path']}: its sha256 does not match the manifest (damaged copy?)")
        roles[entry["path"]] = entry["role"]
    glb = next((p for p, r in roles.items() if r == "mesh"), None)
    if glb is None:
        raise PackageError(f"{manifest_path}: lists no mesh (character.glb)")

    pkg = CharacterPackage(root=root, name=asset_name(name or root.name), manifest=manifest, glb=member(root, glb))
    doc = glb_json(pkg.glb)
    images = doc.get("images", [])
    textures = doc.get("textures", [])

    def key_of(info: dict | None, role: str) -> str | None:
        if info is None:
            return None
        uri = images[textures[info["index"]]["source"]].get("uri")
        if uri is None or uri not in roles:
            raise PackageError(f"{glb}: a material uses image {uri!r}, which the manifest does not list")
        key = PurePosixPath(uri).stem
        srgb, compression = _TEXTURE_SETTINGS.get(role, (True, "TC_DEFAULT"))
        pkg.textures[key] = TextureFile(key, member(root, uri), roles[uri], srgb, compression, role == "normal")
        return key

    for material in doc.get("materials", []):
        pbr = material.get("pbrMetallicRoughness", {})
        params = {"Albedo": key_of(pbr.get("baseColorTexture"), "albedo"),
                  "Normal": key_of(material.get("normalTexture"), "normal"),
                  "ORM": key_of(pbr.get("metallicRoughnessTexture"), "orm")}
        pkg.materials.append(MaterialSlot(
            name=material["name"], master=_master_for(material["name"], material),
            textures={k: v for k, v in params.items() if v is not None},
            base_color=tuple(pbr.get("baseColorFactor", (1.0, 1.0, 1.0, 1.0))),
            roughness=float(pbr.get("roughnessFactor", 1.0)), metallic=float(pbr.get("metallicFactor", 1.0)),
            masked=material.get("alphaMode") == "MASK", two_sided=bool(material.get("doubleSided"))))
    for mesh in doc.get("meshes", []):
        pkg.morph_targets.extend(mesh.get("extras", {}).get("targetNames", []))

    for groom in manifest.get("grooms", []):
        rel = groom["files"]["abc"]
        if rel not in roles:
            raise PackageError(f"groom {groom['name']}: {rel} is not listed among the package's files")
        settings = groom.get("unreal_import") or {}
        if "rotation" not in settings or "scale" not in settings:
            raise PackageError(f"groom {groom['name']}: the manifest gives no unreal_import rotation/scale")
        pkg.grooms.append(GroomFile(groom["name"], member(root, rel), tuple(settings["rotation"]),
                                    tuple(settings["scale"]), int(groom.get("num_strands", 0))))
    for entry in manifest.get("assets", []):
        path = entry.get("unreal_asset")
        if path is None:
            continue
        if not (isinstance(path, str) and path.startswith("/") and ".." not in path):
            raise PackageError(f"asset {entry.get('id')}: {path!r} is not an Unreal object path like /Game/Folder/Name.Name")
        pkg.studio_assets.append(StudioAsset(str(entry["id"]), str(entry["slot"]), path))
    return pkg


def live_link_curve_map(morph_targets: list[str]) -> dict[str, str]:
    """Live Link Face curve -> the morph target it drives; raises if any of the 52 is missing."""
    by_lower = {m.lower(): m for m in morph_targets}
    missing = [c for c in ARKIT_LIVE_LINK_CURVES if c.lower() not in by_lower]
    if missing:
        raise PackageError(f"the mesh lacks ARKit morph targets for: {', '.join(missing)}")
    return {c: by_lower[c.lower()] for c in ARKIT_LIVE_LINK_CURVES}
