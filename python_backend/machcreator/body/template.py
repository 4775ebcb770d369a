"""The anny template: load it once per process and shape it for one character (Mach §2.2).

anny (NAVER, Apache-2.0 code, CC0 MakeHuman data) is a parametric full body: phenotypes, 254
local face/body shape changes and the 52 ARKit facial actions are linear blendshapes, and a
104-bone rig skins it. :func:`shape_body` runs it in its rest pose and returns the welded mesh
with everything the later stages need (:class:`machcreator.character.ShapedBody`).

Axes: anny's own (metres, Z-up, the character faces -Y, +X is its left), translated along Z so
the soles touch the floor ``z = 0`` (Unreal and Blender put a character's origin at its feet).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from machcreator.attributes import Attributes
from machcreator.character import ARKIT_BLENDSHAPES, ShapedBody, Skeleton
from machcreator.body.shape_table import AnnyParameters, anny_parameters

if TYPE_CHECKING:
    import anny

#: anny's segmentation labels (anny/data/segmentation/body_parts_segmentation.yaml).
FACE_LABELS: tuple[str, ...] = (
    "body", "head", "hand.L", "hand.R", "foot.L", "foot.R", "eye_front.L", "eye_back.L",
    "eye_cavity.L", "eye_front.R", "eye_back.R", "eye_cavity.R", "mouth_cavity", "tongue",
)
#: skin influences kept per vertex (glTF's JOINTS_0/WEIGHTS_0 hold 4; anny stores 9).
SKIN_INFLUENCES = 4
CACHE_ENV = "MACH_ANNY_CACHE"
FIRST_RUN_MESSAGE = "Building the anny template cache (first run only, ~100 s, ~1.2 GB)..."


def load_anny(cache_dir: Path | None = None,
              progress: Callable[[str], None] | None = None) -> "anny.Anny":
    """The anny model (rig "anny", default local changes, all facial actions and phenotypes), float32.

    Built once per process and cache directory. The cache directory is ``cache_dir``, else the
    environment variable ``MACH_ANNY_CACHE``, else anny's default (``~/.cache/anny``). When it
    holds no model yet, ``progress`` is told that the one-off build (~100 s) starts.
    """
    anny = _import_anny()
    chosen = cache_dir if cache_dir is not None else os.environ.get(CACHE_ENV)
    cache = Path(chosen).expanduser() if chosen is not None else anny.paths.get_anny_cache_path()
    if progress is not None and not any(Path(cache).glob("v*/build_compact_model_data_*.safetensors")):
        progress(FIRST_RUN_MESSAGE)
    return _build_anny(str(cache))


@functools.lru_cache(maxsize=2)
def _build_anny(cache_dir: str) -> "anny.Anny":
    anny = _import_anny()
    anny.paths.set_anny_cache_path(cache_dir)
    # "all" phenotypes: anny's default set leaves out the ancestry (race) blendshapes; with them
    # body.ancestry shapes the face (measured: first build +9 s once, load 1.7 s vs 1.5 s)
    model = anny.Anny(rig="anny", local_changes="default", facial_actions="all", phenotypes="all")
    return model.to(torch.float32).eval()


def _import_anny():
    import warp

    warp.config.log_level = logging.ERROR  # warp announces its devices on stdout otherwise
    with _native_stderr_silenced():
        # warp's C++ core prints a "no CUDA driver" warning when it starts on a machine without
        # a GPU; anny runs on the CPU here, so that line would only alarm users
        warp.init()
    import anny

    return anny


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the block (catches writes from C code too)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def shape_body(model: "anny.Anny", params: AnnyParameters | Attributes) -> ShapedBody:
    """Run anny in its rest pose for one character.

    Args:
        model: from :func:`load_anny`.
        params: anny's named parameters, or resolved attributes (mapped by
            :func:`machcreator.body.shape_table.anny_parameters`).

    Returns:
        The shaped welded mesh (V = 13,718, F = 27,420), soles on ``z = 0``, with the 52 ARKit
        facial actions as rest-pose deltas (one batched forward of 53 rows: neutral + each
        action at weight 1).
    """
    if isinstance(params, Attributes):
        params = anny_parameters(params)
    topo = _topology(model)
    names = list(model.facial_action_labels)
    if sorted(names) != sorted(ARKIT_BLENDSHAPES):
        raise RuntimeError(f"anny's facial actions are not the 52 ARKit names: {names}")
    order = [names.index(n) for n in ARKIT_BLENDSHAPES]
    n = len(ARKIT_BLENDSHAPES)
    actions = torch.zeros(n + 1, n, dtype=torch.float32)
    actions[1:] = torch.eye(n)[order]  # row 0 neutral, row k+1 = ARKit name k
    with torch.no_grad():
        out = model(phenotype_kwargs=dict(params.phenotypes),
                    local_changes_kwargs=dict(params.local_changes),
                    facial_actions=actions)
    verts = out["rest_vertices"].numpy()
    rest = verts[0]
    floor = np.array([0.0, 0.0, -float(rest[:, 2].min())], np.float32)
    rest_world = out["rest_bone_poses"][0].numpy().astype(np.float32).copy()
    rest_world[:, :3, 3] += floor
    return ShapedBody(
        positions=(rest + floor).astype(np.float32),
        faces=topo["faces"],
        face_labels=topo["labels"],
        corner_uvs=topo["corner_uvs"],
        joints=topo["joints"],
        weights=topo["weights"],
        morph_deltas=(verts[1:] - rest[None]).astype(np.float32),
        skeleton=Skeleton(bone_names=list(model.bone_labels), parents=topo["parents"],
                          rest_world=rest_world),
    )


@functools.lru_cache(maxsize=2)
def _topology(model: "anny.Anny") -> dict[str, np.ndarray]:
    """What does not depend on the shape: faces, labels, UVs, skin, bone parents (~0.3 s once)."""
    from anny.face_segmentation import get_face_segmentation_mask

    faces = model.get_triangular_faces().numpy().astype(np.int64)
    labels = np.full(len(faces), "", dtype=object)
    for label in FACE_LABELS:
        labels[get_face_segmentation_mask(model, [label]).numpy()] = label
    if (labels == "").any():
        raise RuntimeError(f"{int((labels == '').sum())} anny faces have no segmentation label")
    # anny's UVs have a bottom-left origin (its segmentation lookup reads row (1 - v)·H);
    # flipping v lands mpfb_lips.jpg on the lip faces (tests/test_template.py checks it).
    uv = model.texture_coordinates.numpy()[model.face_texture_coordinate_indices.numpy()]
    corner_uvs = np.stack([uv[..., 0], 1.0 - uv[..., 1]], -1).astype(np.float32)
    joints, weights = top_k_skin(model.vertex_bone_indices.numpy(),
                                 model.vertex_bone_weights.numpy(), SKIN_INFLUENCES)
    parents = np.asarray(model.bone_parents, np.int64)
    if np.any(parents >= np.arange(len(parents))):
        raise RuntimeError("anny's bones are not ordered parents-first")
    return {"faces": faces, "labels": labels.astype(str), "corner_uvs": corner_uvs,
            "joints": joints, "weights": weights, "parents": parents}


def top_k_skin(indices: np.ndarray, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each vertex's ``k`` strongest bone influences, renormalised.

    Args:
        indices: (V, N) int bone indices; weights: (V, N) float, rows summing to 1.

    Returns:
        (V, k) int64 indices and (V, k) float32 weights summing to 1, strongest first.
    """
    order = np.argsort(-weights, axis=1, kind="stable")[:, :k]
    w = np.take_along_axis(weights, order, 1).astype(np.float64)
    w /= w.sum(1, keepdims=True)
    return np.take_along_axis(indices, order, 1).astype(np.int64), w.astype(np.float32)


if __name__ == "__main__":
    # `python -m machcreator.body.template`: build anny's cache once, up front (CI, installers)
    load_anny(progress=lambda msg: print(msg, flush=True))
    print(f"anny template ready ({os.environ.get(CACHE_ENV) or 'default cache'})")
