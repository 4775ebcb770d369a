"""Fit the head's shape and the camera to a photo's landmarks (Mach eq. 1-5), in torch on the CPU.

The unknown is a displacement map D over the head's UV layout (a position map relative to the
template, 3 × S × S, metres): every head vertex moves by D sampled at its UV (vertices the UV
seams split move together), so the map's resolution, not the mesh, sets how fine the fit can
be. With the camera's rotation and translation (fixed intrinsics) it minimises

    E = E_lmk + w_tv · TV(D) + w_sym · E_sym + w_reg · mean ‖d‖²

- E_lmk: mean squared distance, in pixels, between each landmark's projected surface point and
  the detected landmark (eq. 2), less the detector's noise (``noise_px``: a residual that
  short costs nothing);
- TV(D): total variation of the map (eq. 3), so it stays smooth between landmarks;
- E_sym: each vertex's displacement against its mirror vertex's, mirrored (eq. 4): faces are
  close to symmetric and a single view under-constrains the far side;
- a small pull back to the template where nothing constrains the map.

The map's mean is removed (the camera, not the map, moves the head). Started from the template
and a PnP camera alone, the camera's distance and the face's width trade against each other (a
single view's scale ambiguity): :mod:`machcreator.photo.head` starts it from anny's fitted face
space (:mod:`machcreator.photo.parametric`) instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree

from machcreator.photo.camera import PhotoCamera
from machcreator.photo.correspondence import Correspondence


@dataclass
class GeometryFitConfig:
    """map_size: the displacement map's side; steps: Adam steps; lr: Adam's step (metres for the
    map, radians and metres for the camera); the weights of eq. 1-5 (pixels² per metre-scale);
    noise_px: landmark residuals up to this length cost nothing (the detector's own noise, which
    a free-form map would otherwise learn as shape)."""

    map_size: int = 32
    steps: int = 100
    lr: float = 2e-3
    tv_weight: float = 2e3
    symmetry_weight: float = 1e5
    regularise_weight: float = 1e3
    fit_camera: bool = True
    noise_px: float = 2.0


@dataclass
class GeometryFit:
    """positions (V, 3) the fitted head (metres); camera the refined pose; error_px the mean
    landmark reprojection error after the fit, and before it."""

    positions: np.ndarray
    camera: PhotoCamera
    error_px: float
    initial_error_px: float


def mirror_vertices(positions: np.ndarray) -> np.ndarray:
    """(V,) for each vertex the index of the vertex nearest its mirror image across x = 0."""
    return cKDTree(positions).query(positions * np.array([-1.0, 1.0, 1.0]))[1]


def _welded(positions: np.ndarray) -> tuple[np.ndarray, int]:
    """(V,) group of each vertex among those at the same point (UV seams split vertices)."""
    _, group = np.unique(np.round(positions, 6), axis=0, return_inverse=True)
    group = group.reshape(-1)
    return group, int(group.max()) + 1


def _rodrigues(rvec: torch.Tensor) -> torch.Tensor:
    theta = torch.sqrt((rvec**2).sum() + 1e-20)
    k = rvec / theta
    kx = torch.zeros(3, 3, dtype=rvec.dtype)
    kx[0, 1], kx[0, 2], kx[1, 0], kx[1, 2], kx[2, 0], kx[2, 1] = -k[2], k[1], k[2], -k[0], -k[1], k[0]
    return torch.eye(3, dtype=rvec.dtype) + torch.sin(theta) * kx + (1 - torch.cos(theta)) * kx @ kx


def fit_geometry(positions: np.ndarray, faces: np.ndarray, uvs: np.ndarray, correspondence: Correspondence,
                 landmarks_px: np.ndarray, camera: PhotoCamera,
                 config: GeometryFitConfig = GeometryFitConfig()) -> GeometryFit:
    """Fit the head (template ``positions`` (V, 3), ``faces``, ``uvs`` (V, 2) top-left origin)
    and ``camera`` (the PnP start) to ``landmarks_px`` (P, 2) detected in the photo."""
    valid = correspondence.valid & np.isfinite(landmarks_px).all(1)
    if valid.sum() < 6:
        raise ValueError(f"{int(valid.sum())} usable landmarks; at least 6 are needed to fit the head")
    dtype = torch.float64
    x0 = torch.tensor(positions, dtype=dtype)
    tri = torch.tensor(faces[correspondence.faces[valid]], dtype=torch.long)  # (P, 3)
    bary = torch.tensor(correspondence.bary[valid], dtype=dtype)
    target = torch.tensor(landmarks_px[valid], dtype=dtype)
    grid = torch.tensor(uvs * 2 - 1, dtype=dtype)[None, None]  # (1, 1, V, 2) for grid_sample
    group, groups = _welded(positions)
    group_t = torch.tensor(group, dtype=torch.long)
    counts = torch.bincount(group_t, minlength=groups).to(dtype)[:, None]
    mirror = torch.tensor(mirror_vertices(positions), dtype=torch.long)
    flip = torch.tensor([-1.0, 1.0, 1.0], dtype=dtype)

    dmap = torch.zeros(1, 3, config.map_size, config.map_size, dtype=dtype, requires_grad=True)
    rvec0 = torch.tensor(_log_rotation(camera.rotation), dtype=dtype)
    rvec = rvec0.clone().requires_grad_(config.fit_camera)
    tvec = torch.tensor(camera.translation, dtype=dtype).requires_grad_(config.fit_camera)
    focal, centre = camera.focal_px, torch.tensor(camera.centre, dtype=dtype)
    params = [dmap] + ([rvec, tvec] if config.fit_camera else [])
    optimiser = torch.optim.Adam(params, lr=config.lr)

    def displaced() -> torch.Tensor:
        d = F.grid_sample(dmap, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0].T
        welded = torch.zeros(groups, 3, dtype=dtype).index_add_(0, group_t, d) / counts
        welded = welded - welded.mean(0)  # the camera moves the head; the map only reshapes it
        return welded[group_t]  # (V, 3): seam duplicates move together

    def reprojection(x: torch.Tensor) -> torch.Tensor:
        points = (bary[..., None] * x[tri]).sum(1)
        cam = points @ _rodrigues(rvec).T + tvec
        return cam[:, :2] / cam[:, 2:3] * focal + centre - target  # (P, 2) pixels

    with torch.no_grad():
        initial = float(reprojection(x0).norm(dim=1).mean())
    for _ in range(config.steps):
        optimiser.zero_grad()
        d = displaced()
        # residuals within the detector's noise are left alone: the map would only learn the noise
        r = (reprojection(x0 + d).pow(2).sum(1) + 1e-12).sqrt()
        loss = (r - config.noise_px).clamp(min=0).pow(2).mean()
        tv = (dmap[:, :, 1:] - dmap[:, :, :-1]).abs().mean() + (dmap[:, :, :, 1:] - dmap[:, :, :, :-1]).abs().mean()
        sym = ((d - d[mirror] * flip) ** 2).sum(1).mean()
        loss = loss + config.tv_weight * tv + config.symmetry_weight * sym + config.regularise_weight * (d**2).sum(1).mean()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        x = x0 + displaced()
        error = float(reprojection(x).norm(dim=1).mean())
        rotation = _rodrigues(rvec).numpy()
    fitted_camera = dataclasses.replace(camera, rotation=rotation, translation=tvec.detach().numpy().copy())
    return GeometryFit(positions=x.numpy(), camera=fitted_camera, error_px=error, initial_error_px=initial)


def _log_rotation(rotation: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.Rodrigues(np.asarray(rotation, np.float64))[0].reshape(3)
