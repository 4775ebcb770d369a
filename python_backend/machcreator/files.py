"""File helpers shared by the package writer and the client (standard library only: the Unreal
editor's Python imports the client without numpy or pydantic)."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def relative_member(rel: str) -> PurePosixPath | None:
    """``rel`` as a path inside some folder, or None if it is absolute, has ``..``/empty parts,
    backslashes or a drive letter (it would escape the folder on some system)."""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or "\\" in rel or any(part in ("..", "") for part in p.parts) or ":" in p.parts[0]:
        return None
    return p
