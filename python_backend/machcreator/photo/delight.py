"""Delighting: take the photo's light out of the texture extracted from it (Mach §2.4).

Two swappable delighters, one interface (``delighter(texture, normals, mask) -> Delit``):

- :class:`SHDelighter` (embedded): the shading is modelled as second-order spherical harmonics
  of the surface normal (9 coefficients per colour channel, Ramamoorthi & Hanrahan's irradiance
  model). It is fitted robustly to the extracted colours, assuming the skin's albedo varies less
  than the light does, and divided out.
- :class:`LearnedDelighter`: a pix2pixHD-style global generator (as the paper uses) loaded from a
  local checkpoint (``config.json`` + ``model.pt``); nothing is downloaded.

Colours are linear RGB in [0, 1]; textures (H, W, 3) float32; normals (H, W, 3) unit, in the
head's frame (any frame works for SH: the fitted light turns with it); mask (H, W) bool, the
texels the photo saw.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from machcreator.core.errors import ModelLoadError

# real spherical harmonics constants, bands 0-2 (times the clamped-cosine convolution weights)
_C0, _C1, _C2, _C3, _C4 = 0.282095, 0.488603, 1.092548, 0.315392, 0.546274
_CONV = np.array([np.pi] + [2 * np.pi / 3] * 3 + [np.pi / 4] * 5)


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """(N, 3) unit normals -> (N, 9) irradiance basis (SH bands 0-2, convolved with the cosine lobe)."""
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    basis = np.stack([np.full_like(x, _C0), _C1 * y, _C1 * z, _C1 * x, _C2 * x * y, _C2 * y * z,
                      _C3 * (3 * z * z - 1), _C2 * x * z, _C4 * (x * x - y * y)], 1)
    return basis * _CONV


@dataclass
class Delit:
    """albedo (H, W, 3) float32; shading (H, W, 3) what was divided out (1 outside the mask);
    coefficients (9, 3) the fitted light (SH delighter) or None."""

    albedo: np.ndarray
    shading: np.ndarray
    coefficients: np.ndarray | None = None


class Delighter(Protocol):
    def __call__(self, texture: np.ndarray, normals: np.ndarray, mask: np.ndarray) -> Delit: ...


@dataclass
class SHDelighter:
    """Fit second-order SH light to the masked texels and divide it out.

    iterations: reweighting rounds (texels far from the fit - eyebrows, lips, stubble - count
    less each round); ridge: damping of the second band (a face sees half the sphere of normals,
    and unconstrained higher bands would explain albedo as light).
    """

    iterations: int = 5
    ridge: float = 0.05

    def fit(self, colours: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """(N, 3) colours, (N, 3) normals -> (9, 3) coefficients with ``colours ≈ basis @ coeffs``."""
        basis = sh_basis(normals.astype(np.float64))
        target = colours.astype(np.float64)
        damp = np.diag([0.0, 0, 0, 0] + [self.ridge * len(basis)] * 5)
        weights = np.ones(len(basis))
        for _ in range(self.iterations):
            wb = basis * weights[:, None]
            coeffs = np.linalg.solve(wb.T @ basis + damp, wb.T @ target)
            residual = np.abs(np.log(np.maximum(target, 1e-4)) - np.log(np.maximum(basis @ coeffs, 1e-4))).mean(1)
            scale = max(float(np.median(residual)) * 1.4826, 1e-3)
            weights = 1.0 / np.maximum(residual / (2.0 * scale), 1.0)  # Huber in log space
        return coeffs

    def __call__(self, texture: np.ndarray, normals: np.ndarray, mask: np.ndarray) -> Delit:
        if not mask.any():
            raise ValueError("the mask selects no texels to fit the light to")
        coeffs = self.fit(texture[mask], normals[mask])
        shading = np.ones_like(texture, dtype=np.float32)
        lit = sh_basis(normals[mask].astype(np.float64)) @ coeffs
        # the albedo's own level is unknown: keep the masked mean brightness
        lit /= np.maximum(lit.mean(0, keepdims=True), 1e-6)
        shading[mask] = np.maximum(lit, 0.05)
        albedo = np.where(mask[..., None], texture / shading, texture).clip(0.0, 1.0).astype(np.float32)
        return Delit(albedo=albedo, shading=shading, coefficients=coeffs.astype(np.float32))


# --- the learned delighter ----------------------------------------------------------------------

@dataclass
class GeneratorConfig:
    """A pix2pixHD global generator: ``downsampling`` stride-2 convolutions, ``blocks`` residual
    blocks at the bottom, as many transposed convolutions back up; ``width`` channels at full size."""

    in_channels: int = 3
    out_channels: int = 3
    width: int = 64
    downsampling: int = 4
    blocks: int = 9


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
                                  nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3),
                                  nn.InstanceNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GlobalGenerator(nn.Module):
    """(B, C_in, H, W) in [-1, 1] -> (B, C_out, H, W) in [-1, 1]; H and W multiples of 2**downsampling."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(config.in_channels, w, 7), nn.InstanceNorm2d(w),
                                   nn.ReLU(True)]
        for i in range(config.downsampling):
            c = w * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
        bottom = w * 2**config.downsampling
        layers += [_ResBlock(bottom) for _ in range(config.blocks)]
        for i in reversed(range(config.downsampling)):
            c = w * 2 ** (i + 1)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, config.out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def save_generator(generator: GlobalGenerator, folder: str | Path) -> None:
    """Write ``config.json`` and ``model.pt`` (a state dict) to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(asdict(generator.config), indent=2))
    torch.save(generator.state_dict(), folder / "model.pt")


class LearnedDelighter:
    """A trained generator from a local folder (``config.json``, ``model.pt``) that maps the
    extracted texture to its albedo. Raises :class:`ModelLoadError` naming what is wrong."""

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        folder = Path(folder)
        try:
            config = GeneratorConfig(**json.loads((folder / "config.json").read_text()))
        except FileNotFoundError:
            raise ModelLoadError(f"{folder}: no config.json (a delighter folder holds config.json and model.pt)") from None
        except (ValueError, TypeError) as exc:
            raise ModelLoadError(f"{folder / 'config.json'}: not a generator config ({exc})") from None
        self.generator = GlobalGenerator(config)
        try:
            state = torch.load(folder / "model.pt", map_location=device, weights_only=True)
            self.generator.load_state_dict(state)
        except FileNotFoundError:
            raise ModelLoadError(f"{folder}: no model.pt") from None
        except (RuntimeError, ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
            raise ModelLoadError(f"{folder / 'model.pt'}: cannot load it into the generator ({exc})") from None
        self.generator.to(device).eval()
        self.device = device

    def __call__(self, texture: np.ndarray, normals: np.ndarray, mask: np.ndarray) -> Delit:
        step = 2 ** self.generator.config.downsampling
        h, w = texture.shape[:2]
        if h % step or w % step:
            raise ValueError(f"texture {h}×{w}: the generator needs sides that are multiples of {step}")
        x = torch.from_numpy(np.ascontiguousarray(texture, np.float32)).permute(2, 0, 1)[None] * 2 - 1
        with torch.no_grad():
            y = self.generator(x.to(self.device))[0].permute(1, 2, 0).cpu().numpy()
        albedo = np.where(mask[..., None], (y + 1) / 2, texture).clip(0, 1).astype(np.float32)
        shading = np.where(mask[..., None], texture / np.maximum(albedo, 1e-3), 1.0).astype(np.float32)
        return Delit(albedo=albedo, shading=shading)
