"""What the photo path shows and measured: the side-by-side preview and the manifest's report."""

from __future__ import annotations

import dataclasses
from typing import Any

import cv2
import numpy as np

from machcreator.character import Character
from machcreator.photo.head import CROP_PX, HeadFit
from machcreator.photo.head_texture import HeadTexture
from machcreator.render.preview import camera_for_part, head_box, render


def photo_comparison(character: Character, fit: HeadFit, texture: HeadTexture, size: int) -> np.ndarray:
    """(size, 4·size, 3) uint8: the photo's face crop; the fitted, textured head drawn over it
    through the fitted camera; the character's head from the front as packaged (hair, headwear);
    the bare fitted head from the front (skin, eyes, teeth only)."""
    def fit_size(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA if size < CROP_PX else cv2.INTER_LINEAR)

    camera = camera_for_part(head_box(character), "front", size)
    bare = dataclasses.replace(character, parts=[p for p in character.parts if p.name in ("head", "eyes", "teeth")],
                               grooms=[])
    panels = [fit_size(fit.crop.image), fit_size(texture.render), render(character, camera), render(bare, camera)]
    return np.concatenate(panels, axis=1)


def photo_report(fit: HeadFit, texture: HeadTexture) -> dict[str, Any]:
    """The manifest's ``photo`` entry: where the face was, how well the head and texture fit."""
    return {
        "crop_px": {"x0": round(fit.crop.x0, 1), "y0": round(fit.crop.y0, 1), "side": round(fit.crop.side, 1),
                    "resampled_to": CROP_PX},
        # JSON has no NaN: a measure that could not be taken is null
        "reprojection_error_px": {k: round(float(v), 3) if np.isfinite(v) else None for k, v in fit.errors_px.items()},
        "landmarks": int(len(fit.crop.landmarks.points)),
        "psnr_db": round(float(texture.psnr_db), 2),
        "shading_spread": {k: round(float(v), 4) for k, v in texture.shading_std.items()},
        "face_local_changes": {k: round(float(v), 4) for k, v in fit.shape.parameters.local_changes.items()},
    }
