"""The fake editor's Live Link (issue 20.7): anim instances on skeletal mesh components, the
LiveLinkInstance (a Live Link Pose node as an anim instance), and Live Link Face subjects.

The engine (see ue_scripts/livelink.py for the sources): ``SetAnimInstanceClass`` makes a
registered component create an instance of the class; a ``LiveLinkInstance`` evaluates its subject
each tick, and a Basic-role subject's properties become curves of the same name (the default
``LiveLinkRemapAsset``); curves drive morph targets whose names match case-insensitively (FName)
when the skeleton has them as morph-target curves. In the level editor (not PIE) a component
animates only with ``update_animation_in_editor``. The ARKit source (plugin AppleARKitFaceSupport)
listens only when ``bEnableLiveLinkForFaceTracking`` was in the project's DefaultEngine.ini at start.
"""
from __future__ import annotations

from fake_grooms import ini_settings
from fake_unreal import FakeEditor, FakeObject

ARKIT_SECTION = "/Script/AppleARKit.AppleARKitSettings"


def install_livelink(editor: FakeEditor) -> None:
    h = editor.handle
    settings = ini_settings(editor.project_dir / "Config" / "DefaultEngine.ini", ARKIT_SECTION)
    editor.live_link_face_listening = ("AppleARKitFaceSupport" in editor.plugins and "LiveLink" in editor.plugins
                                       and settings.get("bEnableLiveLinkForFaceTracking", "").lower() in ("true", "1"))
    editor.live_link_subjects: dict[str, dict[str, float]] = {}

    def push_live_link_face(subject: str, curves: dict[str, float]) -> bool:
        """The Live Link Face app streams a frame; False if nothing in the editor listens."""
        if not editor.live_link_face_listening:
            return False
        editor.live_link_subjects[subject] = dict(curves)
        return True

    def owner(component) -> FakeObject | None:
        return next((a for a in editor.actors if a._props.get("skeletal_mesh_component") is component), None)

    @h("SkeletalMeshComponent", "set_anim_instance_class")
    def _set_class(component, new_class):
        component._props["anim_class"] = new_class
        component._props["animation_mode"] = editor.module.AnimationMode.ANIMATION_BLUEPRINT
        component._data["anim_instance"] = (editor.new(new_class._spec_name)
                                            if new_class is not None and owner(component) is not None else None)

    h("SkeletalMeshComponent", "get_anim_instance")(lambda component: component._data.get("anim_instance"))

    @h("SkeletalMeshComponent", "set_update_animation_in_editor")
    def _update_in_editor(component, new_update_state):
        component._props["update_animation_in_editor"] = bool(new_update_state)

    if "LiveLinkInstance" in editor.api.classes:
        @h("LiveLinkInstance", "set_subject")
        def _subject(instance, subject_name):
            instance._data["subject"] = str(subject_name._props.get("name"))

        @h("LiveLinkInstance", "set_retarget_asset")
        def _retarget(instance, retarget_asset):
            instance._data["retarget"] = retarget_asset

    def morph_weights(actor, *, playing: bool = False) -> dict[str, float]:
        """The morph target weights the actor's mesh shows this frame (``playing``: in PIE/game,
        else in the level editor viewport)."""
        component = actor.skeletal_mesh_component
        instance = component._data.get("anim_instance")
        mesh = component._props.get("skeletal_mesh_asset")
        if instance is None or instance._spec_name != "LiveLinkInstance" or mesh is None:
            return {}
        if not playing and not component._props.get("update_animation_in_editor"):
            return {}
        curves = editor.live_link_subjects.get(instance._data.get("subject"), {})
        if not mesh._data.get("curve_metadata"):
            return {}
        by_lower = {m.lower(): m for m in mesh._data.get("morphs", [])}
        return {by_lower[c.lower()]: v for c, v in curves.items() if c.lower() in by_lower}

    editor.push_live_link_face = push_live_link_face
    editor.morph_weights = morph_weights
