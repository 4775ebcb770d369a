"""Bind the face to a rig: a MetaHuman driven by RigLogic where the engine allows, ARKit morphs otherwise.

MetaHuman Creator (plugin ``MetaHumanCharacter``) is scriptable from Python from UE 5.7 on, on
Windows (5.6's subsystem has no Python functions). Our head is not in MetaHuman topology, so the
conform goes through the face landmarks MetaHuman Creator sculpts with: the generated head is
aligned to the MetaHuman's landmarks (scale and offset) and every landmark moves to the nearest
point of the generated head; MetaHuman's identity model keeps the result a valid MetaHuman face.
Auto-rigging (RigLogic's blend shapes and joints) then runs on Epic's cloud service, which needs
the user signed in with an Epic account. Grooms are re-bound to the built MetaHuman's face with a
binding transfer from our mesh.

Without MetaHuman the glb's 52 ARKit morph targets animate the face: Live Link Face's curves
(PascalCase) drive morph targets of the same name, case-insensitively.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field

import unreal

from ue_scripts import assets
from ue_scripts.environment import EngineInfo, MissingFeature
from ue_scripts.import_package import ImportedCharacter
from ue_scripts.package import PackageError, glb_json, live_link_curve_map

METAHUMAN_MIN_VERSION = (5, 7)


@dataclass
class RigBinding:
    kind: str  # "metahuman" | "arkit"
    curve_map: dict[str, str] = field(default_factory=dict)  # Live Link curve -> morph target
    metahuman: object = None  # the MetaHumanCharacter asset
    face_mesh: object = None  # the built MetaHuman's face skeletal mesh
    bindings: dict[str, object] = field(default_factory=dict)  # groom -> binding to the MetaHuman face
    notes: list[str] = field(default_factory=list)


def metahuman_missing(info: EngineInfo) -> list[str]:
    """Why MetaHuman conform cannot run here (empty: it can), one line each."""
    out = []
    if info.major_minor < METAHUMAN_MIN_VERSION:
        out.append(f"Unreal Engine 5.7 or later: MetaHuman Creator has no Python API in "
                   f"{info.version[0]}.{info.version[1]}")
    if "MetaHumanCharacter" not in info.plugins:
        out.append("the MetaHumanCharacter plugin (MetaHuman Creator; install the engine with the "
                   "'MetaHuman Creator Core Data' option, then enable the plugin)")
    elif info.major_minor >= METAHUMAN_MIN_VERSION and getattr(unreal, "MetaHumanCharacterEditorSubsystem", None) is None:
        out.append("the MetaHumanCharacterEditorSubsystem (the plugin is enabled but its editor module did not load; "
                   "MetaHuman Creator's editor runs on Windows only)")
    return out


def arkit_binding(character: ImportedCharacter) -> RigBinding:
    """Check the 52 ARKit morphs are on the imported mesh and map Live Link Face's curves to them."""
    on_mesh = list(character.skeletal_mesh.get_all_morph_target_names())
    try:
        curve_map = live_link_curve_map(on_mesh)
    except PackageError as exc:
        raise RuntimeError(f"{character.skeletal_mesh.get_path_name()}: {exc}") from None
    return RigBinding("arkit", curve_map, notes=[
        "Live Link Face curves drive the morph targets of the same name; use a Live Link Pose node "
        "(subject: your phone) in the character's Animation Blueprint."])


def head_vertices_cm(character: ImportedCharacter) -> list[tuple[float, float, float]]:
    """The generated head's vertices in Unreal space (cm, Z up), read from the package's glb.

    glTF (metres, +Y up, facing +Z) maps to Unreal as (x, z, y) * 100: the same conversion the
    manifest gives for the grooms (rotation 90° about X, scale (1, -1, 1)).
    """
    doc = glb_json(character.package.glb)
    head_material = next(i for i, m in enumerate(doc["materials"]) if m["name"] == "head_skin")
    primitive = next(p for mesh in doc["meshes"] for p in mesh["primitives"] if p.get("material") == head_material)
    accessor = doc["accessors"][primitive["attributes"]["POSITION"]]
    view = doc["bufferViews"][accessor["bufferView"]]
    stride = view.get("byteStride", 12)
    with open(character.package.glb, "rb") as f:
        json_len = struct.unpack("<I", f.read(20)[12:16])[0]
        f.seek(20 + json_len + 8 + view.get("byteOffset", 0) + accessor.get("byteOffset", 0))
        raw = f.read(stride * (accessor["count"] - 1) + 12)
    out = []
    for i in range(accessor["count"]):
        x, y, z = struct.unpack_from("<3f", raw, i * stride)
        out.append((100.0 * x, 100.0 * z, 100.0 * y))
    return out


def _bounds(points):
    lo = [min(p[k] for p in points) for k in range(3)]
    hi = [max(p[k] for p in points) for k in range(3)]
    return lo, hi


def wrap_landmarks(landmarks: list[tuple[float, float, float]],
                   head: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Where each MetaHuman landmark should move: the nearest head vertex once the head's face side
    is scaled and moved onto the landmarks' bounding box."""
    facing = sum(p[1] for p in head) / len(head)
    face = [p for p in head if p[1] >= facing] or head
    (flo, fhi), (llo, lhi) = _bounds(face), _bounds(landmarks)
    scale = (lhi[2] - llo[2]) / max(fhi[2] - flo[2], 1e-6)
    fc = [(flo[k] + fhi[k]) / 2 for k in range(3)]
    lc = [(llo[k] + lhi[k]) / 2 for k in range(3)]
    aligned = [tuple(lc[k] + scale * (p[k] - fc[k]) for k in range(3)) for p in face]
    # brute force: a few thousand face vertices by a few hundred landmarks, once per conform
    return [min(aligned, key=lambda p: (p[0] - lm[0]) ** 2 + (p[1] - lm[1]) ** 2 + (p[2] - lm[2]) ** 2)
            for lm in landmarks]


def conform_metahuman(character: ImportedCharacter, info: EngineInfo, *, content_root: str) -> RigBinding:
    """Make a MetaHuman Character from the generated head, auto-rig it (RigLogic) and build it."""
    missing = metahuman_missing(info)
    if missing:
        raise MissingFeature("MetaHuman conform needs: " + "; ".join(missing))
    subsystem = unreal.get_editor_subsystem(unreal.MetaHumanCharacterEditorSubsystem)
    folder = f"{character.folder}/MetaHuman"
    with assets.rollback_on_failure(folder):
        mhc = assets.create_or_load(f"MHC_{character.name}", folder, unreal.MetaHumanCharacter,
                                    unreal.MetaHumanCharacterFactoryNew())
        if not subsystem.try_add_object_to_edit(mhc):
            raise MissingFeature("MetaHuman Creator could not open the character for editing: is the "
                                 "'MetaHuman Creator Core Data' engine option installed?")
        try:
            landmarks = [(v.x, v.y, v.z) for v in subsystem.get_face_landmarks(mhc)]
            targets = wrap_landmarks(landmarks, head_vertices_cm(character))
            deltas = [unreal.Vector(t[0] - l[0], t[1] - l[1], t[2] - l[2]) for t, l in zip(targets, landmarks)]
            subsystem.translate_face_landmarks(mhc, list(range(len(landmarks))), deltas)
            subsystem.commit_face_state(mhc)
            params = unreal.MetaHumanCharacterAutoRiggingRequestParams()
            params.rig_type = unreal.MetaHumanRigType.JOINTS_AND_BLEND_SHAPES
            params.blocking = True
            params.report_progress = True
            subsystem.request_auto_rigging(mhc, params)
            if not subsystem.can_build_meta_human(mhc, log_error=True):
                raise RuntimeError("MetaHuman auto-rigging did not finish: it runs on Epic's cloud service and "
                                   "needs you signed in with an Epic account (see the Output Log)")
            build = unreal.MetaHumanCharacterEditorBuildParameters()
            build.pipeline_type = unreal.MetaHumanDefaultPipelineType.CINEMATIC
            build.name_override = character.name
            subsystem.build_meta_human(mhc, build)
        finally:
            subsystem.remove_object_to_edit(mhc)
    face = _built_face_mesh(character.name)
    binding = RigBinding("metahuman", metahuman=mhc, face_mesh=face, notes=[
        f"MetaHuman {character.name} built; RigLogic drives its face"])
    for name, groom in character.grooms.items():
        path = f"{character.folder}/Grooms/GB_{name}_MetaHuman"
        if unreal.EditorAssetLibrary.does_asset_exist(path):
            unreal.EditorAssetLibrary.delete_asset(path)
        binding.bindings[name] = unreal.GroomLibrary.create_new_groom_binding_asset_with_path(
            path, groom, face, num_interpolation_points=100, source_skeletal_mesh_for_transfer=character.skeletal_mesh)
    return binding


def _built_face_mesh(name: str):
    """The face skeletal mesh the MetaHuman build wrote (under /Game/MetaHumans/<name>/)."""
    folder = f"/Game/MetaHumans/{name}"
    for path in unreal.EditorAssetLibrary.list_assets(folder, recursive=True, include_folder=False):
        asset = unreal.EditorAssetLibrary.load_asset(assets.package_path(path))
        if isinstance(asset, unreal.SkeletalMesh) and "face" in asset.get_name().lower():
            return asset
    raise RuntimeError(f"the MetaHuman build wrote no face skeletal mesh under {folder}")


def bind_rig(character: ImportedCharacter, info: EngineInfo, *, mode: str = "auto",
             content_root: str = assets.DEFAULT_CONTENT_ROOT) -> RigBinding:
    """``mode``: ``metahuman`` (fail with what is missing), ``arkit``, or ``auto`` (MetaHuman where
    the editor has it, else ARKit, saying why)."""
    if mode not in ("auto", "metahuman", "arkit"):
        raise ValueError(f"rig mode must be auto, metahuman or arkit, not {mode!r}")
    if mode == "arkit":
        return arkit_binding(character)
    missing = metahuman_missing(info)
    if mode == "metahuman" or not missing:
        return conform_metahuman(character, info, content_root=content_root)
    binding = arkit_binding(character)
    binding.notes.insert(0, "MetaHuman conform skipped; it needs " + "; ".join(missing))
    return binding


def write_curve_map(binding: RigBinding, path) -> None:
    """The Live Link curve -> morph target table as JSON (for a Live Link remap asset or a DCC)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"kind": binding.kind, "curves": binding.curve_map}, f, indent=1)
