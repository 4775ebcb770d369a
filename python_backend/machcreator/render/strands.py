"""Hair strands drawn over a rendered mesh image, on the CPU (numpy), kornia-style pure functions.

The preview (:mod:`machcreator.render.preview`) owns cameras, lights and tone mapping; this module
owns what is particular to strands:

- **Lines** (:func:`line_fragments`): each strand segment is a thin ribbon of its projected
  width, prefiltered so that a sub-pixel strand leaves partial coverage spread over the two
  pixels it straddles (Wu's antialiased lines generalised to any width), never a 1-px staircase.
- **Order** (:func:`deep_opacity`, :func:`composite`): fragments are not sorted. Per pixel, the
  optical depth and colour of hair are accumulated in a few depth layers that start at the
  pixel's first strand (Yuksel & Keyser 2008, "Deep Opacity Maps"), and the layers are
  composited front to back: semi-transparent hair in depth order, averaged within a layer.
- **Shadows** (:func:`hair_shadow`): the same layers, built from the key light, make a deep
  opacity shadow map: strands darken the strands behind them and the scalp under them.
- **Shading** (:func:`shade_strands`): Kajiya-Kay diffuse from the tangent plus Marschner's two
  longitudinal highlights (Marschner et al. 2003, "Light Scattering from Human Hair Fibers"):
  R, white, shifted towards the root, and TRT, hair-coloured, broader, shifted towards the tip.
- **Level of detail** (:func:`keep_count`): 100k strands do not fit a preview's pixel budget,
  and need not: a random subset that still crosses every visible hair pixel a few times is
  drawn, each strand carrying the optical depth of the strands it stands for, spread a little
  wider (:data:`SPREAD_PX`) as those would lie around it.

Conventions: world space is metres, Z-up (the character's). Image coordinates are pixels, x to the
right, y down, pixel (i, j) covers ``[j, j+1) x [i, i+1)``; pixel indices are flat ``i * W + j``.
"Optical depth" tau is hair cross-section area per pixel area: transmittance is ``exp(-tau)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from machcreator.character import Groom

#: Depth-layer boundaries behind the first strand of a pixel or shadow texel, metres. Thin layers
#: near the front (where the visible strands are), doubling behind; the last layer is unbounded.
LAYER_BOUNDS_M = (0.0, 0.001, 0.002, 0.004, 0.008, 0.016)
#: Drawn strand crossings per visible hair pixel: a view with more strands than that draws a
#: subset (the preview's speed and look trade here: 8 reads as a hair mass, not as lines).
DRAW_DENSITY = 8.0
#: The same for the key light's shadow map texels (shadows are soft: fewer are enough).
SHADOW_DENSITY = 6.0
#: Widest a drawn strand is spread when it stands for strands that are not drawn, pixels.
SPREAD_PX = 2.0
#: Upper bounds on line fragments per image pixel and per view and groom (time and memory:
#: about 100 bytes each at the peak).
MAX_FRAGMENTS_PER_PX = 8.0
MAX_FRAGMENTS = 6_000_000
#: Side of the key light's deep opacity map, texels (over the hair's extent seen from the light).
SHADOW_MAP_PX = 384
#: Fraction of the optical depth that shadows: hair scatters much of the light it intercepts
#: onwards (Marschner's TT lobe and multiple scattering), so it shades less than it occludes.
SHADOW_OPACITY = 0.35

# Marschner's longitudinal lobes, radians: shift of the peak (positive: towards the root) and
# width. R is the surface reflection off cuticle scales tilted towards the tip, TRT the light that
# went in, reflected off the back of the fibre and came out (hence coloured, broader, opposite).
_R_SHIFT, _R_WIDTH, _R_GAIN = np.radians(6.0), np.radians(7.0), 0.25
_TRT_SHIFT, _TRT_WIDTH, _TRT_GAIN = np.radians(-9.0), np.radians(11.0), 0.45
#: Longest projected segment drawn straight, pixels: longer ones are refined along a spline.
MAX_SEGMENT_PX = 12.0
_MAX_COLUMNS = 400_000  # line columns per chunk in line_fragments: bounds its temporaries (~100 MB)


# --- the strands a renderer draws ---------------------------------------------------------------

@dataclass(frozen=True)
class StrandSet:
    """The rendered (non-guide) strands of one groom, in a fixed random drawing order.

    points: (P, 3) float32 metres, root to tip. widths: (P,) float32 diameters, metres.
    colors: (P, 3) float32 linear RGB. offsets: (S + 1,) int64 first point of each strand, then P
    (all of the groom's strands, guides included). order: (D,) int64 the rendered strands in a
    random permutation: a view that draws n strands draws ``order[:n]`` (nested subsets: the
    strands a coarse view draws are also drawn by finer ones).
    """

    points: np.ndarray
    widths: np.ndarray
    colors: np.ndarray
    offsets: np.ndarray
    order: np.ndarray

    @property
    def num_strands(self) -> int:
        return len(self.order)

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Point indices of the first ``n`` strands in drawing order.

        Returns:
            index: (Q,) int64 into ``points``, strand by strand, root to tip.
            counts: (n,) int64 points per strand.
        """
        return strand_points(self.offsets, self.order[:n])


def strand_points(offsets: np.ndarray, strands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point indices of some strands of a concatenated strand array.

    Args:
        offsets: (S + 1,) first point of each strand, then the point count.
        strands: (n,) strand indices, any order.

    Returns:
        index: (Q,) int64 point indices, strand after strand. counts: (n,) int64.
    """
    strands = np.asarray(strands, np.int64)
    counts = offsets[strands + 1] - offsets[strands]
    first = np.cumsum(counts) - counts  # where each strand starts in the output
    return np.repeat(offsets[strands] - first, counts) + np.arange(counts.sum()), counts


def strand_set(groom: Groom, seed: int = 0) -> StrandSet | None:
    """The strands of ``groom`` that are rendered (guides are not), or None if there are none."""
    drawn = np.nonzero(~np.asarray(groom.guide, bool))[0]
    if len(drawn) == 0:
        return None
    if np.any(np.asarray(groom.counts) < 2):
        raise ValueError(f"groom {groom.name!r} has a strand with fewer than 2 points")
    points, widths, colors = (np.asarray(a, np.float32) for a in (groom.points, groom.widths, groom.colors))
    order = drawn[np.random.default_rng(seed).permutation(len(drawn))]  # guides never come up
    return StrandSet(points=points, widths=widths, colors=colors, offsets=groom.offsets, order=order)


def strand_tangents(points: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Unit tangents pointing from root to tip (central differences, one-sided at the ends).

    Args:
        points: (Q, 3) strands concatenated. counts: (n,) points per strand, each >= 2.

    Returns:
        (Q, 3) float32.
    """
    seg = np.diff(points, axis=0)  # (Q-1, 3): point i -> i+1
    last = np.cumsum(counts) - 1  # a strand's tip: no segment leaves it
    seg[last[:-1]] = 0.0
    tangent = np.zeros_like(points)
    tangent[:-1] += seg
    tangent[1:] += seg
    return (tangent / np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def refine_strands(counts: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the points of strands with each segment cut in ``factor`` lie on the original ones.

    Args:
        counts: (n,) points per strand (concatenated). factor: >= 1.

    Returns:
        start: (R,) int64 the original point each new point follows. t: (R,) float32 in [0, 1)
        the way from it to the next original point (0 at original points, tips included).
        counts: (n,) points per refined strand, ``(counts - 1) * factor + 1``.
    """
    refined = (counts - 1) * factor + 1
    ends = np.cumsum(refined)
    rank = np.arange(ends[-1]) - np.repeat(ends - refined, refined)  # index along the refined strand
    start = np.repeat(np.cumsum(counts) - counts, refined) + rank // factor
    return start, ((rank % factor) / np.float32(factor)).astype(np.float32), refined


def refinement(xy: np.ndarray, counts: np.ndarray, max_factor: int = 4) -> int:
    """How many pieces to cut segments into so that they project no longer than :data:`MAX_SEGMENT_PX`.

    Args:
        xy: (Q, 2) projected strand points, pixels. counts: (n,) points per strand.
        max_factor: the most pieces (points cost shading time).

    Returns:
        A factor in [1, max_factor] for the typical (median) segment.
    """
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    within = np.ones(len(step), bool)
    within[np.cumsum(counts)[:-1] - 1] = False  # no segment from a tip to the next root
    if not within.any():
        return 1
    return int(np.clip(np.ceil(np.median(step[within]) / MAX_SEGMENT_PX), 1, max_factor))


def catmull_rom(points: np.ndarray, counts: np.ndarray, start: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points on the uniform Catmull-Rom spline through each strand's points (ends repeated).

    Args:
        points: (Q, 3) strands concatenated. counts: (n,) points per strand.
        start, t: (R,) from :func:`refine_strands`.

    Returns:
        (R, 3) float32: smooth curves through the original points, which it keeps.
    """
    first = np.repeat(np.cumsum(counts) - counts, counts)[start]
    last = np.repeat(np.cumsum(counts) - 1, counts)[start]
    p0, p1 = points[np.maximum(start - 1, first)], points[start]
    p2, p3 = points[np.minimum(start + 1, last)], points[np.minimum(start + 2, last)]
    t = t[:, None]
    t2, t3 = t * t, t * t * t
    return (0.5 * ((2 * p1) + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                   + (3 * p1 - p0 - 3 * p2 + p3) * t3)).astype(np.float32)


def lerp_strands(values: np.ndarray, start: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(R, ...) per-point values linearly interpolated at :func:`refine_strands` positions."""
    after = values[np.minimum(start + 1, len(values) - 1)]  # at a tip t is 0: its neighbour is unused
    t = t.reshape((-1,) + (1,) * (values.ndim - 1))
    return (values[start] + t * (after - values[start])).astype(np.float32)


def along_strands(counts: np.ndarray, step: int) -> np.ndarray:
    """(R,) int64 indices of every ``step``-th point of each strand and of its tip, in order.

    Args:
        counts: (n,) points per strand (concatenated). step: >= 1.
    """
    ends = np.cumsum(counts)
    rank = np.arange(ends[-1]) - np.repeat(ends - counts, counts)
    tip = np.zeros(ends[-1], bool)
    tip[ends - 1] = True
    return np.nonzero((rank % step == 0) | tip)[0]


def interpolate_along(samples: np.ndarray, values: np.ndarray, num_points: int) -> np.ndarray:
    """Values at every point, linearly interpolated (by point index) between sampled points.

    Args:
        samples: (R,) increasing point indices from :func:`along_strands` (each strand's root and
            tip included, so no point mixes two strands). values: (R,) at those points.
        num_points: Q, all points.

    Returns:
        (Q,) float32.
    """
    return np.interp(np.arange(num_points), samples, values).astype(np.float32)


def keep_count(xy: np.ndarray, counts: np.ndarray, num_strands: int, height: int, width: int,
               density: float, seen: np.ndarray | None = None, cell_px: float = 8.0) -> int:
    """How many strands a view needs to draw so that visible hair pixels are crossed ``density`` times.

    The visible hair area and the strands' visible projected length are estimated from a sample
    of strands: the area is the number of ``cell_px`` cells their visible points fall in. Beyond
    ``density`` crossings per pixel more strands add nothing a viewer can resolve (the hair is
    opaque there), only time; a drawn subset stands for all strands by carrying
    ``num_strands / n`` times the optical depth. Capped by :data:`MAX_FRAGMENTS_PER_PX` and
    :data:`MAX_FRAGMENTS`.

    Args:
        xy: (Q, 2) projected points of the sample strands, pixels. counts: (m,) their point counts.
        num_strands: strands in the whole set (the sample is its first m in drawing order).
        height, width: image size, pixels. density: crossings per visible hair pixel.
        seen: (Q,) bool, points not hidden behind a surface; None: all are seen.
        cell_px: side of the cells that measure the covered area, pixels.

    Returns:
        n in [1, num_strands].
    """
    seen = np.ones(len(xy), bool) if seen is None else np.asarray(seen, bool)
    seen = seen & (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
    if not seen.any():
        return min(num_strands, len(counts))  # nothing of it in view: a few strands cost nothing
    cells = np.unique((xy[seen, 1] // cell_px) * (width // cell_px + 1) + xy[seen, 0] // cell_px)
    area_px = len(cells) * cell_px**2
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1) * seen[:-1]
    step[np.cumsum(counts)[:-1] - 1] = 0.0  # no step from one strand's tip to the next root
    length_px = max(float(step.sum()) / len(counts), 1.0)  # mean visible projected strand length
    wanted = density * area_px / length_px
    # a column of a line touches about its footprint plus one pixels
    fragments_per_strand = (SPREAD_PX + 1.0) * length_px + 2.0
    affordable = min(MAX_FRAGMENTS_PER_PX * height * width, MAX_FRAGMENTS) / fragments_per_strand
    return int(np.clip(np.ceil(min(wanted, affordable)), 1, num_strands))


# --- lines ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fragments:
    """Line fragments, column by column: each pixel column (row, for a steep segment) a segment
    crosses, and the K pixels across it that its ribbon may touch.

    seg: (C,) int64 segment index. t: (C,) float32 position along the segment in [0, 1] at the
    column (0 at its first end). z: (C,) float32 depth there (the caller's units).
    pix: (C, K) int64 flat pixel index (a valid index even where cover is 0).
    cover: (C, K) float32 area of each pixel the segment's ribbon covers (the optical depth of
    one opaque strand; may exceed 1 for ribbons wider than a pixel); 0 where untouched.
    """

    seg: np.ndarray
    t: np.ndarray
    z: np.ndarray
    pix: np.ndarray
    cover: np.ndarray

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The touched pixels: column (M,) int64 index into seg/t/z, pix (M,) int64, cover (M,) float32."""
        column, tap = np.nonzero(self.cover > 0)
        return column, self.pix[column, tap], self.cover[column, tap]


def _rasterize_chunk(a0, a1, b0, b1, z0, z1, w0, w1, steep, n_major, n_minor, width) -> Fragments:
    """Lines given along their major axis a (|da| >= |db|) and minor axis b, pixels; see line_fragments."""
    lo, hi = np.minimum(a0, a1), np.maximum(a0, a1)
    first = np.clip(np.floor(lo), 0, n_major).astype(np.int64)
    count = np.maximum(np.clip(np.floor(hi), -1, n_major - 1).astype(np.int64) - first + 1, 0)
    da = a1 - a0
    # a ribbon of width w at angle theta to the major axis spans w / cos(theta) along the minor one
    run_scale = np.hypot(da, b1 - b0) / np.maximum(np.abs(da), 1e-12)
    seg = np.repeat(np.arange(len(a0)), count)
    col = first[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count))
    # each column takes the part of the segment over it: joints between segments add up to one
    c0, c1 = np.maximum(lo[seg], col), np.minimum(hi[seg], col + 1)
    live = c1 > c0
    seg, col, c0, c1 = seg[live], col[live], c0[live], c1[live]
    flat = np.abs(da[seg]) <= 1e-12
    t = np.clip((0.5 * (c0 + c1) - a0[seg]) / np.where(flat, 1.0, da[seg]), 0.0, 1.0)
    t = np.where(flat, 0.5, t).astype(np.float32)
    b = b0[seg] + t * (b1 - b0)[seg]
    across = (w0[seg] + t * (w1 - w0)[seg]) * run_scale[seg]  # ribbon extent along the minor axis
    # a box of the ribbon's extent, at least a pixel wide: a sub-pixel strand straddling two
    # pixels shares its area between them by distance (a tent filter), wider ones cover exactly
    extent = np.maximum(across, 1.0)
    start = b - 0.5 * extent
    row0 = np.floor(start)
    taps = int((np.floor(start + extent) - row0).max(initial=0)) + 1
    rows = row0[:, None] + np.arange(taps, dtype=np.float32)  # (C, taps)
    overlap = np.minimum((start + extent)[:, None], rows + 1) - np.maximum(start[:, None], rows)
    limit = n_minor[seg]
    inside = (rows >= 0) & (rows < limit[:, None])
    cover = np.where(inside, ((c1 - c0) * across / extent)[:, None] * np.maximum(overlap, 0.0), 0.0)
    rows = np.clip(rows.astype(np.int64), 0, (limit - 1)[:, None])
    # flat index = base + across-axis step * row: steep columns are image rows
    base = np.where(steep[seg], col * width, col)
    step = np.where(steep[seg], 1, width)
    pix = base[:, None] + step[:, None] * rows
    z = (z0[seg] + t * (z1 - z0)[seg]).astype(np.float32)
    return Fragments(seg, t, z, pix, cover.astype(np.float32))


def line_fragments(p0: np.ndarray, p1: np.ndarray, z0: np.ndarray, z1: np.ndarray, w0: np.ndarray,
                   w1: np.ndarray, height: int, width: int) -> Iterator[Fragments]:
    """Rasterise segments as prefiltered (anti-aliased) ribbons, chunk by chunk (bounded memory).

    Each segment is walked one pixel column (or row, for steep ones) at a time; in each column
    the ribbon's area is spread over the pixels it overlaps along the other axis, with a filter at
    least one pixel wide, so a strand thinner than a pixel leaves fractional coverage on the two
    pixels it straddles and moves smoothly between them. Coverage adds up exactly at joints.

    Args:
        p0, p1: (N, 2) segment ends, pixels (x right, y down).
        z0, z1: (N,) depth at the ends (any unit, interpolated linearly on screen).
        w0, w1: (N,) ribbon width at the ends, pixels.
        height, width: image size, pixels.

    Yields:
        :class:`Fragments` of consecutive runs of segments (``seg`` indexes all N), inside the image.
    """
    p0, p1 = np.asarray(p0, np.float32), np.asarray(p1, np.float32)
    z0, z1, w0, w1 = (np.asarray(v, np.float32) for v in (z0, z1, w0, w1))
    steep = np.abs(p1[:, 1] - p0[:, 1]) > np.abs(p1[:, 0] - p0[:, 0])
    a0, a1 = np.where(steep, p0[:, 1], p0[:, 0]), np.where(steep, p1[:, 1], p1[:, 0])
    b0, b1 = np.where(steep, p0[:, 0], p0[:, 1]), np.where(steep, p1[:, 0], p1[:, 1])
    n_major, n_minor = np.where(steep, height, width), np.where(steep, width, height)
    columns = np.cumsum(np.clip(np.abs(a1 - a0), 0, max(height, width)) + 2)
    start = 0
    while start < len(p0):
        stop = max(int(np.searchsorted(columns, columns[start] + _MAX_COLUMNS)), start + 1)
        s = slice(start, stop)
        f = _rasterize_chunk(a0[s], a1[s], b0[s], b1[s], z0[s], z1[s], w0[s], w1[s], steep[s], n_major[s],
                             n_minor[s], width)
        yield Fragments(f.seg + start, f.t, f.z, f.pix, f.cover)
        start = stop


# --- depth order: deep opacity layers -----------------------------------------------------------

@dataclass(frozen=True)
class DeepOpacity:
    """Hair optical depth per pixel in depth layers (Yuksel & Keyser's deep opacity maps).

    front: (n,) float32 depth of the first strand in each pixel, metres (+inf or float32's
    largest where none).
    cum: (n, K + 1) float32 optical depth in front of each layer boundary ``front + bounds[k]``;
    ``cum[:, K]`` is the pixel's total. bounds: (K,) float32 the layer starts behind ``front``.
    """

    front: np.ndarray
    cum: np.ndarray
    bounds: np.ndarray


def _layer(bounds: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """(N,) index of the layer holding depth ``rel`` (N,) behind the front (clamped to the first/last)."""
    return np.clip(np.searchsorted(bounds, rel, side="right") - 1, 0, len(bounds) - 1)


def _accumulate(pix: np.ndarray, z: np.ndarray, tau: np.ndarray, n_pix: int,
                bounds: np.ndarray) -> tuple[DeepOpacity, np.ndarray, np.ndarray]:
    """deep_opacity, plus each fragment's depth behind its pixel's front and its layer (M,)."""
    k = len(bounds)
    front = np.full(n_pix, np.inf, np.float32)
    np.minimum.at(front, pix, z)
    rel = z - front[pix]
    layer = _layer(bounds, rel)
    sums = np.bincount(pix * k + layer, tau, minlength=n_pix * k).reshape(n_pix, k)
    cum = np.zeros((n_pix, k + 1), np.float32)
    np.cumsum(sums, axis=1, out=cum[:, 1:])
    return DeepOpacity(front, cum, bounds), rel, layer


def _before(deep: DeepOpacity, pix: np.ndarray, rel: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Optical depth in front of depth ``rel`` behind the front in layer ``layer`` of pixel ``pix``."""
    bounds = deep.bounds
    thickness = np.append(np.diff(bounds), bounds[-1])  # the open last layer: as thick as its start
    frac = np.clip((rel - bounds[layer]) / thickness[layer], 0.0, 1.0)
    flat = deep.cum.reshape(-1)
    base = pix * deep.cum.shape[1] + layer
    return (flat[base] + frac * (flat[base + 1] - flat[base])).astype(np.float32)


def deep_opacity(pix: np.ndarray, z: np.ndarray, tau: np.ndarray, n_pix: int,
                 bounds: Sequence[float] = LAYER_BOUNDS_M) -> DeepOpacity:
    """Accumulate fragments into per-pixel depth layers.

    Args:
        pix: (M,) flat pixel index in [0, n_pix). z: (M,) depth, metres. tau: (M,) optical depth.
        n_pix: number of pixels. bounds: (K,) increasing layer starts from 0, metres.

    Returns:
        The :class:`DeepOpacity`.
    """
    return _accumulate(pix, np.asarray(z, np.float32), tau, n_pix, np.asarray(bounds, np.float32))[0]


def optical_depth_before(deep: DeepOpacity, pix: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Optical depth of the hair in front of depth ``z`` in pixels ``pix`` (linear within a layer).

    Args:
        deep: the layers. pix: (N,) flat pixel indices. z: (N,) depth, metres.

    Returns:
        (N,) float32 (0 in front of the first strand or where the pixel has none).
    """
    rel = np.maximum(z - deep.front[pix], -1.0)  # in front of the first strand (or none): nothing before
    return _before(deep, pix, rel, _layer(deep.bounds, rel))


def composite(pix: np.ndarray, z: np.ndarray, tau: np.ndarray, rgb: np.ndarray,
              n_pix: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite semi-transparent fragments in depth order, without sorting them.

    Fragments are binned by pixel and depth layer (:func:`deep_opacity`); within a layer their
    colours are averaged by optical depth, and the layers are composited front to back: layer k
    adds ``exp(-cum_k) * (1 - exp(-tau_k))`` of its colour. Coverage is exact (the pixel's alpha
    is ``1 - exp(-sum tau)``); order is exact between layers, averaged within one.

    Args:
        pix: (M,) flat pixel index. z: (M,) depth, metres. tau: (M,) optical depth.
        rgb: (M, 3) colour. n_pix: number of pixels.

    Returns:
        premultiplied: (n_pix, 3) float32 colour times alpha. alpha: (n_pix,) float32.
    """
    bounds = np.asarray(LAYER_BOUNDS_M, np.float32)
    deep, _, layer = _accumulate(pix, np.asarray(z, np.float32), tau, n_pix, bounds)
    k = len(bounds)
    bins = pix * k + layer
    layer_tau = np.diff(deep.cum, axis=1)  # (n_pix, K)
    # what layer k adds: the light passing the layers in front, times its own opacity
    share = np.exp(-deep.cum[:, :-1]) * -np.expm1(-layer_tau) / np.maximum(layer_tau, 1e-12)
    premultiplied = np.stack([(np.bincount(bins, tau * rgb[:, c], minlength=n_pix * k).reshape(n_pix, k)
                               * share).sum(1) for c in range(3)], 1)
    return premultiplied.astype(np.float32), -np.expm1(-deep.cum[:, -1])


# --- drawing over a mesh image ----------------------------------------------------------------------

def pixel_samples(occluder_depth: np.ndarray, height: int, width: int) -> list[np.ndarray]:
    """The s*s supersamples of a (s*H, s*W) z-buffer, each as a contiguous (H, W) image."""
    s = occluder_depth.shape[0] // height
    if occluder_depth.shape != (s * height, s * width):
        raise ValueError(f"occluder depth {occluder_depth.shape} is not a multiple of {(height, width)}")
    return [np.ascontiguousarray(occluder_depth[dy::s, dx::s]) for dy in range(s) for dx in range(s)]


def hidden_points(xy: np.ndarray, depth: np.ndarray, farthest: np.ndarray, bias: float) -> np.ndarray:
    """Points behind the surface in their pixel.

    Args:
        xy: (N, 2) pixels. depth: (N,) metres. farthest: (H, W) the farthest surface depth per
            pixel, metres (+inf where empty). bias: metres a point may lie behind and still show.

    Returns:
        (N,) bool, False outside the image.
    """
    height, width = farthest.shape
    ij = np.floor(xy).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < width) & (ij[:, 1] >= 0) & (ij[:, 1] < height)
    hidden = np.zeros(len(xy), bool)
    hidden[inside] = depth[inside] - bias > farthest[ij[inside, 1], ij[inside, 0]]
    return hidden


def draw_strands(xy: np.ndarray, depth: np.ndarray, width_px: np.ndarray, rgb: np.ndarray, counts: np.ndarray,
                 tau_scale: np.ndarray, occluder_depth: np.ndarray, height: int, width: int,
                 *, near: float = 1e-3, depth_bias: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    """Draw strands as a premultiplied hair layer, hidden where an opaque surface is nearer.

    Args:
        xy: (Q, 2) projected strand points, pixels. depth: (Q,) distance along the view, metres.
        width_px: (Q,) projected strand width, pixels. rgb: (Q, 3) display colour of each point.
        counts: (n,) points per strand. tau_scale: (n,) optical depth multiplier per strand (the
            strands a drawn one stands for, see :func:`keep_count`).
        occluder_depth: (s*H, s*W) the surface z-buffer at ``s``× supersampling, metres (+inf
            where empty); a fragment covers the share of its pixel's samples it is in front of.
        height, width: image size H, W, pixels.
        near: segments with an end nearer than this (metres) are dropped.
        depth_bias: metres a strand may lie behind the surface and still show (roots on the skin).

    Returns:
        premultiplied: (H, W, 3) float32 colour times alpha. alpha: (H, W) float32.
    """
    premultiplied = np.zeros((height, width, 3), np.float32)
    alpha = np.zeros((height, width), np.float32)
    samples = pixel_samples(occluder_depth, height, width)
    nearest, farthest = np.minimum.reduce(samples).reshape(-1), np.maximum.reduce(samples)
    samples = [z.reshape(-1) for z in samples]
    # segments with both ends behind the surface around them (behind a head) are dropped before
    # they cost fragments; a pixel's neighbours count too, so none that grazes a silhouette is
    hidden = hidden_points(xy, depth, cv2.dilate(farthest, np.ones((3, 3), np.uint8)), depth_bias)
    farthest = farthest.reshape(-1)
    first = np.ones(len(xy), bool)
    first[np.cumsum(counts) - 1] = False  # a segment starts at every point but the tip
    i0 = np.nonzero(first)[0]
    i0 = i0[(depth[i0] > near) & (depth[i0 + 1] > near) & ~(hidden[i0] & hidden[i0 + 1])]
    # a drawn strand standing for several is drawn wider (up to SPREAD_PX), as those would lie
    # around it, and less opaque per pixel: the same optical depth, with fewer gaps between strands
    scale = np.repeat(np.asarray(tau_scale, np.float32), counts)
    footprint = np.clip(width_px * scale, width_px, np.maximum(width_px, SPREAD_PX)).astype(np.float32)
    seg_tau = (width_px * scale / footprint)[i0]
    seg_rgb, seg_drgb = rgb[i0].astype(np.float32), (rgb[i0 + 1] - rgb[i0]).astype(np.float32)
    kept = []
    for f in line_fragments(xy[i0], xy[i0 + 1], depth[i0], depth[i0 + 1], footprint[i0], footprint[i0 + 1],
                            height, width):
        # the share of the pixel's surface samples that lie behind the fragment
        zf = (f.z - np.float32(depth_bias))[:, None]
        front = nearest[f.pix]
        visible = (zf < front).astype(np.float32)
        partly = np.nonzero((zf >= front) & (zf < farthest[f.pix]))
        for z in samples:
            visible[partly] += (zf[partly[0], 0] < z[f.pix[partly]]) / np.float32(len(samples))
        tau = f.cover * visible * seg_tau[f.seg][:, None]
        column, tap = np.nonzero(tau > 0)
        color = seg_rgb[f.seg] + f.t[:, None] * seg_drgb[f.seg]  # per column, then per fragment
        kept.append((f.pix[column, tap].astype(np.int32), f.z[column], tau[column, tap], color[column]))
    if not sum(len(k[0]) for k in kept):
        return premultiplied, alpha
    pix, z, tau, color = (np.concatenate([k[i] for k in kept]) for i in range(4))
    # composite the rows the hair spans only: the layers cost memory per pixel
    top, bottom = int(pix.min()) // width, int(pix.max()) // width + 1
    pm, al = composite(pix - top * width, z, tau, color, (bottom - top) * width)
    premultiplied[top:bottom] = pm.reshape(bottom - top, width, 3)
    alpha[top:bottom] = al.reshape(bottom - top, width)
    return premultiplied, alpha


# --- shading -------------------------------------------------------------------------------------

def _gaussian(x: np.ndarray, width: float) -> np.ndarray:
    return np.exp(-0.5 * (x / width) ** 2)


def shade_strands(color: np.ndarray, tangent: np.ndarray, to_eye: np.ndarray,
                  lights: Sequence[tuple[np.ndarray, float, np.ndarray | None]],
                  ambient: np.ndarray) -> np.ndarray:
    """Outgoing linear radiance of hair fibres: Kajiya-Kay diffuse and Marschner's R and TRT lobes.

    Longitudinal angles are measured from the fibre's normal plane, positive towards the tip:
    ``theta = asin(T . dir)``; a lobe peaks where the half angle ``(theta_i + theta_r) / 2`` equals
    its shift. R (white, narrow) is shifted towards the root and fades as light and eye part
    around the fibre (Marschner's ``cos(phi / 2)``); TRT (tinted by the hair colour, broader) is
    shifted towards the tip. Diffuse is Kajiya-Kay's ``sin(T, L)``.

    Args:
        color: (N, 3) linear fibre colour. tangent: (N, 3) unit, root to tip.
        to_eye: (N, 3) unit direction from each point to the eye.
        lights: (direction (3,) unit towards the light, intensity, visibility (N,) in [0, 1] or
            None) per light.
        ambient: (N, 3) linear ambient radiance reaching each point (occlusion included).

    Returns:
        (N, 3) float32 linear radiance (not clipped).
    """
    t_dot_v = np.clip((tangent * to_eye).sum(1), -1.0, 1.0)
    theta_r = np.arcsin(t_dot_v)
    eye_across = to_eye - t_dot_v[:, None] * tangent  # the eye direction in the normal plane
    out = color * ambient
    for direction, intensity, visibility in lights:
        direction = np.asarray(direction, np.float32)
        t_dot_l = np.clip(tangent @ direction, -1.0, 1.0)
        half = 0.5 * (np.arcsin(t_dot_l) + theta_r)
        light_across = direction[None] - t_dot_l[:, None] * tangent
        cos_phi = (eye_across * light_across).sum(1) / np.maximum(
            np.linalg.norm(eye_across, axis=1) * np.linalg.norm(light_across, axis=1), 1e-12)
        diffuse = np.sqrt(1.0 - t_dot_l**2)
        r = _R_GAIN * _gaussian(half - _R_SHIFT, _R_WIDTH) * np.sqrt(np.clip(0.5 + 0.5 * cos_phi, 0.0, 1.0))
        trt = _TRT_GAIN * _gaussian(half - _TRT_SHIFT, _TRT_WIDTH)
        # TRT crosses the fibre twice: absorbed like the light the fibre scatters diffusely
        lit = color * (diffuse + trt)[:, None] + r[:, None]
        if visibility is not None:
            lit = lit * visibility[:, None]
        out = out + intensity * lit
    return out.astype(np.float32)


# --- shadows: a deep opacity map from the key light -------------------------------------------------

@dataclass(frozen=True)
class HairShadow:
    """How much light the hair lets through, seen from a directional light.

    basis: (3, 3) rows: light-space x, y and depth (depth along the light's travel), unit vectors.
    origin: (2,) light-space x, y of texel (0, 0)'s corner, metres. texel: texel side, metres.
    size: map side, texels. deep: the layers (:class:`DeepOpacity`, size * size pixels), smoothed
    by about a texel so that the drawn subset of strands casts no grain. reach: (size, size) the
    nearest hair front of each texel and its +x, +y and diagonal neighbours, metres.
    """

    basis: np.ndarray
    origin: np.ndarray
    texel: float
    size: int
    deep: DeepOpacity
    reach: np.ndarray

    def transmittance(self, points: np.ndarray, bias_m: float = 0.001) -> np.ndarray:
        """Fraction of the light reaching each point through the hair.

        Args:
            points: (N, 3) metres. bias_m: depth tolerance (a strand does not shadow itself).

        Returns:
            (N,) float32 in (0, 1]; 1 outside the map.
        """
        ls = np.asarray(points, np.float32) @ self.basis.T.astype(np.float32)
        uv = (ls[:, :2] - self.origin) / self.texel - 0.5  # texel centres at integers
        corner = np.floor(uv).astype(np.int64)
        # most skin has no hair towards the light: only points behind the nearest hair of their
        # four texels are looked up
        inside = np.all((corner >= 0) & (corner < self.size - 1), axis=1)
        z = ls[:, 2] - bias_m
        inside[inside] = self.reach[corner[inside, 1], corner[inside, 0]] < z[inside]
        near = np.nonzero(inside)[0]
        corner, z = corner[near], z[near]
        frac = (uv[near] - corner).astype(np.float32)
        depth = np.zeros(len(near), np.float32)
        # bilinear between the four nearest texels: hair shadows on skin without texel blocks
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            weight = np.abs(1 - dx - frac[:, 0]) * np.abs(1 - dy - frac[:, 1])
            depth += weight * optical_depth_before(self.deep, (corner[:, 1] + dy) * self.size + corner[:, 0] + dx, z)
        out = np.ones(len(ls), np.float32)
        out[near] = np.exp(-depth)
        return out


def light_basis(light_dir: np.ndarray) -> np.ndarray:
    """(3, 3) rows: x, y, depth of an orthographic view along the light's travel (``-light_dir``)."""
    forward = -np.asarray(light_dir, np.float64)
    forward /= np.linalg.norm(forward)
    helper = np.array([0.0, 0.0, 1.0]) if abs(forward[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(forward, helper)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(forward, right), forward])


def hair_shadow(sets: Sequence[StrandSet], light_dir: np.ndarray, size: int = SHADOW_MAP_PX,
                opacity: float = SHADOW_OPACITY) -> HairShadow:
    """The deep opacity shadow map of some grooms under a directional light.

    Args:
        sets: the grooms' drawn strands. light_dir: (3,) unit direction towards the light.
        size: map side, texels (the map spans the hair as the light sees it).
        opacity: fraction of the hair's optical depth that shadows (see :data:`SHADOW_OPACITY`).

    Returns:
        The :class:`HairShadow`.
    """
    basis = light_basis(light_dir).astype(np.float32)
    # the map spans the hair as the light sees it (every few points: the tight span, cheaply)
    seen = np.concatenate([s.points[:: max(1, len(s.points) // 50_000)] @ basis[:2].T for s in sets])
    lo, hi = seen.min(0), seen.max(0)
    texel = float((hi - lo).max()) / (size - 4) + 1e-9
    origin = lo - 2 * texel  # two texels of margin: points between the sampled ones
    pix, z, tau = [], [], []
    for s in sets:
        sample, sample_counts = s.take(min(s.num_strands, 256))
        xy = (s.points[sample] @ basis[:2].T - origin) / texel
        n = keep_count(xy, sample_counts, s.num_strands, size, size, SHADOW_DENSITY)
        index, counts = s.take(n)
        ls = s.points[index] @ basis.T
        xy = (ls[:, :2] - origin) / texel
        # drawn strands stand for num_strands / n each: spread as in draw_strands, against grain
        width = s.widths[index] / texel
        footprint = np.clip(width * s.num_strands / n, width, np.maximum(width, SPREAD_PX)).astype(np.float32)
        scale = (opacity * width * s.num_strands / n / footprint).astype(np.float32)
        a = np.delete(np.arange(len(index)), np.cumsum(counts) - 1)  # segment starts: all but tips
        b = a + 1
        for f in line_fragments(xy[a], xy[b], ls[a, 2], ls[b, 2], footprint[a], footprint[b], size, size):
            column, texel_index, cover = f.flat()
            pix.append(texel_index)
            z.append(f.z[column])
            tau.append(cover * scale[a[f.seg[column]]])
    deep = deep_opacity(np.concatenate(pix), np.concatenate(z), np.concatenate(tau), size * size)
    # soften: the optical depth spreads over a texel or so, and texels next to hair take its front
    cum = cv2.GaussianBlur(deep.cum.reshape(size, size, -1), (0, 0), 1.0).reshape(size * size, -1)
    front = cv2.erode(deep.front.reshape(size, size), np.ones((5, 5), np.uint8))
    reach = cv2.erode(front, np.ones((2, 2), np.uint8), anchor=(0, 0))
    return HairShadow(basis, origin.astype(np.float32), texel, size,
                      DeepOpacity(front.reshape(-1), np.ascontiguousarray(cum), deep.bounds), reach)
