"""Decode a user's photo safely into one RGB array, or refuse it with a clear reason.

Accepts JPEG and PNG (what the service protocol carries) up to :data:`MAX_BYTES` and
:data:`MAX_SIDE` pixels a side; applies the EXIF orientation (phones store portraits sideways);
greyscale, palette, 16-bit, CMYK and alpha images all come out as 8-bit sRGB, transparent pixels
composited over mid grey. Nothing is decoded before the header has been checked, so a
decompression bomb is refused without allocating it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from machcreator.core.errors import MachError

#: the largest photo file accepted, bytes (the service protocol's limit)
MAX_BYTES = 16 * 1024 * 1024
#: the longest side accepted, pixels
MAX_SIDE = 8192
#: the smallest side worth fitting a face in, pixels
MIN_SIDE = 64
FORMATS = ("JPEG", "PNG")
#: what transparent pixels are composited over (sRGB)
BACKGROUND = (128, 128, 128)


class PhotoError(MachError):
    """The photo cannot be used; the message says why."""


@dataclass(frozen=True)
class Photo:
    """A decoded photo.

    rgb: (H, W, 3) uint8 sRGB, rows top to bottom, upright (EXIF orientation applied).
    source_format: "JPEG" or "PNG"; source_mode: the PIL mode it was stored in (e.g. "CMYK").
    """

    rgb: np.ndarray
    source_format: str
    source_mode: str

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.rgb.shape[1], self.rgb.shape[0]


def load_photo(source: bytes | str | Path, name: str | None = None) -> Photo:
    """Decode ``source`` (the file's bytes, or its path) into a :class:`Photo`.

    Raises:
        PhotoError: missing, empty, too large, not a JPEG or PNG, corrupt or truncated, too small
            or too large in pixels. The message names the photo (``name``, else the path).
    """
    label = name or (str(source) if not isinstance(source, bytes) else "the photo")
    data = _read(source, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format
            if fmt not in FORMATS:
                raise PhotoError(f"{label}: a {fmt or 'unknown'} image; send a JPEG or PNG")
            width, height = image.size
            if max(width, height) > MAX_SIDE:
                raise PhotoError(f"{label}: {width}×{height} pixels, more than {MAX_SIDE} on a side")
            if min(width, height) < MIN_SIDE:
                raise PhotoError(f"{label}: {width}×{height} pixels, too small to find a face in "
                                 f"(at least {MIN_SIDE} on a side)")
            mode = image.mode
            image.load()
            image = ImageOps.exif_transpose(image)
    except PhotoError:
        raise
    except UnidentifiedImageError:
        raise PhotoError(f"{label}: not an image (neither JPEG nor PNG could read it)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"{label}: its header claims far more pixels than a photo has "
                         f"(at most {MAX_SIDE} on a side)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"{label}: the image is corrupt or truncated ({exc})") from None
    return Photo(rgb=_to_rgb8(image), source_format=fmt, source_mode=mode)


def _read(source: bytes | str | Path, label: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        if not path.is_file():
            raise PhotoError(f"{label}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise PhotoError(f"{label}: {path.stat().st_size / 2**20:.1f} MiB, more than {MAX_BYTES // 2**20} MiB")
        data = path.read_bytes()
    if not data:
        raise PhotoError(f"{label}: the file is empty")
    if len(data) > MAX_BYTES:
        raise PhotoError(f"{label}: {len(data) / 2**20:.1f} MiB, more than {MAX_BYTES // 2**20} MiB")
    return data


def _to_rgb8(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> (H, W, 3) uint8 sRGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit (or 32-bit) greyscale
        grey = np.asarray(image, dtype=np.float64)
        scale = 65535.0 if grey.max() > 255 or image.mode.startswith("I;16") else 255.0
        grey = np.clip(np.round(grey / scale * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "CMYK":
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        over = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return np.asarray(Image.alpha_composite(over, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
