"""The CPU preview renderer on small synthetic characters (no anny): framing, shading, z-buffer."""

import numpy as np
import pytest
import trimesh

from machcreator.character import Character, Material, MeshPart, Skeleton
from machcreator.render.preview import (
    Camera,
    camera_for_part,
    head_box,
    render,
    render_preview,
    tonemap,
)

GREEN = ((0.0, 1.0, 0.0), (0.0, 1.0, 0.0))  # a flat background no lit object can match


def _part(mesh: trimesh.Trimesh, name: str, material: str) -> MeshPart:
    v = np.asarray(mesh.vertices, np.float32)
    n = np.asarray(mesh.vertex_normals, np.float32)
    # spherical-ish UVs: u around Z, v = 0 at the top (+Z) and 1 at the bottom
    centred = v - v.mean(0)
    d = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    uv = np.stack([0.5 + np.arctan2(d[:, 1], d[:, 0]) / (2 * np.pi), 0.5 - 0.5 * d[:, 2]], 1).astype(np.float32)
    nv = len(v)
    return MeshPart(name=name, material=material, positions=v, normals=n, uvs=uv,
                    faces=np.asarray(mesh.faces, np.int64), joints=np.zeros((nv, 1), np.int64),
                    weights=np.ones((nv, 1), np.float32), morph_deltas=np.zeros((0, nv, 3), np.float32))


def _sphere(center, radius=0.1, name="head", material="head_skin") -> MeshPart:
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=radius)
    mesh.apply_translation(center)
    return _part(mesh, name, material)


def _box(center, extents, name="body", material="body") -> MeshPart:
    mesh = trimesh.creation.box(extents=extents)
    mesh.apply_translation(center)
    return _part(mesh, name, material)


def _character(parts, materials, textures=None, landmarks=None) -> Character:
    skeleton = Skeleton(bone_names=["root"], parents=np.array([-1]), rest_world=np.eye(4, dtype=np.float32)[None])
    return Character(skeleton=skeleton, parts=parts, materials={m.name: m for m in materials},
                     textures=textures or {}, morph_names=(), landmarks=landmarks or {})


def _checker(n=64, cells=8) -> np.ndarray:
    ij = np.indices((n, n)) // (n // cells)
    on = ((ij[0] + ij[1]) % 2).astype(bool)
    img = np.where(on[..., None], np.uint8(220), np.uint8(40))
    return np.repeat(img, 3, axis=2)


@pytest.fixture(scope="module")
def person() -> Character:
    """A checker-textured sphere head on a box body, with head landmarks."""
    head = _sphere((0.0, 0.0, 1.6))
    body = _box((0.0, 0.0, 1.15), (0.36, 0.2, 0.7))
    landmarks = {"head_top": np.array([0, 0, 1.7]), "chin": np.array([0, -0.05, 1.51]),
                 "eye_center_l": np.array([0.035, -0.09, 1.62]), "eye_center_r": np.array([-0.035, -0.09, 1.62])}
    return _character([head, body], [Material("head_skin", base_color_texture="checker"),
                                     Material("body", base_color_factor=(0.2, 0.3, 0.6, 1.0))],
                      {"checker": _checker()}, landmarks)


def _object_mask(img: np.ndarray) -> np.ndarray:
    """Pixels that are not the flat green background."""
    return np.abs(img.astype(int) - np.array([0, 255, 0])).sum(-1) > 30


def _interior(mask: np.ndarray) -> np.ndarray:
    """The mask shrunk by one pixel: drops the anti-aliased rim, which blends in the background."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def _lone_sphere(color=(0.8, 0.8, 0.8, 1.0), texture=None) -> Character:
    mat = Material("ball", base_color_factor=color, base_color_texture="tex" if texture is not None else None)
    return _character([_sphere((0.0, 0.0, 1.0), material="ball")], [mat],
                      {"tex": texture} if texture is not None else None)


def test_render_has_camera_shape_and_dtype(person):
    cam = camera_for_part(person.part("body").positions, "front", (96, 64))
    img = render(person, cam)
    assert img.shape == (64, 96, 3) and img.dtype == np.uint8


def test_object_covers_centre_not_corners():
    ball = _lone_sphere()
    cam = camera_for_part(ball.parts[0].positions, "front", 64, margin=0.2)
    mask = _object_mask(render(ball, cam, background=GREEN))
    assert mask[28:36, 28:36].all()
    assert not mask[:4, :4].any() and not mask[-4:, -4:].any() and not mask[:4, -4:].any()


def test_red_texture_makes_red_pixels():
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    red[..., 1:] = 20
    ball = _lone_sphere(texture=red)
    img = render(ball, camera_for_part(ball.parts[0].positions, "front", 48), background=GREEN).astype(int)
    px = img[_interior(_object_mask(img))]
    assert len(px) > 500
    assert (px[:, 0] > 2 * px[:, 1]).mean() > 0.95 and (px[:, 0] > 2 * px[:, 2]).mean() > 0.95


def test_texture_is_not_upside_down():
    # rows 0..3 (v < 0.5, the sphere's top under our UVs) red, the rest blue
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[:4, :, 0] = 255
    tex[4:, :, 2] = 255
    ball = _lone_sphere(texture=tex)
    img = render(ball, camera_for_part(ball.parts[0].positions, "front", 64), background=GREEN).astype(int)
    top, bottom = img[16, 32], img[48, 32]
    assert top[0] > top[2] and bottom[2] > bottom[0]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_light_from_plus_x_brightens_plus_x_side(sign):
    ball = _lone_sphere()
    cam = camera_for_part(ball.parts[0].positions, "front", 64)
    lum = render(ball, cam, light_dir=(sign, 0.0, 0.0), background=GREEN).astype(float).mean(-1)
    # in the front view screen right is +X (the character's left)
    left, right = lum[24:40, 12:24].mean(), lum[24:40, 40:52].mean()
    assert (right - left) * sign > 20


@pytest.mark.parametrize("reverse", [False, True])
def test_nearer_part_occludes_farther_one_whatever_the_part_order(reverse):
    near = _sphere((0.0, -0.3, 1.0), radius=0.05, name="near", material="red")
    far = _sphere((0.0, 0.0, 1.0), radius=0.15, name="far", material="blue")
    parts = [far, near] if reverse else [near, far]
    ch = _character(parts, [Material("red", base_color_factor=(0.9, 0.02, 0.02, 1)),
                            Material("blue", base_color_factor=(0.02, 0.02, 0.9, 1))])
    cam = camera_for_part(far.positions, "front", 64)
    img = render(ch, cam, background=GREEN).astype(int)
    centre, rim = img[32, 32], img[32, 6]  # the far ball is bigger: its rim shows around the near one
    assert centre[0] > 2 * centre[2]
    assert rim[2] > 2 * rim[0]


@pytest.mark.parametrize("view", ["front", "three_quarter", "three_quarter_right"])
@pytest.mark.parametrize("size", [64, (120, 40)])
def test_framing_keeps_points_inside_and_fills_the_frame(view, size):
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(500, 3)) * np.array([0.2, 0.1, 0.6]) + np.array([0.3, 0.1, 1.0])
    cam = camera_for_part(pts, view, size, margin=0.1)
    xy, depth = cam.project(pts)
    assert (depth > 0).all()
    assert (xy >= 0).all() and (xy[:, 0] <= cam.width).all() and (xy[:, 1] <= cam.height).all()
    # tight: along one axis the points reach the margin (10 % of the half-size) on at least one side
    half = np.array([cam.width, cam.height]) / 2
    reach = (np.abs(xy - half) / half).max(0)
    assert reach.max() > 0.88


def test_front_camera_looks_along_plus_y_with_x_to_the_right_and_z_up():
    cam = camera_for_part(np.array([[-1.0, -1, -1], [1, 1, 1]]), "front", 100)
    assert cam.eye[1] < -1 and abs(cam.eye[0]) < 1e-9
    xy, depth = cam.project(np.array([[0.0, 0, 0], [0.5, 0, 0], [0, 0, 0.5], [0, 0.5, 0]]))
    assert np.allclose(xy[0], [50, 50])
    assert xy[1, 0] > 50 and xy[2, 1] < 50  # +X right, +Z up
    assert depth[3] > depth[0]  # +Y is farther


def test_three_quarter_camera_is_on_the_characters_left():
    cam = camera_for_part(np.zeros((1, 3)) + [[0, 0, 1]], "three_quarter", 32)
    angle = np.degrees(np.arctan2(cam.eye[0], -cam.eye[1]))
    assert angle == pytest.approx(35.0)


def test_render_is_deterministic(person):
    cam = camera_for_part(head_box(person), "three_quarter", 48)
    assert np.array_equal(render(person, cam), render(person, cam))


def test_head_box_uses_landmarks_else_the_head_part(person):
    box = head_box(person)
    assert box.min(0)[2] < 1.51 < 1.7 <= box.max(0)[2]
    bare = _character(person.parts, list(person.materials.values()), person.textures)
    head = person.part("head").positions
    assert np.allclose(head_box(bare).min(0), head.min(0)) and np.allclose(head_box(bare).max(0), head.max(0))


def test_preview_has_four_panels_with_the_head_filling_the_close_ups(person):
    img = render_preview(person, size=64)
    assert img.shape == (64, 256, 3) and img.dtype == np.uint8
    corner = img[0, 0].astype(int)
    covered = [(np.abs(img[:, i * 64:(i + 1) * 64].astype(int) - corner).sum(-1) > 30).mean() for i in range(4)]
    assert min(covered[1:]) > 0.35  # close-ups (front, three-quarter, back): the head fills much of the panel
    assert 0.05 < covered[0] < covered[1]  # full body: smaller, but there


def test_camera_rejects_up_parallel_to_view():
    with pytest.raises(ValueError, match="parallel"):
        Camera(eye=(0, 0, 2), target=(0, 0, 0)).basis()


@pytest.mark.parametrize("double_sided", [False, True])
def test_faces_seen_from_behind_are_culled_unless_double_sided(double_sided):
    # a square in the XZ plane, wound counter-clockwise seen from +Y: the front camera sees its back
    quad = trimesh.Trimesh([[-0.1, 0, 0.9], [0.1, 0, 0.9], [0.1, 0, 1.1], [-0.1, 0, 1.1]], [[0, 2, 1], [0, 3, 2]],
                           process=False)
    assert quad.face_normals[0, 1] > 0.99
    part = _part(quad, "card", "card")
    ch = _character([part], [Material("card", double_sided=double_sided)])
    img = render(ch, camera_for_part(part.positions, "front", 32), background=GREEN)
    mask = _object_mask(img)
    assert mask[12:20, 12:20].all() == double_sided and mask.any() == double_sided
    if double_sided:  # its back is lit like a front: the normal is flipped towards the viewer
        assert img[12:20, 12:20].mean() > 180


def test_tonemap_keeps_midtones_and_rolls_off_highlights():
    x = np.array([0.0, 0.3, 0.8, 1.0, 2.0, 10.0], np.float32)
    y = tonemap(x)
    assert np.allclose(y[:3], x[:3]) and (np.diff(y) >= 0).all() and y[4] < 1.0 and y.max() <= 1.0
    assert 0.9 < y[3] < 1.0  # 1.0 no longer clips


def _orm_ball(occlusion: int, roughness: int) -> Character:
    orm = np.zeros((4, 4, 3), np.uint8)
    orm[..., 0], orm[..., 1] = occlusion, roughness
    mat = Material("ball", base_color_factor=(0.3, 0.3, 0.3, 1.0), orm_texture="orm")
    return _character([_sphere((0.0, 0.0, 1.0), material="ball")], [mat], {"orm": orm})


def test_orm_roughness_sharpens_the_highlight_and_occlusion_darkens():
    cam = Camera(eye=(0.0, -1.0, 1.0), target=(0.0, 0.0, 1.0), fov_deg=15.0, width=64, height=64)
    glossy, matte, occluded = (render(_orm_ball(o, r), cam, light_dir=(0.0, -1.0, 0.0)).astype(float).mean(-1)
                               for o, r in ((255, 80, ), (255, 255), (0, 255)))
    assert glossy[30:34, 30:34].mean() > matte[30:34, 30:34].mean() + 20  # highlight faces the camera
    rim = (slice(30, 34), slice(8, 12))  # unlit by the key, lit by the ambient that occlusion scales
    assert occluded[rim].mean() < matte[rim].mean() - 5


def test_large_textures_are_shrunk_without_shifting_or_flipping():
    small = np.zeros((8, 8, 3), np.uint8)
    small[:4, :, 0] = 255
    small[4:, :, 2] = 255
    small[:, :2, 1] = 128
    fits = np.repeat(np.repeat(small, 8, 0), 8, 1)  # 64²: what a 32 px render at 2x samples
    large = np.repeat(np.repeat(small, 256, 0), 256, 1)  # 2048², to be shrunk to 64²
    cam = Camera(eye=(0.0, -1.0, 1.0), target=(0.0, 0.0, 1.0), fov_deg=15.0, width=32, height=32)
    a = render(_lone_sphere(texture=fits), cam).astype(int)
    b = render(_lone_sphere(texture=large), cam).astype(int)
    flipped = render(_lone_sphere(texture=large[::-1].copy()), cam).astype(int)
    assert np.abs(a - b).max() <= 2
    assert np.abs(a - flipped).mean() > 20  # the comparison can see a flip


def test_normal_map_tilts_the_shading_normal_along_the_tangent_frame():
    from machcreator.render.preview import perturb_normal

    n = np.array([[0.0, -1.0, 0.0]] * 3, np.float32)  # facing the camera (-Y)
    t = np.array([[1.0, 0.0, 0.0, 1.0]] * 3, np.float32)  # +U along +X, right-handed
    flat, right, up = (0.5, 0.5, 1.0), (1.0, 0.5, 0.5), (0.5, 1.0, 0.5)
    out = perturb_normal(n, t, np.array([flat, right, up], np.float32))
    np.testing.assert_allclose(out[0], n[0], atol=1e-6)  # a flat texel keeps the normal
    np.testing.assert_allclose(out[1], [1.0, 0.0, 0.0], atol=1e-6)  # +X in the map -> the tangent
    np.testing.assert_allclose(out[2], np.cross(n[0], t[0, :3]), atol=1e-6)  # +Y -> the bitangent
    assert np.cross(n[0], t[0, :3])[2] > 0  # ... which points up the image (+V of a bottom-left origin)


def test_a_ball_casts_a_shadow_on_the_floor_below_the_key_light():
    from machcreator.render.preview import _prepare_scene, key_light_visibility

    floor = _box((0.0, 0.0, -0.01), (1.0, 1.0, 0.02), name="floor", material="floor")
    ball = _sphere((0.0, 0.0, 0.3), radius=0.1, name="ball", material="floor")
    scene = _prepare_scene(_character([floor, ball], [Material("floor")]), 64)
    xs = np.linspace(-0.4, 0.4, 9)
    points = np.stack([xs, np.zeros_like(xs), np.zeros_like(xs)], 1).astype(np.float32)  # the floor's top
    up = np.tile(np.float32([0.0, 0.0, 1.0]), (len(xs), 1))
    vis = key_light_visibility(scene, points, up, np.float32([0.0, 0.0, 1.0]), size=256)
    assert vis[4] == 0.0  # straight under the ball
    assert (vis[[0, 1, 7, 8]] == 1.0).all()  # far from it: lit, and no self-shadowing acne
    tilted = key_light_visibility(scene, points, up, np.float32([0.6, 0.0, 0.8]), size=256)
    assert tilted[4] == 1.0 and tilted[2] == 0.0  # light from +X: the shadow falls towards -X


def test_metals_mirror_the_surroundings_where_no_light_strikes_them():
    """Gold has no diffuse term, yet it shows, tinted gold, on a surface turned away from the key
    and fill lights: it reflects the sky and ground (without that it rendered black)."""
    from machcreator.render.preview import shade
    normal = np.array([[0.0, 1.0, -0.6]], np.float32)
    normal /= np.linalg.norm(normal)  # facing away from the camera-side lights, tilted down
    to_eye = np.array([[0.0, -0.2, 0.98]], np.float32)
    to_eye /= np.linalg.norm(to_eye)
    gold = np.array([[1.0, 0.77, 0.34]], np.float32)
    args = dict(normal=normal, to_eye=to_eye, roughness=np.array([0.3], np.float32),
                occlusion=np.ones(1, np.float32), skin=np.zeros(1, bool), light_dir=np.array([-0.6, -0.65, 0.5], np.float32))
    metal = shade(gold, metallic=np.ones(1, np.float32), **args)[0]
    assert metal.min() > 0.03 and metal[0] > metal[2] * 1.5
