"""Procedural skin textures (Mach §2.3–2.4 embedded default): machcreator.skin.textures / skin."""

from __future__ import annotations


import cv2
import numpy as np
import pytest
import torch

from machcreator.attributes import COLORS, Attributes, resolve
from machcreator.character import Character, Material, MeshPart, Skeleton
from machcreator.render.raster import sample_bilinear
from machcreator.core.color import ita_of_lab, ita_to_lab, srgb_to_lab
from machcreator.skin.painted_hair import HAIR_ROUGHNESS
from machcreator.skin.position_map import _template_masks, bake_position_map, remap_to_layout
from machcreator.skin.textures import make_skin_textures, make_textures

SMALL = 512


def _vertex_normals(pos: np.ndarray, faces: np.ndarray) -> np.ndarray:
    n = np.zeros_like(pos)
    fn = np.cross(pos[faces[:, 1]] - pos[faces[:, 0]], pos[faces[:, 2]] - pos[faces[:, 0]])
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _part(name, pos, normals, faces, fti, tuv, mask) -> MeshPart:
    """A part cut from anny, split at UV seams; own UVs = its template UVs' bounding box scaled to fit."""
    pairs = np.stack([faces[mask].ravel(), fti[mask].ravel()], 1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    tu = tuv[uniq[:, 1]].astype(np.float32)
    lo, hi = tu.min(0), tu.max(0)
    v = len(uniq)
    return MeshPart(
        name=name, material=name, positions=pos[uniq[:, 0]].astype(np.float32), normals=normals[uniq[:, 0]],
        uvs=(0.02 + 0.96 * (tu - lo) / (hi - lo).max()).astype(np.float32), faces=inv.reshape(-1, 3).astype(np.int64),
        joints=np.zeros((v, 1), np.int64), weights=np.ones((v, 1), np.float32),
        morph_deltas=np.zeros((0, v, 3), np.float32), template_uvs=tu,
    )


@pytest.fixture(scope="module")
def character() -> Character:
    """anny's default body cut into "head" and "body" parts, with landmarks found on its region masks."""
    anny = pytest.importorskip("anny")
    from anny.face_segmentation import get_face_segmentation_mask

    model = anny.Anny(local_changes="default", facial_actions="all").to(torch.float32)
    pos = model()["rest_vertices"][0].detach().numpy().astype(np.float64)
    faces = model.faces.numpy()
    tuv = model.texture_coordinates.numpy().astype(np.float64).copy()
    tuv[:, 1] = 1.0 - tuv[:, 1]  # anny's v is bottom-up; ours is top-left (checked against the masks)
    fti = model.face_texture_coordinate_indices.numpy()
    label = lambda *names: get_face_segmentation_mask(model, list(names)).numpy()  # noqa: E731
    normals = _vertex_normals(pos, faces)
    head = _part("head", pos, normals, faces, fti, tuv, label("head"))
    body = _part("body", pos, normals, faces, fti, tuv, label("body", "hand.L", "hand.R", "foot.L", "foot.R"))

    names, stack = _template_masks()
    at_vertex = sample_bilinear(stack, head.template_uvs)
    lips = head.positions[at_vertex[:, names.index("lips")] > 0.5]
    ears = head.positions[at_vertex[:, names.index("ears")] > 0.5]
    p = head.positions
    mid = np.abs(p[:, 0]) < 0.006
    mouth = lips.mean(0) * np.float32([0, 1, 1])
    chin_zone = mid & (p[:, 2] < mouth[2] - 0.025) & (p[:, 2] > mouth[2] - 0.06)
    eyes = {s: pos[np.unique(faces[label(f"eye_front.{s}", f"eye_back.{s}")])] for s in "LR"}
    top = p[np.argmax(p[:, 2])]
    brow_zone = mid & (np.abs(p[:, 2] - (eyes["L"].mean(0)[2] + 0.45 * (top[2] - eyes["L"].mean(0)[2]))) < 0.01)
    landmarks = {
        "eye_center_l": eyes["L"].mean(0), "eye_center_r": eyes["R"].mean(0),
        "eye_radius": np.array([np.linalg.norm(eyes["L"] - eyes["L"].mean(0), axis=1).mean()]),
        "nose_tip": p[mid][np.argmin(p[mid][:, 1])],
        "mouth_corner_l": lips[np.argmax(lips[:, 0])], "mouth_corner_r": lips[np.argmin(lips[:, 0])],
        "mouth_center": mouth, "chin": p[chin_zone][np.argmin(p[chin_zone][:, 1])], "head_top": top,
        "forehead_center": p[brow_zone][np.argmin(p[brow_zone][:, 1])],
        "ear_l": ears[ears[:, 0] > 0].mean(0), "ear_r": ears[ears[:, 0] < 0].mean(0),
    }
    return Character(
        skeleton=Skeleton(["root"], np.array([-1]), np.eye(4, dtype=np.float32)[None]),
        parts=[head, body], materials={"head": Material("head"), "body": Material("body")},
        landmarks={k: np.asarray(v, np.float32) for k, v in landmarks.items()},
    )


def _attrs(**fields) -> Attributes:
    """Resolved attributes of a plain woman (no freckles, moles, make-up), overridden by path=value."""
    base = {"body.gender": "female", "body.age_years": 30.0, "skin.tone_ita_deg": 40.0, "skin.freckles": 0.0,
            "skin.moles": 0.0, "skin.wrinkles": 0.0, "skin.blemishes": 0.0, "makeup.lipstick_color": "none",
            "makeup.eyeshadow_color": "none", "makeup.blush": 0.0}
    attrs = Attributes()
    for path, value in {**base, **{k.replace("__", "."): v for k, v in fields.items()}}.items():
        attrs = attrs.with_value(path, value)
    return resolve(attrs, 0)


@pytest.fixture(scope="module")
def head_map(character):
    """The head's position map and its region masks at the small test size."""
    head = character.part("head")
    names, stack = _template_masks()
    masks = remap_to_layout(stack, head, SMALL)
    return bake_position_map(head, SMALL), {n: masks[..., i] for i, n in enumerate(names)}


def _near(pmap, point, radius_m: float) -> np.ndarray:
    return pmap.covered & (np.linalg.norm(pmap.position - np.asarray(point), axis=-1) < radius_m)


def _cheeks(character, pmap) -> np.ndarray:
    lm = character.landmarks
    return np.any([_near(pmap, np.float32([lm[f"eye_center_{s}"][0] * 1.3, p[1], lm["nose_tip"][2]]), 0.025)
                   for s in "lr" for p in [lm[f"eye_center_{s}"]]], 0) & (pmap.normal[..., 1] < -0.3)


def test_skin_locus_has_the_requested_ita():
    for ita in (-60.0, -10.0, 20.0, 45.0, 70.0):
        assert ita_of_lab(ita_to_lab(ita)) == pytest.approx(ita, abs=1e-6)
    assert ita_to_lab(-45.0)[0] < ita_to_lab(10.0)[0] < ita_to_lab(55.0)[0]


def test_full_size_maps_shapes_and_dtypes(character):
    maps = make_skin_textures(character, _attrs(), seed=1, size=2048)
    assert set(maps) == {f"{p}_{m}" for p in ("head", "body") for m in ("albedo", "normal", "orm")}
    for key, img in maps.items():
        assert img.shape == (2048, 2048, 3) and img.dtype == np.uint8, key
    assert (maps["body_orm"][..., 2] == 0).all()  # metallic


def test_same_seed_same_pixels_other_seed_differs(character):
    a = make_skin_textures(character, _attrs(skin__freckles=0.5), seed=3, size=SMALL)
    b = make_skin_textures(character, _attrs(skin__freckles=0.5), seed=3, size=SMALL)
    c = make_skin_textures(character, _attrs(skin__freckles=0.5), seed=4, size=SMALL)
    for key in a:
        assert np.array_equal(a[key], b[key]), key
    assert not np.array_equal(a["head_albedo"], c["head_albedo"])
    assert not np.array_equal(a["body_normal"], c["body_normal"])


def test_face_colour_follows_ita(character, head_map):
    pmap, masks = head_map
    skin = pmap.covered & (masks["face"] > 0.5) & (masks["lips"] < 0.1) & (masks["eyelids"] < 0.1)
    skin &= pmap.position[..., 2] < character.landmarks["eye_center_l"][2] - 0.01  # below brows and hairline
    means = {}
    for ita in (55.0, 10.0, -40.0):
        lab = srgb_to_lab(make_skin_textures(character, _attrs(skin__tone_ita_deg=ita), 0, SMALL)["head_albedo"])
        means[ita] = lab[skin].mean(0)
        delta_e = np.linalg.norm(means[ita] - ita_to_lab(ita))
        assert delta_e < 4.0, (ita, means[ita], ita_to_lab(ita))
    assert means[55.0][0] > means[10.0][0] + 5 > means[-40.0][0] + 10


def test_freckles_add_dark_spots_on_cheeks(character, head_map):
    pmap, _ = head_map
    cheeks = _cheeks(character, pmap)
    assert cheeks.sum() > 200

    def dark_spots(freckles: float) -> float:
        lum = srgb_to_lab(make_skin_textures(character, _attrs(skin__freckles=freckles), 5, SMALL)["head_albedo"])[..., 0]
        local = cv2.GaussianBlur(lum.astype(np.float32), (0, 0), 4.0)
        return float(((lum - local) < -2.5)[cheeks].mean())

    plain, freckled = dark_spots(0.0), dark_spots(1.0)
    assert freckled > 0.05 and freckled > 5 * plain, (plain, freckled)


def test_red_lipstick_reddens_the_lips(character, head_map):
    pmap, masks = head_map
    lips = pmap.covered & (masks["lips"] > 0.6)
    bare = srgb_to_lab(make_skin_textures(character, _attrs(), 0, SMALL)["head_albedo"])[lips].mean(0)
    red = srgb_to_lab(make_skin_textures(character, _attrs(makeup__lipstick_color="red"), 0, SMALL)["head_albedo"])[lips].mean(0)
    assert red[1] > bare[1] + 8, (bare, red)


def test_eyeliner_darkens_the_upper_lash_line_only(character, head_map):
    pmap, _ = head_map
    bare = srgb_to_lab(make_skin_textures(character, _attrs(makeup__eyeliner=False), 0, SMALL)["head_albedo"])
    lined = srgb_to_lab(make_skin_textures(character, _attrs(makeup__eyeliner=True), 0, SMALL)["head_albedo"])
    darker = (bare[..., 0] - lined[..., 0] > 5.0) & pmap.covered
    assert darker.sum() > 10
    eyes = [character.landmarks["eye_center_l"], character.landmarks["eye_center_r"]]
    points = pmap.position[darker]
    near = np.min([np.linalg.norm(points - e, axis=1) for e in eyes], axis=0)
    radius = float(character.landmarks["eye_radius"][0])
    assert np.all(near < 2.2 * radius)  # on the lids, nowhere else
    above = np.array([points[i, 2] > min(eyes, key=lambda e: np.linalg.norm(points[i] - e))[2] - 0.3 * radius
                      for i in range(len(points))])
    assert above.mean() > 0.9  # the upper lash line (and its wing), not under the eye


def test_wrinkles_add_fine_relief_on_the_forehead(character, head_map):
    pmap, _ = head_map
    lm = character.landmarks
    forehead = _near(pmap, lm["forehead_center"], 0.03) & (pmap.normal[..., 1] < -0.3)
    assert forehead.sum() > 200

    def energy(wrinkles: float) -> float:
        nrm = make_skin_textures(character, _attrs(skin__wrinkles=wrinkles, hair__style="bald"), 2, SMALL)["head_normal"]
        xy = nrm[..., :2].astype(np.float32) / 127.5 - 1.0
        high = xy - cv2.GaussianBlur(xy, (0, 0), 3.0)
        return float((high**2).sum(-1)[forehead].mean())

    smooth, wrinkled = energy(0.0), energy(1.0)
    assert wrinkled > 2.0 * smooth, (smooth, wrinkled)


def test_normal_maps_decode_to_unit_vectors_facing_out(character):
    maps = make_skin_textures(character, _attrs(skin__wrinkles=1.0, skin__moles=1.0), 0, SMALL)
    for key in ("head_normal", "body_normal"):
        n = maps[key].astype(np.float32) / 127.5 - 1.0
        length = np.linalg.norm(n, axis=-1)
        assert np.abs(length - 1.0).max() < 0.03, key
        assert n[..., 2].min() > 0.2, key


def test_remap_puts_the_lip_mask_on_the_lips(character, head_map):
    pmap, masks = head_map
    lm = character.landmarks
    near_mouth = _near(pmap, lm["mouth_center"], 0.006)
    far = pmap.covered & ~_near(pmap, lm["mouth_center"], 0.04)
    assert near_mouth.sum() > 20
    assert masks["lips"][near_mouth].mean() > 0.7
    assert masks["lips"][far].mean() < 0.01
    assert masks["ears"][_near(pmap, lm["ear_l"], 0.01)].mean() > 0.7


def test_make_textures_adds_eye_teeth_and_tongue(character):
    maps = make_textures(character, _attrs(), 0, size=256)
    assert {"eye_albedo", "teeth_albedo", "tongue_albedo", "head_albedo", "body_orm"} <= set(maps)
    assert maps["eye_albedo"].shape[:2] == (1024, 1024) and maps["tongue_albedo"].shape == (512, 512, 3)


def _crown(character, pmap) -> np.ndarray:
    """Texels on top of the skull (above the forehead, behind the face)."""
    lm = character.landmarks
    return pmap.covered & (pmap.position[..., 2] > lm["eye_center_l"][2] + 0.09)


def _lab_mean(img, sel) -> np.ndarray:
    return srgb_to_lab(img)[sel].mean(0)


def test_scalp_takes_the_hair_colour_and_bald_keeps_skin(character, head_map):
    pmap, _ = head_map
    crown = _crown(character, pmap)
    assert crown.sum() > 500
    base = ita_to_lab(40.0)
    bald = _lab_mean(make_skin_textures(character, _attrs(hair__style="bald"), 0, SMALL)["head_albedo"], crown)
    black_maps = make_skin_textures(character, _attrs(hair__style="short", hair__color="black"), 0, SMALL)
    black = _lab_mean(black_maps["head_albedo"], crown)
    assert black_maps["head_orm"][crown][:, 1].mean() == pytest.approx(255 * HAIR_ROUGHNESS, abs=12)  # hair sheen
    blonde = _lab_mean(make_skin_textures(character, _attrs(hair__style="short", hair__color="blonde"), 0, SMALL)["head_albedo"], crown)
    assert np.linalg.norm(bald - base) < 6.0  # bald: still skin
    assert black[0] < base[0] - 25  # black hair darkens the scalp
    assert blonde[2] > black[2] + 10 and blonde[0] > black[0] + 25  # blonde: lighter and yellower


def test_eyebrows_are_painted_above_the_eyes_in_their_colour(character, head_map):
    pmap, _ = head_map
    lm = character.landmarks
    eye = lm["eye_center_l"]
    u = abs(float(lm["eye_center_l"][0] - lm["eye_center_r"][0]))
    x, y, z = np.moveaxis(pmap.position, -1, 0)
    brow = (pmap.covered & (np.abs(x - eye[0]) < 0.005) & (np.abs(z - eye[2] - 0.26 * u) < 0.003)
            & (y < eye[1]) & (pmap.normal[..., 1] < -0.3))
    cheek = _cheeks(character, pmap)
    assert brow.sum() > 10
    img = make_skin_textures(character, _attrs(eyebrows__color="black", eyebrows__type="bushy"), 0, SMALL)["head_albedo"]
    assert _lab_mean(img, brow)[0] < _lab_mean(img, cheek)[0] - 15


def test_full_beard_covers_the_chin_in_the_facial_hair_colour(character, head_map):
    pmap, _ = head_map
    chin = _near(pmap, character.landmarks["chin"], 0.012)
    assert chin.sum() > 20
    male = {"body__gender": "male", "facial_hair__color": "grey"}
    shaven = _lab_mean(make_skin_textures(character, _attrs(facial_hair__type="none", **male), 0, SMALL)["head_albedo"], chin)
    beard = _lab_mean(make_skin_textures(character, _attrs(facial_hair__type="full_beard", **male), 0, SMALL)["head_albedo"], chin)
    grey = srgb_to_lab(np.array([[COLORS["grey"]]], np.uint8))[0, 0]
    assert np.hypot(*beard[1:]) < np.hypot(*shaven[1:]) - 5  # grey hair is less chromatic than skin
    assert np.linalg.norm(beard - grey) < np.linalg.norm(shaven - grey) - 10


def test_age_spots_appear_on_old_faces_only(character, head_map):
    pmap, masks = head_map
    face = pmap.covered & (masks["face"] > 0.5) & (masks["lips"] < 0.1) & (masks["eyelids"] < 0.1)
    # brows thin with age: pin them, this test is about the skin
    bald = {"hair__style": "bald", "skin__wrinkles": 0.0, "eyebrows__color": "brown", "eyebrows__thickness": 0.0}
    young = srgb_to_lab(make_skin_textures(character, _attrs(body__age_years=30.0, **bald), 0, SMALL)["head_albedo"])
    old = srgb_to_lab(make_skin_textures(character, _attrs(body__age_years=80.0, **bald), 0, SMALL)["head_albedo"])
    # a spot darkens the skin by several L* units against the same texel of the young face
    darker = young[face][:, 0] - old[face][:, 0] > 3.0
    assert darker.sum() > 30  # ≈ 40 spots of ~1 texel at this small test size
    assert (young[face][:, 0] - old[face][:, 0] > -0.5).all()  # age only darkens here


def test_a_mohawk_keeps_the_middle_and_shaves_the_sides(character, head_map):
    pmap, _ = head_map
    crown = _crown(character, pmap)
    x = np.abs(pmap.position[..., 0])
    middle, side = crown & (x < 0.008), crown & (x > 0.04)
    assert middle.sum() > 30 and side.sum() > 30
    img = make_skin_textures(character, _attrs(hair__style="mohawk", hair__color="black", hair__bangs="fringe"), 0, SMALL)
    lab = srgb_to_lab(img["head_albedo"])
    assert lab[middle][:, 0].mean() < lab[side][:, 0].mean() - 20  # black strip, skin-coloured sides
