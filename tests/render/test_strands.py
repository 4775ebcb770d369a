"""Strand rendering (render/strands.py) on synthetic grooms: lines, depth, shading, shadows, level of detail."""

import dataclasses

import numpy as np
import trimesh

from machcreator.character import Character, Groom, Material, MeshPart, Skeleton
from machcreator.render import strands
from machcreator.render.preview import KEY_LIGHT_DIR, camera_for_part, hair_box, head_box, render, render_preview

FLAT = ((0.2, 0.2, 0.2), (0.2, 0.2, 0.2))  # a flat dark-grey background, sRGB
RED_HAIR = (0.6, 0.02, 0.02)  # linear


def _part(mesh: trimesh.Trimesh, name: str, material: str) -> MeshPart:
    v = np.asarray(mesh.vertices, np.float32)
    n = len(v)
    return MeshPart(name=name, material=material, positions=v, normals=np.asarray(mesh.vertex_normals, np.float32),
                    uvs=np.zeros((n, 2), np.float32), faces=np.asarray(mesh.faces, np.int64),
                    joints=np.zeros((n, 1), np.int64), weights=np.ones((n, 1), np.float32),
                    morph_deltas=np.zeros((0, n, 3), np.float32))


def _head(center=(0.0, 0.0, 1.6), radius=0.1) -> MeshPart:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    mesh.apply_translation(center)
    return _part(mesh, "head", "skin")


def _character(parts: list[MeshPart], grooms: list[Groom] = (), extra_materials=()) -> Character:
    skeleton = Skeleton(bone_names=["root"], parents=np.array([-1]), rest_world=np.eye(4, dtype=np.float32)[None])
    materials = {"skin": Material("skin", base_color_factor=(0.5, 0.5, 0.5, 1.0))}
    materials.update({m.name: m for m in extra_materials})
    landmarks = {"head_top": np.array([0, 0, 1.7]), "chin": np.array([0, -0.05, 1.51]),
                 "eye_center_l": np.array([0.035, -0.09, 1.62]), "eye_center_r": np.array([-0.035, -0.09, 1.62])}
    return Character(skeleton=skeleton, parts=parts, materials=materials, morph_names=(), landmarks=landmarks,
                     grooms=list(grooms))


def _groom(lines: np.ndarray, color=RED_HAIR, width=8e-5, guide=None, name="scalp") -> Groom:
    """A groom from (S, K, 3) strand points, metres."""
    lines = np.asarray(lines, np.float32)
    s, k = lines.shape[:2]
    return Groom(name=name, points=lines.reshape(-1, 3), counts=np.full(s, k, np.int32),
                 widths=np.full(s * k, width, np.float32),
                 colors=np.broadcast_to(np.asarray(color, np.float32), (s * k, 3)).copy(),
                 root_uv=np.zeros((s, 2), np.float32), guide=np.zeros(s, bool) if guide is None else guide,
                 clump_id=np.zeros(s, np.int32), group_id=0)


def _curtain(y: float, n: int = 300, x=(-0.05, 0.05), z=(1.55, 1.65), points: int = 8, seed: int = 0) -> np.ndarray:
    """(n, points, 3) vertical strands hanging in the plane at depth ``y``, slightly jittered."""
    rng = np.random.default_rng(seed)
    xs = rng.uniform(*x, n)[:, None]
    zs = np.linspace(z[1], z[0], points)[None, :]
    wave = 0.002 * np.sin(40 * zs + 6 * rng.random((n, 1)))
    return np.stack(np.broadcast_arrays(xs + wave, np.full((n, points), y), zs), -1)


def _front(character: Character, size: int = 64):
    return camera_for_part(head_box(character), "front", size)


def _hair_mask(img: np.ndarray, bald: np.ndarray) -> np.ndarray:
    return np.abs(img.astype(int) - bald.astype(int)).sum(-1) > 24


# --- what is drawn -----------------------------------------------------------------------------

def test_strands_behind_the_head_are_hidden_and_in_front_shown():
    bald = _character([_head()])
    cam = _front(bald)
    base = render(bald, cam, background=FLAT)
    behind = render(_character([_head()], [_groom(_curtain(y=0.15))]), cam, background=FLAT)
    front = render(_character([_head()], [_groom(_curtain(y=-0.15))]), cam, background=FLAT)
    assert np.array_equal(behind, base)
    assert _hair_mask(front, base).mean() > 0.1


def test_red_groom_makes_the_hair_pixels_red():
    bald = _character([_head()])
    cam = _front(bald)
    base = render(bald, cam, background=FLAT)
    img = render(_character([_head()], [_groom(_curtain(y=-0.11, n=3000))]), cam, background=FLAT)
    (x0, y0), (x1, y1) = cam.project(np.array([[-0.045, -0.11, 1.645], [0.045, -0.11, 1.555]]))[0].astype(int)
    hair = _hair_mask(img, base)[y0:y1, x0:x1]  # inside the curtain (its shadow darkens the skin around)
    rgb = img[y0:y1, x0:x1][hair].astype(int)
    assert hair.mean() > 0.8
    assert (rgb[:, 0] > rgb[:, 1] + 40).mean() > 0.9 and (rgb[:, 0] > rgb[:, 2] + 40).mean() > 0.9


def test_guides_are_not_drawn():
    bald = _character([_head()])
    cam = _front(bald)
    lines = _curtain(y=-0.15)
    guides = _character([_head()], [_groom(lines, guide=np.ones(len(lines), bool))])
    half = _character([_head()], [_groom(lines, guide=np.arange(len(lines)) % 2 == 0)])
    base = render(bald, cam, background=FLAT)
    assert np.array_equal(render(guides, cam, background=FLAT), base)
    assert _hair_mask(render(half, cam, background=FLAT), base).any()


def test_hair_cards_are_skipped_when_the_character_has_grooms():
    card = trimesh.Trimesh([[-0.06, -0.12, 1.54], [0.06, -0.12, 1.54], [0.06, -0.12, 1.66], [-0.06, -0.12, 1.66]],
                           [[0, 1, 2], [0, 2, 3]], process=False)
    cards = _part(card, "scalp_cards", "cards")
    white = Material("cards", base_color_factor=(1.0, 1.0, 1.0, 1.0), double_sided=True)
    hidden_groom = _groom(_curtain(y=0.15))  # behind the head: the strands themselves do not show
    bald = _character([_head()])
    cam = _front(bald)
    base = render(bald, cam, background=FLAT)
    with_cards = render(_character([_head(), cards], extra_materials=[white]), cam, background=FLAT)
    with_grooms = render(_character([_head(), cards], [hidden_groom], extra_materials=[white]), cam, background=FLAT)
    assert _hair_mask(with_cards, base).mean() > 0.1  # no grooms: the cards are what hair there is
    assert np.array_equal(with_grooms, base)


def test_rendering_strands_is_deterministic():
    ch = _character([_head()], [_groom(_curtain(y=-0.12, n=2000))])
    cam = camera_for_part(head_box(ch), "three_quarter", 48)
    assert np.array_equal(render(ch, cam), render(ch, cam))


# --- lines ---------------------------------------------------------------------------------------

def _coverage(p0, p1, width_px, size=16) -> np.ndarray:
    """(size, size) coverage of one segment."""
    frags = list(strands.line_fragments(np.array([p0], np.float32), np.array([p1], np.float32), np.zeros(1),
                                        np.zeros(1), np.full(1, width_px), np.full(1, width_px), size, size))
    image = np.zeros(size * size)
    for f in frags:
        _, pix, cover = f.flat()
        np.add.at(image, pix, cover)
    return image.reshape(size, size)


def test_sub_pixel_strands_leave_partial_coverage_without_staircase():
    p0, p1 = (1.0, 3.3), (15.0, 9.1)  # shallow: walked column by column
    cover = _coverage(p0, p1, 0.3)
    length = np.hypot(14.0, 5.8)
    assert np.isclose(cover.sum(), 0.3 * length, rtol=1e-4)  # area = width x length, exactly
    assert 0.0 < cover.max() < 0.5  # partial, never a solid pixel
    # each column carries the same area, shared between the two pixels the line straddles
    columns = cover[:, 2:14].sum(0)
    assert np.allclose(columns, 0.3 * length / 14.0, rtol=1e-4)
    assert ((cover[:, 2:14] > 0).sum(0) <= 2).all()
    # moving the line by a fraction of a pixel moves its coverage smoothly
    shifted = _coverage((1.0, 3.55), (15.0, 9.35), 0.3)
    rows = np.arange(16)[:, None]
    centre, moved = (cover * rows).sum(0)[2:14] / columns, (shifted * rows).sum(0)[2:14] / columns
    assert np.allclose(moved - centre, 0.25, atol=1e-3)


def test_thin_strands_blend_with_the_background_in_the_image():
    bald = _character([_head(center=(0.0, 0.5, 1.6))])  # far behind: a backdrop the strands cross
    cam = camera_for_part(np.array([[-0.05, -0.1, 1.55], [0.05, -0.1, 1.65]]), "front", 48)
    base = render(bald, cam, background=FLAT).astype(int)
    one = _groom(np.array([[[-0.04, -0.1, 1.56], [0.04, -0.1, 1.64]]]), color=(1.0, 1.0, 1.0), width=6e-5)
    img = render(_character([_head(center=(0.0, 0.5, 1.6))], [one]), cam, background=FLAT).astype(int)
    lift = (img - base).sum(-1)
    touched = lift > 3
    assert touched.any(0).sum() >= 30  # a line across the image, not dots
    assert lift[touched].max() < 0.6 * (3 * 255 - base[touched].sum(-1)).min()  # never the solid hair colour


def test_a_drawn_subset_keeps_the_opacity_of_all_strands():
    # 400 strands, or every 4th standing for four: the same optical depth over the area
    n, size = 400, 64
    xs = np.linspace(4.0, 60.0, n)
    xy = np.stack([np.repeat(xs, 2), np.tile([4.0, 60.0], n)], 1).astype(np.float32)
    depth = np.full(2 * n, 1.0, np.float32)
    rgb = np.ones((2 * n, 3), np.float32)
    far = np.full((size, size), np.inf, np.float32)

    def mean_alpha(keep: np.ndarray, scale: float) -> float:
        pts = np.repeat(keep, 2) * 2 + np.tile([0, 1], len(keep))
        _, alpha = strands.draw_strands(xy[pts], depth[pts], np.full(len(pts), 0.05, np.float32), rgb[pts],
                                        np.full(len(keep), 2), np.full(len(keep), scale, np.float32), far, size, size)
        return float(alpha[8:56, 8:56].mean())

    every = mean_alpha(np.arange(n), 1.0)
    subset = mean_alpha(np.arange(0, n, 4), 4.0)
    assert every > 0.2 and abs(subset - every) < 0.1 * every


def test_keep_count_draws_all_of_a_sparse_groom_and_a_subset_of_a_dense_one():
    rng = np.random.default_rng(0)
    roots = rng.uniform(10, 54, (256, 2))
    xy = np.repeat(roots, 2, axis=0) + np.tile([[0.0, 0.0], [0.0, 8.0]], (256, 1))
    counts = np.full(256, 2)
    assert strands.keep_count(xy, counts, 300, 64, 64, density=8.0) == 300
    dense = strands.keep_count(xy, counts, 100_000, 64, 64, density=8.0)
    assert 300 < dense < 100_000
    assert strands.keep_count(xy, counts, 100_000, 64, 64, density=8.0, seen=np.zeros(512, bool)) == 256


def test_refined_strands_pass_through_their_points_and_stay_apart():
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [5, 5, 5], [6, 5, 5]], np.float32)
    counts = np.array([3, 2])
    start, t, refined = strands.refine_strands(counts, 3)
    assert refined.tolist() == [7, 4]
    curve = strands.catmull_rom(points, counts, start, t)
    assert np.allclose(curve[[0, 3, 6, 7, 10]], points)  # the original points, tips included
    assert np.all(curve[:7, 2] == 0) and np.all(curve[7:] >= 5)  # no strand borrows from the next
    assert strands.refinement(np.array([[0, 0], [30, 0], [60, 0]], np.float32), np.array([3])) == 3


# --- shading and shadows ---------------------------------------------------------------------------

def test_primary_highlight_is_white_towards_the_root_and_the_secondary_coloured_towards_the_tip():
    to_light = np.array([0.0, -1.0, 0.0], np.float32)  # light and eye together, in front

    def radiance(half_deg: float) -> np.ndarray:
        # tangent tilted so that the half angle (here theta_i = theta_r) is half_deg, positive
        # (towards the light and eye) when the fibre's tip points at them
        a = np.radians(half_deg)
        tangent = np.array([[0.0, -np.sin(a), np.cos(a)]], np.float32)
        return strands.shade_strands(np.array([[0.5, 0.05, 0.05]], np.float32), tangent, to_light[None],
                                     [(to_light, 1.0, None)], np.zeros((1, 3), np.float32))[0]

    root_side, tip_side = radiance(6.0), radiance(-9.0)
    assert root_side[1] > 2 * tip_side[1]  # the white primary (R) peaks shifted towards the root
    assert tip_side[0] / tip_side[1] > 2 * root_side[0] / root_side[1]  # the secondary (TRT) is coloured


def test_the_side_of_the_hair_facing_the_key_light_is_brighter():
    # hair combed down over a sphere from a crown: the key light comes from the viewer's left
    theta = np.linspace(0.15, 1.4, 10)[None, :]
    phi = np.linspace(-np.pi / 2 - 1.2, -np.pi / 2 + 1.2, 400)[:, None]  # around the front (-Y)
    r = 0.103
    lines = np.stack(np.broadcast_arrays(r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                                         1.6 + r * np.cos(theta)), -1)
    ch = _character([_head()], [_groom(lines, color=(0.3, 0.2, 0.1))])
    bald = _character([_head()])
    cam = _front(bald, 64)
    img = render(ch, cam, background=FLAT).astype(float)
    hair = _hair_mask(img, render(bald, cam, background=FLAT))
    lum = img.mean(-1)
    left, right = hair.copy(), hair.copy()
    left[:, 32:], right[:, :32] = False, False
    assert KEY_LIGHT_DIR[0] < 0 and left.sum() > 50 and right.sum() > 50
    assert lum[left].mean() > lum[right].mean() + 10


def _ribbons(heights, n=600, half_depth=0.02, width_m=2e-4) -> Groom:
    """Horizontal layers of strands along X at each height, spread in Y (opaque seen from above)."""
    rng = np.random.default_rng(1)
    lines = []
    for z in heights:
        y = rng.uniform(-half_depth, half_depth, n)[:, None]
        x = np.linspace(-0.05, 0.05, 6)[None, :]
        lines.append(np.stack(np.broadcast_arrays(x, y, np.full((n, 6), z)), -1))
    return _groom(np.concatenate(lines), color=(0.4, 0.3, 0.2), width=width_m)


def test_an_inner_layer_shadowed_by_the_outer_one_is_darker():
    heights = (1.62, 1.59, 1.56)  # the light is straight above: the top layer shades the others
    ch = _character([_head(center=(1.0, 0.5, 1.6), radius=0.01)], [_ribbons(heights)])
    cam = camera_for_part(np.array([[-0.05, -0.02, 1.55], [0.05, 0.02, 1.63]]), "front", 64)
    img = render(ch, cam, light_dir=(0.0, 0.0, 1.0), background=FLAT).astype(float).mean(-1)
    rows = [int(round(cam.project(np.array([[0.0, -0.02, z]]))[0][0, 1])) for z in heights]
    band = [img[r - 1:r + 2, 16:48].mean() for r in rows]
    assert band[0] > band[1] + 10 and band[0] > band[2] + 10


def test_hair_shadows_what_lies_under_it_not_beside_it():
    layer = strands.strand_set(_ribbons([1.6], n=600))
    shadow = strands.hair_shadow([layer], np.array([0.0, 0.0, 1.0]))
    under, beside, above = [[0.0, 0.0, 1.55]], [[0.2, 0.0, 1.55]], [[0.0, 0.0, 1.65]]
    t = shadow.transmittance(np.array(under + beside + above, np.float32))
    assert t[0] < 0.6 and t[1] == 1.0 and t[2] == 1.0


# --- the preview ------------------------------------------------------------------------------------

def _scalp_groom(character: Character, n: int, length: float, color=RED_HAIR, seed: int = 0) -> Groom:
    """Long strands from the upper back of the head part, hanging down, off the skin."""
    head = character.part("head")
    top = float(character.landmarks["head_top"][2])
    eyes = float(character.landmarks["eye_center_l"][2])
    centre = head.positions.mean(0)
    rng = np.random.default_rng(seed)
    up, back = head.positions[:, 2] > eyes + 0.4 * (top - eyes), head.positions[:, 1] > centre[1] - 0.02
    scalp = np.nonzero(up & back)[0]
    roots = head.positions[rng.choice(scalp, n)] + rng.normal(0.0, 0.003, (n, 3))  # spread between vertices
    out = roots - centre
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    t = np.linspace(0.0, 1.0, 12)[None, :, None]
    fall = np.array([0.0, 0.3, -1.0]) / np.linalg.norm([0.0, 0.3, -1.0])
    lines = roots[:, None] + 0.02 * np.sin(np.pi * np.minimum(t, 0.5)) * out[:, None] + length * t**1.5 * fall
    return _groom(lines, color=color)


def test_preview_draws_grooms_on_the_real_character_and_shows_the_back_of_the_head(fisherman_result):
    ch = fisherman_result.character
    long_hair = dataclasses.replace(ch, grooms=[_scalp_groom(ch, 3000, 0.3)])
    assert hair_box(long_hair)[:, 2].min() < head_box(ch)[:, 2].min() - 0.05  # framed down to the shoulders
    size = 96

    def back_centre_red(character: Character) -> float:
        img = render_preview(character, size=size).astype(float)
        assert img.shape == (size, 4 * size, 3)
        centre = img[int(0.2 * size):int(0.7 * size), int(3.35 * size):int(3.65 * size)]
        return float((centre[..., 0] > 1.6 * centre[..., 1]).mean())  # red hair, not skin

    assert back_centre_red(ch) < 0.1 and back_centre_red(long_hair) > 0.5
