"""What the photo says about the attributes it shows: skin tone, hair and brow colour, glasses.

They fill only what the prompt and ``--set`` left unspecified ("hair, brow and skin colour default
to what the photo shows"). Colours are read in CIELAB from the face crop: the skin on the cheeks
(the Individual Typology Angle, as :mod:`machcreator.attributes` measures skin tone), the brows
from the pixels between MediaPipe's brow landmarks that are not skin, the hair from a band above
the forehead that is neither skin nor background-like; each is named by the nearest natural hair
colour of the palette. Glasses are told by their bridge: a thin line across the nose between the
eyes (:func:`glasses_ridge`), which bare skin does not have.
"""

from __future__ import annotations

import cv2
import numpy as np

from machcreator.attributes import COLORS, Attributes
from machcreator.photo.head import FaceCrop
from machcreator.photo.head_texture import CHEEK_LANDMARKS, skin_mask
from machcreator.core.color import ita_of_lab, srgb_to_lab

NATURAL_HAIR = ("black", "dark_brown", "brown", "light_brown", "auburn", "red", "ginger", "strawberry_blonde",
                "blonde", "platinum", "grey", "white")
#: MediaPipe landmarks: the forehead's top on the midline; the brows' upper and lower contours
FOREHEAD_TOP = 10
BROWS = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
#: fewest pixels a colour is read from
MIN_PIXELS = 40
#: MediaPipe landmarks: the inner eye corners; the nose's root (between the brows) and its
#: bridge below the eyes, between which a spectacle bridge sits
INNER_EYE_CORNERS, NOSE_ROOT, NOSE_BRIDGE = (133, 362), 168, 197
#: the glasses test's threshold on :func:`glasses_ridge`. Measured: bare faces 0.15-0.39 (the
#: astronaut, 7 rendered heads of every skin tone under side light), glasses 0.55-0.56 (thin
#: aviator bridges) and 1.6-3.9 (Grace Hopper's photo, rendered reading, round, rectangular
#: and cat-eye frames)
GLASSES_RIDGE = 0.47
#: the glasses a photo showing some is given (the frame's shape is not read)
PHOTO_GLASSES = "rectangular"


def nearest_hair_colour(lab: np.ndarray) -> str:
    """The natural hair colour of the palette nearest a CIELAB colour (3,)."""
    names = list(NATURAL_HAIR)
    palette = srgb_to_lab(np.array([COLORS[n] for n in names], np.uint8))
    return names[int(np.argmin(np.linalg.norm(palette - lab, axis=1)))]


def photo_appearance(crop: FaceCrop) -> dict[str, float | str]:
    """{"skin.tone_ita_deg": ..., "eyebrows.color": ..., "hair.color": ..., "glasses": ...}: what could be read."""
    image, points = crop.image, crop.landmarks.points[:, :2]
    h, w = image.shape[:2]
    lab = srgb_to_lab(image)
    skin = skin_mask(image, points)
    out: dict[str, float | str] = {}
    cheeks = np.concatenate([_patch(lab, points[i], 4) for i in CHEEK_LANDMARKS])
    out["skin.tone_ita_deg"] = float(np.clip(ita_of_lab(np.median(cheeks, 0)), -70.0, 75.0))

    glasses = shows_glasses(crop)
    brow = points[list(BROWS)]
    x0, y0 = np.floor(brow.min(0)).astype(int)
    x1, y1 = np.ceil(brow.max(0)).astype(int)
    region = lab[max(y0, 0):y1, max(x0, 0):x1][~skin[max(y0, 0):y1, max(x0, 0):x1]]
    if len(region) >= MIN_PIXELS and not glasses:  # a frame's upper rim runs along the brows
        out["eyebrows.color"] = nearest_hair_colour(np.median(region, 0))

    # the band above the forehead, as wide as the brows, a fifth of the face's height tall
    face_h = points[:, 1].max() - points[:, 1].min()
    top = points[FOREHEAD_TOP, 1]
    band = (slice(int(max(top - 0.25 * face_h, 0)), int(max(top - 0.02 * face_h, 0))), slice(max(x0, 0), min(x1, w)))
    pixels, not_skin = lab[band].reshape(-1, 3), ~skin[band].reshape(-1)
    background = _border_colour(lab)
    far = np.linalg.norm(pixels - background, axis=1) > 12.0
    hair = pixels[not_skin & far]
    if len(hair) >= MIN_PIXELS and len(hair) >= 0.3 * len(pixels):
        out["hair.color"] = nearest_hair_colour(np.median(hair, 0))
    out["glasses"] = PHOTO_GLASSES if glasses else "none"
    return out


def glasses_ridge(crop: FaceCrop) -> float:
    """How strongly a thin horizontal line crosses the nose between the eyes: the strongest row
    of the second vertical derivative (σ 1.5 px at the 512² crop) between the nose's root and its
    bridge, half the inner eye corners' distance wide, over the region's mean brightness (a
    contrast, so a dim photo and a bright one compare)."""
    grey = cv2.cvtColor(crop.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    points = crop.landmarks.points[:, :2]
    left, right = points[list(INNER_EYE_CORNERS)]
    half = 0.25 * float(np.linalg.norm(left - right))
    cx = 0.5 * float(left[0] + right[0])
    y0, y1 = sorted((int(points[NOSE_ROOT, 1]), int(points[NOSE_BRIDGE, 1])))
    x0, x1 = int(cx - half), int(cx + half) + 1
    if y1 - y0 < 3 or x1 - x0 < 3:
        return 0.0
    ridge = np.abs(cv2.Sobel(cv2.GaussianBlur(grey, (0, 0), 1.5), cv2.CV_32F, 0, 2, ksize=5))[y0:y1, x0:x1]
    return float(ridge.mean(1).max() / max(float(grey[y0:y1, x0:x1].mean()), 1.0))


def shows_glasses(crop: FaceCrop) -> bool:
    return glasses_ridge(crop) > GLASSES_RIDGE


def photo_overrides(specified: Attributes, appearance: dict[str, float | str]) -> list[str]:
    """``--set`` lines for what the photo shows and the prompt left unspecified."""
    return [f"{path}={value}" for path, value in appearance.items() if specified.get_path(path) is None]


def _patch(lab: np.ndarray, point: np.ndarray, radius: int) -> np.ndarray:
    h, w = lab.shape[:2]
    x, y = np.clip(np.round(point).astype(int), radius, (w - radius - 1, h - radius - 1))
    return lab[y - radius:y + radius + 1, x - radius:x + radius + 1].reshape(-1, 3)


def _border_colour(lab: np.ndarray) -> np.ndarray:
    """The median colour of the crop's top corners (the background behind a portrait)."""
    k = lab.shape[0] // 10
    return np.median(np.concatenate([lab[:k, :k].reshape(-1, 3), lab[:k, -k:].reshape(-1, 3)]), 0)
