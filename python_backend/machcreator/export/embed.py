"""A package's glb as one self-contained file: every image moved into the binary chunk.

A package's ``character.glb`` names its textures by relative URI (``textures/<key>.png``), so a
lone copy of it opens untextured. :func:`write_embedded_glb` reads the package's glb, appends each
referenced PNG to the BIN chunk as its own bufferView (4-byte aligned, as the glTF 2.0 spec's
"Binary Data Storage" asks) and points the image at it with ``mimeType`` ``image/png``. Everything
else (nodes, meshes, skins, morph targets, materials, accessors and their bytes) is kept as it
was: the original bufferViews and BIN bytes are a prefix of the new ones.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from machcreator.core.errors import OutputError, PackageError
from machcreator.export.gltf import _Bin, _glb_bytes
from machcreator.export.package import GLB, _umask, safe_member

#: the 8 bytes every PNG starts with (PNG spec §5.2), then IHDR as the first chunk (§5.6)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_MEDIA_TYPE = "image/png"
_GLB_MAGIC, _GLB_VERSION = b"glTF", 2
_JSON_CHUNK, _BIN_CHUNK = b"JSON", b"BIN\0"


@dataclass(frozen=True)
class EmbedStats:
    """What :func:`write_embedded_glb` wrote: file size (bytes) and how many images it moved in."""

    bytes: int
    images: int


def read_glb(data: bytes) -> tuple[dict, bytes]:
    """Split a glTF 2.0 binary into its JSON document and BIN chunk (``b""`` when it has none);
    the inverse of :func:`machcreator.export.gltf._glb_bytes`. Raises ValueError if malformed."""
    if len(data) < 20:
        raise ValueError(f"{len(data)} bytes is too short for a GLB header")
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != _GLB_MAGIC or version != _GLB_VERSION:
        raise ValueError(f"not a glTF 2.0 binary (magic {magic!r}, version {version})")
    if total != len(data):
        raise ValueError(f"the header says {total} bytes, the file has {len(data)}")
    chunks: list[tuple[bytes, bytes]] = []
    offset = 12
    while offset < total:
        if offset + 8 > total:
            raise ValueError(f"truncated chunk header at byte {offset}")
        length, kind = struct.unpack_from("<I4s", data, offset)
        if offset + 8 + length > total:
            raise ValueError(f"chunk {kind!r} at byte {offset} runs past the end of the file")
        chunks.append((kind, data[offset + 8:offset + 8 + length]))
        offset += 8 + length
    if not chunks or chunks[0][0] != _JSON_CHUNK:
        raise ValueError("the first chunk is not JSON")
    try:
        doc = json.loads(chunks[0][1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable JSON chunk: {exc}") from None
    binary = chunks[1][1] if len(chunks) > 1 and chunks[1][0] == _BIN_CHUNK else b""
    return doc, binary


def _image_bytes(root: Path, index: int, uri: str) -> bytes:
    """The PNG an image's URI names: a ``data:`` URI, or a file safely inside ``root``."""
    where = f"image {index} ({uri[:60]})"
    if uri.startswith("data:"):
        header, _, payload = uri.partition(",")
        if not header.endswith(";base64"):
            raise PackageError(f"{where}: only base64 data URIs are supported")
        try:
            data = base64.b64decode(payload, validate=True)
        except ValueError as exc:
            raise PackageError(f"{where}: unreadable base64 data: {exc}") from None
    else:
        path = safe_member(root, unquote(uri))  # glTF URIs are percent-encoded (RFC 3986)
        if not path.is_file():
            raise PackageError(f"{where}: {uri} is missing from the package folder")
        data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise PackageError(f"{where}: not a PNG (no PNG signature and IHDR header)")
    return data


def embed_images(doc: dict, binary: bytes, root: Path) -> tuple[dict, bytes, int]:
    """Move every image that ``doc`` names by URI into the BIN chunk.

    doc: a glb's JSON document; binary: its BIN chunk; root: the folder its URIs are relative to.
    Returns the new document (``doc`` is not modified), the new BIN chunk, and how many images
    were embedded. Images already in a bufferView are left as they are.
    Raises PackageError for a URI escaping ``root``, a missing file, a file that is not a PNG,
    or an external buffer (only images are embedded).
    """
    doc = json.loads(json.dumps(doc))  # a deep copy, as the glb holds it
    if any("uri" in buf for buf in doc.get("buffers", [])):
        raise PackageError("the glb has external buffers; only images can be embedded")
    b = _Bin()
    b.data = bytearray(binary)
    b.data += b"\0" * (-len(b.data) % 4)
    b.views = doc.setdefault("bufferViews", [])
    count = 0
    for i, image in enumerate(doc.get("images", [])):
        if "uri" not in image:
            continue
        data = _image_bytes(root, i, image.pop("uri"))
        image["bufferView"] = b.view(data, name=image.get("name"))
        image["mimeType"] = PNG_MEDIA_TYPE
        count += 1
    if not b.views:
        del doc["bufferViews"]
    if doc.get("buffers"):
        doc["buffers"][0]["byteLength"] = len(b.data)  # buffer 0 is the BIN chunk
    elif b.data:
        doc["buffers"] = [{"byteLength": len(b.data)}]
    return doc, bytes(b.data), count


def write_embedded_glb(pkg_dir: Path, out: Path, *, force: bool = False) -> EmbedStats:
    """Write the package ``pkg_dir``'s glb to ``out`` with every texture inside it.

    The file is written beside ``out`` and renamed into place, so a failure leaves nothing
    half-written. Raises OutputError when ``out`` exists and ``force`` is not set, is a folder,
    or is the package's own glb; PackageError for a package without a readable glb or with an
    image that escapes the folder, is missing, or is not a PNG.
    """
    root = Path(pkg_dir)
    out = Path(out).expanduser().absolute()
    src = root / GLB
    if not src.is_file():
        raise PackageError(f"{root} is not a character package: no {GLB}")
    if out.is_dir():
        raise OutputError(f"output path {out} is a folder; give a .glb file name")
    if out.exists() and out.resolve() == src.resolve():
        raise OutputError(f"{out} is the package's own {GLB}; write the self-contained copy elsewhere")
    if out.exists() and not force:
        raise OutputError(f"output file {out} exists (use --force to replace it)")
    try:
        doc, binary = read_glb(src.read_bytes())
    except ValueError as exc:
        raise PackageError(f"{src}: {exc}") from None
    doc, binary, count = embed_images(doc, binary, root)
    data = _glb_bytes(doc, binary)

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the glb is an ordinary file
        os.replace(tmp, out)  # atomic: a reader sees the old file or the whole new one
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):  # disk full, read-only mount...
            raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from None
        raise
    return EmbedStats(bytes=len(data), images=count)
