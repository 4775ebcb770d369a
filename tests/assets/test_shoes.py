"""Shoes fitted to real bodies: every style builds, covers the foot in every test pose, stands on
a sole, and the styles differ where they should (boots reach the calf, sandals show the toes)."""

import numpy as np
import pytest

from machcreator.assets.fitting import BodySurface, SurfaceCloud
from machcreator.assets.shoes import STYLES, fit_shoes
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.body.pose import TEST_POSES, skin_points, skinning_matrices
from machcreator.body.template import load_anny
from machcreator.core.normals import vertex_normals

BODIES = {"woman": ["body.gender=female", "body.age_years=30"],
          "large_man": ["body.gender=male", "body.age_years=45", "body.weight=0.9", "body.height=0.8"]}


@pytest.fixture(scope="module", params=list(BODIES))
def surface(request) -> BodySurface:
    attrs = resolve(apply_overrides(Attributes(), BODIES[request.param]), seed=3)
    return BodySurface.from_character(build_geometry(attrs, model=load_anny()))


@pytest.fixture(scope="module")
def pairs(surface):
    return {style: fit_shoes(style, surface, color=(90, 50, 30), num_morphs=52) for style in STYLES}


def shell(asset, mats=None) -> SurfaceCloud:
    """The uppers' surface (closed under the foot), posed by ``mats`` when given."""
    parts = [p for p in asset.parts if p.name == "shoes_upper"]
    pos = [p.positions.astype(np.float64) if mats is None else skin_points(p.positions, p.joints, p.weights, mats)
           for p in parts]
    offsets = np.cumsum([0] + [len(p) for p in pos])
    pos, faces = np.concatenate(pos), np.concatenate([p.faces + o for p, o in zip(parts, offsets)])
    return SurfaceCloud(pos, vertex_normals(pos, faces))


def covered(surface, asset):
    return surface.positions[asset.hidden_body]


@pytest.mark.parametrize("style", [s for s in STYLES if s != "sandals"])
def test_covered_foot_is_inside_the_shoe_at_rest(surface, pairs, style):
    inside = shell(pairs[style]).signed_distance(covered(surface, pairs[style]))
    assert inside.max() < 0.0


@pytest.mark.parametrize("pose", list(TEST_POSES))
@pytest.mark.parametrize("style", ["sneakers", "boots", "heels"])
def test_covered_foot_stays_inside_in_each_pose(surface, pairs, style, pose):
    mats = skinning_matrices(surface.skeleton, TEST_POSES[pose])
    asset = pairs[style]
    h = asset.hidden_body
    foot = skin_points(surface.positions[h], surface.joints[h], surface.weights[h], mats)
    assert shell(asset, mats).signed_distance(foot).max() < 0.002


@pytest.mark.parametrize("style", list(STYLES))
def test_hides_the_whole_sole_of_the_foot(surface, pairs, style):
    sole = (surface.bone_mass(("foot", "toe")) > 0.5) & (surface.positions[:, 2] < 0.004) & (surface.normals[:, 2] < -0.3)
    assert pairs[style].hidden_body[sole].mean() > 0.95


@pytest.mark.parametrize("style", list(STYLES))
def test_a_sole_lies_under_every_foot_bottom_vertex(surface, pairs, style):
    sole = next(p for p in pairs[style].parts if p.name == "shoes_sole")
    bottom = surface.positions[(surface.bone_mass(("foot", "toe")) > 0.5) & (surface.positions[:, 2] < 0.01)]
    tri = sole.positions[sole.faces].astype(np.float64)
    tri = tri[(tri[:, :, 2] < -0.002).all(1)]  # the sole's underside, below the floor
    a, b, c = tri[:, 0, :2], tri[:, 1, :2], tri[:, 2, :2]
    p = bottom[:, None, :2]
    cross = lambda u, v, w: (v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1]) - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0])
    d1, d2, d3 = cross(a, b, p), cross(b, c, p), cross(c, a, p)
    under = ((d1 >= 0) & (d2 >= 0) & (d3 >= 0)) | ((d1 <= 0) & (d2 <= 0) & (d3 <= 0))
    assert under.any(1).all()


def test_boots_reach_the_calf_and_shoes_do_not(surface, pairs):
    calf = surface.bone("lowerleg02.L")[2]
    top = {s: max(p.positions[:, 2].max() for p in a.parts) for s, a in pairs.items()}
    assert top["boots"] > calf
    assert all(top[s] < calf - 0.05 for s in STYLES if s != "boots")


def test_sandals_show_the_toes(surface, pairs):
    toes = surface.positions[(surface.bone_mass(("toe",)) > 0.5) & (surface.positions[:, 2] > 0.01)]
    verts = np.concatenate([p.positions for p in pairs["sandals"].parts])
    over = verts[verts[:, 2] > 0.0]
    d = np.linalg.norm(toes[:, None, :2] - over[None, :, :2], axis=2)
    assert (d.min(1) > 0.005).mean() > 0.8  # most of the toes have nothing above them
    assert not pairs["sandals"].hidden_body[surface.bone_mass(("toe",)) > 0.5].all()


def test_styles_differ(pairs):
    sizes = {s: tuple(p.num_vertices for p in a.parts) for s, a in pairs.items()}
    assert len(set(sizes.values())) == len(STYLES)
    assert pairs["sneakers"].materials["shoes_sole"].base_color_factor[0] > 0.8  # white rubber
    assert {"dress_shoes", "boots", "heels"} <= {s for s, a in pairs.items() if "shoes_upper_albedo" in a.textures}


def test_parts_are_skinned_and_morph_free(pairs):
    for asset in pairs.values():
        for p in asset.parts:
            assert np.allclose(p.weights.sum(1), 1.0, atol=1e-4)
            assert p.morph_deltas.shape == (52, p.num_vertices, 3)
            assert np.isfinite(p.positions).all()


def test_unknown_style_is_refused(surface):
    with pytest.raises(ValueError, match="unknown shoe style"):
        fit_shoes("clogs", surface, color=(0, 0, 0), num_morphs=52)
