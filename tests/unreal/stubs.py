"""The Unreal Python API stubs the fake editor is generated from, one per supported engine version.

PyPI's ``unreal-stub`` packages Epic's generated ``unreal.py`` (the editor writes it with
``-EnablePythonDeveloperMode``) for one engine version per release:

======  ==============  =============================================================================
stub    engine          how we know
======  ==============  =============================================================================
0.1     5.4             no version in the package; its ``unreal.py`` (dated 2024-04-30, a week after
                        5.4.0 shipped) marks members ``deprecated: 5.4`` and none ``5.5``, and has
                        5.4's Modular Control Rig (``ModularRig``); the patch release is unknown
0.2.1   5.5.4           the package summary: "latest: 5.5.4"
0.3     5.6.0           the package summary and README: "5.6.0-43139311+++UE5+Release-5.6"
======  ==============  =============================================================================

One pip cannot hold three versions of one package, so ``requirements.txt`` installs 0.3 and this
module fetches the pinned wheels itself (``pip download``, the sha256 checked here) into
``~/.cache/machcreator/unreal-stubs`` (``MACH_UNREAL_STUBS`` overrides it), reads
``unreal/unreal.py`` out of the wheel without installing or importing it, and keeps the parsed
API there too (a pickle named by the wheel's sha256 and the parser's own hash), so each 22-26 MB
stub is parsed once per machine. The wheels are about 3 MB each.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from machcreator.core.files import sha256_file

#: where the wheels and parsed APIs are kept
ENV_VAR = "MACH_UNREAL_STUBS"


@dataclass(frozen=True)
class StubRelease:
    version: str  # the unreal-stub release
    sha256: str  # of its wheel on PyPI (pinned: pip's own check trusts the index, this one does not)
    engine: str  # what SystemLibrary.get_engine_version() says in that editor
    #: plugins the editor that generated the stub did not have enabled (a stub holds only the
    #: loaded modules): plugin -> (the stub release whose classes stand in for them, why that is sound)
    backfill: dict = field(default_factory=dict)

    @property
    def wheel_name(self) -> str:
        return f"unreal_stub-{self.version}-py3-none-any.whl"


#: engine version (major.minor) -> the stub that describes it. The changelist numbers are only
#: known where the stub states them (5.6.0); elsewhere they are 0.
RELEASES: dict[str, StubRelease] = {
    "5.4": StubRelease("0.1", "136b9bac7db8977b46816c16e160b017e6fae18e1c3d4f01d710278c1d6796cd",
                       "5.4.0-0+++UE5+Release-5.4", backfill={
                           # the Groom plugin's Python API is the same in Epic's 5.1 and 5.7 pages
                           # (e.g. python-api/class/GroomLibrary?application_version=5.1 and =5.7)
                           "HairStrands": ("0.2.1", "stub 0.1 was made without the HairStrands plugin; "
                                           "its API is taken from 5.5 (the same in Epic's 5.1 and 5.7 docs)"),
                           "RigLogic": ("0.2.1", "stub 0.1 was made without the RigLogic plugin; "
                                        "its API is taken from 5.5"),
                       }),
    "5.5": StubRelease("0.2.1", "4570b1a282fd7eb3a5a4fa57424e0a15cddd992a1435bd6197e4dce3b31a7415",
                       "5.5.4-0+++UE5+Release-5.5"),
    "5.6": StubRelease("0.3", "8fc686af01b50654116ca7316c4d1c28538f91af18f1b46d196da2142f7e84c3",
                       "5.6.0-43139311+++UE5+Release-5.6"),
}


class StubError(RuntimeError):
    """A stub wheel that cannot be fetched, or is not the one pinned here."""


def cache_dir() -> Path:
    folder = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "machcreator" / "unreal-stubs")
    folder.mkdir(parents=True, exist_ok=True)
    return folder




def pip_download(release: StubRelease, dest: Path) -> None:
    """``pip download`` of exactly the pinned wheel (no dependencies, no source builds)."""
    cmd = [sys.executable, "-m", "pip", "download", f"unreal-stub=={release.version}", "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise StubError(f"cannot download unreal-stub=={release.version} from PyPI: "
                        f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")


def wheel(release: StubRelease, *, download: Callable[[StubRelease, Path], None] = pip_download) -> Path:
    """The pinned wheel in the cache, downloaded on first use; its sha256 is always checked."""
    path = cache_dir() / release.wheel_name
    if not path.is_file():
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            try:
                download(release, Path(tmp))
            except (OSError, subprocess.SubprocessError) as exc:
                raise StubError(f"cannot download unreal-stub=={release.version}: {exc}") from exc
            got = Path(tmp) / release.wheel_name
            if not got.is_file():
                raise StubError(f"pip download of unreal-stub=={release.version} left no {release.wheel_name}")
            os.replace(got, path)
    actual = sha256_file(path)
    if actual != release.sha256:
        path.unlink()
        raise StubError(f"{release.wheel_name} has sha256 {actual}, not the pinned {release.sha256}: "
                        "deleted; a changed upload on PyPI needs a reviewed pin in tests/unreal/stubs.py")
    return path


def stub_text(wheel_path: Path) -> str:
    """``unreal/unreal.py`` read from the wheel (never installed, never imported)."""
    with zipfile.ZipFile(wheel_path) as z:
        return z.read("unreal/unreal.py").decode("utf-8-sig")


def cached_parse(release: StubRelease, parse: Callable[[str], object], parser_id: str, **kwargs):
    """The parsed API of ``release``: from the cache, else parsed from the wheel and cached."""
    path = wheel(release, **kwargs)
    cache = cache_dir() / f"api-{release.sha256[:16]}-{parser_id}.pickle"
    if cache.is_file():
        try:
            with open(cache, "rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            cache.unlink(missing_ok=True)
    api = parse(stub_text(path))
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(api, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, cache)
    return api
