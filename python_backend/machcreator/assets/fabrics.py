"""Procedural fabric materials: tileable albedo, normal and occlusion-roughness-metal maps.

Asset UVs are in metres of cloth (u across, v down the garment), so one texture tile covers
:data:`TILE_M` × :data:`TILE_M` of cloth on every garment and body size; glTF samplers repeat it.

Every pattern is built the same way, in linear light on a periodic grid (texel centres at
``(i + 0.5) / size`` of the tile, every thread, stitch, band and noise layer a whole number of
times per tile, blurs done in the Fourier domain), so each map wraps seamlessly:

* a **height field** in metres (threads, stitches, grain), from which the normal map comes;
* a linear **albedo** whose mean linear luminance is pinned to the given colour's (the weave's
  shading and noise modulate it, they do not darken or lighten the cloth as a whole);
* **roughness** and **occlusion** (crevices between threads, stitches and pebbles are darker).

Scale: patterns have their physical sizes (threads 0.3-0.5 mm, 1.4 cm stripes, an 8.3 cm tartan
sett, 5.6 × 4.2 mm knit stitches, 3.6 mm leather pebbles), except that a thread is never drawn
narrower than :data:`_MIN_THREAD_PX` texels: at 512² one texel is 0.49 mm of cloth, so the weave
of shirting or denim is drawn about twice its real pitch there (and at its real pitch from 2048²).

Normal maps follow the OpenGL (glTF) convention: tangent-space X (red) points along +u (right in
the image), Y (green) points *up the image* (towards decreasing v, i.e. row 0), Z (blue) out of
the cloth. A texel whose green is above 128 faces towards the top of the image. Decoded
``n = rgb / 255 * 2 - 1`` is a unit vector (to 8-bit rounding).
"""

from __future__ import annotations

from typing import Literal, get_args

import cv2
import numpy as np
from scipy import fft as sfft

from machcreator.character import Material
from machcreator.core.color import srgb_decode, srgb_encode
from machcreator.core.ramps import smoothstep
from machcreator.core.rng import seeded_rng

Pattern = Literal["solid", "stripes", "plaid", "denim", "knit", "leather"]

#: every pattern :func:`fabric_material` draws
PATTERNS: tuple[str, ...] = get_args(Pattern)

#: side of one texture tile on the cloth, metres (asset UVs are metres / TILE_M)
TILE_M = 0.25

#: a woven thread is never drawn narrower than this many texels (finer would alias)
_MIN_THREAD_PX = 2
#: Rec. 709 / sRGB luminance weights of linear RGB
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: off-white of undyed cotton (denim weft, white stripes), linear
_OFF_WHITE = np.array([0.80, 0.78, 0.72], np.float32)


# --- periodic helpers -------------------------------------------------------------------------

def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Texel centres as tile fractions: u (1, size) across, v (size, 1) down."""
    t = (np.arange(size, dtype=np.float32) + 0.5) / np.float32(size)
    return t[None, :], t[:, None]


def _gauss_ft(shape: tuple[int, int], sigma_x: float, sigma_y: float) -> np.ndarray:
    """Fourier transform (rfft2 layout) of a periodic Gaussian blur, sigmas in texels."""
    fy = sfft.fftfreq(shape[0]).astype(np.float32)[:, None]
    fx = sfft.rfftfreq(shape[1]).astype(np.float32)[None, :]
    return np.exp(-2.0 * np.pi ** 2 * ((fx * sigma_x) ** 2 + (fy * sigma_y) ** 2)).astype(np.float32)


def _blur(img: np.ndarray, sigma_x: float, sigma_y: float | None = None) -> np.ndarray:
    """Gaussian blur (H, W) that wraps around the tile's edges (so the result tiles too)."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    k = _gauss_ft(img.shape, sigma_x, sigma_y)
    return sfft.irfft2(sfft.rfft2(img, workers=-1) * k, s=img.shape, workers=-1).astype(np.float32)


def _noise(size: int, rng: np.random.Generator, sigma_x: float, sigma_y: float | None = None) -> np.ndarray:
    """Tileable smooth noise (size, size), zero mean and unit std: wrapped-blurred white noise."""
    n = _blur(rng.standard_normal((size, size), dtype=np.float32), sigma_x, sigma_y)
    n -= n.mean()
    return n / np.float32(max(float(n.std()), 1e-6))


def _thread_noise(count: int, rng: np.random.Generator) -> np.ndarray:
    """One N(0, 1) value per thread (``count`` threads per tile), for per-yarn colour and size."""
    return rng.standard_normal(count).astype(np.float32)


def _band_profile(size: int, repeats: int, bands: list[tuple[float, int]], oversample: int = 8) -> np.ndarray:
    """Area-weighted colour-index fractions (size, K) of a 1D band sequence along the tile.

    ``bands`` are (width, index) over one repeat (widths relative, any unit); the sequence is laid
    ``repeats`` times per tile and each texel gets the fraction of its width covered by each index
    (antialiased edges).
    """
    widths = np.array([w for w, _ in bands], np.float64)
    edges = np.concatenate([[0.0], np.cumsum(widths)]) / widths.sum()
    idx = np.array([i for _, i in bands])
    k = int(idx.max()) + 1
    x = (np.arange(size * oversample) + 0.5) / (size * oversample) * repeats % 1.0
    which = idx[np.searchsorted(edges, x, side="right") - 1]
    onehot = np.zeros((size * oversample, k), np.float32)
    onehot[np.arange(size * oversample), which] = 1.0
    return onehot.reshape(size, oversample, k).mean(1)


def _threads_per_tile(size: int, pitch_m: float) -> int:
    """Whole threads per tile for a yarn pitch, no finer than :data:`_MIN_THREAD_PX` texels."""
    return max(1, min(round(TILE_M / pitch_m), size // _MIN_THREAD_PX))


def _normal_map(height_m: np.ndarray) -> np.ndarray:
    """Tangent-space normal map (size, size, 3) uint8 of a height field in metres (OpenGL, +Y up).

    Central differences that wrap around (the map tiles like the height). x grows with u (right),
    y grows *up* the image (row r - 1 is above row r): n = normalize(-dh/dx, -dh/dy, 1).
    """
    texel = TILE_M / height_m.shape[0]
    dh_dx = (np.roll(height_m, -1, 1) - np.roll(height_m, 1, 1)) / np.float32(2 * texel)
    dh_dup = (np.roll(height_m, 1, 0) - np.roll(height_m, -1, 0)) / np.float32(2 * texel)
    n = np.stack([-dh_dx, -dh_dup, np.ones_like(height_m)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return np.round(n * 127.5 + 127.5).clip(0, 255).astype(np.uint8)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _LUMA


def _match_luminance(albedo: np.ndarray, target: float, fixed: np.ndarray | None = None) -> np.ndarray:
    """Scale ``albedo`` (linear, H×W×3) so the mean luminance of ``albedo + fixed`` is ``target``.

    ``fixed`` is a part that is not scaled (white weft). A few rounds absorb clipping at 1.
    """
    fixed_lum = 0.0 if fixed is None else float(_luminance(fixed).mean())
    out = albedo
    for _ in range(3):
        scale = (target - fixed_lum) / max(float(_luminance(out).mean()), 1e-6)
        out = np.clip(out * np.float32(max(scale, 0.0)), 0.0, 1.0)
    return out if fixed is None else np.clip(out + fixed, 0.0, 1.0)


def _partner_color(base: np.ndarray) -> np.ndarray:
    """The stripe colour that goes with ``base`` (linear): white on dark colours, a pale tint of
    mid colours, a deep shade of light ones."""
    lum = float(_luminance(base))
    if lum < 0.05:
        return _OFF_WHITE.copy()
    if lum < 0.25:
        return base + (np.float32(0.85) - base) * np.float32(0.7)
    return base * np.float32(0.2)


# --- weaves -----------------------------------------------------------------------------------

_Weave = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]


def _weave_height(size: int, n: int, warp_up: np.ndarray) -> tuple[np.ndarray, ...]:
    """Height (0..1) of a woven cloth with ``n`` threads per tile each way.

    ``warp_up`` (n, n) bool says, at (weft row j, warp column i), whether the warp crosses over.
    Returns (height, warp_top mask per texel, warp index per column (size,), weft index per row (size,)).
    The thread on top is a rounded ridge along its length, highest mid-float; the gaps between
    threads are lowest.
    """
    u, v = _grid(size)
    su, sv = u[0] * n, v[:, 0] * n
    iu, iv = np.floor(su).astype(np.int64), np.floor(sv).astype(np.int64)
    fu, fv = su - iu, sv - iv
    top = warp_up[iv[:, None] % n, iu[None, :] % n]
    across_warp = np.sin(np.pi * fu)[None, :] ** 0.5        # round yarn cross-section
    across_weft = np.sin(np.pi * fv)[:, None] ** 0.5
    # where a float starts or ends the yarn dives under: lower at the cell edge along the yarn
    up = np.roll(warp_up, 1, 0)[iv[:, None] % n, iu[None, :] % n]
    down = np.roll(warp_up, -1, 0)[iv[:, None] % n, iu[None, :] % n]
    left = np.roll(warp_up, 1, 1)[iv[:, None] % n, iu[None, :] % n]
    right = np.roll(warp_up, -1, 1)[iv[:, None] % n, iu[None, :] % n]
    fvc, fuc = fv[:, None], fu[None, :]
    # a warp float ends (dives) where the crossing above/below has the warp under; a weft float
    # ends where the crossing left/right has the warp over
    warp_along = 1.0 - 0.45 * (np.where(up, 0.0, (1.0 - fvc) ** 2) + np.where(down, 0.0, fvc ** 2))
    weft_along = 1.0 - 0.45 * (np.where(left, (1.0 - fuc) ** 2, 0.0) + np.where(right, fuc ** 2, 0.0))
    h = np.where(top, across_warp * warp_along, across_weft * weft_along)
    # at 2-3 texels a thread's rounded profile is barely sampled: what reads is which yarn lies
    # on top, so warp floats also stand proud of the weft (warp yarns are spun tighter)
    h = 0.55 * h + 0.45 * np.where(top, 1.0, 0.55)
    return h.astype(np.float32), top, iu % n, iv % n


def _plain_weave(size: int, pitch_m: float) -> _Weave:
    n = _threads_per_tile(size, pitch_m)
    n -= n % 2                                               # the over-under repeats every 2 threads
    i = np.arange(n)
    h, top, iu, iv = _weave_height(size, n, (i[:, None] + i[None, :]) % 2 == 0)
    return h, top, iu, iv, n


def _twill(size: int, pitch_m: float, over: int, under: int) -> _Weave:
    """An ``over``/``under`` twill, right-hand (the diagonal climbs to the right)."""
    rep = over + under
    n = _threads_per_tile(size, pitch_m)
    n -= n % rep
    i = np.arange(n)
    # warp i is over at weft j when (i + j) mod rep < over: the floats step one left per row down,
    # i.e. the diagonal rises towards +u (row index decreasing)
    h, top, iu, iv = _weave_height(size, n, (i[None, :] + i[:, None]) % rep < over)
    return h, top, iu, iv, n


# --- patterns ---------------------------------------------------------------------------------
# each returns linear albedo (H, W, 3), height in metres (H, W), roughness (H, W), occlusion (H, W)

def _solid(base: np.ndarray, size: int, seed: int, stripes: bool = False):
    rng = seeded_rng(seed, "fabric/solid")
    h, top, iu, iv, n = _plain_weave(size, 0.00042)
    warp_n = _thread_noise(n, rng)[iu][None, :]
    weft_n = _thread_noise(n, rng)[iv][:, None]
    yarn = np.where(top, warp_n, weft_n)
    mottle = _noise(size, rng, size / 24)
    fine = _noise(size, rng, 0.8)
    shade = 0.82 + 0.18 * h + 0.035 * yarn + 0.02 * mottle + 0.02 * fine
    color = np.broadcast_to(base, (size, size, 3))
    if stripes:
        # 6 repeats per tile (4.2 cm): 2.8 cm of the main colour, a 1.4 cm partner stripe; the
        # tile edge falls mid main-band
        prof = _band_profile(size, 6, [(0.7, 0), (1.0, 1), (0.7, 0)])
        color = prof[:, 0, None] * base + prof[:, 1, None] * _partner_color(base)
        color = np.broadcast_to(color[None, :, :], (size, size, 3))
    albedo = color * shade[..., None]
    height = h * np.float32(0.3 * TILE_M / n) + np.float32(0.012 * TILE_M / n) * fine
    rough = 0.85 - 0.04 * h + 0.015 * mottle
    occ = 0.72 + 0.28 * h
    return albedo, height, rough, occ


def _stripes(base: np.ndarray, size: int, seed: int):
    return _solid(base, size, seed, stripes=True)


def _plaid(base: np.ndarray, size: int, seed: int):
    rng = seeded_rng(seed, "fabric/plaid")
    dark = base * np.float32(0.12) + np.float32(0.006)
    light = base + (np.array([0.82, 0.80, 0.72], np.float32) - base) * np.float32(0.75)
    if float(_luminance(base)) > 0.35:                       # pale grounds: a darker mid accent
        light = base * np.float32(0.45)
    palette = np.stack([base, dark, light])
    # one 8.33 cm sett (3 per tile), symmetric about its centre: wide ground, a broad dark band
    # split by a light line, a thin dark line
    sett = [(10, 0), (12, 1), (2.5, 2), (12, 1), (10, 0), (2, 1), (10, 0), (2, 1)]
    sett = sett + sett[::-1]
    prof = _band_profile(size, 3, sett)                      # (size, 3) fractions of each colour
    col_u = prof @ palette                                   # warp colour across u
    h, top, iu, iv, n = _twill(size, 0.0006, 2, 2)
    warp_n = _thread_noise(n, rng)[iu][None, :, None]
    weft_n = _thread_noise(n, rng)[iv][:, None, None]
    warp = col_u[None, :, :] * (1 + 0.05 * warp_n)
    weft = col_u[:, None, :] * (1 + 0.05 * weft_n)           # same sett in the weft
    mix = 0.5 * (warp + weft)
    shown = np.where(top[..., None], warp, weft)
    # brushed flannel: the raised nap blurs the twill; the twill still reads up close
    albedo = mix + 0.6 * (shown - mix)
    fuzz = _noise(size, rng, 1.2)
    mottle = _noise(size, rng, size / 20)
    albedo = albedo * (0.88 + 0.12 * h + 0.04 * fuzz + 0.03 * mottle)[..., None]
    height = (0.6 * h + 0.15 * fuzz) * np.float32(0.12 * TILE_M / n)
    rough = 0.9 + 0.02 * fuzz
    occ = 0.78 + 0.22 * h
    return albedo, height, rough, occ


def _denim(base: np.ndarray, size: int, seed: int):
    rng = seeded_rng(seed, "fabric/denim")
    h, top, iu, iv, n = _twill(size, 0.0005, 3, 1)
    px = size / n
    # slubs: thick and thin places along each warp yarn, long streaks down v
    slub = _noise(size, rng, 0.35 * px, 10 * px)
    warp_n = _thread_noise(n, rng)[iu][None, :]
    fade = _noise(size, rng, size / 10)
    ring = _noise(size, rng, 0.6)                             # ring-dyed yarn: worn spots lighter
    tone = 1.0 + 0.14 * slub + 0.07 * warp_n + 0.06 * fade + 0.05 * np.maximum(ring, 0)
    warp = base[None, None, :] * (tone * (0.8 + 0.2 * h))[..., None]
    # the white weft peeks out where it crosses over (every 4th crossing): flecks, some whiter
    fleck = np.clip(0.4 + 0.3 * _noise(size, rng, 0.7), 0.0, 1.0)
    show = (~top).astype(np.float32) * fleck
    # undyed weft, greyed by the indigo around it (dye bleed, the shadow of the warp floats)
    weft_col = _OFF_WHITE + (base - _OFF_WHITE) * np.float32(0.35)
    weft = weft_col[None, None, :] * (0.9 + 0.1 * h)[..., None] * show[..., None]
    warp = warp * (1.0 - show)[..., None]
    target = float(_luminance(base))
    # on dark indigo the flecks may carry at most a quarter of the light (the warp's colour
    # stays dominant; they still read as light specks against it)
    weft_lum = float(_luminance(weft).mean())
    if weft_lum > 0.25 * target:
        weft = weft * np.float32(0.25 * target / weft_lum)
    albedo = _match_luminance(warp, target, weft)
    height = (h + 0.08 * slub) * np.float32(0.18 * TILE_M / n)
    rough = 0.8 + 0.03 * fade - 0.03 * h
    occ = 0.82 + 0.18 * h
    return albedo, height, rough, occ


def _knit_cell(w: float, hr: float, tw: int, th: int) -> np.ndarray:
    """Height (th, tw) in 0..1 of one stockinette stitch cell (w × hr metres), periodic.

    Each V is two slanted legs of plied yarn (ellipses with a twist ripple); a leg reaches into
    the neighbouring column on its side and into the rows above and below, so the cell's own legs
    and its neighbours' are all drawn (max), which makes the cell tile.
    """
    x = ((np.arange(tw, dtype=np.float32) + 0.5) / tw - 0.5)[None, :] * np.float32(w)
    y0 = ((np.arange(th, dtype=np.float32) + 0.5) / th)[:, None] * np.float32(hr)
    ang = np.deg2rad(24.0)                                    # leg tilt from vertical
    ca, sa = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    a, b = 0.74 * hr, 0.2 * w                                 # leg half-length, half-width (m)
    xc, yc = 0.22 * w, 0.5 * hr                               # leg centre: out from the V's axis, down
    ply = 0.9 * b                                             # twist pitch of the plied yarn
    height = np.zeros((th, tw), np.float32)
    for side in (-1.0, 1.0):                                  # left leg "\\", right leg "/"
        for dc in (0, -int(side)):                            # this column's leg, the neighbour's
            for dr in (-1, 0, 1):                             # this row's, the rows above and below
                dx = x - np.float32(dc * w + side * xc)
                dy = y0 - np.float32(dr * hr + yc)
                # axis along the leg, growing downwards; the left leg's top leans out to the left
                along = dy * ca - side * dx * sa
                across = dx * ca + side * dy * sa
                prof = np.sqrt(np.clip(1.0 - (along / a) ** 2 - (across / b) ** 2, 0.0, 1.0))
                twist = 0.5 + 0.5 * np.cos(np.float32(2 * np.pi / ply) * (along + 1.4 * across))
                # the V's point tucks under the V below: a leg sinks towards its bottom end
                leg = prof * (0.85 + 0.15 * twist) * (1.0 - 0.25 * np.clip(along / a, 0, 1))
                np.maximum(height, leg, out=height)
    return height


def _knit(base: np.ndarray, size: int, seed: int):
    """Stockinette: columns of V's, each V two slanted yarn legs, rows interlocking."""
    rng = seeded_rng(seed, "fabric/knit")
    ns, nr = round(TILE_M / 0.0056), round(TILE_M / 0.0042)  # stitches and rows per tile
    w, hr = TILE_M / ns, TILE_M / nr                          # stitch width, row height (m)
    # one finely sampled stitch, blurred to a texel's footprint (antialiased creases), then
    # looked up by each texel's phase in its stitch: every stitch is alike but for its yarn
    tw = max(64, 4 * round(size / ns))
    th = max(48, 4 * round(size / nr))
    cell = _blur(_knit_cell(w, hr, tw, th), 0.5 * tw * ns / size, 0.5 * th * nr / size)
    u, v = _grid(size)
    s, t = u * ns, v * nr
    fx = np.broadcast_to((s - np.floor(s)) * tw - 0.5, (size, size)).astype(np.float32)
    fy = np.broadcast_to((t - np.floor(t)) * th - 0.5, (size, size)).astype(np.float32)
    height = cv2.remap(cell, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    # each stitch's yarn is a little plumper or thinner
    jit = _thread_noise(ns * nr, rng).reshape(nr, ns)
    rows, cols = np.floor(t[:, 0]).astype(np.int64) % nr, np.floor(s[0]).astype(np.int64) % ns
    height = height * (1.0 + 0.06 * jit[rows][:, cols])
    fuzz = _noise(size, rng, 0.7)
    mottle = _noise(size, rng, size / 16)
    hn = np.clip(height, 0.0, 1.0)
    shade = (0.30 + 0.70 * hn ** 0.6) * (1.0 + 0.05 * fuzz + 0.025 * mottle)
    albedo = _match_luminance(base[None, None, :] * shade[..., None], float(_luminance(base)))
    height_m = (hn + 0.04 * fuzz) * np.float32(0.22 * w)
    rough = 0.95 + 0.02 * fuzz - 0.02 * hn
    occ = 0.55 + 0.45 * smoothstep(0.0, 0.7, hn)
    return albedo, height_m, rough, occ


def _leather(base: np.ndarray, size: int, seed: int):
    """Pebbled grain: a tileable Worley cell field, each cell a flat-topped pebble."""
    rng = seeded_rng(seed, "fabric/leather")
    nc = round(TILE_M / 0.0036)                               # pebbles per tile side
    jitter = rng.random((nc, nc, 2), dtype=np.float32)
    cell_h = rng.uniform(0.75, 1.0, (nc, nc)).astype(np.float32)
    # feature point of each cell, in cell units, kept off the cell's border (even pebbles)
    fpx = np.arange(nc, dtype=np.float32)[None, :] + 0.1 + 0.8 * jitter[..., 0]
    fpy = np.arange(nc, dtype=np.float32)[:, None] + 0.1 + 0.8 * jitter[..., 1]
    u, v = _grid(size)
    su, sv = u * nc, v * nc
    cu, cv = np.floor(su).astype(np.int64), np.floor(sv).astype(np.int64)
    f1 = np.full((size, size), 99.0, np.float32)              # squared distances, nearest two
    f2 = np.full((size, size), 99.0, np.float32)
    near = np.zeros((size, size), np.float32)
    for oy in (-1, 0, 1):
        ry = (cv + oy) % nc                                   # (size, 1) wrapped cell rows
        wy = (cv + oy - ry).astype(np.float32)                # their unwrapped offset (0 or ±nc)
        for ox in (-1, 0, 1):
            rx = (cu + ox) % nc
            wx = (cu + ox - rx).astype(np.float32)
            d = (su - (fpx[ry, rx] + wx)) ** 2 + (sv - (fpy[ry, rx] + wy)) ** 2
            closer = d < f1
            np.copyto(f2, np.where(closer, f1, np.minimum(f2, d)))
            np.copyto(near, cell_h[ry, rx], where=closer)
            np.minimum(f1, d, out=f1)
    f1, f2 = np.sqrt(f1), np.sqrt(f2)
    edge = f2 - f1                                            # 0 on a crease, grows inwards
    pebble = smoothstep(0.0, 0.45, edge) ** 0.7 * near
    wrinkle = _noise(size, rng, size / 40)
    fine = _noise(size, rng, 0.8)
    mottle = _noise(size, rng, size / 12)
    height_m = (pebble + 0.35 * wrinkle + 0.04 * fine) * np.float32(0.12 * TILE_M / nc)
    shade = (0.86 + 0.14 * pebble) * (1.0 + 0.05 * mottle + 0.02 * fine)
    albedo = _match_luminance(base[None, None, :] * shade[..., None], float(_luminance(base)))
    rough = 0.6 - 0.14 * pebble + 0.02 * fine                 # polished tops catch a sheen
    occ = 0.78 + 0.22 * smoothstep(0.0, 0.3, edge)
    return albedo, height_m, rough, occ


_BUILDERS = {"solid": _solid, "stripes": _stripes, "plaid": _plaid, "denim": _denim,
             "knit": _knit, "leather": _leather}


def fabric_material(name: str, pattern: Pattern, color: tuple[int, int, int], seed: int = 0,
                    size: int = 512) -> tuple[Material, dict[str, np.ndarray]]:
    """A material ``name`` and its textures ``{name}_albedo``, ``{name}_normal``, ``{name}_orm``.

    Args:
        pattern: weave or print (one of :data:`PATTERNS`); color: the main colour, sRGB 0..255
            (the cloth's mean linear luminance matches it; stripes and plaid add accents);
        seed: varies the noise only (yarn irregularity, mottling, pebble layout), never the
            pattern's layout; size: texture side, texels (one tile = :data:`TILE_M` of cloth).

    Returns the material (texture keys filled) and the images: albedo (size, size, 3) uint8 sRGB,
    normal (size, size, 3) uint8 (OpenGL convention, +Y up: green > 128 faces the top of the
    image), orm (size, size, 3) uint8 (R occlusion, G roughness, B metal = 0). Every image tiles
    seamlessly.
    """
    if pattern not in _BUILDERS:
        raise ValueError(f"unknown fabric pattern {pattern!r}; expected one of {PATTERNS}")
    base = srgb_decode(np.asarray(color, np.uint8).reshape(3))
    albedo, height, rough, occ = _BUILDERS[pattern](base, int(size), int(seed))
    albedo_img = srgb_encode(np.clip(albedo, 0.0, 1.0).astype(np.float32))
    normal_img = _normal_map(np.asarray(height, np.float32))
    orm = np.zeros((size, size, 3), np.uint8)
    orm[..., 0] = np.round(np.clip(occ, 0, 1) * 255)
    orm[..., 1] = np.round(np.clip(rough, 0, 1) * 255)
    material = Material(name, base_color_texture=f"{name}_albedo", normal_texture=f"{name}_normal",
                        orm_texture=f"{name}_orm", roughness_factor=1.0, metallic_factor=0.0,
                        double_sided=False)
    return material, {f"{name}_albedo": albedo_img, f"{name}_normal": normal_img, f"{name}_orm": orm}
