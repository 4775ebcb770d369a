"""Characters in a level: a skeletal mesh actor with its grooms attached, found again by tags."""
from __future__ import annotations

from dataclasses import dataclass, field

import unreal

from ue_scripts import metahuman
from ue_scripts.import_package import ImportedCharacter
from ue_scripts.metahuman import RigBinding

TAG = "MachCreator"
TAG_CHARACTER = "MachCreator.Character="
TAG_JOB = "MachCreator.Job="
TAG_PACKAGE = "MachCreator.Package="
TAG_GROOM = "MachCreator.Groom="
TAG_ASSET = "MachCreator.Asset="
OUTLINER_FOLDER = "MachCreator"
#: the Unreal yaw the imported mesh faces at actor yaw 0: glTF's front (+Z) arrives as Unreal's +Y
#: (Interchange's glTF conversion (x, y, z) -> (x, z, y)), while an actor's forward is +X
MESH_FRONT_YAW_DEG = 90.0


def actor_yaw(facing_yaw_deg: float) -> float:
    """The actor yaw that turns the character to face ``facing_yaw_deg`` (Unreal yaw, 0 = +X)."""
    return (float(facing_yaw_deg) - MESH_FRONT_YAW_DEG + 180.0) % 360.0 - 180.0


@dataclass
class PlacedCharacter:
    actor: object  # SkeletalMeshActor
    grooms: dict[str, object]  # groom name -> GroomActor attached to it
    #: library id -> SkeletalMeshActor of a studio asset, attached and following the body's pose
    studio: dict[str, object] = field(default_factory=dict)

    def tag(self, prefix: str) -> str | None:
        return tag_value(self.actor, prefix)


def tag_value(actor, prefix: str) -> str | None:
    for tag in actor.tags:
        if str(tag).startswith(prefix):
            return str(tag)[len(prefix):]
    return None


def _with_source(tags: list[str], job_id: str | None, package_dir: str | None) -> list[str]:
    """``tags`` plus the job and package a character came from (what Edit needs to find them)."""
    return tags + ([TAG_JOB + job_id] if job_id else []) + ([TAG_PACKAGE + str(package_dir)] if package_dir else [])


def _actors() -> object:
    return unreal.get_editor_subsystem(unreal.EditorActorSubsystem)


def _bind_grooms(placed: PlacedCharacter, character: ImportedCharacter, location, rotation,
                 rig: RigBinding | None = None) -> None:
    """One groom actor per groom, attached to the character; on a built MetaHuman the grooms use the
    bindings to its face."""
    rule = unreal.AttachmentRule.SNAP_TO_TARGET
    on_metahuman = rig is not None and rig.kind == "metahuman"
    bindings = rig.bindings if on_metahuman else character.bindings
    # a groom follows the skeletal mesh component it is attached to: on a MetaHuman, its face
    face = metahuman.face_component(placed.actor, rig) if on_metahuman else None
    for name, groom in character.grooms.items():
        groom_actor = placed.grooms.get(name)
        if groom_actor is None:
            groom_actor = _actors().spawn_actor_from_class(unreal.GroomActor, location, rotation)
            groom_actor.set_actor_label(f"{character.name}_{name}")
            groom_actor.tags = [TAG, TAG_CHARACTER + character.name, TAG_GROOM + name]
            if face is not None:
                groom_actor.attach_to_component(face, "", rule, rule, rule, False)
            else:
                groom_actor.attach_to_actor(placed.actor, "", rule, rule, rule, False)
            placed.grooms[name] = groom_actor
        component = groom_actor.groom_component
        component.set_groom_asset(groom)
        component.set_binding_asset(bindings[name])


def _bind_studio_meshes(placed: PlacedCharacter, character: ImportedCharacter, location, rotation) -> None:
    """One actor per studio skeletal mesh, attached to the character and driven by its pose
    (a leader pose component: the outfit must be skinned to the character's skeleton)."""
    for asset_id in list(placed.studio):
        _actors().destroy_actor(placed.studio.pop(asset_id))
    rule = unreal.AttachmentRule.SNAP_TO_TARGET
    for asset_id, mesh in character.studio_meshes.items():
        actor = _actors().spawn_actor_from_object(mesh, location, rotation)
        actor.set_actor_label(f"{character.name}_{asset_id.replace('/', '_')}")
        actor.tags = [TAG, TAG_CHARACTER + character.name, TAG_ASSET + asset_id]
        actor.attach_to_actor(placed.actor, "", rule, rule, rule, False)
        actor.skeletal_mesh_component.set_leader_pose_component(placed.actor.skeletal_mesh_component)
        actor.set_folder_path(OUTLINER_FOLDER)
        placed.studio[asset_id] = actor


def place(character: ImportedCharacter, location=None, facing_yaw_deg: float = MESH_FRONT_YAW_DEG, *,
          job_id: str | None = None, package_dir: str | None = None, label: str | None = None,
          rig: RigBinding | None = None) -> PlacedCharacter:
    """Spawn the character at ``location`` (cm) facing ``facing_yaw_deg`` (Unreal yaw, 0 = +X; the
    default keeps the actor unrotated); grooms follow the mesh. A built MetaHuman (``rig``) is placed
    instead of the imported mesh."""
    location = location or unreal.Vector(0.0, 0.0, 0.0)
    rotation = unreal.Rotator(0.0, 0.0, actor_yaw(facing_yaw_deg))
    if rig is not None and rig.kind == "metahuman":
        actor = metahuman.spawn_metahuman(rig, location, rotation)
    else:
        actor = _actors().spawn_actor_from_object(character.skeletal_mesh, location, rotation)
    if actor is None:
        raise RuntimeError(f"cannot place {character.skeletal_mesh.get_path_name()} in the level")
    actor.set_actor_label(label or character.name)
    actor.tags = _with_source([TAG, TAG_CHARACTER + character.name], job_id, package_dir)
    actor.set_folder_path(OUTLINER_FOLDER)
    placed = PlacedCharacter(actor, {})
    _bind_grooms(placed, character, location, rotation, rig)
    for groom_actor in placed.grooms.values():
        groom_actor.set_folder_path(OUTLINER_FOLDER)
    _bind_studio_meshes(placed, character, location, rotation)
    return placed


def find_placed(actor) -> PlacedCharacter | None:
    """The character an actor belongs to (the mesh actor itself, one of its grooms or studio meshes)."""
    if actor is None or not actor.actor_has_tag(TAG):
        return None
    if isinstance(actor, unreal.GroomActor) or tag_value(actor, TAG_ASSET) is not None:
        actor = actor.get_attach_parent_actor()
        if actor is None:
            return None
    grooms, studio = {}, {}
    for other in _actors().get_all_level_actors():
        if other.get_attach_parent_actor() != actor:
            continue
        if isinstance(other, unreal.GroomActor):
            grooms[tag_value(other, TAG_GROOM) or other.get_actor_label()] = other
        elif tag_value(other, TAG_ASSET) is not None:
            studio[tag_value(other, TAG_ASSET)] = other
    return PlacedCharacter(actor, grooms, studio)


def refresh(placed: PlacedCharacter, character: ImportedCharacter, *, job_id: str | None = None,
            package_dir: str | None = None, rig: RigBinding | None = None) -> None:
    """After a re-import in place: point the actors at the new mesh, grooms and bindings."""
    placed.actor.skeletal_mesh_component.set_skeletal_mesh_asset(character.skeletal_mesh)
    for name in list(placed.grooms):
        if name not in character.grooms:  # the edit removed this groom (e.g. shaved the beard)
            _actors().destroy_actor(placed.grooms.pop(name))
    _bind_grooms(placed, character, placed.actor.get_actor_location(), placed.actor.get_actor_rotation(), rig)
    _bind_studio_meshes(placed, character, placed.actor.get_actor_location(), placed.actor.get_actor_rotation())
    kept = [t for t in (str(x) for x in placed.actor.tags) if not t.startswith((TAG_JOB, TAG_PACKAGE))]
    placed.actor.tags = _with_source(kept, job_id, package_dir)
