"""Headwear fitted to real generated heads, and the hair pressed under it."""

from __future__ import annotations

import numpy as np
import pytest

from machcreator.assets.fitting import BodySurface
from machcreator.assets.headwear import (THICKNESS_M, fit_hair_under, fit_headwear, hair_thickness,
                                         headwear_cover)
from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.body.geometry import build_geometry
from machcreator.body.template import load_anny
from machcreator.hair.grooms import character_field, make_grooms

PEOPLE = {
    "child": ["body.gender=female", "body.age_years=7", "hair.style=bob"],
    "woman": ["body.gender=female", "body.age_years=30", "hair.style=afro"],
    "old_man": ["body.gender=male", "body.age_years=70", "hair.style=long_straight"],
}


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    out = {}
    for name, overrides in PEOPLE.items():
        attrs = resolve(apply_overrides(Attributes(), overrides), 1)
        character = build_geometry(attrs, model=load_anny())
        grooms = make_grooms(character, attrs, 1, field=character_field(character),
                             cache_dir=tmp_path_factory.mktemp(name), detail=0.05)
        out[name] = (BodySurface.from_character(character), grooms)
    return out


def _scalp(grooms):
    return next(g for g in grooms if g.name == "scalp")


@pytest.mark.parametrize("style", list(THICKNESS_M))
def test_every_vertex_is_outside_the_skin(people, style):
    for name, (surface, grooms) in people.items():
        asset = fit_headwear(style, surface, color=(28, 36, 70), hair_thickness_m=hair_thickness(grooms, style, surface),
                             num_morphs=52)
        pts = np.concatenate([p.positions for p in asset.parts]).astype(np.float64)
        assert surface.cloud.signed_distance(pts).min() > 0.0, (name, style)


def test_styles_differ(people):
    surface, _ = people["old_man"]
    counts = {style: fit_headwear(style, surface, color=(28, 36, 70), num_morphs=52).parts[0].num_vertices
              for style in THICKNESS_M}
    heights = {style: fit_headwear(style, surface, color=(28, 36, 70), num_morphs=52).parts[0].positions[:, 2].max()
               for style in ("beanie", "fedora")}
    assert len(set(counts.values())) > 3 and heights["fedora"] > heights["beanie"] + 0.01


@pytest.mark.parametrize("who", ["woman", "old_man"])
def test_no_hair_pokes_through_a_beanie(people, who):
    surface, grooms = people[who]
    thick = hair_thickness(grooms, "beanie", surface)
    cover = headwear_cover("beanie", surface, thick)
    pts = _scalp(fit_hair_under(grooms, cover, "beanie")).points
    inside = cover.covers(pts)
    r, _, inner, outer = cover.radii(pts[inside])
    assert inside.sum() > 1000
    assert (r > outer).sum() == 0 and (r > inner - 0.001).sum() == 0


def test_an_afro_stretches_the_beanie(people):
    (afro_s, afro_g), (old_s, old_g) = people["woman"], people["old_man"]
    assert hair_thickness(afro_g, "beanie", afro_s) > hair_thickness(old_g, "beanie", old_s) + 0.005


def test_long_hair_still_hangs_to_the_shoulders(people):
    surface, grooms = people["old_man"]
    cover = headwear_cover("beanie", surface, hair_thickness(grooms, "beanie", surface))
    before, after = _scalp(grooms), _scalp(fit_hair_under(grooms, cover, "beanie"))
    assert after.points[:, 2].min() < surface.landmarks["neck_base"][2]
    assert abs(after.points[:, 2].min() - before.points[:, 2].min()) < 0.02
    np.testing.assert_array_equal(after.counts, before.counts)  # nothing cut


def test_brows_and_lashes_untouched(people):
    surface, grooms = people["old_man"]
    cover = headwear_cover("headscarf", surface, 0.01)
    out = {g.name: g for g in fit_hair_under(grooms, cover, "headscarf")}
    for g in grooms:
        if g.name in ("eyebrows", "eyelashes"):
            assert out[g.name] is g


def test_hood_follows_the_neck(people):
    surface, _ = people["woman"]
    hood = fit_headwear("hood", surface, color=(90, 90, 90), num_morphs=52).parts[0]
    head = surface.skeleton.bone_names.index("head")
    assert np.any(hood.joints[:, 0] != head)
