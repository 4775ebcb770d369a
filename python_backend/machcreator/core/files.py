"""File helpers shared by the package writer, the plugin installer and the client (standard library
only: the Unreal editor's Python imports the client without numpy or pydantic)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

T = TypeVar("T")

#: how long a rename or a replace is retried while Windows says a file is in use
RETRY_S = 5.0


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


def retry_in_use(action: Callable[[], T], timeout_s: float | None = None) -> T:
    """Run ``action``, again while it raises PermissionError, for at most ``timeout_s`` (default :data:`RETRY_S`).

    On Windows a file that another process holds open (an antivirus or indexer reading a file just
    written, an editor that loaded it) cannot be renamed, replaced or deleted, nor can a folder
    holding it; such holds are usually brief. Elsewhere a PermissionError is real: it is retried
    the same way, and raised at the end like any other.
    """
    deadline = time.monotonic() + (RETRY_S if timeout_s is None else timeout_s)
    delay = 0.02
    while True:
        try:
            return action()
        except PermissionError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def replace_file(src: Path, dst: Path, timeout_s: float | None = None) -> None:
    """``os.replace(src, dst)``, retried while ``dst`` is held open (Windows)."""
    retry_in_use(lambda: os.replace(src, dst), timeout_s)


def replace_dir(staged: Path, dest: Path, aside: Path, timeout_s: float | None = None) -> bool:
    """Put the folder ``staged`` at ``dest``, replacing what is there; the same on every system.

    Nothing is ever renamed onto an existing path (Windows refuses that, POSIX allows it only onto
    an empty folder): an old ``dest`` is renamed to ``aside`` first, ``staged`` takes its place,
    then ``aside`` is deleted. Renames are retried while a file is in use (see :func:`retry_in_use`);
    if ``staged`` cannot take the place, the old folder goes back and the error is raised.

    Returns False when the old folder could not be deleted (a file in it is still held open): it
    stays at ``aside``, for the caller to report or sweep later. ``aside`` must not exist.
    """
    had_old = os.path.lexists(dest)
    if had_old:
        retry_in_use(lambda: os.rename(dest, aside), timeout_s)
    try:
        retry_in_use(lambda: os.rename(staged, dest), timeout_s)
    except BaseException:
        if had_old:
            retry_in_use(lambda: os.rename(aside, dest), timeout_s)
        raise
    return remove_tree(aside, timeout_s=1.0) if had_old else True


def remove_tree(path: Path, timeout_s: float = 1.0) -> bool:
    """Delete a folder, also its read-only files (Windows refuses to delete those); True when gone.

    Files held open are retried for ``timeout_s``; whatever still cannot go is left in place.
    """

    def writable_and_again(function: Callable, name: str, _: object) -> None:
        try:
            os.chmod(name, stat.S_IWRITE | stat.S_IREAD | (stat.S_IEXEC if os.path.isdir(name) else 0))
            function(name)
        except OSError:
            pass  # held open: the retry below or the caller deals with it

    def remove() -> None:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=writable_and_again)
        else:
            shutil.rmtree(path, onerror=lambda f, n, e: writable_and_again(f, n, e))
        if os.path.lexists(path):
            raise PermissionError(f"{path} is still in use")

    if not os.path.lexists(path):
        return True
    try:
        retry_in_use(remove, timeout_s)
    except OSError:
        return False
    return True
