"""The head fit's start: anny's face shape space and the camera fitted to the photo's landmarks.

Before the free-form position map (:mod:`machcreator.photo.geometry_fit`) moves single regions,
the face is fitted in anny's own parametric space: its face local changes (nose, mouth, eyes,
brows, cheeks, chin, forehead, head proportions; a left/right pair is one parameter, faces being
near symmetric) together with the camera's rotation and translation (fixed intrinsics). The
phenotypes (age, gender, weight...) stay what the prompt made them: they shape the body, which
the photo does not show.

anny's local changes are linear blendshapes with one target for + and one for -, so around the
prompt's face the landmarks move exactly as

    X(θ) = X₀ + Σ_g max(θ_g, 0) · D⁺_g + max(-θ_g, 0) · D⁻_g

with D±_g the landmarks' displacement at θ_g = ±1, measured once by one batched anny run. The
fit minimises the mean squared reprojection error (pixels²) plus ``prior_weight · Σ θ²`` (a
single view cannot tell a wide face far away from a narrow one close by: the prior keeps the
prompt's proportions where the photo says nothing) with L-BFGS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from machcreator.body.shape_table import AnnyParameters
from machcreator.photo.camera import PhotoCamera
from machcreator.photo.geometry_fit import _log_rotation, _rodrigues

#: anny local changes the face fit may move (after a leading "l-"/"r-"): regions the landmarks see
FIT_PREFIXES = ("cheek-", "chin-", "eyebrows-", "eye-", "forehead-", "mouth-", "nose-")
FIT_LABELS = ("head-scale-vert-incr", "head-scale-horiz-incr", "head-scale-depth-incr", "head-fat-incr")
#: shifts off the midline would make the face lopsided; the eyes' bag-out only moves in depth
SKIP_LABELS = ("mouth-trans-out", "nose-trans-out", "chin-cleft-incr", "mouth-dimples-out")


@dataclass
class ParametricConfig:
    """prior_weight: pixels² per unit² of θ; iterations: L-BFGS iterations; step: the local
    change used to measure each blendshape's landmark displacement."""

    # 5 px² per unit²: the detector's error on a face is some 2-3 px at 512²; a weaker prior let
    # the nose and chin depth chase it (NoW-style benchmark: 0.5 → 5 took the fit from worse
    # than its prior to better)
    prior_weight: float = 5.0
    expression_weight: float = 0.5
    iterations: int = 150
    step: float = 1.0


@dataclass
class ParametricFit:
    """parameters: anny's parameters of the fitted face (phenotypes as given); coefficients: θ
    per fitted group (label or "l-/r-" pair); expression: (E,) the facial actions' weights;
    camera the refined pose; error_px the mean landmark reprojection error after the fit and
    before it."""

    parameters: AnnyParameters
    coefficients: dict[str, float]
    expression: np.ndarray
    camera: PhotoCamera
    error_px: float
    initial_error_px: float


def face_groups(labels: list[str]) -> list[tuple[str, ...]]:
    """anny's local-change ``labels`` the face fit moves, a symmetric pair as one group."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        stem = label[2:] if label[:2] in ("l-", "r-") else label
        if label in SKIP_LABELS or not (stem.startswith(FIT_PREFIXES) or label in FIT_LABELS):
            continue
        groups.setdefault(stem, []).append(label)
    return [tuple(sorted(v)) for _, v in sorted(groups.items())]


def landmark_blendshapes(model, params: AnnyParameters, triangles: np.ndarray, bary: np.ndarray,
                         groups: list[tuple[str, ...]], step: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X₀ (P, 3) and D⁺, D⁻ (G, P, 3): the landmarks' rest points on anny (``triangles`` (P, 3)
    anny vertex indices, ``bary`` (P, 3)) and how each group moves them at θ = ±1 (metres)."""
    rows = 1 + 2 * len(groups)
    local = {k: torch.full((rows,), v) for k, v in params.local_changes.items()}
    for g, labels in enumerate(groups):
        for label in labels:
            column = local.setdefault(label, torch.zeros(rows))
            column[1 + 2 * g] += step
            column[2 + 2 * g] -= step
    with torch.no_grad():
        verts = model(phenotype_kwargs=dict(params.phenotypes), local_changes_kwargs=local)["rest_vertices"]
    verts = verts.numpy().astype(np.float64)
    points = np.einsum("pk,bpkc->bpc", bary, verts[:, triangles])  # (rows, P, 3)
    x0 = points[0]
    return x0, (points[1::2] - x0) / step, (points[2::2] - x0) / step


def fit_parametric(model, params: AnnyParameters, triangles: np.ndarray, bary: np.ndarray,
                   landmarks_px: np.ndarray, camera: PhotoCamera, rest_points: np.ndarray | None = None,
                   expressions: np.ndarray | None = None,
                   config: ParametricConfig = ParametricConfig()) -> ParametricFit:
    """Fit anny's face groups and the camera to ``landmarks_px`` (P, 2).

    Args:
        params: the prompt's anny parameters (the fit starts there).
        triangles, bary: each landmark's anny triangle and barycentrics (NaN-free rows only are used).
        camera: the pose to start from (e.g. PnP on the prompt's face).
        rest_points: (P, 3) the landmarks on the character as built from ``params`` (anny's
            output moved onto the floor and aged), used as X₀; default anny's raw output.
        expressions: (E, P, 3) how each facial action at weight 1 moves the landmarks (metres).
    """
    valid = np.isfinite(landmarks_px).all(1) & (triangles >= 0).all(1)
    tri, b, target_np = triangles[valid], bary[valid], landmarks_px[valid]
    groups = face_groups(list(model.local_change_labels))
    x0, d_plus, d_minus = landmark_blendshapes(model, params, tri, b, groups, config.step)
    if rest_points is not None:
        x0 = rest_points[valid].astype(np.float64)
    dtype = torch.float64
    x0_t, dp, dm = (torch.tensor(a, dtype=dtype) for a in (x0, d_plus, d_minus))
    target = torch.tensor(target_np, dtype=dtype)
    theta = torch.zeros(len(groups), dtype=dtype, requires_grad=True)
    expr_d = torch.tensor(expressions[:, valid] if expressions is not None else np.zeros((0, len(x0), 3)), dtype=dtype)
    expr = torch.zeros(len(expr_d), dtype=dtype, requires_grad=True)
    rvec = torch.tensor(_log_rotation(camera.rotation), dtype=dtype, requires_grad=True)
    tvec = torch.tensor(camera.translation, dtype=dtype, requires_grad=True)
    focal, centre = camera.focal_px, torch.tensor(camera.centre, dtype=dtype)

    def residual() -> torch.Tensor:
        pos, neg = theta.clamp(min=0), (-theta).clamp(min=0)
        x = x0_t + torch.einsum("g,gpc->pc", pos, dp) + torch.einsum("g,gpc->pc", neg, dm)
        x = x + torch.einsum("e,epc->pc", expr.clamp(0, 1), expr_d)
        cam = x @ _rodrigues(rvec).T + tvec
        return cam[:, :2] / cam[:, 2:3] * focal + centre - target

    def objective() -> torch.Tensor:
        return ((residual() ** 2).sum(1).mean() + config.prior_weight * (theta**2).sum()
                + config.expression_weight * (expr.clamp(0, 1) ** 2).sum())

    with torch.no_grad():
        initial = float(residual().norm(dim=1).mean())
    optimiser = torch.optim.LBFGS([theta, expr, rvec, tvec], lr=1.0, max_iter=config.iterations,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        error = float(residual().norm(dim=1).mean())
        rotation = _rodrigues(rvec).numpy()
    coefficients = {"/".join(g): float(t) for g, t in zip(groups, theta.detach().numpy())}
    local = dict(params.local_changes)
    for labels, t in zip(groups, theta.detach().numpy()):
        for label in labels:
            local[label] = float(np.clip(local.get(label, 0.0) + t, -1.0, 1.0))
    fitted = dataclasses.replace(camera, rotation=rotation, translation=tvec.detach().numpy().copy())
    return ParametricFit(parameters=AnnyParameters(dict(params.phenotypes), dict(sorted(local.items()))),
                         coefficients=coefficients, expression=expr.detach().clamp(0, 1).numpy(), camera=fitted, error_px=error, initial_error_px=initial)
