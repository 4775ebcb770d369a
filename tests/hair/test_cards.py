"""Hair cards (hair/cards.py) on synthetic grooms grown from the real character's head."""

import time
from dataclasses import replace

import numpy as np
import pygltflib
import pytest
from PIL import Image
from scipy.spatial import cKDTree

from machcreator.character import Character, Groom
from machcreator.export.gltf import write_glb
from machcreator.export.gltf_validator import validate_gltf
from machcreator.export.package import _write_png
from machcreator.hair.cards import (
    ATLAS_VARIANTS, MAX_CARDS, card_groups, groom_cards, resample_strands, rows_for, strand_lengths,
)
from machcreator.core.color import srgb_decode

HAIR_ROOT_RGB = (0.06, 0.035, 0.02)  # linear dark brown
HAIR_TIP_RGB = (0.14, 0.08, 0.045)


def _sample_surface(positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray, faces: np.ndarray, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n points uniformly by area on triangles ``faces``: positions, unit normals (n, 3), uvs (n, 2)."""
    tri = positions[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    f = rng.choice(len(faces), n, p=area / area.sum())
    r1, r2 = np.sqrt(rng.random(n)), rng.random(n)
    bary = np.stack([1 - r1, r1 * (1 - r2), r1 * r2], 1)
    def lerp(a): return (a[faces[f]] * bary[..., None]).sum(1)
    nrm = lerp(normals)
    return lerp(positions), nrm / np.linalg.norm(nrm, axis=1, keepdims=True), lerp(uvs)


def _push_out(points: np.ndarray, tree: cKDTree, skin: np.ndarray, skin_n: np.ndarray, clearance: float) -> np.ndarray:
    """(N, 3) points moved out along the nearest skin vertex's normal to ``clearance`` metres."""
    _, i = tree.query(points)
    depth = ((points - skin[i]) * skin_n[i]).sum(1)
    return points + np.maximum(clearance - depth, 0.0)[:, None] * skin_n[i]


def grow_groom(character: Character, name: str, roots: np.ndarray, root_n: np.ndarray, root_uv: np.ndarray,
               clump_of: np.ndarray, *, length: float, points: int, gravity: float, clumping: float,
               clearance: float, rng: np.random.Generator) -> Groom:
    """Strands from ``roots`` (S, 3) along the skin normals ``root_n``, bending under ``gravity``
    (per step, towards -Z), pulled towards their clump's first strand by up to ``clumping`` at the
    tip, kept ``clearance`` metres (more for outer layers) out of the head. clump_of: (S,) clump id.
    One strand per clump is a guide."""
    head = character.part("head")
    tree = cKDTree(head.positions)
    skin, skin_n = head.positions.astype(np.float64), head.normals.astype(np.float64)
    S = len(roots)
    lengths = length * rng.uniform(0.8, 1.1, S)
    strands = np.empty((S, points, 3))
    strands[:, 0] = roots
    d = root_n.copy()
    for k in range(1, points):
        d = d + gravity * np.array([0.0, 0.0, -1.0])
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        layer = min(clearance + 0.1 * length * k / points, 0.012)  # outer layers further out: a volume
        strands[:, k] = _push_out(strands[:, k - 1] + (lengths / (points - 1))[:, None] * d, tree, skin, skin_n, layer)
        d = strands[:, k] - strands[:, k - 1]
    _, first = np.unique(clump_of, return_index=True)
    lead = first[np.searchsorted(np.unique(clump_of), clump_of)]
    t = (np.arange(points) / (points - 1))[None, :, None]
    rel_lead = strands[lead] - strands[lead, :1]
    strands = strands + clumping * t * (rel_lead + strands[lead, :1] - strands)
    strands[:, 1:] = _push_out(strands[:, 1:].reshape(-1, 3), tree, skin, skin_n, clearance).reshape(S, -1, 3)
    v = np.linspace(0.0, 1.0, points)[None, :, None]
    colours = (1 - v) * np.array(HAIR_ROOT_RGB) + v * np.array(HAIR_TIP_RGB)
    guide = np.zeros(S, bool)
    guide[first] = True
    return Groom(
        name=name, points=strands.reshape(-1, 3).astype(np.float32), counts=np.full(S, points, np.int32),
        widths=np.broadcast_to(np.linspace(8e-5, 3e-5, points), (S, points)).reshape(-1).astype(np.float32),
        colors=np.broadcast_to(colours, (S, points, 3)).reshape(-1, 3).astype(np.float32),
        root_uv=root_uv.astype(np.float32), guide=guide, clump_id=clump_of.astype(np.int32), group_id=0,
    )


def scalp_groom(character: Character, n_strands: int, n_clumps: int, seed: int = 0, length: float = 0.14) -> Groom:
    """A shoulder-length scalp groom: roots above the hairline and behind the ears."""
    rng = np.random.default_rng(seed)
    head, lm = character.part("head"), character.landmarks
    p = head.positions
    scalp = (p[:, 2] > lm["forehead_center"][2] + 0.012) | ((p[:, 1] > lm["ear_l"][1]) & (p[:, 2] > lm["ear_l"][2] - 0.02))
    faces = head.faces[scalp[head.faces].all(1)]
    roots, normals, uvs = _sample_surface(p.astype(np.float64), head.normals.astype(np.float64), head.uvs, faces,
                                          n_strands, rng)
    _, clump_of = cKDTree(roots[:n_clumps]).query(roots)
    return grow_groom(character, "scalp", roots, normals, uvs, clump_of, length=length, points=16, gravity=0.35,
                      clumping=0.5, clearance=0.003, rng=rng)


def eyebrow_groom(character: Character, n_strands: int = 600, n_clumps: int = 30, seed: int = 0) -> Groom:
    """Short strands lying along the brows, pointing outwards (towards the temples)."""
    rng = np.random.default_rng(seed)
    head, lm = character.part("head"), character.landmarks
    centre = head.positions[head.faces].mean(1)
    brow = np.zeros(len(head.faces), bool)
    for eye in (lm["eye_center_l"], lm["eye_center_r"]):
        rise = centre[:, 2] - eye[2]
        brow |= (np.abs(centre[:, 0] - eye[0]) < 0.024) & (rise > 0.008) & (rise < 0.02) & (centre[:, 1] < eye[1])
    roots, normals, uvs = _sample_surface(head.positions.astype(np.float64), head.normals.astype(np.float64),
                                          head.uvs, head.faces[brow], n_strands, rng)
    out = np.stack([np.sign(roots[:, 0]), np.zeros(n_strands), np.full(n_strands, 0.25)], 1)
    flow = out - (out * normals).sum(1, keepdims=True) * normals  # along the skin
    flow /= np.linalg.norm(flow, axis=1, keepdims=True)
    _, clump_of = cKDTree(roots[:n_clumps]).query(roots)
    return grow_groom(character, "eyebrows", roots, 0.3 * normals + flow, uvs, clump_of, length=0.01, points=5,
                      gravity=0.0, clumping=0.3, clearance=0.0008, rng=rng)



def eyelash_groom(character: Character, n_strands: int = 160, n_clumps: int = 32, seed: int = 0) -> Groom:
    """Upper lashes: roots on an arc over each eyeball, strands pointing forwards and curling up,
    i.e. running nearly straight out from the head."""
    rng = np.random.default_rng(seed)
    lm = character.landmarks
    side = np.where(np.arange(n_strands) % 2 == 0, 1.0, -1.0)
    angle = rng.uniform(-1.0, 1.0, n_strands)  # radians around the eye, 0 = straight ahead
    eye = np.where(side[:, None] > 0, lm["eye_center_l"], lm["eye_center_r"])
    r = float(np.ravel(lm["eye_radius"])[0]) + 0.0025  # the upper lid's margin, just in front of the eyeball
    roots = eye + np.stack([r * np.sin(angle), -r * np.cos(angle), 0.001 + 0.001 * np.cos(angle)], 1)
    out = np.stack([0.3 * np.sin(angle), -np.ones(n_strands), np.full(n_strands, 0.3)], 1)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    s = np.linspace(0.0, 1.0, 6)[None, :, None]
    strands = roots[:, None] + 0.009 * (s * out[:, None] + s**2 * np.array([0.0, 0.0, 0.6]))
    clump = (side > 0) * n_clumps + np.floor((angle + 1.0) / 2.0 * n_clumps / 2).astype(int)
    return Groom(name="eyelashes", points=strands.reshape(-1, 3).astype(np.float32),
                 counts=np.full(n_strands, 6, np.int32), widths=np.full(6 * n_strands, 6e-5, np.float32),
                 colors=np.full((6 * n_strands, 3), 0.02, np.float32), root_uv=np.zeros((n_strands, 2), np.float32),
                 guide=np.zeros(n_strands, bool), clump_id=clump.astype(np.int32), group_id=2)

# --- fixtures and measuring helpers -----------------------------------------------------------------

@pytest.fixture(scope="module")
def character(fisherman_result) -> Character:
    """The fisherman without the cards the pipeline made (these tests add their own)."""
    ch = fisherman_result.character
    cards = {p.name for p in ch.parts if p.name.endswith("_cards")}
    return replace(ch, parts=[p for p in ch.parts if p.name not in cards],
                   materials={k: m for k, m in ch.materials.items() if k not in cards},
                   textures={k: t for k, t in ch.textures.items() if k.removesuffix("_albedo") not in cards})


@pytest.fixture(scope="module")
def scalp(character) -> Groom:
    return scalp_groom(character, n_strands=3000, n_clumps=150)


@pytest.fixture(scope="module")
def scalp_cards(scalp, character):
    return groom_cards(scalp, character.skeleton)


def head_index(character: Character) -> int:
    return character.skeleton.bone_names.index("head")


def cards_and_strands(groom: Groom, part, max_cards: int = MAX_CARDS):
    """The part's vertices as (G, K, 2, 3) cards, each card's strands (list of (n, 64, 3) dense
    resamplings) and each card's mean root (G, 3), regrouping the rendered strands as groom_cards does."""
    rendered = ~groom.guide
    points, counts = groom.points[np.repeat(rendered, groom.counts)], groom.counts[rendered]
    K = rows_for(strand_lengths(points, counts))
    group = card_groups(groom.clump_id[rendered], resample_strands(points, counts, K), max_cards)
    G = int(group.max()) + 1
    assert part.num_vertices == 2 * K * G
    dense = resample_strands(points, counts, 64)
    members = [dense[group == g] for g in range(G)]
    return part.positions.reshape(G, K, 2, 3), members, np.array([m[:, 0].mean(0) for m in members])


# --- geometry -------------------------------------------------------------------------------------

def test_cards_lie_along_their_strands(scalp, scalp_cards):
    cards, members, _ = cards_and_strands(scalp, scalp_cards[0])
    dist = np.concatenate([cKDTree(m.reshape(-1, 3)).query(c.reshape(-1, 3))[0] for c, m in zip(cards, members)])
    # a card is up to 3 cm wide: its edges reach the outermost strands of its clump, its middle sits on them
    assert np.median(dist) < 0.003, np.median(dist)
    assert dist.max() < 0.010, dist.max()


def test_cards_lie_on_the_hair_volume_not_fanned_out(scalp, scalp_cards, character):
    part = scalp_cards[0]
    head = character.skeleton.rest_world[head_index(character)][:3, 3]
    outward = part.positions - head
    outward /= np.linalg.norm(outward, axis=1, keepdims=True)
    facing = (part.normals * outward).sum(1)
    # the card's face turns away from the head (it lies on the hair surface), its edge does not point out
    assert np.median(facing) > 0.7, np.median(facing)
    assert (facing > 0.2).mean() > 0.9
    cards = part.positions.reshape(-1, 2, 3)
    across = cards[:, 1] - cards[:, 0]
    across /= np.linalg.norm(across, axis=1, keepdims=True)
    assert np.median(np.abs((across * outward[::2]).sum(1))) < 0.2


def test_card_count_is_capped_and_merged_cards_still_follow_strands(scalp, character):
    part, _, _ = groom_cards(scalp, character.skeleton, max_cards=40)
    cards, members, _ = cards_and_strands(scalp, part, max_cards=40)
    assert len(cards) <= 40
    dist = np.concatenate([cKDTree(m.reshape(-1, 3)).query(c.reshape(-1, 3))[0] for c, m in zip(cards, members)])
    assert np.median(dist) < 0.004 and dist.max() < 0.015, (np.median(dist), dist.max())


def test_cards_taper_and_stay_within_width_bounds(scalp, scalp_cards):
    cards, _, _ = cards_and_strands(scalp, scalp_cards[0])
    width = np.linalg.norm(cards[:, :, 1] - cards[:, :, 0], axis=-1)  # (G, K)
    assert width.min() > 0.0003 and width.max() <= 0.03 + 1e-6
    assert (width[:, -1] < width[:, 0]).mean() > 0.95


def test_uv_v_runs_from_root_to_tip_inside_one_atlas_strip(scalp, scalp_cards):
    part = scalp_cards[0]
    cards, _, roots = cards_and_strands(scalp, part)
    G, K = cards.shape[:2]
    uv = part.uvs.reshape(G, K, 2, 2)
    assert (np.diff(uv[..., 1], axis=1) > 0).all()
    assert np.allclose(uv[:, 0, :, 1], 0.0) and np.allclose(uv[:, -1, :, 1], 1.0)
    # v = 0 is the root end: the first row sits at the card's strand roots
    assert np.linalg.norm(cards[:, 0].mean(1) - roots, axis=1).max() < 0.005
    strip = np.floor(uv[..., 0] * ATLAS_VARIANTS)
    assert (strip == strip[:, :1, :1]).all() and (uv[:, :, 0, 0] < uv[:, :, 1, 0]).all()


def test_every_vertex_is_skinned_to_the_head_only_with_zero_morphs(scalp_cards, character):
    part, material, textures = scalp_cards
    assert part.name == material.name == part.material == "scalp_cards"
    assert (part.joints == head_index(character)).all() and (part.weights == 1.0).all()
    assert part.morph_deltas.shape == (52, part.num_vertices, 3) and not part.morph_deltas.any()
    assert np.allclose(np.linalg.norm(part.normals, axis=1), 1.0, atol=1e-5)
    assert part.faces.min() == 0 and part.faces.max() == part.num_vertices - 1


def test_guide_strands_are_ignored(scalp, scalp_cards, character):
    wild = scalp.points[:scalp.counts[0] * 50] + np.float32([0.0, 0.0, 0.5])  # 50 strands half a metre up
    with_guides = replace(
        scalp, points=np.concatenate([scalp.points, wild]), counts=np.concatenate([scalp.counts, scalp.counts[:50]]),
        widths=np.concatenate([scalp.widths, scalp.widths[:len(wild)]]),
        colors=np.concatenate([scalp.colors, np.ones((len(wild), 3), np.float32)]),
        root_uv=np.concatenate([scalp.root_uv, scalp.root_uv[:50]]), guide=np.concatenate([scalp.guide, np.ones(50, bool)]),
        clump_id=np.concatenate([scalp.clump_id, scalp.clump_id[:50]]))
    part, _, textures = groom_cards(with_guides, character.skeleton)
    assert np.array_equal(part.positions, scalp_cards[0].positions)
    assert np.array_equal(textures["scalp_cards_albedo"], scalp_cards[2]["scalp_cards_albedo"])


def test_a_groom_of_guides_only_is_refused(scalp, character):
    with pytest.raises(ValueError, match="no rendered"):
        groom_cards(replace(scalp, guide=np.ones_like(scalp.guide)), character.skeleton)


def test_eyebrow_cards_are_short_narrow_and_follow_the_brows(character):
    brows = eyebrow_groom(character)
    part, material, textures = groom_cards(brows, character.skeleton, atlas_size=128)
    cards, members, _ = cards_and_strands(brows, part)
    assert part.name == "eyebrows_cards" and textures["eyebrows_cards_albedo"].shape == (128, 128, 4)
    assert cards.shape[1] == 3  # a 1 cm strand needs few rows
    width = np.linalg.norm(cards[:, :, 1] - cards[:, :, 0], axis=-1)
    assert width.max() <= 0.006
    dist = np.concatenate([cKDTree(m.reshape(-1, 3)).query(c.reshape(-1, 3))[0] for c, m in zip(cards, members)])
    assert dist.max() < 0.004, dist.max()


def test_eyelash_cards_span_the_lash_line_though_lashes_point_out_of_the_head(character):
    lashes = eyelash_groom(character)
    part, _, _ = groom_cards(lashes, character.skeleton, atlas_size=128)
    cards, members, _ = cards_and_strands(lashes, part)
    across = cards[:, :, 1] - cards[:, :, 0]
    assert np.linalg.norm(across, axis=-1).max() <= 0.005
    # each card lies in its lashes' fan: across the card is where its lashes' roots spread
    # (seen along the lashes); "away from the head" would be ill-defined for them
    lash = np.array([(m[:, -1] - m[:, 0]).mean(0) for m in members])
    lash /= np.linalg.norm(lash, axis=1, keepdims=True)
    spread = np.array([np.linalg.svd(m[:, 0] - m[:, 0].mean(0))[2][0] for m in members])
    spread -= (spread * lash).sum(1, keepdims=True) * lash
    spread /= np.linalg.norm(spread, axis=1, keepdims=True)
    across = across.mean(1) / np.linalg.norm(across.mean(1), axis=-1, keepdims=True)
    assert np.median(np.abs((across * spread).sum(1))) > 0.9
    dist = np.concatenate([cKDTree(m.reshape(-1, 3)).query(c.reshape(-1, 3))[0] for c, m in zip(cards, members)])
    assert dist.max() < 0.003, dist.max()


def test_the_pipelines_real_grooms_get_cards_along_their_strands(fisherman_result):
    ch = fisherman_result.character
    assert ch.grooms
    for groom in ch.grooms:
        part = ch.part(f"{groom.name}_cards")
        cards, members, _ = cards_and_strands(groom, part)
        assert len(cards) <= MAX_CARDS
        dist = np.concatenate([cKDTree(m.reshape(-1, 3)).query(c.reshape(-1, 3))[0] for c, m in zip(cards, members)])
        # a few cards of two or three strands parting ways stay whole (they spread too little to split)
        assert np.median(dist) < 0.003 and np.percentile(dist, 99) < 0.01, (groom.name, np.median(dist),
                                                                              np.percentile(dist, 99))


# --- texture and material ---------------------------------------------------------------------------

def test_atlas_is_rgba_strands_of_the_groom_colour_densest_at_the_root(scalp_cards):
    part, material, textures = scalp_cards
    atlas = textures[material.base_color_texture]
    assert atlas.shape == (512, 512, 4) and atlas.dtype == np.uint8
    alpha = atlas[..., 3]
    opaque = alpha >= 128  # glTF alphaCutoff 0.5
    assert 0.2 < opaque.mean() < 0.8 and (alpha == 0).any() and (alpha == 255).any()
    quarters = opaque.reshape(4, 128, 512).mean((1, 2))
    assert (np.diff(quarters) < 0).all(), quarters  # root (top) densest, tip sparsest
    # opaque texels near the root carry the groom's root colour (linear, jittered strand by strand)
    root = srgb_decode(atlas[:32, :, :3][opaque[:32]]).mean(0)
    assert np.allclose(root, HAIR_ROOT_RGB, rtol=0.2), root
    assert material.alpha_mode == "MASK" and material.double_sided and material.roughness_factor == 0.5


def test_glb_with_cards_validates_and_reads_back_masked_double_sided(character, scalp_cards, tmp_path):
    brows = groom_cards(eyebrow_groom(character), character.skeleton, atlas_size=128)
    parts, materials, textures = list(character.parts), dict(character.materials), {}
    for part, material, atlas in (scalp_cards, brows):
        parts.append(part)
        materials[material.name] = material
        textures.update(atlas)
    with_cards = replace(character, parts=parts, materials=materials, textures=character.textures | textures)
    uris = {key: f"{key}.png" for key in textures}  # the skin's textures are left out: not needed here
    for key, uri in uris.items():
        _write_png(tmp_path / uri, textures[key])  # the package writer's PNG path
        with Image.open(tmp_path / uri) as im:
            assert im.mode == "RGBA" and np.array_equal(np.asarray(im), textures[key])
    bald = write_glb(character, tmp_path / "bald.glb", {})
    stats = write_glb(with_cards, tmp_path / "cards.glb", uris)
    report = validate_gltf(tmp_path / "cards.glb")
    assert report.num_errors == 0, report.errors
    assert report.num_warnings == 0, report.warnings
    # zero morphs cost no bytes: cards add only their vertices and indices
    card_vertices = sum(p.num_vertices for p in (scalp_cards[0], brows[0]))
    assert stats.bytes - bald.bytes < 60 * card_vertices + 20_000

    gltf = pygltflib.GLTF2().load(str(tmp_path / "cards.glb"))
    prims = {p.extras["name"]: p for p in gltf.meshes[0].primitives}
    for name in ("scalp_cards", "eyebrows_cards"):
        prim = prims[name]
        material = gltf.materials[prim.material]
        assert material.name == name and material.alphaMode == "MASK" and material.doubleSided
        assert material.alphaCutoff in (None, 0.5)  # absent means the spec's 0.5
        image = gltf.images[gltf.textures[material.pbrMetallicRoughness.baseColorTexture.index].source]
        assert image.uri == f"{name}_albedo.png"
        assert len(prim.targets) == 52
        assert all(gltf.accessors[t["POSITION"]].bufferView is None for t in prim.targets)


@pytest.mark.slow
def test_a_100k_strand_groom_stays_within_the_card_budget(character, tmp_path):
    groom = scalp_groom(character, n_strands=100_000, n_clumps=4000)
    start = time.perf_counter()
    part, material, textures = groom_cards(groom, character.skeleton)
    elapsed = time.perf_counter() - start
    G = part.num_vertices // (2 * len(np.unique(part.uvs[:, 1])))  # 2 vertices per row, K distinct v
    bald = write_glb(character, tmp_path / "bald.glb", {})
    with_cards = replace(character, parts=[*character.parts, part],
                         materials=character.materials | {material.name: material})
    grown = write_glb(with_cards, tmp_path / "cards.glb", {}).bytes - bald.bytes
    print(f"\n100k strands: {G} cards, {part.num_vertices} vertices, {elapsed:.2f} s, glb +{grown / 1e6:.2f} MB")
    assert G <= MAX_CARDS
