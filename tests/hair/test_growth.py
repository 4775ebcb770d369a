"""Grooms grown on a real anny head, written with the Alembic writer and re-read with alembic3d.

Every assertion measures what was made (lengths, curvature, positions, colours read back from the
files), not the parameters that asked for it.
"""

from __future__ import annotations

import colorsys
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from machcreator.attributes import COLORS, Attributes, resolve
from machcreator.body.geometry import build_geometry
from machcreator.body.mouth import winding_number
from machcreator.export.alembic import read_groom_abc, write_groom_abc
from machcreator.hair.grooms import character_field, make_grooms
from machcreator.hair.scalp import azimuth_deg, head_frame, scalp_roots, scalp_weight
from machcreator.core.hair_styles import STYLES
from machcreator.core.color import srgb_decode

CM = 0.01


@pytest.fixture(scope="module")
def head():
    """One woman's head; the attributes stay unresolved so each test's style brings its defaults."""
    specified = Attributes().with_value("body.gender", "female").with_value("body.age_years", 30.0)
    character = build_geometry(resolve(specified, 0))
    return character, character_field(character), specified


def _grooms(head, tmp_path: Path, detail: float = 1.0, **set_) -> dict:
    """The grooms for the head's attributes with ``path__leaf=value`` set, resolved with seed 0
    (``detail`` < 1: a draft with fewer strands, for tests about shape rather than counts)."""
    character, field, attrs = head
    for k, v in set_.items():
        attrs = attrs.with_value(k.replace("__", "."), v)
    grooms = make_grooms(character, resolve(attrs, 0), 0, field=field, cache_dir=tmp_path, detail=detail)
    return {g.name: g for g in grooms}


def _from_file(groom, tmp_path: Path):
    """Write the groom as Alembic, re-read it; (strand points list in character metres, file)."""
    path = tmp_path / f"{groom.name}.abc"
    write_groom_abc(groom, path)
    f = read_groom_abc(path)
    pts = f.points.astype(np.float64) * CM
    pts = np.stack([pts[:, 0], -pts[:, 2], pts[:, 1]], 1)  # file: Y-up, faces +Z -> ours: Z-up, faces -Y
    guide = f.attributes["groom_guide"][0].astype(bool)
    return pts, f.counts, guide, f


def _strand_stats(pts: np.ndarray, counts: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(arc length m, tortuosity = arc / chord) of each kept strand."""
    off = np.concatenate([[0], np.cumsum(counts)])
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    seg[off[1:-1] - 1] = 0.0  # no segment between strands
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    arc = cum[off[1:] - 1] - cum[off[:-1]]
    chord = np.linalg.norm(pts[off[1:] - 1] - pts[off[:-1]], axis=1)
    return arc[keep], (arc / np.maximum(chord, 1e-9))[keep]


def test_the_library_names_the_styles_people_ask_for():
    assert len(STYLES) >= 30
    wanted = {"buzz", "crew_cut", "undercut", "fade", "pixie", "bob", "lob", "shoulder_straight", "shoulder_wavy",
              "shoulder_curly", "long_straight", "long_wavy", "long_curly", "afro", "ponytail_high", "ponytail_low",
              "bun", "top_knot", "pigtails", "braid", "two_braids", "cornrows", "dreadlocks", "mohawk",
              "slicked_back", "side_part", "curtain_bangs", "receding", "bald"}
    assert wanted <= set(STYLES)
    for s in STYLES.values():
        labels = s.labels()
        assert {"type", "length_cm", "curl", "part", "bangs", "volume"} <= set(labels) and s.aliases


def test_roots_are_on_the_scalp_and_evenly_spread(head):
    character, _, _ = head
    part, frame = character.part("head"), head_frame(character)
    rng = np.random.default_rng(0)
    roots = scalp_roots(part, frame, "normal", 0.7, 40000, rng)
    assert len(roots) == 40000
    assert (scalp_weight(roots.positions, roots.normals, frame, "normal") > 0).all()
    assert (roots.positions[:, 2] > frame.eye_z - 0.8 * frame.unit).all()  # nothing on the face
    # evenness: nearest-neighbour spacing varies less than for independent uniform samples
    tri = part.faces[roots.face]
    uniform = rng.dirichlet(np.ones(3), len(roots))
    random_pts = np.einsum("nk,nkc->nc", uniform, part.positions[tri])
    cv = lambda p: (lambda d: d.std() / d.mean())(cKDTree(p).query(p, 2)[0][:, 1])  # noqa: E731
    assert cv(roots.positions) < 0.85 * cv(random_pts)
    assert np.all((roots.uv >= 0) & (roots.uv <= 1))


def test_lengths_measured_from_files_follow_the_styles(head, tmp_path):
    means = {}
    for style in ("long_straight", "shoulder_straight", "short", "buzz"):
        groom = _grooms(head, tmp_path, hair__style=style)["scalp"]
        pts, counts, guide, _ = _from_file(groom, tmp_path)
        arc, _ = _strand_stats(pts, counts, ~guide)
        means[style] = arc.mean()
        if style == "long_straight":
            assert (~guide).sum() >= 100_000
    assert means["long_straight"] > means["shoulder_straight"] > means["short"] > means["buzz"]
    assert means["long_straight"] > 0.35 and means["buzz"] < 0.015


def test_curl_measured_from_files_orders_curly_wavy_straight(head, tmp_path):
    tort = {}
    for style in ("shoulder_straight", "shoulder_wavy", "shoulder_curly"):
        groom = _grooms(head, tmp_path, detail=0.3, hair__style=style)["scalp"]
        pts, counts, guide, _ = _from_file(groom, tmp_path)
        _, t = _strand_stats(pts, counts, ~guide)
        tort[style] = np.median(t)
    assert tort["shoulder_curly"] > tort["shoulder_wavy"] > tort["shoulder_straight"]
    # curly strands carry more points than straight ones of the same length
    curly = _grooms(head, tmp_path, detail=0.3, hair__style="shoulder_curly")["scalp"]
    straight = _grooms(head, tmp_path, detail=0.3, hair__style="shoulder_straight")["scalp"]
    assert curly.counts[~curly.guide].mean() > straight.counts[~straight.guide].mean()


@pytest.mark.parametrize("style", ["long_wavy", "ponytail_high", "afro", "bun", "braid", "mohawk"])
def test_no_strand_point_inside_the_body(head, tmp_path, style):
    character, field, _ = head
    groom = _grooms(head, tmp_path, detail=0.3, hair__style=style)["scalp"]
    first = np.zeros(len(groom.points), bool)
    first[groom.offsets[:-1]] = True
    pts = groom.points[~first]
    assert field.distance(pts).min() > 0.0
    # an independent measure on the full-resolution skin: the winding number of head + body
    sample = pts[np.random.default_rng(1).choice(len(pts), 1500, replace=False)]
    h, b = character.part("head"), character.part("body")
    verts = np.concatenate([h.positions, b.positions])
    faces = np.concatenate([h.faces, b.faces + len(h.positions)])
    near = sample[np.linalg.norm(sample - head_frame(character).center, axis=1) < 0.4]
    assert (np.abs(winding_number(near, verts, faces)) < 0.5).all()


def _hue(rgb: np.ndarray) -> float:
    return colorsys.rgb_to_hsv(*np.clip(rgb, 0, 1))[0]


@pytest.mark.parametrize("color", ["red", "blonde", "brown", "blue"])
def test_groom_color_read_back_has_the_asked_hue(head, tmp_path, color):
    groom = _grooms(head, tmp_path, detail=0.2, hair__style="bob", hair__color=color, hair__highlights="none")["scalp"]
    _, _, _, f = _from_file(groom, tmp_path)
    values, scope = f.attributes["groom_color"]
    assert scope == "vertex" and values.shape == (len(f.points), 3)
    want = _hue(srgb_decode(np.array(COLORS[color], np.uint8)))
    got = _hue(values.reshape(-1, 3).mean(0))
    assert min(abs(got - want), 1 - abs(got - want)) < 0.04


def test_face_grooms_sit_where_faces_grow_them(head, tmp_path):
    character, field, _ = head
    frame = head_frame(character)
    g = _grooms(head, tmp_path, detail=0.2, body__gender="male", facial_hair__type="full_beard", facial_hair__length_cm=3.0)
    assert set(g) == {"scalp", "eyebrows", "eyelashes", "facial_hair"}
    brows = g["eyebrows"].points[g["eyebrows"].offsets[:-1]]
    assert (brows[:, 2] > frame.eye_z + 0.1 * frame.unit).all() and (brows[:, 2] < frame.eye_z + 0.8 * frame.unit).all()
    assert (np.abs(brows[:, 0]) < 1.3 * frame.unit).all() and (brows[:, 1] < frame.ear_y).all()
    lashes = g["eyelashes"]
    roots = lashes.points[lashes.offsets[:-1]]
    to_eye = np.min(np.linalg.norm(roots[:, None] - frame.eye[None], axis=-1), axis=1)
    assert (to_eye < 1.6 * frame.eye_radius).all() and (roots[:, 1] < frame.eye[0, 1]).all()
    tips = lashes.points[lashes.offsets[1:] - 1]
    assert (np.min(np.linalg.norm(tips[:, None] - frame.eye[None], axis=-1), axis=1) > frame.eye_radius).all()
    beard = g["facial_hair"].points[g["facial_hair"].offsets[:-1]]
    assert (beard[:, 2] < frame.eye_z - frame.eye_radius).all() and (beard[:, 2] > frame.chin[2] - 0.6 * frame.unit).all()
    high = beard[:, 2] > frame.nose[2]
    assert (np.abs(beard[high, 0]) > 0.8 * frame.unit).all()  # only sideburns reach above the nose tip
    assert (beard[:, 1] < frame.ear_y).all()  # in front of the ears: jaw, cheeks, chin
    for name in ("eyebrows", "facial_hair"):
        gr = g[name]
        first = np.zeros(len(gr.points), bool)
        first[gr.offsets[:-1]] = True
        assert field.distance(gr.points[~first]).min() > 0.0


def test_bald_clean_shaven_has_no_scalp_or_beard_groom(head, tmp_path):
    g = _grooms(head, tmp_path, hair__style="bald", hair__length_cm=0.0, facial_hair__type="none")
    assert set(g) == {"eyebrows", "eyelashes"}


def test_same_inputs_same_strands_and_the_cache_returns_them(head, tmp_path):
    a = _grooms(head, tmp_path / "one", detail=0.3, hair__style="lob")["scalp"]
    assert list((tmp_path / "one").glob("scalp-*.npz"))
    b = _grooms(head, tmp_path / "one", detail=0.3, hair__style="lob")["scalp"]  # from the cache
    c = _grooms(head, tmp_path / "two", detail=0.3, hair__style="lob")["scalp"]  # grown again
    for other in (b, c):
        for field_ in ("points", "counts", "widths", "colors", "root_uv", "guide", "clump_id"):
            np.testing.assert_array_equal(getattr(a, field_), getattr(other, field_))
    write_groom_abc(a, tmp_path / "a.abc")
    write_groom_abc(c, tmp_path / "c.abc")
    assert (tmp_path / "a.abc").read_bytes() == (tmp_path / "c.abc").read_bytes()


def test_widths_are_hair_thin_in_centimetres(head, tmp_path):
    g = _grooms(head, tmp_path, detail=0.2, hair__style="bob")["scalp"]
    _, _, _, f = _from_file(g, tmp_path)
    assert f.widths_scope == "vertex" and f.widths.shape == (len(f.points),)
    assert 0.001 <= f.widths.min() and f.widths.max() <= 0.02


def test_gathered_styles_leave_the_scalp_at_their_ties(head, tmp_path):
    character, _, _ = head
    frame = head_frame(character)
    tip = lambda g: g.points[g.offsets[1:] - 1][~g.guide]  # noqa: E731
    pony = _grooms(head, tmp_path, detail=0.3, hair__style="ponytail_high")["scalp"]
    # the tail hangs behind the head and below the tie
    assert np.median(tip(pony)[:, 1]) > frame.ear_y + 0.05 and np.median(tip(pony)[:, 2]) < frame.eye_z
    pig = _grooms(head, tmp_path, detail=0.3, hair__style="pigtails")["scalp"]
    tips = tip(pig)
    assert (tips[:, 0] > 0.05).mean() > 0.35 and (tips[:, 0] < -0.05).mean() > 0.35  # two tails, one each side
    bun = _grooms(head, tmp_path, detail=0.3, hair__style="bun")["scalp"]
    assert np.percentile(np.linalg.norm(tip(bun) - frame.center, axis=1), 95) < 0.2  # wound up at the head


def test_hairlines_move_the_front_of_the_scalp(head):
    character, _, _ = head
    part, frame = character.part("head"), head_frame(character)
    front = {}
    for line in ("normal", "receding", "high", "widows_peak"):
        p = scalp_roots(part, frame, line, 0.7, 20000, np.random.default_rng(0)).positions
        az = azimuth_deg(p, frame)
        # the hairline's height: the lowest roots ahead (mid-forehead) and at the temples
        front[line] = (np.percentile(p[(az > 35) & (az < 60), 2], 2), np.percentile(p[az < 12, 2], 2))
    assert front["receding"][0] > front["normal"][0] + 0.3 * frame.unit  # temples recede
    assert front["high"][1] > front["normal"][1] + 0.15 * frame.unit
    assert front["widows_peak"][1] < front["normal"][1] - 0.05 * frame.unit


def test_dataclass_groom_is_consistent(head, tmp_path):
    g = _grooms(head, tmp_path, detail=0.2, hair__style="pixie")["scalp"]
    assert g.counts.sum() == len(g.points) == len(g.widths) == len(g.colors)
    assert len(g.root_uv) == len(g.guide) == len(g.clump_id) == g.num_strands
    assert g.guide.sum() > 0 and (~g.guide).sum() > 10 * g.guide.sum()
    assert dataclasses.asdict(g)["labels"]["style"] == "pixie"


def test_a_draft_has_fewer_thicker_strands_of_the_same_shape(head, tmp_path):
    full = _grooms(head, tmp_path, hair__style="bob")["scalp"]
    draft = _grooms(head, tmp_path, detail=0.25, hair__style="bob")["scalp"]
    n_full, n_draft = (~full.guide).sum(), (~draft.guide).sum()
    assert 0.2 < n_draft / n_full < 0.3
    assert draft.widths.max() == pytest.approx(2.0 * full.widths.max(), rel=1e-5)  # 1/sqrt(0.25)
    length = lambda g: _strand_stats(g.points.astype(np.float64), g.counts, ~g.guide)[0].mean()  # noqa: E731
    assert length(draft) == pytest.approx(length(full), rel=0.05)
