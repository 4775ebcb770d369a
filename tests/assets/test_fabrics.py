"""Procedural fabric materials: tileable, physically plausible maps, each pattern its own structure."""

from functools import lru_cache

import numpy as np
import pytest

from machcreator.assets.fabrics import PATTERNS, TILE_M, _normal_map, fabric_material
from machcreator.core.color import srgb_decode

NAVY, RED, BEIGE = (31, 42, 68), (170, 30, 35), (205, 185, 150)
LUMA = np.array([0.2126, 0.7152, 0.0722])


@lru_cache(maxsize=None)
def maps(pattern: str, color=RED, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(albedo, normal, orm) uint8 images of one material, read-only."""
    _, tex = fabric_material("cloth", pattern, color, seed=seed)
    out = tex["cloth_albedo"], tex["cloth_normal"], tex["cloth_orm"]
    for img in out:
        img.flags.writeable = False
    return out


def luminance(albedo: np.ndarray) -> np.ndarray:
    """Linear luminance (H, W) of an sRGB uint8 image."""
    return srgb_decode(albedo) @ LUMA.astype(np.float32)


def decode_normal(normal: np.ndarray) -> np.ndarray:
    return normal.astype(np.float64) / 255.0 * 2.0 - 1.0


def autocorrelation(img: np.ndarray) -> np.ndarray:
    """Circular autocorrelation (H, W) of a map, normalised to 1 at zero lag; [dr, dc] is the
    correlation of the map with itself shifted dr rows down and dc columns right."""
    f = np.fft.fft2(img - img.mean())
    ac = np.fft.ifft2(f * np.conj(f)).real
    return ac / ac[0, 0]


def fundamental(profile: np.ndarray, longest_m: float = 0.02) -> int:
    """The fundamental frequency (cycles per tile) of a 1D periodic profile: the lowest frequency
    with a strong spectral line (a tenth of the strongest), ignoring wavelengths over
    ``longest_m`` (mottling)."""
    power = np.abs(np.fft.rfft(profile - profile.mean())) ** 2
    k0 = int(np.ceil(TILE_M / longest_m))
    return k0 + int(np.flatnonzero(power[k0:] >= 0.1 * power[k0:].max())[0])


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_map_wraps_without_a_seam(pattern):
    """The step across the tile's edge (last column to first, last row to first) is no bigger
    than the steps between neighbouring texels inside the tile."""
    for img in maps(pattern):
        full = img.astype(np.float64)
        coarse = full.reshape(128, 4, 128, 4, 3).mean((1, 3))   # the low frequencies on their own
        for x, axis in [(full, 0), (full, 1), (coarse, 0), (coarse, 1)]:
            steps = np.abs(np.diff(x, axis=axis)).mean(axis=tuple(a for a in range(3) if a != axis))
            seam = np.abs(x.take(0, axis) - x.take(-1, axis)).mean()
            assert seam <= 1.1 * np.quantile(steps, 0.99) + 0.5, (pattern, axis, seam)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_normal_maps_are_unit_vectors_with_relief(pattern):
    n = decode_normal(maps(pattern)[1])
    length = np.linalg.norm(n, axis=-1)
    assert np.abs(length - 1.0).max() < 0.02
    assert n[..., 2].min() > 0.2                             # facing out of the cloth
    assert n[..., 0].std() > 0.02 and n[..., 1].std() > 0.02  # relief both ways, not flat


def test_normal_map_is_opengl_green_up():
    """A bump's upper flank (towards row 0) has green > 128, its right flank red > 128."""
    r, c = np.mgrid[0:64, 0:64]
    bump = 0.02 * np.exp(-((r - 32.0) ** 2 + (c - 32.0) ** 2) / 50.0)
    n = _normal_map(bump.astype(np.float32)).astype(int)
    assert n[26, 32, 1] > 140 and n[38, 32, 1] < 116          # above the top faces up, below down
    assert n[32, 38, 0] > 140 and n[32, 26, 0] < 116          # right flank faces right
    assert n[32, 32, 2] == 255 and abs(n[32, 32, 0] - 128) <= 1


@pytest.mark.parametrize("color", [NAVY, RED, BEIGE])
@pytest.mark.parametrize("pattern", ["solid", "knit", "denim", "leather"])
def test_main_colour_dominates(pattern, color):
    """Weave shading and flecks modulate the colour; the cloth's mean luminance stays the colour's."""
    albedo = srgb_decode(maps(pattern, color)[0]).reshape(-1, 3).mean(0)
    want = srgb_decode(np.array(color, np.uint8))
    assert abs(albedo @ LUMA / (want @ LUMA) - 1.0) < 0.15
    chroma, want_chroma = albedo / albedo.sum(), want / want.sum()
    # hue stays; denim's white flecks grey a saturated colour a little
    assert np.abs(chroma - want_chroma).max() < (0.1 if pattern == "denim" else 0.06)


def test_stripes_run_down_the_garment():
    """Columns are constant along v; across u main and partner bands alternate, 1-2 cm stripes."""
    lum = luminance(maps("stripes")[0])
    across = lum.mean(0)
    assert across.std() > 5 * lum.std(0).mean()
    light = across > 0.5 * (across.min() + across.max())      # red ground, pale stripes
    edges = np.flatnonzero(light != np.roll(light, 1))
    widths = np.diff(np.concatenate([edges, [edges[0] + light.size]])) * TILE_M / light.size
    stripes = widths[::2] if light[edges[0]] else widths[1::2]
    assert np.all((stripes > 0.01) & (stripes < 0.02)), stripes


def test_plaid_has_bands_both_ways():
    """Warp and weft carry the same sett: bands across u and down v, a 6-10 cm repeat."""
    lum = luminance(maps("plaid")[0])
    across, down = lum.mean(0), lum.mean(1)
    assert across.std() > 0.2 * lum.mean() and down.std() > 0.2 * lum.mean()
    assert 0.7 < across.std() / down.std() < 1.4
    for profile in (across, down):
        ac = autocorrelation(profile[None, :])[0]
        lags = np.arange(ac.size)
        window = (lags > 0.04 * ac.size / (TILE_M / 0.25)) & (lags < ac.size / 2)
        repeat = lags[window][np.argmax(ac[window])] * TILE_M / ac.size
        assert 0.06 <= repeat <= 0.10, repeat


def test_denim_has_a_right_hand_twill_diagonal():
    """Denim correlates with itself along the rising diagonal, not the falling one."""
    ac = autocorrelation(luminance(maps("denim", NAVY)[0]))
    ks = np.arange(1, 12)
    rising = ac[-ks, ks].mean()                                # k right, k up
    falling = ac[ks, ks].mean()                                # k right, k down
    assert rising > falling + 0.1, (rising, falling)


def test_knit_has_v_shaped_stitches():
    """Stockinette: a stitch grid of 4-6 mm, and within each stitch two legs of opposite slant."""
    albedo, normal, _ = maps("knit")
    lum = luminance(albedo)
    n = decode_normal(normal)
    stitches = fundamental(lum.mean(0))
    rows = fundamental(lum.mean(1))
    assert 0.004 <= TILE_M / stitches <= 0.006
    assert 0.003 <= TILE_M / rows <= 0.006
    # a slanted ridge "\" tilts its flanks so nx and ny agree in sign, "/" so they disagree
    size = lum.shape[1]
    phase = ((np.arange(size) + 0.5) / size * stitches % 1.0 * 8).astype(int)
    nx, ny = n[..., 0] - n[..., 0].mean(), n[..., 1] - n[..., 1].mean()
    slant = np.array([(nx[:, phase == b] * ny[:, phase == b]).mean() / (nx.std() * ny.std())
                      for b in range(8)])
    assert slant.max() > 0.2 and slant.min() < -0.2, slant
    # and that is what the eye sees: the albedo's shading shows the stitches too
    assert lum.std() > 0.15 * lum.mean()


def test_leather_is_smoother_and_pebbled():
    """Leather: lower roughness than any cloth, no metal, a cell-like bump field."""
    _, normal, orm = maps("leather")
    rough = orm[..., 1] / 255.0
    assert 0.42 <= rough.mean() <= 0.62
    for pattern in PATTERNS:
        if pattern != "leather":
            assert maps(pattern)[2][..., 1].mean() / 255.0 > rough.mean() + 0.15
    # pebbles: a few millimetres across, so the bump field decorrelates within ~2 mm
    ac = autocorrelation(decode_normal(normal)[..., 0])
    texels_2mm = int(round(0.002 / TILE_M * normal.shape[0]))
    assert ac[0, texels_2mm] < 0.3 and ac[texels_2mm, 0] < 0.3


@pytest.mark.parametrize("pattern", PATTERNS)
def test_dielectric_with_plausible_roughness_and_occlusion(pattern):
    material, tex = fabric_material("shirt", pattern, BEIGE)
    assert (material.base_color_texture, material.normal_texture, material.orm_texture) == (
        "shirt_albedo", "shirt_normal", "shirt_orm")
    assert material.metallic_factor == 0.0 and material.roughness_factor == 1.0
    orm = tex["shirt_orm"] / 255.0
    for img in tex.values():
        assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert np.all(orm[..., 2] == 0)                            # no metal
    lo, hi = {"solid": (0.78, 0.92), "stripes": (0.78, 0.92), "plaid": (0.86, 0.95),
              "denim": (0.75, 0.86), "knit": (0.9, 1.0), "leather": (0.42, 0.62)}[pattern]
    assert lo <= orm[..., 1].mean() <= hi
    # occlusion darkens the crevices a little, never blackens
    assert 0.5 <= orm[..., 0].min() and orm[..., 0].max() <= 1.0 and orm[..., 0].std() > 0.01


@pytest.mark.parametrize("pattern", PATTERNS)
def test_same_seed_same_pixels(pattern):
    _, a = fabric_material("m", pattern, NAVY, seed=3)
    _, b = fabric_material("m", pattern, NAVY, seed=3)
    for key in a:
        assert np.array_equal(a[key], b[key])


@pytest.mark.parametrize("pattern", PATTERNS)
def test_seeds_change_the_noise_not_the_pattern(pattern):
    """Another seed re-rolls the yarn irregularities and mottling only: the pixels differ, the
    colour, roughness and the pattern's dominant frequencies stay."""
    a, b = maps(pattern, NAVY, 0), maps(pattern, NAVY, 1)
    assert not np.array_equal(a[0], b[0]) and not np.array_equal(a[1], b[1])
    mean_a, mean_b = srgb_decode(a[0]).mean((0, 1)), srgb_decode(b[0]).mean((0, 1))
    assert np.abs(mean_a / mean_b - 1.0).max() < 0.05
    assert abs(a[2][..., 1].mean() - b[2][..., 1].mean()) < 0.02 * 255
    # the structure lives in the relief (weaves, stitches) and in the colour (prints, setts)
    def lines(img, k):                                    # the k strongest spectral lines
        power = np.abs(np.fft.fft2(img - img.mean())) ** 2
        return set(np.argsort(power.ravel())[-k:])
    relief = lambda m: decode_normal(m[1])[..., 0]
    structure = {"solid": [relief], "stripes": [luminance_of], "plaid": [luminance_of],
                 "denim": [relief, luminance_of], "knit": [relief, luminance_of],
                 "leather": []}[pattern]                   # leather's pebbles are the noise
    for channel in structure:                             # each seed's 4 strongest among the other's 12
        assert lines(channel(a), 4) <= lines(channel(b), 12)
        assert lines(channel(b), 4) <= lines(channel(a), 12)


def luminance_of(m):
    return luminance(m[0])


def test_unknown_pattern_is_refused():
    with pytest.raises(ValueError, match="tweed"):
        fabric_material("m", "tweed", RED)
    assert PATTERNS == ("solid", "stripes", "plaid", "denim", "knit", "leather")
