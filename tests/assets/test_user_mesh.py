"""A studio's garment authored on the reference body, fitted to much larger and smaller bodies."""

import hashlib
import json

import numpy as np
import pytest
import trimesh
from PIL import Image

from machcreator.assets.fitting import BodySurface
from machcreator.assets.library import load_libraries
from machcreator.assets.user_mesh import (
    _Z_UP_TO_Y_UP, REFERENCE_OVERRIDES, check_same_topology, fit_user_mesh, read_glb, reference_surface,
    write_reference_glb,
)
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.core.normals import vertex_normals

BODIES = {
    "large": ["body.gender=male", "body.height=1", "body.weight=1", "body.muscle=0.8", "body.age_years=45"],
    "small": ["body.gender=female", "body.age_years=11", "body.height=-0.8", "body.weight=-0.6"],
}
#: the garment covers the chest and belly: this share of the body's height
BAND = (0.6, 0.75)


@pytest.fixture(scope="module")
def reference():
    return reference_surface()


@pytest.fixture(scope="module", params=sorted(BODIES))
def target(request):
    return request.param, BodySurface.from_character(build_geometry(resolve(apply_overrides(Attributes(), BODIES[request.param]), 0)))


def band(surface: BodySurface, shrink: float = 0.0) -> np.ndarray:
    z = surface.positions[:, 2]
    lo, hi = BAND
    return (surface.part == "body") & (z > (lo + shrink) * z.max()) & (z < (hi - shrink) * z.max())


@pytest.fixture(scope="module")
def library(reference, tmp_path_factory):
    """A library holding one top: the reference chest band 1.5 cm out, re-tessellated (so its vertices
    are not the skin's), with UVs, a base colour factor and an embedded texture."""
    keep = band(reference)
    faces = reference.faces[keep[reference.faces].all(1)]
    used = np.unique(faces)
    remap = np.full(len(reference.positions), -1)
    remap[used] = np.arange(len(used))
    points, faces = trimesh.remesh.subdivide(reference.positions[used], remap[faces])
    points = points + 0.015 * vertex_normals(points, faces)
    uv = np.stack([np.arctan2(points[:, 1], points[:, 0]) / (2 * np.pi) + 0.5, points[:, 2] / points[:, 2].max()], 1)
    texture = Image.fromarray(np.tile(np.array([[[200, 30, 30]], [[30, 30, 200]]], np.uint8), (4, 8, 1)))
    material = trimesh.visual.material.PBRMaterial(baseColorFactor=[0.5, 1.0, 1.0, 1.0], baseColorTexture=texture)
    mesh = trimesh.Trimesh(points @ _Z_UP_TO_Y_UP.T, faces, process=False,
                           visual=trimesh.visual.TextureVisuals(uv=uv, material=material))
    folder = tmp_path_factory.mktemp("studio")
    data = mesh.export(file_type="glb")
    (folder / "band.glb").write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps({
        "format": "machcreator-asset-library", "format_version": 1, "name": "studio", "assets": [{
            "id": "band", "category": "top", "tags": ["tube top"], "licence": "CC0-1.0",
            "files": [{"path": "band.glb", "sha256": hashlib.sha256(data).hexdigest()}],
            "reference_body": "machcreator-reference-v1"}]}))
    loaded, problems = load_libraries([folder])
    assert problems == []
    return loaded, points, uv


def test_bodies_share_triangles_but_not_vertex_order(reference, target):
    """BodySurface welds by position, so vertex order differs per body; the triangle list does not:
    fitting binds to triangles, never to vertex indices."""
    _, surface = target
    mapping = check_same_topology(reference, surface)
    assert (mapping != np.arange(len(mapping))).any()
    np.testing.assert_array_equal(reference.part, surface.part[mapping])
    np.testing.assert_array_equal(reference.part_index[reference.part == "body"],
                                  surface.part_index[mapping][reference.part == "body"])


def ray_hits(origins: np.ndarray, directions: np.ndarray, triangles: np.ndarray, reach: float = 0.05) -> np.ndarray:
    """(N,) whether each ray meets any triangle (M, 3, 3) within ``reach`` metres (Moller-Trumbore)."""
    a, e1, e2 = triangles[:, 0], triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    out = np.zeros(len(origins), bool)
    for i in range(0, len(origins), 64):
        o, d = origins[i:i + 64, None], directions[i:i + 64, None]
        p = np.cross(d, e2)
        det = (e1 * p).sum(-1)
        inv = 1.0 / np.where(np.abs(det) < 1e-12, np.nan, det)
        s = o - a
        u = (s * p).sum(-1) * inv
        q = np.cross(s, e1)
        v = (d * q).sum(-1) * inv
        t = (e2 * q).sum(-1) * inv
        out[i:i + 64] = ((u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & (t < reach)).any(1)
    return out


def test_fitted_garment_encloses_the_covered_skin(reference, target, library):
    name, surface = target
    loaded, _, _ = library
    fitted = fit_user_mesh(loaded.by_id["studio/band"], reference, surface, num_morphs=52)
    part, = fitted.parts
    covered = band(reference, shrink=0.02)[np.argsort(check_same_topology(reference, surface))]
    # straight out from every covered skin vertex, the garment comes within 5 cm
    hit = ray_hits(surface.positions[covered], surface.normals[covered], part.positions[part.faces].astype(np.float64))
    assert covered.sum() > 300 and hit.all(), f"{name}: {(~hit).sum()} skin vertices poke through"
    clearance = surface.cloud.signed_distance(part.positions.astype(np.float64))
    assert clearance.min() > 0.002 and np.median(clearance) < 0.03  # outside the skin, still snug
    np.testing.assert_allclose(part.weights.sum(1), 1.0, atol=1e-5)
    assert part.morph_deltas.shape == (52, part.num_vertices, 3)


def test_uvs_colour_and_texture_are_kept(reference, library):
    loaded, _, uv = library
    fitted = fit_user_mesh(loaded.by_id["studio/band"], reference, reference, num_morphs=0)
    part, = fitted.parts
    np.testing.assert_allclose(part.uvs[:, 0], uv[:, 0], atol=1e-5)
    np.testing.assert_allclose(part.uvs[:, 1], 1.0 - uv[:, 1], atol=1e-5)  # glTF's top-left v
    material = fitted.materials[part.material]
    assert material.base_color_factor == pytest.approx((0.5, 1.0, 1.0, 1.0), abs=0.01)
    texture = fitted.textures[material.base_color_texture]
    assert texture.shape[:2] == (8, 8) and tuple(texture[0, 0, :3]) == (200, 30, 30)
    recoloured = fit_user_mesh(loaded.by_id["studio/band"], reference, reference, num_morphs=0, color="navy")
    assert recoloured.materials[recoloured.parts[0].material].base_color_factor[:3] == pytest.approx((28 / 255, 36 / 255, 70 / 255))


def test_reference_body_glb_reads_back_in_our_axes(reference, tmp_path):
    assert "body.gender=female" in REFERENCE_OVERRIDES
    write_reference_glb(tmp_path / "ref.glb", reference)
    part, = read_glb((tmp_path / "ref.glb").read_bytes())
    np.testing.assert_allclose(part.positions, reference.positions, atol=1e-5)
    assert part.positions[:, 2].max() > 1.5  # Z-up, standing on the ground

