"""Growing a hairstyle: guide strands from style fields, child strands interpolated from them.

1. Guides (a few thousand, evenly spread roots) are integrated step by step from the root: each
   step blends the style's *comb* direction (away from the part or crown, back for slicked styles,
   up for spikes, out for an afro, towards a tie for gathered styles) with gravity, which takes
   over along the strand, and keeps a clearance from the body's signed distance field (volume
   lifts it). Gathered styles leave the scalp at a tie and follow a tail: a ponytail hanging
   under gravity, a coiled bun, a three-strand braid.
2. Children (up to ~10^5) are sampled on the scalp and blend their three nearest guides' shapes
   (inverse-distance weights), are pulled towards their clump's guide towards the tip (clumping),
   take a curl (a planar wave for wavy hair, a helix for curly and coily hair, with a phase per
   clump and a little noise per strand) and some frizz, then are pushed out of the body.
3. Points per strand adapt to its length and curl.

Everything is vectorised numpy; positions in metres (Z-up, facing -Y), lengths in centimetres
where names say ``_cm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from machcreator.hair.collision import BodyField, push_out
from machcreator.hair.scalp import HeadFrame, Roots
from machcreator.core.hair_styles import Bangs, HairStyle, Hairline, Part
from machcreator.core.ramps import smoothstep

CM = 0.01  # metres per centimetre
#: guide samples along the arc (integration steps + 1).
GUIDE_STEPS = 96
#: most points a strand gets (long, tightly curled strands), and points per curl turn.
MAX_POINTS = 32
POINTS_PER_TURN = 5
#: curl values below this grow straight hair (a natural slight bend comes from the frizz).
STRAIGHT_BELOW = 0.25
#: least clearance between any strand point and the skin, metres.
SKIN_CLEARANCE_M = 0.0015


@dataclass(frozen=True)
class Growth:
    """What shapes one scalp groom: the style plus the attribute record's overrides.

    length_cm, curl (0..1), part, bangs, volume (0..1), hairline (see :mod:`machcreator.hair.scalp`).
    """

    style: HairStyle
    length_cm: float
    curl: float
    part: Part
    bangs: Bangs
    volume: float
    hairline: Hairline


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def tangent_part(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Directions (N, 3) with their component along unit normals (N, 3) removed."""
    return v - np.einsum("ij,ij->i", v, n)[:, None] * n


# --- the length map --------------------------------------------------------------------------

def root_lengths_cm(roots: Roots, g: Growth, frame: HeadFrame, rng: np.random.Generator) -> np.ndarray:
    """(S,) hair length of each root, cm: the style's length, shorter on the sides and nape for
    undercuts and fades, a fringe over the forehead, layers towards the face, 5% scatter."""
    p = roots.positions.astype(np.float64)
    u = frame.unit
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    length = np.full(len(p), g.length_cm)
    side = g.style.sides_cm
    if g.hairline == "shaved_sides":
        side = min(side if side is not None else g.length_cm, 0.3)
    if side is not None:
        # the sides and nape: below the temples, or off the top strip for a mohawk
        low = 1.0 - smoothstep(frame.eye_z + 0.9 * u, frame.eye_z + 1.3 * u, z)
        if g.style.name == "mohawk" or g.hairline == "shaved_sides":
            low = np.maximum(low, smoothstep(0.28 * u, 0.4 * u, np.abs(x)))
        if g.style.fade:
            side_len = side * smoothstep(frame.eye_z - 0.9 * u, frame.eye_z + 1.0 * u, z) + 0.1
        else:
            side_len = np.full(len(p), side)
        length = length * (1.0 - low) + side_len * low
    front = smoothstep(frame.ear_y - 0.4 * u, frame.ear_y - 1.4 * u, y)  # 1 over the forehead
    if g.bangs != "none" and g.style.gather == "none":
        # a fringe reaches the brows (curtain bangs the cheekbones); it never exceeds the style
        brow_z = frame.eye_z + 0.3 * u
        reach = {"fringe": 0.0, "side": 0.3 * u, "curtain": -1.1 * u}[g.bangs]
        bang_cm = (z - brow_z - reach) / CM + 2.0
        length = np.where(bang_zone(p, frame) > 0.5, np.minimum(length, np.maximum(bang_cm, 2.0)), length)
    if g.curl >= 0.6:  # curls take up length: the helix around a shorter path has the asked arc
        radius = curl_shape(g.curl)[0]
        length = length / np.sqrt(1.0 + (2 * np.pi * radius / curl_period(g.curl, length * CM)) ** 2)
    if g.style.layers > 0:
        length *= 1.0 - 0.45 * g.style.layers * front * smoothstep(1.5 * u, 0.4 * u, z - frame.eye_z)
    return np.maximum(length * np.exp(rng.normal(0.0, 0.05, len(p))), 0.05)


def bang_zone(p: np.ndarray, frame: HeadFrame) -> np.ndarray:
    """(N,) 0..1: roots (N, 3) whose hair makes the bangs (the front of the scalp over the forehead)."""
    u = frame.unit
    front = smoothstep(frame.ear_y - 0.4 * u, frame.ear_y - 1.4 * u, p[:, 1])
    return front * smoothstep(0.9 * u, 0.5 * u, np.abs(p[:, 0])) * smoothstep(frame.eye_z + 0.7 * u, frame.eye_z + 1.2 * u, p[:, 2])


# --- guides ----------------------------------------------------------------------------------

def _part_x(part: str, u: float) -> float:
    return {"left": 0.38 * u, "right": -0.38 * u, "center": 0.0, "none": 0.0}[part]


def _comb(x: np.ndarray, n: np.ndarray, root: np.ndarray, g: Growth, frame: HeadFrame) -> np.ndarray:
    """Unit comb directions (N, 3) at points (N, 3) with outward normals (N, 3), for strands whose
    roots are ``root`` (N, 3): where the style sends the hair before gravity takes over."""
    u = frame.unit
    flow = g.style.flow
    back = np.array([0.0, 1.0, 0.0])
    down = np.array([0.0, 0.0, -1.0])
    if flow == "radial":
        # out from a point high in the skull; hair over the forehead rises rather than hiding it
        d = unit(x - (frame.center + np.array([0.0, 0.3 * u, 0.5 * u])))
        d[:, 1] = np.maximum(d[:, 1], -0.35)
        return unit(d)
    if flow == "up":
        lift = np.array([0.0, -0.25, 1.0]) if g.style.name == "quiff" else np.array([0.0, 0.15, 1.0])
        return unit(0.6 * n + lift)
    if flow == "back":
        return unit(tangent_part(np.broadcast_to(back + 0.25 * down, x.shape), n))
    px = _part_x(g.part, u)
    side = np.where(root[:, 0] >= px, 1.0, -1.0)[:, None] * np.array([1.0, 0.0, 0.0])
    crown = np.array([px * 0.5, frame.ear_y + 0.5 * u, frame.top[2] - 0.15 * u])
    from_crown = unit(x - crown)
    # nothing falls forward over the face but the bangs
    keep_back = np.maximum(from_crown[:, 1], 0.15)
    if g.bangs != "none":
        bang = bang_zone(root, frame)
        keep_back = bang * from_crown[:, 1] + (1.0 - bang) * keep_back
    from_crown[:, 1] = keep_back
    from_crown = tangent_part(from_crown, n)
    front = smoothstep(frame.ear_y - 0.3 * u, frame.ear_y - 1.2 * u, root[:, 1])[:, None]
    if g.bangs == "fringe":
        front_dir = np.array([0.0, -1.0, -0.6]) + 0.25 * side
    elif g.bangs == "side":
        sweep = -1.0 if px >= 0 else 1.0  # across the forehead, away from the part
        front_dir = np.broadcast_to(np.array([sweep, -0.5, -0.5]), side.shape)
    elif g.bangs == "curtain":  # parted in the middle, swept out to frame the face
        front_dir = 2.2 * side + np.array([0.0, -0.35, -0.6])
    swept = 1.1 * side + np.array([0.0, 0.6, -0.2])  # off the face, to the sides and back
    if g.bangs == "none":
        front_dir = swept
    else:  # only the bangs' own roots come forward; long hair beside them is swept aside
        bang = bang_zone(root, frame)[:, None]
        front_dir = bang * front_dir + (1.0 - bang) * swept
    d = (1.0 - front) * (from_crown + (0.6 if g.part != "none" else 0.25) * side * smoothstep(0.0, 0.3 * u, np.abs(root[:, :1] - px)))
    d = d + front * front_dir
    return unit(tangent_part(d, n))


def _ties(g: Growth, frame: HeadFrame) -> np.ndarray:
    """(T, 3) tie points of a gathered style, metres (1 or 2 of them)."""
    u, c = frame.unit, frame.center
    back_y = frame.ear_y + 1.35 * u
    if g.style.gather == "pigtails" or g.style.gather == "two_braids":
        return np.array([[s * 1.3 * u, frame.ear_y + 0.5 * u, frame.eye_z + 0.1 * u] for s in (1.0, -1.0)])
    if g.style.tie == "high":
        return np.array([[0.0, back_y, frame.top[2] - 0.25 * u]])
    if g.style.tie == "top":
        return np.array([[0.0, frame.ear_y + 0.6 * u, frame.top[2] + 0.15 * u]])
    return np.array([[0.0, back_y - 0.05 * u, c[2] - 0.75 * u]])


def integrate(x0: np.ndarray, d0: np.ndarray, step: np.ndarray, steps: int, direction, field: BodyField,
               clearance, stop=None) -> tuple[np.ndarray, np.ndarray]:
    """March strands from (N, 3) roots along unit directions: ``direction(x, d, i)`` gives the
    wanted direction at step i; each step is ``step`` (N,) metres, kept ``clearance(i)`` off the
    body. ``stop(x)`` (N,) bool freezes a strand where it is (it reached a tie). Returns the
    (N, steps + 1, 3) path and the (N,) index of the step each strand stopped at (steps if never).
    """
    path = np.empty((len(x0), steps + 1, 3))
    path[:, 0] = x0
    x, d = x0.astype(np.float64), d0.astype(np.float64)
    stopped = np.full(len(x0), steps)
    active = np.ones(len(x0), bool)
    for i in range(steps):
        want = direction(x, d, i)
        d = np.where(active[:, None], unit(d + 0.55 * (want - d)), d)
        nxt = x + d * (step * active)[:, None]
        nxt = push_out(nxt, field, clearance(i), iterations=1)
        d = np.where(active[:, None], unit(nxt - x + 1e-12), d)
        x = np.where(active[:, None], nxt, x)
        path[:, i + 1] = x
        if stop is not None:
            done = active & stop(x)
            stopped[done] = i + 1
            active &= ~done
            if not active.any():
                path[:, i + 2:] = x[:, None]
                break
    return path, stopped


def grow_guides(roots: Roots, lengths_cm: np.ndarray, g: Growth, frame: HeadFrame, field: BodyField,
                rng: np.random.Generator) -> np.ndarray:
    """(G, GUIDE_STEPS + 1, 3) guide strands from their roots, resampled uniformly along the arc."""
    gather = g.style.gather
    if gather in ("ponytail", "bun", "pigtails", "braid", "two_braids"):
        return _gathered(roots, lengths_cm, g, frame, field, rng)
    L = lengths_cm * CM
    step = L / GUIDE_STEPS
    stiff = {"up": 0.0, "radial": 0.0, "back": 0.4}.get(g.style.flow, 1.0)
    if gather == "cornrows":
        stiff = 0.0
    root = roots.positions.astype(np.float64)
    lift = 0.15 + 0.9 * g.volume if g.style.flow not in ("up", "radial") else 1.0
    n0 = roots.normals.astype(np.float64)
    u = frame.unit
    rows = np.linspace(-0.95 * u, 0.95 * u, 7)
    row_x = rows[np.argmin(np.abs(root[:, :1] - rows[None]), axis=1)]
    nape_z = frame.center[2] - 0.9 * u

    def direction(x: np.ndarray, d: np.ndarray, i: int) -> np.ndarray:
        s = i * step  # metres along each strand
        n = field.gradient(x)
        if gather == "cornrows":
            # braided rows from the hairline over the top to the nape, tight on the scalp
            comb = unit(tangent_part(np.stack([4.0 * (row_x - x[:, 0]) / u, np.ones(len(x)), -0.2 * np.ones(len(x))], 1), n))
            hang = (x[:, 2] < nape_z)[:, None]
            return np.where(hang, np.array([0.0, 0.2, -1.0]), comb)
        comb = _comb(x, n, root, g, frame)
        if i == 0:
            comb = unit(comb + lift * n)
        # gravity takes over along the strand: after ~6 cm for soft hair, never for spikes
        weight = stiff * smoothstep(0.02, 0.08 + 0.1 * (1.0 - g.volume), s)[:, None]
        return unit((1.0 - weight) * comb + weight * np.array([0.0, 0.0, -1.0]))

    clear0 = SKIN_CLEARANCE_M + (0.002 if gather == "cornrows" else 0.012 * g.volume)

    def clearance(i: int) -> np.ndarray:
        return SKIN_CLEARANCE_M + (clear0 - SKIN_CLEARANCE_M) * smoothstep(0.0, 0.03, i * step)

    path, _ = integrate(root, unit(_comb(root, n0, root, g, frame) + lift * n0), step, GUIDE_STEPS, direction,
                         field, clearance)
    return path.astype(np.float32)


def _resample(path: np.ndarray, count: int, upto: np.ndarray | None = None) -> np.ndarray:
    """Resample polylines (N, K, 3) to ``count`` points evenly spaced along their arc (up to the
    arc fraction ``upto`` (N,) if given)."""
    seg = np.linalg.norm(np.diff(path, axis=1), axis=-1)
    arc = np.concatenate([np.zeros((len(path), 1)), np.cumsum(seg, axis=1)], 1)
    total = np.maximum(arc[:, -1:], 1e-12)
    frac = arc / total
    scale = np.ones((len(path), 1)) if upto is None else upto[:, None]
    t = np.linspace(0.0, 1.0, count)[None] * scale
    # one searchsorted over all rows: row r's fractions are shifted into [2r, 2r + 1]
    row = 2.0 * np.arange(len(path))[:, None]
    idx = np.searchsorted((frac + row).ravel(), (t + row).ravel()).reshape(t.shape)
    idx = idx - np.arange(len(path))[:, None] * path.shape[1]
    idx = np.clip(idx, 1, path.shape[1] - 1)
    f0 = np.take_along_axis(frac, idx - 1, 1)
    f1 = np.take_along_axis(frac, idx, 1)
    w = np.clip((t - f0) / np.maximum(f1 - f0, 1e-12), 0.0, 1.0)[..., None]
    p0 = np.take_along_axis(path, (idx - 1)[..., None].repeat(3, -1), 1)
    p1 = np.take_along_axis(path, idx[..., None].repeat(3, -1), 1)
    return p0 * (1.0 - w) + p1 * w


def _tail(start: np.ndarray, direction: np.ndarray, length: float, field: BodyField, steps: int = 80) -> np.ndarray:
    """A tail's centre line (steps + 1, 3): from ``start`` along ``direction`` bending under
    gravity, kept off the body (a ponytail over the back, a braid down it)."""
    step = np.array([length / steps])

    def want(x: np.ndarray, d: np.ndarray, i: int) -> np.ndarray:
        w = min(1.0, 0.25 + i / (0.35 * steps))
        return unit((1.0 - w) * direction[None] + w * np.array([[0.0, 0.15, -1.0]]))

    path, _ = integrate(start[None], unit(direction[None]), step, steps, want, field,
                         lambda i: SKIN_CLEARANCE_M + 0.02)
    return path[0]


def _frames(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangents, normals, binormals (K, 3) along a curve (K, 3), rotation-minimising."""
    t = unit(np.gradient(curve, axis=0))
    ref = np.array([1.0, 0.0, 0.0]) if abs(t[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    n = np.empty_like(t)
    n[0] = unit(np.cross(t[0], ref))
    for k in range(1, len(t)):  # double reflection would be better; projection suffices here
        v = n[k - 1] - np.dot(n[k - 1], t[k]) * t[k]
        n[k] = unit(v)
    return t, n, np.cross(t, n)


def _gathered(roots: Roots, lengths_cm: np.ndarray, g: Growth, frame: HeadFrame, field: BodyField,
              rng: np.random.Generator) -> np.ndarray:
    """Guides of tied styles: along the scalp to a tie, then down a tail, a bun or a braid."""
    u = frame.unit
    ties = _ties(g, frame)
    root = roots.positions.astype(np.float64)
    which = np.argmin(np.linalg.norm(root[:, None] - ties[None], axis=-1), axis=1)
    target = ties[which]
    r_tie = 0.012
    dist = np.linalg.norm(root - target, axis=1)
    approach = 1.25 * dist.max()
    steps = GUIDE_STEPS // 2
    step = np.full(len(root), approach / steps)

    def toward(x: np.ndarray, d: np.ndarray, i: int) -> np.ndarray:
        return unit(tangent_part(target - x, field.gradient(x)) + 0.3 * (target - x) / max(u, 1e-9))

    n0 = roots.normals.astype(np.float64)
    scalp, reached = integrate(root, unit(tangent_part(target - root, n0)), step, steps, toward, field,
                                lambda i: np.full(len(root), SKIN_CLEARANCE_M + 0.002),
                                stop=lambda x: np.linalg.norm(x - target, axis=1) < r_tie)
    scalp_len = np.minimum(reached, steps) * step
    tail_len = np.maximum(lengths_cm * CM - scalp_len, 0.05)
    out = np.empty((len(root), GUIDE_STEPS + 1, 3))
    half = GUIDE_STEPS // 3
    for t_index, tie in enumerate(ties):
        sel = np.nonzero(which == t_index)[0]
        if not len(sel):
            continue
        outward = unit(tie - frame.center)
        if g.style.gather in ("pigtails", "two_braids"):
            start_dir = unit(outward * np.array([1.0, 0.3, 0.0]) + np.array([0.0, 0.3, -0.6]))
        elif g.style.tie == "high":
            start_dir = unit(np.array([0.0, 1.0, 0.35]))
        else:
            start_dir = unit(np.array([0.0, 0.7, -0.7]))
        longest = float(tail_len[sel].max())
        if g.style.gather == "bun":
            centre_line = _bun_coil(tie + outward * 0.03, outward, longest)
        else:
            centre_line = _tail(tie, start_dir, longest, field)
        t, nrm, bin_ = _frames(centre_line)
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centre_line, axis=0), axis=1))])
        # each strand keeps its side of the tail: its root's angle around the tie
        rel = root[sel] - tie
        theta = np.arctan2(rel @ bin_[0], rel @ nrm[0])
        k = GUIDE_STEPS + 1 - half
        sigma = np.linspace(0.0, 1.0, k)[None] * tail_len[sel][:, None]  # (n, k) metres down the tail
        c = np.stack([np.interp(sigma, arc, centre_line[:, j]) for j in range(3)], -1)
        fn = np.stack([np.interp(sigma, arc, nrm[:, j]) for j in range(3)], -1)
        fb = np.stack([np.interp(sigma, arc, bin_[:, j]) for j in range(3)], -1)
        frac = sigma / np.maximum(tail_len[sel][:, None], 1e-9)
        if g.style.gather in ("braid", "two_braids"):
            off = _braid_offsets(theta, sigma, frac)
        else:
            spread = (0.7 * r_tie + (0.025 if g.style.gather in ("ponytail", "pigtails") else 0.006) * smoothstep(0.0, 0.5, frac))
            off = np.stack([np.cos(theta)[:, None] * spread, np.sin(theta)[:, None] * spread], -1)
        tail = c + off[..., :1] * fn + off[..., 1:] * fb
        head_part = _resample(scalp[sel], half, upto=np.minimum(reached[sel], steps) / steps)
        out[sel, :half] = head_part
        out[sel, half:] = tail
    return _resample(out, GUIDE_STEPS + 1).astype(np.float32)


def _bun_coil(centre: np.ndarray, axis: np.ndarray, length: float) -> np.ndarray:
    """A bun's coil (K, 3): hair wound around ``axis`` at ``centre``, turns stacking outwards."""
    a = unit(axis)
    e1 = unit(np.cross(a, np.array([0.0, 0.0, 1.0]) if abs(a[2]) < 0.9 else np.array([1.0, 0.0, 0.0])))
    e2 = np.cross(a, e1)
    k = 160
    s = np.linspace(0.0, length, k)
    radius = 0.022 - 0.010 * s / max(length, 1e-9)
    angle = np.cumsum(np.concatenate([[0.0], np.diff(s) / np.maximum(radius[1:], 1e-3)]))
    lift = 0.012 * s / max(length, 1e-9)
    return centre + radius[:, None] * (np.cos(angle)[:, None] * e1 + np.sin(angle)[:, None] * e2) + lift[:, None] * a


def _braid_offsets(theta: np.ndarray, sigma: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """(N, K, 2) offsets of strands in a three-strand braid: strand bundle by the root's angle,
    each bundle weaving side to side and front to back (a figure eight) around the centre."""
    bundle = np.floor(np.mod(theta, 2 * np.pi) / (2 * np.pi / 3)).astype(int)
    phase = (2 * np.pi / 3) * bundle[:, None] + 2 * np.pi * sigma / 0.035
    width = 0.011 * (1.0 - 0.35 * frac)
    loose = smoothstep(0.88, 1.0, frac)  # the end below the tie fans out
    inner = 0.0035 * (1.0 + 2.5 * loose)
    lateral = width * np.sin(phase) * (1.0 - loose) + inner * np.cos(3 * theta)[:, None]
    depth = 0.5 * width * np.sin(2 * phase) * (1.0 - loose) + inner * np.sin(3 * theta)[:, None]
    return np.stack([lateral, depth], -1)


# --- children --------------------------------------------------------------------------------

def curl_shape(curl: float) -> tuple[float, float, bool]:
    """(radius metres, period metres, helical) of the curl: waves are planar, curls helices."""
    if curl < STRAIGHT_BELOW:
        return 0.0, 1.0, False
    if curl < 0.6:  # waves: soft, long waves -> tighter at 0.6
        t = (curl - STRAIGHT_BELOW) / (0.6 - STRAIGHT_BELOW)
        return 0.004 + 0.005 * t, 0.09 - 0.04 * t, False
    t = min((curl - 0.6) / 0.4, 1.0)  # curls -> coils: smaller and tighter
    return 0.009 - 0.0055 * t, 0.035 - 0.022 * t, True


def curl_period(curl: float, length_m: np.ndarray) -> np.ndarray:
    """(S,) curl period, metres: the style's, stretched on long strands so a strand makes at most
    as many turns as its points can draw (long curly hair falls in looser spirals)."""
    _, period, _ = curl_shape(curl)
    max_turns = (MAX_POINTS - 1) / POINTS_PER_TURN
    return np.maximum(period, np.asarray(length_m) / max_turns)


def points_per_strand(length_cm: np.ndarray, curl: float) -> np.ndarray:
    """(S,) points for strands of these lengths: one per 2.5 cm straight, 5 per curl turn, 3..40."""
    length_cm = np.asarray(length_cm, np.float64)
    if curl < STRAIGHT_BELOW:
        seg_cm = np.full(length_cm.shape, 2.5)
    else:
        seg_cm = np.minimum(2.5, curl_period(curl, length_cm * CM) / CM / POINTS_PER_TURN)
    return np.clip(np.ceil(length_cm / seg_cm) + 1, 3, MAX_POINTS).astype(np.int64)


def _nearest_guides(points: np.ndarray, guide_roots: np.ndarray, split_x: bool) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices (N, 3) of the 3 guide roots nearest each point; with ``split_x``
    only guides on the point's own side of the midline (two tails never blend across it)."""
    if not split_x:
        return cKDTree(guide_roots).query(points, k=3, workers=-1)
    d = np.empty((len(points), 3))
    nb = np.empty((len(points), 3), np.int64)
    left_p = points[:, 0] >= 0
    for gsel, psel in ((np.nonzero(guide_roots[:, 0] >= 0)[0], left_p), (np.nonzero(guide_roots[:, 0] < 0)[0], ~left_p)):
        dd, ii = cKDTree(guide_roots[gsel]).query(points[psel], k=3, workers=-1)
        d[psel], nb[psel] = dd, gsel[ii]
    return d, nb


@dataclass
class Strands:
    """Strands of varying point counts, concatenated: points (P, 3) metres, counts (S,),
    root indices into the children's roots (S,), clump ids (S,)."""

    points: np.ndarray
    counts: np.ndarray
    clump: np.ndarray


def grow_children(roots: Roots, guides: np.ndarray, guide_roots: np.ndarray, guide_lengths_m: np.ndarray,
                  g: Growth, field: BodyField, rng: np.random.Generator, chunk: int = 16000) -> Strands:
    """Child strands at ``roots`` interpolated from guides (G, K, 3) rooted at (G, 3) whose
    intended lengths (the length map's, before collisions bent them) are (G,) metres.

    Weights: inverse squared distance to the 3 nearest guide roots. Clumping pulls each child
    towards its nearest guide towards the tip; curl is a wave or helix with a phase per clump;
    frizz is smooth noise growing to the tip. Children are built at the most points any of them
    needs and each keeps an even subset of its own count (:func:`points_per_strand`).
    """
    d, nb = _nearest_guides(roots.positions, guide_roots, split_x=g.style.gather in ("pigtails", "two_braids"))
    w = (1.0 / np.maximum(d, 1e-4) ** 2).astype(np.float32)
    w /= w.sum(1, keepdims=True)
    length = (w * guide_lengths_m[nb]).sum(1) * np.exp(rng.normal(0.0, 0.04, len(roots)))
    count = points_per_strand(length / CM, g.curl)
    K = int(count.max())
    base = _resample(guides.astype(np.float64), K).astype(np.float32)
    base -= base[:, :1]  # guide shapes relative to their roots
    gathered = g.style.gather != "none"
    radius, _, helix = curl_shape(g.curl)
    roped = g.style.gather in ("dreadlocks", "cornrows")  # locks and rows: every strand in its rope
    if roped:
        w = np.zeros_like(w)
        w[:, 0] = 1.0
    clump_strength = 0.95 if roped else (0.35 + 0.45 * g.curl) * (0.6 if gathered else 1.0)
    clump_phase = rng.uniform(0, 2 * np.pi, len(guides)).astype(np.float32)
    t = np.linspace(0.0, 1.0, K, dtype=np.float32)[None, :, None]
    pull = (clump_strength * t ** (0.25 if roped else 0.8)).astype(np.float32)
    frizz = 0.0004 if roped else 0.002 * (1.0 + 2.0 * g.curl)  # a rope holds its strands in
    knots = np.linspace(0.0, 1.0, 5)
    blend = np.stack([np.interp(t[0, :, 0], knots, np.eye(5)[k]) for k in range(5)], 0).astype(np.float32)  # (5, K)
    offsets = np.concatenate([[0], np.cumsum(count)])
    points = np.empty((int(offsets[-1]), 3), np.float32)
    for a in range(0, len(roots), chunk):
        b = min(a + chunk, len(roots))
        n = b - a
        cn, own = nb[a:b], nb[a:b, 0]
        root = roots.positions[a:b].astype(np.float32)[:, None]
        p = root + np.einsum("sk,skjc->sjc", w[a:b], base[cn])
        # clumping: towards the own guide's shape placed at the guide's root
        p += pull * ((base[own] + guide_roots[own][:, None].astype(np.float32)) - p)
        if radius > 0:
            tan = unit(np.gradient(p, axis=1))
            ref = np.where(np.abs(tan[..., 2:3]) < 0.9, np.float32([0, 0, 1]), np.float32([1, 0, 0]))
            e1 = unit(np.cross(tan, ref))
            s = t[..., 0] * length[a:b, None].astype(np.float32)  # metres along the strand
            own_period = curl_period(g.curl, length[a:b])[:, None].astype(np.float32)
            phase = 2 * np.pi * s / own_period + clump_phase[own][:, None] + rng.normal(0, 0.35, (n, 1)).astype(np.float32)
            ramp = smoothstep(0.0, 0.025, s)[..., None] * (1.0 + 0.15 * rng.standard_normal((n, 1, 1), dtype=np.float32))
            off = np.cos(phase)[..., None] * e1
            if helix:
                off += np.sin(phase)[..., None] * np.cross(tan, e1)
            p += radius * ramp * off
        # smooth frizz: 5 random knots along the strand, growing towards the tip
        knot_noise = rng.normal(0.0, frizz, (n, 5, 3)).astype(np.float32)
        p += np.einsum("skc,kj->sjc", knot_noise, blend) * t ** 1.5
        for m in np.unique(count[a:b]):
            sel = np.nonzero(count[a:b] == m)[0]
            idx = np.round(np.linspace(0, K - 1, m)).astype(int)
            dst = (offsets[a + sel][:, None] + np.arange(m)[None]).reshape(-1)
            points[dst] = p[sel][:, idx].reshape(-1, 3)
    first = np.zeros(len(points), bool)
    first[offsets[:-1]] = True
    # the root stays on the skin; every other point keeps its clearance
    rest = ~first
    points[rest] = push_out(points[rest], field, SKIN_CLEARANCE_M, iterations=8)
    return Strands(points=points, counts=count.astype(np.int32), clump=nb[:, 0].astype(np.int32))
