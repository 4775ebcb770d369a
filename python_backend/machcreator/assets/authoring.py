"""Adding an asset to a library folder (``mach assets add``): the entry from the command's options,
the glb checked on the reference body and copied, the manifest replaced atomically."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from machcreator.assets.library import (
    BUILTIN,
    CATEGORIES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    REFERENCE_NAME,
    AssetEntry,
    AssetError,
    AssetFile,
    LibraryManifest,
    read_manifest,
)
from machcreator.assets.user_mesh import check_asset_glb


def add_asset(library_dir: Path, entry: AssetEntry, glb: Path | None = None) -> Path:
    """Add ``entry`` (and a copy of ``glb``) to the library at ``library_dir``; returns the manifest path.

    The folder and manifest are created when missing. Everything is checked before anything is
    written (the library is untouched on error): the manifest must be good, the id new, the glb
    safe to read and a garment that sits on the reference body. The manifest is replaced
    atomically (temp file + os.replace).
    """
    library_dir = Path(library_dir)
    if library_dir.exists():
        manifest = read_manifest(library_dir) if (library_dir / MANIFEST).exists() else None
        if manifest is None and any(library_dir.iterdir()):
            raise AssetError(f"{library_dir} is a non-empty folder without a {MANIFEST}")
    else:
        manifest = None
    if manifest is None:
        name = re.sub(r"[^a-z0-9_-]", "_", library_dir.resolve().name.lower()).strip("_-") or "library"
        manifest = LibraryManifest(format=FORMAT, format_version=FORMAT_VERSION,
                                   name=name if name != BUILTIN else "library", assets=[])
    if any(a.id == entry.id for a in manifest.assets):
        raise AssetError(f"{library_dir} already has an asset {entry.id!r} (choose another --id)")
    if glb is not None:
        data = check_asset_glb(glb, entry.category)
        target = f"{entry.id}.glb"
        if (library_dir / target).exists():
            raise AssetError(f"{library_dir / target} already exists")
        entry = entry.model_copy(update={"files": [AssetFile(path=target, sha256=hashlib.sha256(data).hexdigest())]})
        entry = AssetEntry.model_validate(entry.model_dump())
    updated = manifest.model_copy(update={"assets": [*manifest.assets, entry]})
    LibraryManifest.model_validate(updated.model_dump())  # duplicate ids, names

    library_dir.mkdir(parents=True, exist_ok=True)
    if glb is not None:
        _atomic_write(library_dir / f"{entry.id}.glb", data)
    text = json.dumps(updated.model_dump(mode="json", exclude_none=True), indent=1) + "\n"
    _atomic_write(library_dir / MANIFEST, text.encode())
    return library_dir / MANIFEST


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def entry_from_options(category: str, tags: str, asset_id: str | None, file: Path | None, description: str,
                       licence: str, unreal_asset: str | None) -> AssetEntry:
    """The manifest entry ``mach assets add`` writes (files are filled in by :func:`add_asset`)."""
    if file is None and unreal_asset is None:
        raise AssetError("give a .glb file, or --unreal-asset /Game/... for an asset the Unreal project has")
    if category not in CATEGORIES:
        raise AssetError(f"unknown category {category!r}; choose one of: {', '.join(CATEGORIES)}")
    stem = file.stem if file is not None else unreal_asset.rsplit("/", 1)[-1].split(".")[0]
    slug = asset_id or re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-")[:64]
    data: dict[str, Any] = {
        "id": slug, "category": category, "tags": [t for t in tags.split(",") if t.strip()],
        "description": description, "licence": licence, "unreal_asset": unreal_asset,
        "reference_body": REFERENCE_NAME if file is not None else None,
        # placeholder so the entry validates before add_asset checks and copies the glb
        "files": [{"path": f"{slug}.glb", "sha256": "0" * 64}] if file is not None else [],
    }
    try:
        return AssetEntry.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise AssetError(f"{where}: {e['msg'].removeprefix('Value error, ')}") from None

