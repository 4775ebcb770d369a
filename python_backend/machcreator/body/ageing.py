"""Soft-tissue ageing anny has no shape for: jowls, cheek descent, nasolabial folds, a lax neck.

anny's age phenotype and local changes (``shape_table.DERIVED_ROWS``) thin the lips, lengthen the
nose and ears and hood the lids; what gravity does to the lower face is added here as smooth
displacements of the rest mesh, each a Gaussian region placed by the face's landmarks and scaled
by the ageing level (0 at 25 years, 1 at 90; see ``shape_table.derived_levels``). Axes: anny's (metres, Z up, the face looks to -Y).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from machcreator.character import ShapedBody

#: peak displacements (metres) at ageing 1
JOWL_SAG_M = 0.006
JOWL_OUT_M = 0.002
CHEEK_DESCENT_M = 0.003
FOLD_BULGE_M = 0.0018
NECK_SAG_M = 0.005


def _gauss(d2: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * d2 / (sigma * sigma))


def age_soft_tissue(body: ShapedBody, landmarks: dict[str, np.ndarray], ageing: float) -> ShapedBody:
    """``body`` with its lower face and neck sagged for ``ageing`` in [0, 1] (0: unchanged).

    Only vertices in front of the ears move; the displacement field is smooth, so normals and
    UVs stay valid. Morph deltas are unchanged (expressions add on top of the aged face).
    """
    if ageing <= 0:
        return body
    p = body.positions.astype(np.float64)
    eye_l, eye_r = landmarks["eye_center_l"], landmarks["eye_center_r"]
    unit = float(abs(eye_l[0] - eye_r[0]))
    nose, chin = landmarks["nose_tip"].astype(np.float64), landmarks["chin"].astype(np.float64)
    ear_y = 0.5 * float(landmarks["ear_l"][1] + landmarks["ear_r"][1])
    front = np.clip((ear_y - 0.1 * unit - p[:, 1]) / (0.4 * unit), 0.0, 1.0)
    disp = np.zeros_like(p)
    x, z = p[:, 0], p[:, 2]
    for corner in (landmarks["mouth_corner_l"], landmarks["mouth_corner_r"]):
        side = np.sign(corner[0])
        # jowls: the tissue beside and below the mouth corners drops over the jaw line
        c = np.array([corner[0] + side * 0.35 * unit, corner[1] + 0.3 * unit, corner[2] - 0.45 * unit])
        w = _gauss(((p - c) ** 2).sum(1), 0.25 * unit) * front
        disp[:, 2] -= JOWL_SAG_M * w
        disp[:, 0] += side * JOWL_OUT_M * w
        # mid-cheek fat descends
        c = np.array([side * 0.55 * unit, nose[1] + 0.45 * unit, nose[2] - 0.05 * unit])
        disp[:, 2] -= CHEEK_DESCENT_M * _gauss(((p - c) ** 2).sum(1), 0.3 * unit) * front
        # nasolabial fold: the cheek bulges forward over a line from the nose wing to past the corner
        a = np.array([side * 0.33 * unit, nose[2] + 0.05 * unit])
        b = np.array([corner[0] + side * 0.14 * unit, corner[2] - 0.25 * unit])
        ab = b - a
        t = np.clip(((x - a[0]) * ab[0] + (z - a[1]) * ab[1]) / (ab @ ab), 0.0, 1.0)
        dx, dz = x - (a[0] + t * ab[0]), z - (a[1] + t * ab[1])
        lateral = (dx * side) > 0
        d = np.hypot(dx, dz)
        bulge = _gauss((d - 0.1 * unit) ** 2, 0.07 * unit) * lateral * front * (t > 0.0) * (t < 1.0)
        disp[:, 1] -= FOLD_BULGE_M * bulge
    # the neck under the chin slackens
    under = np.clip((chin[2] - z) / (0.15 * unit), 0.0, 1.0) * np.clip((z - (chin[2] - 1.2 * unit)) / (0.3 * unit), 0.0, 1.0)
    mid = _gauss(x ** 2, 0.6 * unit) * np.clip((p[:, 1] - chin[1]) / (0.2 * unit), 0.0, 1.0) * \
        np.clip((chin[1] + 1.4 * unit - p[:, 1]) / (0.3 * unit), 0.0, 1.0)
    disp[:, 2] -= NECK_SAG_M * under * mid
    return replace(body, positions=(p + ageing * disp).astype(np.float32))
