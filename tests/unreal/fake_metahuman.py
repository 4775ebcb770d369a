"""The fake editor's MetaHuman Creator (plugin MetaHumanCharacter, UE 5.7 API)."""
from __future__ import annotations

from fake_unreal import FakeEditor


def _xyz(value) -> tuple[float, float, float]:
    from fake_editor_behaviour import _xyz as xyz
    return xyz(value)


def install_metahuman(editor: FakeEditor) -> None:
    """A MetaHuman Character editor (UE 5.7 API) that records what a script asks of it."""
    h = editor.handle
    state: dict = {"editing": set(), "landmarks": [(x, 10.0, 160.0 + z) for x in (-3.0, 0.0, 3.0) for z in (-4.0, 0.0, 4.0)]}
    editor.metahuman = state
    S = "MetaHumanCharacterEditorSubsystem"

    @h(S, "try_add_object_to_edit")
    def _add(subsystem, character):
        state["editing"].add(character._asset_path)
        return True

    @h(S, "remove_object_to_edit")
    def _remove(subsystem, character):
        state["editing"].discard(character._asset_path)

    def editing(character):
        if character._asset_path not in state["editing"]:
            raise RuntimeError("MetaHuman Creator: the character is not open for editing")

    @h(S, "get_face_landmarks")
    def _landmarks(subsystem, character):
        editing(character)
        return [editor.new("Vector", x=x, y=y, z=z) for x, y, z in state["landmarks"]]

    @h(S, "translate_face_landmarks")
    def _translate(subsystem, character, landmark_indices, deltas):
        editing(character)
        character._data["landmark_deltas"] = [(i, _xyz(d)) for i, d in zip(landmark_indices, deltas)]

    @h(S, "commit_face_state")
    def _commit(subsystem, character):
        editing(character)
        character._data["committed"] = True

    @h(S, "request_auto_rigging")
    def _rig(subsystem, character, params=None):
        editing(character)
        character._data["rig"] = params.rig_type.name if params is not None else None

    h(S, "can_build_meta_human")(lambda subsystem, character, log_error=False: bool(character._data.get("rig")))

    @h(S, "build_meta_human")
    def _build(subsystem, character, params):
        editing(character)
        name = params.name_override
        editor.new("SkeletalMesh", f"/Game/MetaHumans/{name}/Face/SKM_{name}_FaceMesh")
        character._data["built"] = params.pipeline_type.name
