"""Live Link Face (ARKit mode) drives the character's 52 ARKit morph targets, set up from Python.

How the pieces fit (UE 5.4-5.7):

* The iPhone app "Live Link Face" in ARKit mode streams the 52 ARKit blendshapes (PascalCase
  curve names: ``EyeBlinkLeft``...) plus head/eye rotations. The editor receives them through the
  **Apple ARKit Face Support** plugin (``AppleARKitFaceSupport``; modules for Win64, Mac and iOS,
  so Windows and macOS editors, not Linux), whose Live Link source listens (UDP 11111) only when
  ``[/Script/AppleARKit.AppleARKitSettings] bEnableLiveLinkForFaceTracking=True`` is in the
  project's DefaultEngine.ini at editor start (AppleARKitFaceSupportModule.cpp,
  ``OnModularFeatureAvailable``; :func:`ue_scripts.project_settings.enable_live_link_face`).
  Each phone is a Live Link subject of the Basic role, named as set in the app.
* Curves drive morph targets of the same name (FName: case-insensitive) once the skeleton knows
  them as morph-target curves: our Interchange import adds that curve metadata.
* What turns a Live Link subject into curves on a mesh is the ``Live Link Pose`` anim node
  (``FAnimNode_LiveLinkPose``: a Basic-role subject's properties become curves through the
  default ``LiveLinkRemapAsset``; AnimNode_LiveLinkPose.cpp). Python cannot add anim graph nodes,
  but the engine ships an anim instance that is nothing but that node: ``unreal.LiveLinkInstance``
  (module LiveLinkAnimationCore, ``set_subject``, ``set_retarget_asset``; Epic's Python API page
  ``python-api/class/LiveLinkInstance``). The skeletal mesh editor's "Live Link Preview Controller"
  uses exactly it: ``SetAnimInstanceClass(ULiveLinkInstance::StaticClass())`` then
  ``SetSubject(...)`` (LiveLinkPreviewController.cpp). :func:`wire_live_link` does the same on the
  character's actors in the level and lets them animate in the editor viewport.

Limits (documented, not hidden): the instance's subject is transient, so it is re-applied from the
actor's tag by :func:`rewire_level` (call it when a level opens); Play In Editor and packaged games
run a fresh instance with no subject: for those make an Animation Blueprint for the character's
skeleton with a ``Live Link Pose`` node (Subject Name = your phone) into the Output Pose and set it
as the actor's Anim Class (a manual step: no Python API authors anim graphs in 5.4-5.7). The body
stays in its reference pose while the face is driven.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import unreal

from ue_scripts import project_settings
from ue_scripts.environment import EngineInfo
from ue_scripts.package import ARKIT_LIVE_LINK_CURVES

LIVE_LINK_PLUGIN = "LiveLink"
ARKIT_FACE_PLUGIN = "AppleARKitFaceSupport"
TAG_SUBJECT = "MachCreator.LiveLink="
#: the default Live Link Face port (AppleARKitSettings LiveLinkPublishingPort)
PORT = 11111


def live_link_missing(info: EngineInfo, *, check_ini: bool = True) -> list[str]:
    """What stops Live Link Face (ARKit) driving a character here (empty: nothing), one line each."""
    out = []
    if LIVE_LINK_PLUGIN not in info.plugins:
        out.append(f"the {LIVE_LINK_PLUGIN} plugin (Edit > Plugins, enable Live Link, restart the editor)")
    if ARKIT_FACE_PLUGIN not in info.plugins:
        out.append(f"the {ARKIT_FACE_PLUGIN} plugin ('Apple ARKit Face Support': the Live Link Face app's source; "
                   "Windows and macOS editors; enable it and restart)")
    if check_ini:
        try:
            listening = project_settings.live_link_face_in_ini()
        except (OSError, project_settings.SettingsError):
            listening = False
        if not listening:
            out.append(f"[{project_settings.ARKIT_SECTION}] {project_settings.LIVE_LINK_FACE_KEY}=True in the "
                       "project's Config/DefaultEngine.ini (the ARKit source listens only then; restart after)")
    return out


def arkit_coverage(mesh) -> tuple[list[str], list[str]]:
    """(ARKit curves a morph target of ``mesh`` answers to, ARKit curves none does)."""
    names = {str(n).lower() for n in mesh.get_all_morph_target_names()}
    covered = [c for c in ARKIT_LIVE_LINK_CURVES if c.lower() in names]
    return covered, [c for c in ARKIT_LIVE_LINK_CURVES if c.lower() not in names]


@dataclass
class LiveLinkWiring:
    subject: str
    actors: list = field(default_factory=list)  # the SkeletalMeshActors now driven by the subject
    morphs: int = 0  # ARKit curves with a morph target
    notes: list[str] = field(default_factory=list)

    @property
    def wired(self) -> bool:
        return bool(self.actors) and self.morphs == len(ARKIT_LIVE_LINK_CURVES)


def _live_link_on() -> bool:
    """The Live Link plugin is enabled (and so its LiveLinkAnimationCore classes are loaded)."""
    return (LIVE_LINK_PLUGIN in unreal.PluginBlueprintLibrary.get_enabled_plugin_names()
            and getattr(unreal, "LiveLinkInstance", None) is not None)


def _subject_name(subject: str):
    return unreal.LiveLinkSubjectName(name=subject)


def _mesh_actors(mesh) -> list:
    subsystem = unreal.get_editor_subsystem(unreal.EditorActorSubsystem)
    return [a for a in subsystem.get_all_level_actors()
            if isinstance(a, unreal.SkeletalMeshActor)
            and a.skeletal_mesh_component.get_editor_property("skeletal_mesh_asset") == mesh]


def drive_component(component, subject: str) -> None:
    """Make ``component`` play the Live Link subject (a LiveLinkInstance), also in the editor viewport."""
    component.set_anim_instance_class(unreal.LiveLinkInstance)
    instance = component.get_anim_instance()
    if not isinstance(instance, unreal.LiveLinkInstance):
        raise RuntimeError("the skeletal mesh component made no LiveLinkInstance (is it registered in a level?)")
    instance.set_subject(_subject_name(subject))  # the node's default LiveLinkRemapAsset keeps curve names
    component.set_update_animation_in_editor(True)


def wire_live_link(mesh, subject: str, *, actors: list | None = None) -> LiveLinkWiring:
    """Drive ``mesh``'s morph targets from the Live Link subject ``subject`` (the phone's name in
    Live Link Face) on every actor of it in the level (or on ``actors``).

    The actors are tagged with the subject, so :func:`rewire_level` can restore the wiring after the
    level is reloaded. Raises if the LiveLink plugin is off or the mesh lacks ARKit morph targets."""
    if not subject or not str(subject).strip():
        raise ValueError("the Live Link subject name is empty: use the name Live Link Face shows for your phone")
    if not _live_link_on():
        raise RuntimeError("the Live Link plugin is off: enable the Live Link plugin and restart the editor")
    covered, missing = arkit_coverage(mesh)
    if missing:
        more = "..." if len(missing) > 5 else ""
        raise RuntimeError(f"{mesh.get_path_name()} has {len(covered)} of the 52 ARKit morph targets (missing "
                           f"{', '.join(missing[:5])}{more}): Live Link Face cannot drive it")
    wiring = LiveLinkWiring(str(subject), morphs=len(covered))
    for actor in (actors if actors is not None else _mesh_actors(mesh)):
        drive_component(actor.skeletal_mesh_component, wiring.subject)
        actor.tags = [t for t in actor.tags if not str(t).startswith(TAG_SUBJECT)] + [TAG_SUBJECT + wiring.subject]
        wiring.actors.append(actor)
    if not wiring.actors:
        wiring.notes.append(f"no actor of {mesh.get_name()} is in the level: place the character, then wire it")
    wiring.notes.append("Play In Editor and packaged games need an Animation Blueprint with a Live Link Pose node "
                        f"(Subject Name '{wiring.subject}') as the actor's Anim Class; the editor viewport is "
                        "driven now")
    return wiring


def subject_of(actor) -> str | None:
    """The Live Link subject an actor is wired to (by its tag), or None."""
    for tag in actor.tags:
        if str(tag).startswith(TAG_SUBJECT):
            return str(tag)[len(TAG_SUBJECT):]
    return None


def rewire_level() -> int:
    """Re-apply every tagged actor's Live Link subject (the anim instance forgets it when the level
    reloads); returns how many actors were wired."""
    if not _live_link_on():
        return 0
    count = 0
    for actor in unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_all_level_actors():
        subject = subject_of(actor) if isinstance(actor, unreal.SkeletalMeshActor) else None
        if subject:
            drive_component(actor.skeletal_mesh_component, subject)
            count += 1
    return count
