"""A ShapedBody built straight from anny (rest pose, default shape) for the mouth and eye tests.

Stands in for ``machcreator.template.shape_body`` while that module is not there; tests import
``shaped_body()`` and never depend on how it was made.
"""

from __future__ import annotations

import functools

import numpy as np

from machcreator.character import ARKIT_BLENDSHAPES, ShapedBody, Skeleton

_LABELS = ("body", "head", "hand.L", "hand.R", "foot.L", "foot.R", "eye_front.L", "eye_back.L",
           "eye_cavity.L", "eye_front.R", "eye_back.R", "eye_cavity.R", "mouth_cavity", "tongue")


@functools.lru_cache(maxsize=1)
def shaped_body() -> ShapedBody:
    """anny's default body in its rest pose, with its 52 ARKit facial-action deltas (~2 s)."""
    try:
        from machcreator.template import load_anny, shape_body
    except ImportError:
        return _from_anny()
    from machcreator.attributes import Attributes, resolve

    return shape_body(load_anny(), resolve(Attributes(), seed=0))


def _from_anny() -> ShapedBody:
    import anny
    import torch
    from anny.face_segmentation import get_face_segmentation_mask

    model = anny.Anny(local_changes="default", facial_actions="all").to(torch.float32)
    names = list(model.facial_action_labels)
    with torch.no_grad():
        rest = model()
        batch = torch.eye(len(names), dtype=torch.float32)
        acted = model(facial_actions={n: batch[:, i] for i, n in enumerate(names)})
    positions = rest["vertices"][0].numpy()
    deltas = acted["vertices"].numpy() - positions[None]
    order = [names.index(n) for n in ARKIT_BLENDSHAPES]
    faces = model.get_triangular_faces().numpy().astype(np.int64)
    labels = np.full(len(faces), "body", dtype=object)
    for label in _LABELS:
        labels[get_face_segmentation_mask(model, [label]).numpy()] = label
    uv = model.texture_coordinates.numpy()[model.face_texture_coordinate_indices.numpy()]
    uv = np.stack([uv[..., 0], 1.0 - uv[..., 1]], -1).astype(np.float32)
    weights = model.vertex_bone_weights.numpy().astype(np.float32)
    joints = model.vertex_bone_indices.numpy().astype(np.int64)
    weights /= weights.sum(1, keepdims=True)
    bones = list(model.bone_labels)
    skeleton = Skeleton(bone_names=bones, parents=np.full(len(bones), -1),
                        rest_world=np.tile(np.eye(4, dtype=np.float32), (len(bones), 1, 1)))
    return ShapedBody(positions=positions.astype(np.float32), faces=faces,
                      face_labels=labels.astype(str), corner_uvs=uv, joints=joints,
                      weights=weights, morph_deltas=deltas[order].astype(np.float32),
                      skeleton=skeleton)
