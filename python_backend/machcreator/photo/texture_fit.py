"""Fit a UV texture to a photo through the differentiable rasteriser, coarse to fine (Mach eq. 6-7).

The geometry and camera are fixed by then, so the head is rasterised once: each covered pixel
knows its UV and how squarely it faces the camera. The texture T minimises

    Σ_p w_p ‖T(uv_p) − I_p‖₁ / Σ_p w_p  +  λ · TV(T)

at each size in turn (32, 128, 512, 1024 by default), each level starting from the previous one
upsampled, with every texel a pixel lands in set to the weighted mean of those pixels (the
optimum without TV, so a few steps finish each level); ``w_p`` is the cosine between the surface normal and the view direction, so grazing
pixels (stretched over many texels) count less. Texels no pixel sees keep the coarser level's
colour and get a visibility of 0, for completion to replace.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from machcreator.render.diffrast import Fragments, sample_texture


@dataclass
class TextureFitConfig:
    """sizes: texture sides per level; steps: Adam steps per level; lr: Adam's step size (colour
    units); tv_weight: λ of the total variation term (the paper's 0.01)."""

    sizes: tuple[int, ...] = (32, 128, 512, 1024)
    steps: tuple[int, ...] = (40, 30, 20, 10)
    lr: float = 0.05
    tv_weight: float = 0.01


def total_variation(texture: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring texels of a (C, H, W) texture."""
    return (texture[:, 1:] - texture[:, :-1]).abs().mean() + (texture[:, :, 1:] - texture[:, :, :-1]).abs().mean()


def fit_texture(image: torch.Tensor, frags: Fragments, uv: torch.Tensor, facing: torch.Tensor,
                config: TextureFitConfig = TextureFitConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit a texture to one view.

    Args:
        image: (H, W, 3) photo, linear or sRGB in [0, 1] (the texture comes out in the same space).
        frags: the head rasterised in the photo's camera (batch of 1).
        uv: (1, H, W, 2) per-pixel UVs (see :func:`machcreator.render.diffrast.interpolate`).
        facing: (1, H, W) cosine between the normal and the direction to the camera.

    Returns:
        texture (S, S, 3) at the last size, and visibility (S, S) in [0, 1]: how squarely the
        best pixel that saw each texel faced the camera (0: never seen).
    """
    if len(config.sizes) != len(config.steps):
        raise ValueError("sizes and steps need one entry per level")
    mask = frags.mask[0] & (facing[0] > 0)
    if not mask.any():
        raise ValueError("the head covers no pixel of the photo")
    target = image[mask].detach()  # (N, 3)
    weight = facing[0][mask].detach().clamp(min=0)
    coords = uv[0][mask].detach()[None, None]  # (1, 1, N, 2)
    texture = target.mean(0)[:, None, None].expand(3, config.sizes[0], config.sizes[0]).clone()
    for size, steps in zip(config.sizes, config.steps):
        texture = F.interpolate(texture[None], size=(size, size), mode="bilinear", align_corners=False)[0]
        mean, hit = _splat(coords[0, 0], target, weight, size)
        texture = torch.where(hit, mean, texture).detach().requires_grad_(True)
        optimiser = torch.optim.Adam([texture], lr=config.lr)
        for _ in range(steps):
            optimiser.zero_grad()
            seen = sample_texture(texture, coords)[0, 0]  # (N, 3)
            loss = (weight[:, None] * (seen - target).abs()).sum() / weight.sum() / 3
            loss = loss + config.tv_weight * total_variation(texture)
            loss.backward()
            optimiser.step()
        texture = texture.detach().clamp(0, 1)
    return texture.permute(1, 2, 0), _visibility(coords[0, 0], weight, config.sizes[-1])


def _splat(uv: torch.Tensor, colour: torch.Tensor, weight: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, size, size) the ``weight``-ed mean colour of the pixels landing in each texel, and
    (size, size) bool where any did."""
    ij = (uv.clamp(0, 1 - 1e-6) * size).long()
    flat = ij[:, 1] * size + ij[:, 0]
    total = torch.zeros(size * size, 3, dtype=colour.dtype, device=colour.device).index_add_(0, flat, colour * weight[:, None])
    norm = torch.zeros(size * size, dtype=colour.dtype, device=colour.device).index_add_(0, flat, weight)
    hit = norm > 0
    mean = total / norm.clamp(min=1e-12)[:, None]
    return mean.T.reshape(3, size, size), hit.reshape(size, size)


def _visibility(uv: torch.Tensor, weight: torch.Tensor, size: int) -> torch.Tensor:
    """(size, size): the best facing of any pixel landing in each texel (0 where none did)."""
    ij = (uv.clamp(0, 1 - 1e-6) * size).long()
    flat = ij[:, 1] * size + ij[:, 0]
    out = torch.zeros(size * size, dtype=weight.dtype, device=weight.device)
    out.scatter_reduce_(0, flat, weight, reduce="amax")
    return out.reshape(size, size)
