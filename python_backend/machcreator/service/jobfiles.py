"""The server's files: each job's folder and package, the photos jobs were made from.

Under the data folder (private to the server's user: the folder is 0700)::

    jobs/<job_id>/package/   a finished job's package (the worker writes it)
    photos/<sha256>.img      a checked photo, by content: an edit of a photo job reuses its parent's

Job ids are the server's own (``j_`` and 16 hex digits, checked by the schema): a client's words
never become a path here; a fetched path is only ever a key into a package's manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Any

#: finished packages whose file lists stay in memory (a download asks for one many times)
FILE_LIST_CACHE = 64


class JobFiles:
    def __init__(self, data: Path) -> None:
        self.jobs_dir = data / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.photos_dir = data / "photos"
        self.photos_dir.mkdir(exist_ok=True)
        self._file_lists: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def package_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "package"

    def clean(self, job_id: str) -> None:
        """Remove a job's folder (a half-written package, or an expired one)."""
        self._file_lists.pop(job_id, None)
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    # -- photos -------------------------------------------------------------------------------
    def photo_path(self, blob: bytes) -> Path:
        """Where ``blob`` is (or will be) kept: named by its content, so nothing is written yet."""
        return self.photos_dir / f"{hashlib.sha256(blob).hexdigest()}.img"

    def store_photo(self, blob: bytes) -> Path:
        """Keep a checked photo of an admitted job (only then: a refused request leaves nothing)."""
        path = self.photo_path(blob)
        if not path.is_file():
            tmp = path.with_suffix(f".{os.getpid()}.partial")
            tmp.write_bytes(blob)
            tmp.replace(path)
        path.touch()  # in use again: the sweep keeps it
        return path

    # -- a finished package's files -------------------------------------------------------------
    def files(self, job_id: str) -> dict[str, dict[str, Any]]:
        """The package's files by path: the manifest's list plus manifest.json itself."""
        from machcreator.export.package import MANIFEST, read_manifest, safe_member
        from machcreator.core.files import sha256_file

        if job_id not in self._file_lists:
            pkg = self.package_dir(job_id)
            manifest = read_manifest(pkg)
            files = {f.path: {"path": f.path, "bytes": f.bytes, "sha256": f.sha256,
                              "file": safe_member(pkg, f.path)} for f in manifest.files}
            m = pkg / MANIFEST
            files[MANIFEST] = {"path": MANIFEST, "bytes": m.stat().st_size, "sha256": sha256_file(m), "file": m}
            self._file_lists[job_id] = files
            while len(self._file_lists) > FILE_LIST_CACHE:
                self._file_lists.popitem(last=False)
        return self._file_lists[job_id]

    def sweep_photos(self, cutoff: float) -> None:
        """Photos unused since ``cutoff`` (Unix seconds) go with the jobs made from them."""
        for photo in self.photos_dir.glob("*.img"):
            if photo.stat().st_mtime < cutoff:
                photo.unlink(missing_ok=True)
