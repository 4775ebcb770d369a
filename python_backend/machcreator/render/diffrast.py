"""Differentiable rasterisation in torch: the photo fitting renders the head through it (Mach §2.2–2.3).

One interface, two backends (``get_rasterizer``):

- ``TorchRasterizer`` runs anywhere torch does (the CPU included). Visibility (which triangle
  each pixel sees, with a z-buffer) is found by :func:`machcreator.render.raster.rasterize`,
  without gradients, as nvdiffrast does; the barycentrics of the visible triangle are then
  recomputed in torch from the clip-space vertices, perspective-correct, so gradients flow to the
  vertex positions, to every interpolated attribute and, through :func:`sample_texture`, to the
  texture.
- ``NvdiffrastRasterizer`` wraps ``nvdiffrast.torch`` when it is installed and CUDA is present.

Conventions (both backends): clip space as OpenGL (x right, y up, ``w`` > 0 in front of the
camera, NDC in [-1, 1]); images are (H, W) with row 0 at the top and pixel (i, j) sampled at its
centre; UVs have their origin at the texture's top-left corner, u right, v down (glTF).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from machcreator.render.raster import rasterize as _visible_faces


@dataclass
class Fragments:
    """What a rasteriser saw at each pixel.

    face_id: (B, H, W) int64, the visible triangle, -1 where empty.
    bary: (B, H, W, 3) perspective-correct barycentrics of that triangle's vertices (0 where
        empty), differentiable with respect to the vertex positions.
    depth: (B, H, W) NDC depth z/w of the surface (+inf where empty).
    """

    face_id: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor

    @property
    def mask(self) -> torch.Tensor:
        """(B, H, W) bool: a triangle covers the pixel."""
        return self.face_id >= 0


class Rasterizer(Protocol):
    name: str

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, size: tuple[int, int]) -> Fragments:
        """Rasterise (B, V, 4) clip-space vertices with (F, 3) int faces into (H, W) images."""
        ...


def perspective(fov_y_deg: float, aspect: float, near: float, far: float) -> torch.Tensor:
    """(4, 4) OpenGL projection matrix: view space (x right, y up, looking down -z) to clip space."""
    f = 1.0 / np.tan(np.radians(fov_y_deg) / 2.0)
    return torch.tensor([[f / aspect, 0, 0, 0], [0, f, 0, 0],
                         [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
                         [0, 0, -1, 0]], dtype=torch.float32)


def to_clip(points: torch.Tensor, view_to_clip: torch.Tensor) -> torch.Tensor:
    """(B, V, 3) view-space points -> (B, V, 4) clip-space."""
    homo = torch.cat([points, torch.ones_like(points[..., :1])], -1)
    return homo @ view_to_clip.to(points).transpose(0, 1)


def to_pixels(clip: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, V, 4) clip-space -> (B, V, 2) pixel coordinates (x right, y down, centres at +0.5)."""
    h, w = size
    ndc = clip[..., :2] / clip[..., 3:4]
    return torch.stack([(ndc[..., 0] + 1) * 0.5 * w, (1 - ndc[..., 1]) * 0.5 * h], -1)


def _pixel_centres(size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    h, w = size
    ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype) + 0.5, torch.arange(w, dtype=dtype) + 0.5, indexing="ij")
    return torch.stack([xs, ys], -1)  # (H, W, 2)


class TorchRasterizer:
    """Pure-torch rasteriser (see the module notes); any device, gradients to positions and attributes."""

    name = "torch"

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, size: tuple[int, int]) -> Fragments:
        if clip.ndim != 3 or clip.shape[-1] != 4:
            raise ValueError(f"clip must be (B, V, 4), got {tuple(clip.shape)}")
        h, w = size
        faces_np = faces.detach().cpu().numpy().astype(np.int64)
        xy = to_pixels(clip, size)
        ndc_z = clip[..., 2] / clip[..., 3]
        ids, barys, depths = [], [], []
        centres = _pixel_centres(size, clip.dtype).to(clip.device)
        for b in range(clip.shape[0]):
            # visibility without gradients; triangles behind the camera (w <= 0) are dropped
            front = (clip[b, :, 3] > 1e-6).detach().cpu().numpy()
            keep = np.flatnonzero(front[faces_np].all(1))
            face_id, _, _ = _visible_faces(xy[b].detach().cpu().numpy(), ndc_z[b].detach().cpu().numpy(),
                                           faces_np[keep], h, w)
            face_id = np.where(face_id >= 0, keep[np.maximum(face_id, 0)], -1) if len(keep) else face_id
            fid = torch.from_numpy(face_id).to(clip.device)
            covered = fid >= 0
            tri = faces[fid.clamp(min=0)].long()  # (H, W, 3)
            p = xy[b][tri]  # (H, W, 3, 2)
            inv_w = 1.0 / clip[b, :, 3][tri]  # (H, W, 3)
            # screen-space barycentrics of the pixel centre, then perspective correction
            e1, e2, q = p[..., 1, :] - p[..., 0, :], p[..., 2, :] - p[..., 0, :], centres - p[..., 0, :]
            area = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
            area = torch.where(area.abs() < 1e-12, torch.full_like(area, 1e-12), area)
            b1 = (q[..., 0] * e2[..., 1] - q[..., 1] * e2[..., 0]) / area
            b2 = (e1[..., 0] * q[..., 1] - e1[..., 1] * q[..., 0]) / area
            screen = torch.stack([1 - b1 - b2, b1, b2], -1)
            persp = screen * inv_w
            bary = persp / persp.sum(-1, keepdim=True)
            bary = torch.where(covered[..., None], bary, torch.zeros_like(bary))
            z = (screen * ndc_z[b][tri]).sum(-1)  # z/w is affine in screen space
            ids.append(fid)
            barys.append(bary)
            depths.append(torch.where(covered, z, torch.full_like(z, float("inf"))))
        return Fragments(torch.stack(ids), torch.stack(barys), torch.stack(depths))


class NvdiffrastRasterizer:
    """nvdiffrast's CUDA rasteriser behind the same interface (import and context made lazily)."""

    name = "nvdiffrast"

    def __init__(self) -> None:
        import nvdiffrast.torch as dr

        self._dr = dr
        self._ctx = dr.RasterizeCudaContext()

    def rasterize(self, clip: torch.Tensor, faces: torch.Tensor, size: tuple[int, int]) -> Fragments:
        # nvdiffrast takes float32 positions and int32 triangles, both on the GPU; the fragments come
        # back on the clip's device and in its dtype, as the torch backend's do (the photo path's
        # texture fit hands it CPU tensors)
        pos = clip.to(device="cuda", dtype=torch.float32).contiguous()
        tri = faces.to(device="cuda", dtype=torch.int32).contiguous()
        rast, _ = self._dr.rasterize(self._ctx, pos, tri, resolution=list(size))
        # nvdiffrast's row 0 is the bottom (OpenGL)
        rast = torch.flip(rast, dims=[1]).to(device=clip.device, dtype=clip.dtype)
        u, v = rast[..., 0], rast[..., 1]
        face_id = rast[..., 3].long() - 1
        covered = face_id >= 0
        # nvdiffrast's (u, v) weigh the triangle's first and second vertex
        bary = torch.stack([u, v, 1 - u - v], -1) * covered[..., None]
        depth = torch.where(covered, rast[..., 2], torch.full_like(rast[..., 2], float("inf")))
        return Fragments(face_id, bary, depth)


def get_rasterizer(name: str = "auto") -> Rasterizer:
    """``"torch"``, ``"nvdiffrast"`` (CUDA and the package required), or ``"auto"``: nvdiffrast
    where it can run, else torch."""
    if name not in ("auto", "torch", "nvdiffrast"):
        raise ValueError(f"unknown rasteriser {name!r}: expected auto, torch or nvdiffrast")
    if name in ("auto", "nvdiffrast"):
        try:
            if not torch.cuda.is_available():
                raise RuntimeError("CUDA is not available")
            return NvdiffrastRasterizer()
        except (ImportError, RuntimeError) as exc:
            if name == "nvdiffrast":
                raise RuntimeError(f"the nvdiffrast rasteriser cannot run here: {exc}") from exc
    return TorchRasterizer()


def interpolate(attr: torch.Tensor, frags: Fragments, faces: torch.Tensor) -> torch.Tensor:
    """Per-vertex attributes (V, C) or (B, V, C) -> (B, H, W, C) at each pixel (0 where empty)."""
    if attr.ndim == 2:
        attr = attr[None].expand(frags.face_id.shape[0], -1, -1)
    tri = faces[frags.face_id.clamp(min=0)].long()  # (B, H, W, 3)
    batch = torch.arange(attr.shape[0], device=attr.device)[:, None, None, None]
    values = attr[batch, tri]  # (B, H, W, 3, C)
    return (frags.bary[..., None] * values).sum(-2)


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup: texture (B, C, Ht, Wt) or (C, Ht, Wt), uv (B, H, W, 2) in [0, 1] from the
    top-left corner -> (B, H, W, C); differentiable in both. Texels are sampled at their centres."""
    if texture.ndim == 3:
        texture = texture[None].expand(uv.shape[0], -1, -1, -1)
    grid = uv * 2 - 1  # grid_sample: -1 is the first texel's outer edge with align_corners=False
    out = F.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1)
