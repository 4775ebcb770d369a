"""Decoding a user's photo: every common storage (greyscale, 16-bit, CMYK, alpha, EXIF rotation)
comes out as upright 8-bit RGB; a file that is not a usable photo is refused with a reason."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from machcreator.photo.image import BACKGROUND, MAX_SIDE, PhotoError, load_photo


def _picture(h: int = 160, w: int = 128) -> np.ndarray:
    """(h, w, 3) uint8: smooth colour gradients with a disc (a photo-like, JPEG-friendly image)."""
    y, x = np.mgrid[0:h, 0:w]
    disc = ((y - h / 2) ** 2 + (x - w / 2) ** 2 < (w / 4) ** 2) * 80
    return np.stack([x * 255 // w, y * 255 // h, 128 + disc - disc // 2], -1).clip(0, 255).astype(np.uint8)


def _grey(h: int = 160, w: int = 128) -> np.ndarray:
    return _picture(h, w)[..., 0]


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def test_a_colour_photo_decodes_to_rgb8():
    picture = _picture()
    photo = load_photo(_encode(Image.fromarray(picture), "PNG"))
    assert photo.rgb.dtype == np.uint8 and photo.size == (128, 160) and photo.source_format == "PNG"
    assert np.array_equal(photo.rgb, picture)


def test_a_file_path_is_read(tmp_path):
    path = tmp_path / "face.jpg"
    path.write_bytes(_encode(Image.fromarray(_picture()), "JPEG", quality=92))
    photo = load_photo(path)
    assert photo.source_format == "JPEG" and np.abs(photo.rgb.astype(int) - _picture()).mean() < 4


def test_greyscale_and_16_bit_become_three_equal_channels():
    camera = _grey()
    grey = load_photo(_encode(Image.fromarray(camera), "PNG")).rgb
    assert np.array_equal(grey[..., 0], camera) and np.array_equal(grey[..., 0], grey[..., 2])
    deep = Image.fromarray(camera.astype(np.uint16) * 257)
    assert deep.mode.startswith("I;16")
    photo = load_photo(_encode(deep, "PNG"))
    assert np.abs(photo.rgb[..., 1].astype(int) - camera).max() <= 1


def test_cmyk_jpeg_comes_out_in_rgb():
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[:, :48] = (200, 30, 30)
    rgb[:, 48:] = (30, 30, 200)
    photo = load_photo(_encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95))
    assert photo.source_mode == "CMYK"
    assert np.abs(photo.rgb[48, 10].astype(int) - (200, 30, 30)).max() < 12
    assert np.abs(photo.rgb[48, 80].astype(int) - (30, 30, 200)).max() < 12


def test_transparent_pixels_are_composited_over_grey():
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[:40] = (255, 0, 0, 255)
    photo = load_photo(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(photo.rgb[10, 10]) == (255, 0, 0) and tuple(photo.rgb[70, 10]) == BACKGROUND


def test_exif_orientation_stands_the_photo_upright():
    tall = np.zeros((120, 80, 3), np.uint8)
    tall[:10] = 255  # a white band at the top of the upright picture
    stored = Image.fromarray(tall).transpose(Image.Transpose.ROTATE_90)  # as a phone stores it: sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90° clockwise to view
    photo = load_photo(_encode(stored, "JPEG", exif=exif.tobytes(), quality=95))
    assert photo.size == (80, 120)
    assert photo.rgb[:10].mean() > 200 and photo.rgb[20:].mean() < 30


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("payload, reason", [
    (b"", "empty"),
    (b"GIF89a" + bytes(64), "not an image|corrupt"),
    (bytes(range(256)) * 8, "not an image"),
    (_encode(Image.fromarray(_picture(512, 512)), "JPEG")[:1500], "corrupt or truncated"),
    (_png_header_only(MAX_SIDE * 3, 600), f"more than {MAX_SIDE} on a side"),
    (_png_header_only(60000, 60000), "far more pixels"),
    (_encode(Image.fromarray(np.zeros((32, 32, 3), np.uint8)), "PNG"), "too small"),
    (_encode(Image.fromarray(_picture()), "GIF"), "GIF image; send a JPEG or PNG"),
])
def test_an_unusable_file_is_refused_with_its_reason(payload, reason):
    with pytest.raises(PhotoError, match=reason):
        load_photo(payload, name="upload.jpg")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PhotoError, match="nope.png: no such file"):
        load_photo(tmp_path / "nope.png")
