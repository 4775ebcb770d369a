"""Delighting takes a light out that it was not told about, and the learned delighter loads from a
local folder (random weights built here)."""

import numpy as np
import pytest
import torch

from machcreator.core.errors import ModelLoadError
from machcreator.photo.delight import (GeneratorConfig, GlobalGenerator, LearnedDelighter, SHDelighter, save_generator,
                                       sh_basis)


def _face_patch(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Normals (size, size, 3) of the front half of a sphere seen in UV, and the mask of its texels."""
    v, u = np.mgrid[0:size, 0:size] / (size - 1) * 2 - 1
    r2 = u**2 + v**2
    mask = r2 < 0.95
    normals = np.stack([u, -v, np.sqrt(np.clip(1 - r2, 0, 1))], -1)  # x right, y up, z towards the camera
    return normals / np.linalg.norm(normals, axis=-1, keepdims=True), mask


def _skin_albedo(size: int, rng: np.random.Generator) -> np.ndarray:
    """A skin tone with blotches and two dark brow-like bars (what the light must not explain)."""
    blotch = np.kron(rng.uniform(0.85, 1.15, (12, 12)), np.ones((size // 12, size // 12)))
    albedo = np.array([0.55, 0.38, 0.30])[None, None] * blotch[..., None]
    albedo[size // 3: size // 3 + 5, size // 5: size // 2 - 4] *= 0.3
    albedo[size // 3: size // 3 + 5, size // 2 + 4: 4 * size // 5] *= 0.3
    return albedo


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sh_delighting_removes_most_of_an_unknown_light(seed):
    rng = np.random.default_rng(seed)
    normals, mask = _face_patch()
    albedo = _skin_albedo(96, rng)
    # an ambient term and a strong key from a random side
    key = rng.normal(size=3)
    key[2] = abs(key[2]) + 0.5
    key /= np.linalg.norm(key)
    light = np.zeros((9, 3))
    light[0] = 0.6 / (0.282095 * np.pi)
    light[1:4] = (np.array([key[1], key[2], key[0]]) * 0.9 / (0.488603 * 2 * np.pi / 3))[:, None]
    shading = np.clip(sh_basis(normals.reshape(-1, 3)) @ light, 0.05, None).reshape(96, 96, 3)
    texture = (albedo * shading).astype(np.float32)

    delit = SHDelighter()(texture, normals, mask)
    raw = np.log(texture[mask] / albedo[mask])
    left = np.log(np.maximum(delit.albedo[mask], 1e-4) / albedo[mask])
    # a global scale is unknowable: compare spreads
    assert left.std() < 0.1 * raw.std(), (left.std(), raw.std())  # measured: 0.27-0.40 -> 0.011-0.019
    assert delit.albedo.shape == texture.shape and (delit.shading[~mask] == 1).all()


def test_without_texels_to_fit_the_light_says_so():
    normals, mask = _face_patch(32)
    with pytest.raises(ValueError, match="no texels"):
        SHDelighter()(np.ones((32, 32, 3), np.float32), normals, np.zeros_like(mask))


SMALL = GeneratorConfig(width=8, downsampling=2, blocks=1)


def test_a_learned_delighter_loads_from_a_local_folder_and_runs(tmp_path):
    torch.manual_seed(0)
    generator = GlobalGenerator(SMALL).eval()
    save_generator(generator, tmp_path / "delighter")
    delighter = LearnedDelighter(tmp_path / "delighter")
    texture = np.random.default_rng(0).uniform(0, 1, (32, 32, 3)).astype(np.float32)
    normals, mask = _face_patch(32)
    delit = delighter(texture, normals, mask)
    with torch.no_grad():
        direct = generator(torch.from_numpy(texture).permute(2, 0, 1)[None] * 2 - 1)[0].permute(1, 2, 0).numpy()
    assert np.allclose(delit.albedo[mask], ((direct + 1) / 2)[mask], atol=1e-5)  # the loaded weights ran
    assert np.array_equal(delit.albedo[~mask], texture[~mask])


def test_a_bad_delighter_folder_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="no config.json"):
        LearnedDelighter(tmp_path)
    save_generator(GlobalGenerator(SMALL), tmp_path / "d")
    (tmp_path / "d" / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match="cannot load it"):
        LearnedDelighter(tmp_path / "d")
    save_generator(GlobalGenerator(SMALL), tmp_path / "e")
    (tmp_path / "e" / "config.json").write_text('{"width": 16, "downsampling": 2, "blocks": 1}')  # other shapes
    with pytest.raises(ModelLoadError, match="cannot load it"):
        LearnedDelighter(tmp_path / "e")
