"""The texture fit recovers a known texture from one rendered view, coarse to fine."""

import numpy as np
import torch

from machcreator.photo.texture_fit import TextureFitConfig, fit_texture
from machcreator.render.diffrast import TorchRasterizer, interpolate, perspective, sample_texture, to_clip

SIZE = (128, 128)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


def test_a_known_texture_is_recovered_from_one_view():
    # a tilted square facing the camera, UVs over the whole texture
    points = torch.tensor([[[-0.2, -0.2, -0.8], [0.2, -0.2, -0.9], [0.2, 0.2, -0.85], [-0.2, 0.2, -0.75]]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uvs = torch.tensor([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    frags = TorchRasterizer().rasterize(to_clip(points, perspective(40.0, 1.0, 0.1, 10.0)), faces, SIZE)
    uv = interpolate(uvs, frags, faces)
    normal = torch.nn.functional.normalize(torch.cross(points[0, 1] - points[0, 0], points[0, 2] - points[0, 0], dim=0), dim=0)
    view = torch.nn.functional.normalize(-interpolate(points[0], frags, faces), dim=-1)
    facing = (view * normal).sum(-1) * frags.mask

    v, u = np.mgrid[0:64, 0:64] / 63.0
    truth = torch.tensor(np.stack([0.3 + 0.5 * u, 0.2 + 0.6 * v, 0.5 + 0.3 * np.sin(6 * u) * np.cos(5 * v)], 0),
                         dtype=torch.float32)  # (3, 64, 64), smooth
    photo = sample_texture(truth, uv)[0] * frags.mask[0, ..., None]

    texture, visibility = fit_texture(photo, frags, uv, facing, TextureFitConfig(sizes=(16, 64), steps=(80, 120)))
    assert texture.shape == (64, 64, 3) and visibility.shape == (64, 64)
    rendered = sample_texture(texture.permute(2, 0, 1), uv)[0]
    mask = frags.mask[0]
    assert _psnr(rendered[mask], photo[mask]) >= 30.0, _psnr(rendered[mask], photo[mask])
    seen = visibility > 0
    assert seen.float().mean() > 0.9  # the square fills the texture
    assert _psnr(texture[seen], truth.permute(1, 2, 0)[seen]) >= 28.0
