"""The differentiable rasteriser against independent references: a sphere's coverage and depth
computed analytically (ray-sphere intersection), and its gradients against finite differences."""

import numpy as np
import pytest
import torch
import trimesh

from machcreator.render.diffrast import (get_rasterizer, interpolate, perspective, sample_texture, to_clip,
                                         TorchRasterizer)

SIZE = (96, 128)  # H, W
FOV_Y, NEAR, FAR = 30.0, 0.1, 10.0


def _projection() -> torch.Tensor:
    return perspective(FOV_Y, SIZE[1] / SIZE[0], NEAR, FAR).double()


def _analytic_sphere(centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) bool hit and (H, W) view-space z of the first hit of each pixel centre's ray."""
    h, w = SIZE
    t = np.tan(np.radians(FOV_Y) / 2)
    xs = ((np.arange(w) + 0.5) / w * 2 - 1) * t * w / h
    ys = (1 - (np.arange(h) + 0.5) / h * 2) * t
    d = np.stack([*np.meshgrid(xs, ys), np.full((h, w), -1.0)], -1)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    b = d @ centre
    disc = b**2 - (centre @ centre - radius**2)
    hit = disc >= 0
    dist = b - np.sqrt(np.maximum(disc, 0))
    return hit, (d[..., 2] * dist)


def _facing(centre: np.ndarray, radius: float, z: np.ndarray) -> np.ndarray:
    """(H, W) cosine between the sphere's normal at the analytic hit and the ray back to the eye."""
    h, w = SIZE
    t = np.tan(np.radians(FOV_Y) / 2)
    xs = ((np.arange(w) + 0.5) / w * 2 - 1) * t * w / h
    ys = (1 - (np.arange(h) + 0.5) / h * 2) * t
    d = np.stack([*np.meshgrid(xs, ys), np.full((h, w), -1.0)], -1)  # a ray point at view z = -1
    hit_point = d * -z[..., None]
    normal = (hit_point - centre) / radius
    to_eye = -hit_point / np.linalg.norm(hit_point, axis=-1, keepdims=True)
    return (normal * to_eye).sum(-1)


def _view_z(ndc_z: np.ndarray) -> np.ndarray:
    """NDC depth -> view-space z (negative in front of the camera) for the OpenGL projection."""
    return 2 * FAR * NEAR / ((FAR - NEAR) * ndc_z - (FAR + NEAR))


def test_sphere_coverage_and_depth_match_the_ray_traced_sphere():
    centre, radius = np.array([0.03, -0.02, -0.6]), 0.1
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=radius)
    points = torch.tensor(sphere.vertices + centre)[None]
    faces = torch.tensor(sphere.faces)
    frags = TorchRasterizer().rasterize(to_clip(points, _projection()), faces, SIZE)

    hit, z = _analytic_sphere(centre, radius)
    mask = frags.mask[0].numpy()
    assert hit.sum() > 1500
    iou = (mask & hit).sum() / (mask | hit).sum()
    assert iou > 0.98, f"coverage IoU {iou:.4f}"
    # away from the silhouette, where a ray grazes the facets and their few µm of sagitta grow
    face_on = mask & hit & (_facing(centre, radius, z) > 0.3)
    assert face_on.sum() > 0.8 * hit.sum()
    err_m = np.abs(_view_z(frags.depth[0].numpy()[face_on]) - z[face_on])
    assert err_m.max() < 1e-4, f"depth off by up to {err_m.max() * 1000:.3f} mm"


def test_triangles_behind_the_camera_are_not_drawn_and_empty_pixels_are_marked():
    points = torch.tensor([[[-0.1, -0.1, 0.5], [0.1, -0.1, 0.5], [0.0, 0.1, 0.5]]], dtype=torch.float64)
    frags = TorchRasterizer().rasterize(to_clip(points, _projection()), torch.tensor([[0, 1, 2]]), SIZE)
    assert not frags.mask.any() and torch.isinf(frags.depth).all() and (frags.bary == 0).all()


def _quad() -> tuple[torch.Tensor, torch.Tensor]:
    points = torch.tensor([[[-0.12, -0.09, -0.55], [0.13, -0.1, -0.65], [0.11, 0.12, -0.7], [-0.1, 0.1, -0.6]]],
                          dtype=torch.float64)
    return points, torch.tensor([[0, 1, 2], [0, 2, 3]])


def test_vertex_gradients_match_finite_differences():
    points, faces = _quad()
    colours = torch.tensor([[1.0, 0.0, 0.2], [0.0, 1.0, 0.4], [0.3, 0.2, 1.0], [0.6, 0.6, 0.0]], dtype=torch.float64)
    weights = torch.rand((1,) + SIZE + (3,), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rast = TorchRasterizer()

    def loss(p: torch.Tensor) -> torch.Tensor:
        frags = rast.rasterize(to_clip(p, _projection()), faces, SIZE)
        return (interpolate(colours, frags, faces) * weights).sum()

    p = points.clone().requires_grad_(True)
    loss(p).backward()
    numeric = torch.zeros_like(points)
    eps = 1e-7  # far below a pixel: no pixel changes triangle
    for v in range(4):
        for c in range(3):
            d = torch.zeros_like(points)
            d[0, v, c] = eps
            numeric[0, v, c] = (loss(points + d) - loss(points - d)) / (2 * eps)
    assert torch.allclose(p.grad, numeric, rtol=1e-4, atol=1e-6), (p.grad, numeric)
    assert p.grad.abs().max() > 1.0  # the positions do matter


def test_texture_gradients_match_finite_differences():
    points, faces = _quad()
    uvs = torch.tensor([[0.1, 0.9], [0.9, 0.85], [0.8, 0.1], [0.15, 0.2]], dtype=torch.float64)
    texture = torch.rand((3, 8, 8), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    weights = torch.rand((1,) + SIZE + (3,), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    frags = TorchRasterizer().rasterize(to_clip(points, _projection()), faces, SIZE)
    uv = interpolate(uvs, frags, faces)

    def loss(tex: torch.Tensor) -> torch.Tensor:
        return (sample_texture(tex, uv) * weights * frags.mask[..., None]).sum()

    tex = texture.clone().requires_grad_(True)
    loss(tex).backward()
    for c, i, j in [(0, 2, 3), (1, 5, 5), (2, 0, 7), (0, 7, 0)]:
        d = torch.zeros_like(texture)
        d[c, i, j] = 1e-6
        numeric = (loss(texture + d) - loss(texture - d)) / 2e-6
        assert float(tex.grad[c, i, j]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-8)
    assert tex.grad.abs().sum() > 0


def test_a_texel_lookup_hits_texel_centres_with_a_top_left_origin():
    texture = torch.arange(12, dtype=torch.float64).reshape(1, 3, 4)  # rows top to bottom
    uv = torch.tensor([[[[0.125, 1 / 6], [0.875, 5 / 6]]]], dtype=torch.float64)  # first and last texel centres
    assert sample_texture(texture, uv)[0, 0, :, 0].tolist() == [0.0, 11.0]


def test_rasteriser_choice():
    assert get_rasterizer("auto").name in ("torch", "nvdiffrast")
    if not torch.cuda.is_available():
        assert get_rasterizer("auto").name == "torch"
        with pytest.raises(RuntimeError, match="nvdiffrast rasteriser cannot run here"):
            get_rasterizer("nvdiffrast")
    with pytest.raises(ValueError, match="unknown rasteriser"):
        get_rasterizer("opengl")


def test_barycentrics_are_perspective_correct():
    """The interpolated view-space position of each pixel lies on that pixel's ray (screen-space
    barycentrics would bend it off on a tilted quad)."""
    from machcreator.render.diffrast import to_pixels
    points, faces = _quad()
    clip = to_clip(points, _projection())
    frags = TorchRasterizer().rasterize(clip, faces, SIZE)
    surface = interpolate(points[0], frags, faces)[frags.mask]  # (N, 3) view space
    back = to_pixels(to_clip(surface[None], _projection()), SIZE)[0]
    ys, xs = torch.nonzero(frags.mask[0], as_tuple=True)
    centres = torch.stack([xs + 0.5, ys + 0.5], -1).double()
    assert len(back) > 500 and (back - centres).abs().max() < 1e-6
