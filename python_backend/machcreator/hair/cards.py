"""Hair cards: any strand groom as alpha-masked ribbons, so every glTF viewer shows the hair.

Mach renders strands (§2.4, hair); a glTF file has no curves, so the glb carries cards the way
game hair does: one ribbon per clump of strands, lying on the hair volume, textured with an atlas
of thin anti-aliased strands whose alpha the viewer cuts at 0.5 (glTF ``alphaMode: MASK`` with the
spec's default ``alphaCutoff``).

How a groom becomes cards (:func:`groom_cards`):
1. the rendered strands (not guides) are resampled to K points each, evenly by arc length;
2. strands are grouped by clump; too many clumps are merged by k-means on their root/middle/tip
   positions (a dense groom stays within a size budget without bald patches), and groups whose
   strands part ways (a clump across a parting) are split, so no card spans empty space;
3. each group's centre curve is the mean of its strands; the ribbon's normal faces away from the
   head joint (perpendicular to the curve), so cards lie on the hair volume instead of fanning out;
4. the ribbon's width is its strands' spread across it, clamped, and tapers towards the tip;
5. u runs across the card inside one strip of the atlas, v from the root (0) to the tip (1).

Units: metres, Z-up (like :mod:`machcreator.character`); UV origin top-left.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from machcreator.character import Groom, Material, MeshPart, Skeleton
from machcreator.core.color import srgb_encode

#: at most this many cards per groom (a 100k-strand scalp included); a card vertex costs ~58 bytes
#: of glb, so 3,000 cards of 10 rows add ~3.5 MB.
MAX_CARDS = 3000
#: one row of card vertices every this many metres of centre curve ...
ROW_SPACING_M = 0.02
#: ... but never fewer or more rows than these per card.
MIN_ROWS, MAX_ROWS = 3, 10
#: card width bounds, metres; a card is also never wider than this fraction of its length.
CARD_MIN_WIDTH_M = 0.001
CARD_MAX_WIDTH_M = 0.03
MAX_WIDTH_PER_LENGTH = 0.5
#: full width of a uniform spread of strands, in standard deviations (sqrt(12) ~ 3.46) ...
SPREAD_TO_WIDTH = 3.5
#: ... widened a little so neighbouring cards overlap instead of leaving slits of scalp.
CARD_OVERLAP = 1.2
#: the tip row is (1 - TIP_TAPER) times as wide as it would be untapered (quadratic in v).
TIP_TAPER = 0.6
#: strand-pattern variants side by side in the atlas, and strands drawn per variant.
ATLAS_VARIANTS = 4
ATLAS_STRANDS = (96, 120, 108, 132)
#: a soft sheen, like the painted hair under the cards.
CARD_ROUGHNESS = 0.5
#: too many clumps are merged down to this share of the card budget (the rest is for splits) ...
MERGE_SHARE = 0.8
#: ... in this many Lloyd iterations.
MERGE_ITERATIONS = 4
#: strands whose RMS distance across their card's mean curve exceeds this (metres) at some row
#: part ways: the card is split in two (in at most SPLIT_ROUNDS rounds).
SPLIT_SPREAD_M = 0.008
SPLIT_ROUNDS = 6


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) -> unit vectors (zero where the input is ~0) and the input lengths (...)."""
    n = np.linalg.norm(v, axis=-1)
    return v / np.where(n > 1e-12, n, 1.0)[..., None], n


def _smooth_rows(a: np.ndarray, passes: int = 2) -> np.ndarray:
    """(G, K, ...) -> the same, [1, 2, 1] / 4 filtered along K (each card's rows), ends held,
    ``passes`` times."""
    for _ in range(passes):
        p = np.concatenate([a[:, :1], a, a[:, -1:]], axis=1)
        a = 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    return a


# --- strands -------------------------------------------------------------------------------------

def segment_lengths(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(P, 3) concatenated strands, (S,) points per strand -> (P - 1,) length of each segment,
    metres, 0 for the "segment" from one strand's tip to the next root."""
    seg = np.linalg.norm(np.diff(np.asarray(points, np.float64), axis=0), axis=1)
    seg[np.cumsum(counts)[:-1] - 1] = 0.0
    return seg


def strand_lengths(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(P, 3) concatenated strands, (S,) points per strand -> (S,) arc lengths, metres."""
    counts = np.asarray(counts, np.int64)
    return np.add.reduceat(np.append(segment_lengths(points, counts), 0.0), np.cumsum(counts) - counts)


def resample_strands(points: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Each strand resampled to ``k`` points evenly spaced by arc length, root first.

    points: (P, 3) concatenated strands, metres; counts: (S,) points per strand, each >= 2.
    Returns (S, k, 3) float64. A strand of zero length gives k copies of its root.
    """
    pts = np.asarray(points, np.float64)
    counts = np.asarray(counts, np.int64)
    S = len(counts)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    arc = np.concatenate([[0.0], np.cumsum(segment_lengths(pts, counts))])
    start = arc[offsets[:-1]]
    total = arc[offsets[1:] - 1] - start
    s = (arc - np.repeat(start, counts)) / np.repeat(np.where(total > 0, total, 1.0), counts)
    # strand index + parameter is non-decreasing over all points: one searchsorted for all strands
    key = np.repeat(2.0 * np.arange(S), counts) + s
    target = (2.0 * np.arange(S)[:, None] + np.linspace(0.0, 1.0, k)[None]).reshape(-1)
    hi = np.searchsorted(key, target, side="left")
    hi = np.clip(hi, np.repeat(offsets[:-1] + 1, k), np.repeat(offsets[1:] - 1, k))
    lo = hi - 1
    span = key[hi] - key[lo]
    w = np.clip((target - key[lo]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None]
    return ((1.0 - w) * pts[lo] + w * pts[hi]).reshape(S, k, 3)


def group_mean(values: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Mean of the rows of ``values`` (S, ...) in each of ``n`` groups, ``group`` (S,) int in [0, n).

    Returns (n, ...) float64; an empty group's mean is zero.
    """
    flat = np.asarray(values, np.float64).reshape(len(values), -1)
    sums = np.zeros((n, flat.shape[1]))
    np.add.at(sums, group, flat)
    count = np.bincount(group, minlength=n)
    return (sums / np.maximum(count, 1)[:, None]).reshape((n,) + np.shape(values)[1:])


def merge_clumps(label: np.ndarray, samples: np.ndarray, n_cards: int, seed: int = 0) -> np.ndarray:
    """Merge clumps into ``n_cards`` groups by k-means on each clump's mean root, middle and tip
    points (Lloyd's iterations from a seeded random subset of clumps): merged clumps are
    neighbours running the same way.

    label: (S,) clump index in [0, C), C > n_cards, every clump used; samples: (S, K, 3) metres.
    Returns (S,) int64 group index in [0, G), G <= n_cards, every group used.
    """
    n_clumps = int(label.max()) + 1
    K = samples.shape[1]
    feats = group_mean(samples[:, [0, K // 2, K - 1]], label, n_clumps).reshape(n_clumps, 9)
    rng = np.random.default_rng(seed)
    centres = feats[rng.choice(n_clumps, n_cards, replace=False)]
    for _ in range(MERGE_ITERATIONS):
        assign = cKDTree(centres).query(feats)[1]
        used = np.bincount(assign, minlength=n_cards) > 0
        centres = np.where(used[:, None], group_mean(feats, assign, n_cards), centres)
    _, merged = np.unique(cKDTree(centres).query(feats)[1], return_inverse=True)
    return merged[label].astype(np.int64)


def split_divergent(group: np.ndarray, samples: np.ndarray, max_cards: int) -> np.ndarray:
    """Halve groups whose strands part ways (a clump across a parting, merged clumps far apart),
    so no card spans empty space between them; the most spread first, up to ``max_cards`` groups.

    A group splits when, at some row, its strands' RMS distance from their mean curve (across it,
    not along) exceeds :data:`SPLIT_SPREAD_M`; the halves are the two sides of the plane through
    that row's mean facing the strand farthest from it. group: (S,) in [0, G); samples: (S, K, 3) metres.
    Returns (S,) int64 group index, every group used.
    """
    S = len(group)
    for _ in range(SPLIT_ROUNDS):
        G = int(group.max()) + 1
        offset = across_offsets(samples, group, group_mean(samples, group, G))  # (S, K, 3)
        dist2 = (offset**2).sum(-1)  # (S, K)
        spread2 = group_mean(dist2, group, G)  # (G, K) mean squared distance per row
        row = spread2.argmax(1)
        worst = spread2[np.arange(G), row]
        split = np.flatnonzero((worst > SPLIT_SPREAD_M**2) & (np.bincount(group, minlength=G) >= 2))
        split = split[np.argsort(-worst[split], kind="stable")][:max_cards - G]
        if len(split) == 0:
            break
        at_row = offset[np.arange(S), row[group]]  # (S, 3) each strand's offset at its group's worst row
        order = np.lexsort((-dist2[np.arange(S), row[group]], group))
        far = at_row[order[np.searchsorted(group[order], np.arange(G))]]  # each group's farthest strand
        new_id = np.full(G, -1)
        new_id[split] = G + np.arange(len(split))
        moves = (new_id[group] >= 0) & ((at_row * far[group]).sum(-1) > 0)
        group = np.where(moves, new_id[group], group)
    return np.unique(group, return_inverse=True)[1].astype(np.int64)


def card_groups(clump_id: np.ndarray, samples: np.ndarray, max_cards: int) -> np.ndarray:
    """The card each strand goes into: its clump; clumps are merged when there are more than
    :data:`MERGE_SHARE` of ``max_cards`` and groups whose strands part ways are split.

    clump_id: (S,) int; samples: (S, K, 3) resampled strands, metres.
    Returns (S,) int64 card index in [0, G), G <= max_cards, every card used.
    """
    if max_cards < 1:
        raise ValueError(f"max_cards must be >= 1, got {max_cards}")
    _, label = np.unique(clump_id, return_inverse=True)
    target = max(1, int(MERGE_SHARE * max_cards))  # the rest of the budget is for splits
    if label.max() + 1 > target:
        label = merge_clumps(label, samples, target)
    return split_divergent(label.astype(np.int64), samples, max_cards)


# --- card geometry -------------------------------------------------------------------------------

def across_offsets(samples: np.ndarray, group: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each strand's offset from its card's centre curve, across the curve (the component along
    it, roots staggered along the flow, removed). samples: (S, K, 3); group: (S,); centres:
    (G, K, 3). Returns (S, K, 3) metres."""
    tangent = _unit(np.gradient(centres, axis=1))[0][group]
    offset = samples - centres[group]
    return offset - (offset * tangent).sum(-1, keepdims=True) * tangent


def spread_directions(samples: np.ndarray, group: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(G, 3) unit direction in which each card's strands spread most across its centre curve (the
    principal axis of :func:`across_offsets` over all rows); zero for a card of one strand."""
    offset = across_offsets(samples, group, centres)
    cov = group_mean(np.einsum("ski,skj->sij", offset, offset), group, len(centres))  # (G, 3, 3)
    values, vectors = np.linalg.eigh(cov)
    return np.where(values[:, -1:] > 1e-12, vectors[:, :, -1], 0.0)


def card_frames(centres: np.ndarray, head_center: np.ndarray, spread: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A frame at each row of each card: along the curve, across the card, out of the card.

    centres: (G, K, 3) centre curves, root first, metres; head_center: (3,) metres; spread:
    (G, 3) unit direction the card's strands spread in (:func:`spread_directions`), or zero.
    Returns tangent, across, normal: each (G, K, 3) unit, right-handed (across = tangent x normal)
    with the normal facing away from ``head_center`` as far as the curve allows, so cards lie on
    the hair volume. Rows running straight out from the head borrow the card's plane from
    neighbouring rows; cards that do so all along (eyelashes, stubble) span their strands' spread
    instead (or, for a single strand, lie in the vertical).
    """
    tangent, length = _unit(np.gradient(centres, axis=1))
    tangent[length <= 1e-12] = (0.0, 0.0, -1.0)
    outward, _ = _unit(centres - np.asarray(head_center, np.float64))
    # |t x o| is the sine between the curve and the outward direction: rows running radially
    # have no preferred plane and weigh little in the smoothing
    radial = np.cross(tangent, outward)
    sine = np.linalg.norm(radial, axis=-1).mean(1)  # (G,)
    sign = np.where(np.einsum("gi,gki->g", spread, radial) < 0, -1.0, 1.0)
    across = _smooth_rows(radial + ((1.0 - sine) ** 2 * sign)[:, None, None] * spread[:, None, :])
    across -= (across * tangent).sum(-1, keepdims=True) * tangent
    across, size = _unit(across)
    weak = size < 1e-3
    if weak.any():
        up = np.where(np.abs(tangent[weak, 2:3]) < 0.9, (0.0, 0.0, 1.0), (1.0, 0.0, 0.0))
        across[weak] = _unit(np.cross(tangent[weak], up))[0]
    normal = np.cross(across, tangent)
    return tangent, across, normal


def curve_lengths(centres: np.ndarray) -> np.ndarray:
    """(G, K, 3) polylines -> (G,) lengths, metres."""
    return np.linalg.norm(np.diff(centres, axis=1), axis=-1).sum(axis=1)


def card_widths(samples: np.ndarray, group: np.ndarray, centres: np.ndarray, across: np.ndarray) -> np.ndarray:
    """Width of each card at each row, metres: its strands' spread across the card, clamped, tapered.

    samples: (S, K, 3) strands; group: (S,) card of each strand; centres, across: (G, K, 3).
    Returns (G, K) float64.
    """
    G, K, _ = centres.shape
    proj = ((samples - centres[group]) * across[group]).sum(-1)  # (S, K) signed offset across
    var = group_mean(proj**2, group, G) - group_mean(proj, group, G) ** 2
    spread = _smooth_rows(SPREAD_TO_WIDTH * CARD_OVERLAP * np.sqrt(np.maximum(var, 0.0)))
    widest = np.minimum(CARD_MAX_WIDTH_M, MAX_WIDTH_PER_LENGTH * curve_lengths(centres))[:, None]
    width = np.minimum(np.maximum(spread, CARD_MIN_WIDTH_M), np.maximum(widest, CARD_MIN_WIDTH_M))
    v = np.linspace(0.0, 1.0, K)
    return width * (1.0 - TIP_TAPER * v**2)


def card_mesh(centres: np.ndarray, across: np.ndarray, normal: np.ndarray, widths: np.ndarray,
              variant: np.ndarray, n_variants: int, atlas_size: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ribbons along the centre curves.

    centres, across, normal: (G, K, 3); widths: (G, K) metres; variant: (G,) atlas strip of each
    card in [0, n_variants); atlas_size: atlas side in texels (u stays 1.5 texels inside the strip).
    Returns positions (V, 3) float32, normals (V, 3) float32, uvs (V, 2) float32 and faces
    (F, 3) int64 with V = 2 G K (vertex (g K + k) 2 + side, side 0 at -across) and F = 2 G (K - 1),
    wound counter-clockwise seen from the normal side.
    """
    G, K, _ = centres.shape
    half = 0.5 * widths[..., None] * across
    positions = np.stack([centres - half, centres + half], axis=2).reshape(-1, 3)
    normals = np.repeat(normal, 2, axis=1).reshape(-1, 3)
    inset = 1.5 / atlas_size * n_variants  # keep bilinear taps inside the card's own strip
    u_side = np.array([inset, 1.0 - inset])
    u = (variant[:, None, None] + u_side[None, None, :]) / n_variants
    v = np.broadcast_to(np.linspace(0.0, 1.0, K)[None, :, None], (G, K, 2))
    uvs = np.stack([np.broadcast_to(u, (G, K, 2)), v], axis=-1).reshape(-1, 2)
    a = (2 * (np.arange(G)[:, None] * K + np.arange(K - 1)[None, :])).reshape(-1)  # left vertex of row k
    faces = np.concatenate([np.stack([a, a + 1, a + 2], 1), np.stack([a + 1, a + 3, a + 2], 1)], axis=1)
    return (positions.astype(np.float32), normals.astype(np.float32), uvs.astype(np.float32),
            faces.reshape(-1, 3).astype(np.int64))


# --- texture -------------------------------------------------------------------------------------

def strand_strip(height: int, width: int, n_strands: int, root_rgb: np.ndarray, tip_rgb: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One atlas strip: ``n_strands`` thin wavy strands hanging from the top row (root) down.

    Each strand is a box-filtered line (anti-aliased coverage per texel) 1-2 texels wide, thinning
    and fading at its own tip; strands end at random lengths, so coverage is densest at the root.
    root_rgb, tip_rgb: (3,) linear colours; each strand's colour is jittered around the gradient.
    Returns linear RGB (height, width, 3) float32 (coverage-weighted colour, the plain gradient
    where nothing is drawn) and alpha (height, width) float32 in [0, 1].
    """
    y = np.arange(height, dtype=np.float64)[:, None] + 0.5
    x = np.arange(width, dtype=np.float64)[None, :] + 0.5
    v = y / height
    gradient = (1.0 - v)[..., None] * root_rgb + v[..., None] * tip_rgb  # (H, 1, 3)
    transmit = np.ones((height, width))
    colour_sum = np.zeros((height, width, 3))
    weight_sum = np.zeros((height, width))
    for _ in range(n_strands):
        x0 = width * (0.08 + 0.84 * rng.beta(2.0, 2.0))  # fewer strands at the card's edges
        length = rng.uniform(0.55, 1.0)
        drift = rng.uniform(-0.08, 0.08) * width
        amp, wavelength, phase = rng.uniform(0.3, 2.0), rng.uniform(0.25, 0.7), rng.uniform(0, 2 * np.pi)
        cx = x0 + drift * v + amp * np.sin(2 * np.pi * v / wavelength + phase)  # (H, 1)
        cx += (0.5 * width - cx) * 0.2 * v  # strands gather a little towards the tip
        thickness = rng.uniform(1.0, 2.0) * (1.0 - 0.5 * v / length)
        fade = np.clip((length - v) / 0.06, 0.0, 1.0)  # soft tip
        band = slice(max(int(cx.min()) - 2, 0), min(int(cx.max()) + 3, width))  # columns it can touch
        cover = np.clip(0.5 * thickness + 0.5 - np.abs(x[:, band] - cx), 0.0, 1.0) * np.minimum(thickness, 1.0) * fade
        transmit[:, band] *= 1.0 - cover
        colour_sum[:, band] += cover[..., None] * gradient * rng.uniform(0.75, 1.2)
        weight_sum[:, band] += cover
    drawn = weight_sum > 1e-6
    rgb = np.where(drawn[..., None], colour_sum / np.where(drawn, weight_sum, 1.0)[..., None], gradient)
    return rgb.astype(np.float32), (1.0 - transmit).astype(np.float32)


def strand_atlas(root_rgb: np.ndarray, tip_rgb: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """The card texture: :data:`ATLAS_VARIANTS` strand strips side by side, root at the top.

    root_rgb, tip_rgb: (3,) linear RGB in [0, 1]. Returns (size, size, 4) uint8, RGB sRGB-encoded
    (glTF base colour), alpha = strand coverage (linear).
    """
    if size < 16 * ATLAS_VARIANTS:
        raise ValueError(f"atlas_size must be >= {16 * ATLAS_VARIANTS}, got {size}")
    rng = np.random.default_rng(seed)
    strip = size // ATLAS_VARIANTS
    rgb = np.empty((size, size, 3), np.float32)
    alpha = np.zeros((size, size), np.float32)
    root, tip = np.asarray(root_rgb, np.float64), np.asarray(tip_rgb, np.float64)
    for i, n in enumerate(ATLAS_STRANDS[:ATLAS_VARIANTS]):
        lo = i * strip
        hi = size if i == ATLAS_VARIANTS - 1 else lo + strip
        rgb[:, lo:hi], alpha[:, lo:hi] = strand_strip(size, hi - lo, n, root, tip, rng)
    alpha8 = np.round(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.concatenate([srgb_encode(np.clip(rgb, 0.0, 1.0)), alpha8[..., None]], axis=-1)


# --- the groom -----------------------------------------------------------------------------------

def groom_colours(groom: Groom, rendered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean root and mean tip colour (3,) linear RGB over the strands selected by ``rendered`` (S,) bool."""
    off = groom.offsets
    colours = np.asarray(groom.colors, np.float64)
    return colours[off[:-1][rendered]].mean(0), colours[off[1:][rendered] - 1].mean(0)


def rows_for(lengths: np.ndarray) -> int:
    """Rows per card for strands of ``lengths`` (S,) metres: one per :data:`ROW_SPACING_M` of the
    median length, within [MIN_ROWS, MAX_ROWS]."""
    return int(np.clip(round(float(np.median(lengths)) / ROW_SPACING_M) + 1, MIN_ROWS, MAX_ROWS))


def groom_cards(groom: Groom, skeleton: Skeleton, *, head_joint: str = "head", num_morphs: int = 52,
                atlas_size: int = 512, max_cards: int = MAX_CARDS
                ) -> tuple[MeshPart, Material, dict[str, np.ndarray]]:
    """Hair cards for one groom (scalp hair, eyebrows, eyelashes or facial hair).

    groom: the strands (guide strands are ignored); skeleton: the rig the cards are skinned to,
    all of every vertex to ``head_joint``, whose rest position is taken as the head's centre
    (cards face away from it). num_morphs: M of the character's morph targets (the cards get zero
    deltas). atlas_size: side of the RGBA strand atlas, texels. max_cards: card budget.

    Returns the mesh part ``f"{groom.name}_cards"`` (2 G K vertices: G <= max_cards cards of K
    rows, see :func:`card_mesh`), its material (same name; alpha MASK at 0.5, double-sided,
    base colour from the atlas) and ``{f"{groom.name}_cards_albedo": (atlas_size, atlas_size, 4)
    uint8}``. Deterministic.
    """
    if head_joint not in skeleton.bone_names:
        raise ValueError(f"no joint {head_joint!r} in the skeleton ({skeleton.num_joints} joints)")
    rendered = ~np.asarray(groom.guide, bool)
    if not rendered.any():
        raise ValueError(f"groom {groom.name!r} has no rendered (non-guide) strands")
    keep = np.repeat(rendered, groom.counts)
    points, counts = np.asarray(groom.points)[keep], np.asarray(groom.counts)[rendered]

    # 1. strands resampled, 2. grouped into at most max_cards cards
    K = rows_for(strand_lengths(points, counts))
    samples = resample_strands(points, counts, K)
    group = card_groups(np.asarray(groom.clump_id)[rendered], samples, max_cards)
    G = int(group.max()) + 1

    # 3. centre curves and frames, 4. widths
    head = skeleton.bone_names.index(head_joint)
    centres = group_mean(samples, group, G)
    spread = spread_directions(samples, group, centres)
    _, across, normal = card_frames(centres, skeleton.rest_world[head][:3, 3], spread)
    widths = card_widths(samples, group, centres, across)

    # 5. ribbons in the atlas's strips
    variant = np.random.default_rng(1).integers(0, ATLAS_VARIANTS, G)
    positions, normals, uvs, faces = card_mesh(centres, across, normal, widths, variant, ATLAS_VARIANTS, atlas_size)
    root_rgb, tip_rgb = groom_colours(groom, rendered)
    name = f"{groom.name}_cards"
    texture = f"{name}_albedo"
    V = len(positions)
    part = MeshPart(
        name=name, material=name, positions=positions, normals=normals, uvs=uvs, faces=faces,
        joints=np.full((V, 1), head, np.int64), weights=np.ones((V, 1), np.float32),
        # calloc'd zeros: no memory is touched until written, and the glb stores no bytes for them
        morph_deltas=np.zeros((num_morphs, V, 3), np.float32),
    )
    material = Material(name=name, base_color_texture=texture, roughness_factor=CARD_ROUGHNESS,
                        alpha_mode="MASK", double_sided=True)
    return part, material, {texture: strand_atlas(root_rgb, tip_rgb, atlas_size)}
