"""The photo → head geometry benchmark (NoW-style, against known rendered heads)."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from machcreator.photo.benchmark import (
    REGIONS,
    apply_similarity,
    closest_on_triangles,
    photo_camera,
    run_geometry_benchmark,
    similarity_transform,
    summary,
)

#: a head whose fit clearly beats its prior (fit ≈ 1.1 mm, prior ≈ 2.5 mm median when measured)
FAST_SEED = 9


def test_similarity_transform_recovers_a_known_similarity_exactly():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(500, 3)) * (0.08, 0.1, 0.12)
    rotation = Rotation.from_euler("xyz", (14.0, -37.0, 101.0), degrees=True).as_matrix()
    s, t = 1.37, np.array([0.2, -1.1, 1.6])
    target = apply_similarity(source, s, rotation, t)
    found_s, found_r, found_t = similarity_transform(source, target)
    assert found_s == pytest.approx(s, abs=1e-12)
    np.testing.assert_allclose(found_r, rotation, atol=1e-12)
    np.testing.assert_allclose(found_t, t, atol=1e-12)
    np.testing.assert_allclose(apply_similarity(source, found_s, found_r, found_t), target, atol=1e-12)
    # rigid (no scale): exact on a rigid motion, and s = 1 even where a scale would fit better
    rigid = apply_similarity(source, 1.0, rotation, t)
    found_s, found_r, found_t = similarity_transform(source, rigid, scale=False)
    assert found_s == 1.0
    np.testing.assert_allclose(found_r, rotation, atol=1e-12)
    np.testing.assert_allclose(found_t, t, atol=1e-12)
    assert similarity_transform(source, target, scale=False)[0] == 1.0
    # a reflection is never returned: the mirror image gets a proper rotation
    assert np.linalg.det(similarity_transform(source, source * (-1.0, 1.0, 1.0))[1]) == pytest.approx(1.0)


def test_closest_point_on_triangles_matches_a_dense_search():
    rng = np.random.default_rng(1)
    n = 2000
    a, b, c = (rng.normal(size=(n, 3)) for _ in range(3))
    points = rng.normal(size=(n, 3)) * 2.0
    found = closest_on_triangles(points, a, b, c)
    # dense barycentric grid on each triangle: nothing on it is closer than the found point
    u, v = np.meshgrid(np.linspace(0, 1, 61), np.linspace(0, 1, 61))
    keep = u + v <= 1.0
    u, v = u[keep], v[keep]
    grid = a[:, None] + (b - a)[:, None] * u[None, :, None] + (c - a)[:, None] * v[None, :, None]
    best = np.linalg.norm(grid - points[:, None], axis=-1).min(1)
    distance = np.linalg.norm(found - points, axis=1)
    assert (distance <= best + 1e-12).all()
    assert np.abs(distance - best).max() < 0.05  # the grid's own spacing
    # the found point lies on its triangle (barycentrics in [0, 1])
    normal = np.cross(b - a, c - a)
    assert np.abs(((found - a) * normal).sum(1)).max() < 1e-9 * np.abs(normal).max()


def test_surface_distance_matches_brute_force_on_a_mesh():
    import trimesh

    from machcreator.photo.benchmark import surface_distance

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    rng = np.random.default_rng(2)
    points = rng.normal(size=(300, 3)) * 0.08
    fast = surface_distance(points, sphere.vertices, sphere.faces)
    tri = sphere.vertices[sphere.faces]
    brute = np.array([np.linalg.norm(closest_on_triangles(np.repeat(p[None], len(tri), 0), tri[:, 0], tri[:, 1],
                                                          tri[:, 2]) - p, axis=1).min() for p in points])
    np.testing.assert_allclose(fast, brute, atol=1e-12)
    # and the analytic answer, up to the icosphere's faceting
    np.testing.assert_allclose(fast, np.abs(np.linalg.norm(points, axis=1) - 0.1), atol=2e-3)


def test_photo_camera_turns_around_the_head_centre_and_frames_it():
    box = np.array([[x, y, z] for x in (-0.08, 0.08) for y in (-0.1, 0.08) for z in (1.5, 1.75)])
    front = photo_camera(box, 0.0, 0.0, 20.0)
    turned = photo_camera(box, 12.0, -6.0, 28.0)
    np.testing.assert_allclose(turned.target, front.target)
    eye = np.asarray(turned.eye) - np.asarray(turned.target)
    assert eye[0] > 0 and eye[2] < 0  # towards the character's left (+X), from below
    assert np.linalg.norm(eye) < np.linalg.norm(np.asarray(front.eye) - np.asarray(front.target))  # wider lens: closer
    for camera in (front, turned):
        xy, depth = camera.project(box)
        assert (depth > 0).all() and (xy >= 0).all() and (xy <= 512).all()
        assert np.isclose(np.abs(xy - 256).max(), 256 * 0.94, rtol=1e-4)  # framed to the margin


@pytest.mark.slow  # ~20-45 s: a whole render → fit → measure; `mach bench --photo-geometry` runs it at scale
def test_one_head_fit_is_finite_and_beats_its_prior(tmp_path):
    (r,) = run_geometry_benchmark(1, seed=FAST_SEED, cache_dir=tmp_path)
    assert r.ok, r.error
    numbers = [r.reprojection_px, r.fit_median_mm, r.fit_mean_mm, r.fit_std_mm, r.prior_median_mm, r.prior_mean_mm,
               r.prior_std_mm, r.fit_noscale_median_mm, r.prior_noscale_median_mm, r.scale, r.prior_scale, r.seconds,
               r.fit_seconds, r.age_years, r.yaw_deg, r.pitch_deg, r.fov_deg]
    assert all(math.isfinite(x) for x in numbers), numbers
    assert 18 <= r.age_years <= 75 and abs(r.yaw_deg) <= 15 and abs(r.pitch_deg) <= 8 and 15 <= r.fov_deg <= 30
    assert r.light_dir[1] < 0  # the key light is in front of the face
    assert r.reprojection_px < 2.0
    assert 0.9 < r.scale < 1.1
    assert set(r.regions_fit_mm) == set(REGIONS)
    assert r.fit_median_mm < r.prior_median_mm and r.fit_mean_mm < r.prior_mean_mm
    assert r.fit_median_mm < 3.0
    stats = summary([r])
    assert stats["fit"]["median_of_medians"] == pytest.approx(r.fit_median_mm)
    # a similarity fits at least as well as a rigid motion (on the vertices it aligns; the
    # scan-to-mesh distance follows closely)
    assert r.fit_median_mm <= r.fit_noscale_median_mm * 1.05


@pytest.mark.slow
def test_three_heads(tmp_path):
    results = run_geometry_benchmark(3, seed=1, cache_dir=tmp_path)
    assert all(r.ok for r in results), [r.error for r in results]
    stats = summary(results)
    assert all(math.isfinite(v) for s in stats.values() for v in s.values())
    assert all(r.reprojection_px < 2.0 and 0.9 < r.scale < 1.1 for r in results)
    assert stats["fit"]["median_of_medians"] < 3.0
