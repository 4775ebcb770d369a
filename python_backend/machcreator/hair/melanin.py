"""Hair colour from melanin: eumelanin and pheomelanin concentrations -> linear RGB per strand point.

Natural hair colour is set by two pigments (d'Eon et al. 2011; Chiang et al. 2016): eumelanin
(brown-black) and pheomelanin (red-yellow), with absorption coefficients per unit concentration
``EUMELANIN_SIGMA`` and ``PHEOMELANIN_SIGMA``. Every natural colour name has a pigment mix
(:data:`MELANIN`, black ≈ 8 units of eumelanin, red mostly pheomelanin). A strand's colour is its
name's swatch (:data:`COLORS`, what a viewer shows for the name) times the change in Beer-Lambert
transmittance ``exp(-PATH·(c_eu·σ_eu + c_ph·σ_ph))`` that its own pigment mix makes against the
name's: so per-strand variation, sun-bleached tips (less eumelanin) and highlights change colour
the way pigment does (darker strands of red hair turn brown, not grey) while the mean stays the
named colour. Grey and white hair are unpigmented strands mixed in (salt and pepper is half of
them); dyed colours (blue, pink, green, purple) are the dye's swatch with a brightness jitter.
"""

from __future__ import annotations

import numpy as np

from machcreator.attributes import COLORS
from machcreator.core.color import srgb_decode

#: absorption per unit concentration (Chiang et al. 2016 after d'Eon et al. 2011), RGB.
EUMELANIN_SIGMA = np.array([0.419, 0.697, 1.37], np.float32)
PHEOMELANIN_SIGMA = np.array([0.187, 0.4, 1.05], np.float32)
#: effective optical path through a fibre for the diffuse colour (unitless, scales concentration).
PATH = 0.25
#: (eumelanin, pheomelanin) of each natural colour name.
MELANIN: dict[str, tuple[float, float]] = {
    "black": (8.0, 0.1), "dark_brown": (4.0, 0.3), "brown": (2.2, 0.4), "light_brown": (1.2, 0.4),
    "auburn": (1.5, 1.6), "red": (0.6, 2.5), "ginger": (0.4, 2.0), "strawberry_blonde": (0.3, 1.0),
    "blonde": (0.3, 0.3), "platinum": (0.05, 0.05),
}
#: linear RGB of an unpigmented (white) fibre: slightly yellowed keratin.
UNPIGMENTED_RGB = np.array([0.78, 0.77, 0.72], np.float32)
#: grey mixes: (share of unpigmented strands, their brightness, the pigmented colour between them).
GREY_MIX = {"grey": (0.75, 0.7, "dark_brown"), "white": (1.0, 1.0, "dark_brown"),
            "salt_and_pepper": (0.5, 0.7, "black")}
DYES = ("blue", "pink", "purple", "green")


def melanin_transmittance(eumelanin: np.ndarray, pheomelanin: np.ndarray) -> np.ndarray:
    """Beer-Lambert transmittance (..., 3) of fibres with pigment concentrations (...) each."""
    depth = (np.asarray(eumelanin, np.float32)[..., None] * EUMELANIN_SIGMA
             + np.asarray(pheomelanin, np.float32)[..., None] * PHEOMELANIN_SIGMA)
    return np.exp(-PATH * depth).astype(np.float32)


def pigmented_rgb(name: str, eu_scale: np.ndarray, ph_scale: np.ndarray) -> np.ndarray:
    """Linear RGB (S, 3) of strands of natural colour ``name`` whose pigments are scaled per strand."""
    eu, ph = MELANIN[name]
    swatch = srgb_decode(np.array(COLORS[name], np.uint8)).astype(np.float32)
    ratio = melanin_transmittance(eu * eu_scale, ph * ph_scale) / melanin_transmittance(eu, ph)
    return np.clip(swatch * ratio, 0.0, 1.0)


def strand_colors(color: str, num_strands: int, rng: np.random.Generator, *,
                  highlights: str = "none", variation: float = 0.18) -> tuple[np.ndarray, np.ndarray]:
    """Root and tip colours (S, 3) linear RGB of ``num_strands`` strands of a named hair colour.

    Each strand draws its own pigment amounts (log-normal ``variation``); tips are sun-bleached
    (40% less eumelanin); 12% of strands become ``highlights`` (another hair colour) unless it is
    "none"; grey mixes replace a share of strands by unpigmented ones.
    """
    s = num_strands
    eu_j = np.exp(rng.normal(0.0, variation, s)).astype(np.float32)
    ph_j = np.exp(rng.normal(0.0, 0.5 * variation, s)).astype(np.float32)
    if color in DYES:
        dye = srgb_decode(np.array(COLORS[color], np.uint8)).astype(np.float32)
        root = np.clip(dye[None] / eu_j[:, None] ** 0.5, 0, 1)
        tip = np.clip(root * 1.12, 0, 1)
    elif color in MELANIN or color in GREY_MIX:
        share, brightness, base = GREY_MIX.get(color, (0.0, 1.0, color))
        root, tip = pigmented_rgb(base, eu_j, ph_j), pigmented_rgb(base, 0.6 * eu_j, 0.85 * ph_j)
        grey = rng.random(s) < share
        white = np.clip(brightness * UNPIGMENTED_RGB * np.exp(rng.normal(0.0, 0.05, (s, 1))), 0, 1).astype(np.float32)
        root[grey], tip[grey] = white[grey], white[grey]
    else:
        raise ValueError(f"{color!r} is not a hair colour")
    if highlights != "none":
        streak = rng.random(s) < 0.12
        light_root, light_tip = strand_colors(highlights, s, rng, variation=variation)
        root[streak], tip[streak] = light_root[streak], light_tip[streak]
    return root.astype(np.float32), tip.astype(np.float32)


def point_colors(root: np.ndarray, tip: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-point colours (P, 3): each strand's root colour blended to its tip colour along its points."""
    counts = np.asarray(counts, np.int64)
    strand = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    t = ((np.arange(int(counts.sum())) - first) / np.maximum(np.repeat(counts, counts) - 1, 1)).astype(np.float32)
    t = t[:, None] ** 1.5  # colour holds near the root, changes over the outer length
    return (root[strand] * (1.0 - t) + tip[strand] * t).astype(np.float32)
