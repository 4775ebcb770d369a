"""Install the Unreal Editor plugin into a project: ``mach unreal install Game.uproject``.

The plugin folder gets, under ``Content/Python`` (on the editor's sys.path): the editor scripts
(``ue_scripts``), the backend client (``machcreator.client`` with the two standard-library
modules it uses) and the request model's JSON schema, written from the model (the editor takes its
bounds and defaults from it). pyzmq comes from the plugin's ``PythonRequirements`` (pip, on first
start) or, for offline studios, is vendored with ``--vendor-pyzmq``.

``python -m machcreator.plugin_install`` rewrites the repository's copy of that schema (the plugin
run straight from a clone reads it; a test keeps it equal to the model).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import machcreator
from machcreator.core.files import remove_tree, replace_dir
from machcreator.pipeline.request import GenerateRequest

REPO = Path(machcreator.__file__).resolve().parents[2]
#: the client and what it imports; nothing else of the backend goes into the editor
CLIENT_MODULES = ("__init__.py", "client.py", "core/__init__.py", "core/files.py", "service/__init__.py",
                  "service/protocol.py", "service/identity.py")
#: UE's Python platform folders (Content/Python/<Platform>/Lib/site-packages) -> pip platform tags
PLATFORMS = {"Win64": "win_amd64", "Mac": "macosx_10_15_universal2", "Linux": "manylinux_2_28_x86_64"}
ENGINE_PYTHON = "3.11"  # UE 5.4-5.7 embed CPython 3.11
#: GenerateRequest's JSON schema in the plugin: the editor cannot import pydantic or the backend
REQUEST_SCHEMA = Path("Content/Python/machcreator_editor/request_schema.json")


class InstallError(RuntimeError):
    """The plugin cannot be installed there; the message says why."""


@dataclass(frozen=True)
class InstallResult:
    plugin_dir: Path
    files: int
    vendored: tuple[str, ...]
    #: the replaced plugin, when a file in it was still in use and it could not be deleted
    leftover: Path | None = None


def plugin_source() -> Path:
    source = REPO / "Plugin" / "MachCreator"
    if not (source / "MachCreator.uplugin").is_file() or not (REPO / "ue_scripts").is_dir():
        raise InstallError(f"{REPO} holds no Plugin/MachCreator and ue_scripts: install from a clone of the repository")
    return source


def pyzmq_requirement() -> str:
    """The pyzmq pin of the plugin's PythonRequirements (one version on every platform)."""
    descriptor = json.loads((plugin_source() / "MachCreator.uplugin").read_text(encoding="utf-8"))
    pins = {r.split()[0] for entry in descriptor["PythonRequirements"] for r in entry["Requirements"]}
    if len(pins) != 1:
        raise InstallError(f"MachCreator.uplugin pins pyzmq inconsistently: {sorted(pins)}")
    return pins.pop()


def write_request_schema(plugin_dir: Path) -> Path:
    """Write the request model's JSON schema into the plugin at ``plugin_dir``."""
    path = plugin_dir / REQUEST_SCHEMA
    path.write_text(json.dumps(GenerateRequest.model_json_schema(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _stage(stage: Path) -> int:
    shutil.copytree(plugin_source(), stage, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    write_request_schema(stage)  # from the model that installs it, whatever the clone's copy says
    python = stage / "Content" / "Python"
    shutil.copytree(REPO / "ue_scripts", python / "ue_scripts",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.md", "unreal_api_extras.json"))
    backend = Path(machcreator.__file__).parent
    for rel in CLIENT_MODULES:
        (python / "machcreator" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(backend / rel, python / "machcreator" / rel)
    return sum(1 for p in stage.rglob("*") if p.is_file())


def _vendor_pyzmq(python: Path, platforms: list[str]) -> None:
    for platform in platforms:
        target = python / platform / "Lib" / "site-packages"
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
               "--python-version", ENGINE_PYTHON, "--implementation", "cp", "--platform", PLATFORMS[platform],
               "--target", str(target), pyzmq_requirement()]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise InstallError(f"pip could not fetch {pyzmq_requirement()} for {platform}: {done.stderr.strip()[-400:]}")


def install(project: Path, *, force: bool = False, vendor_platforms: list[str] | None = None) -> InstallResult:
    """Copy the plugin into ``<project dir>/Plugins/MachCreator`` (all or nothing)."""
    project = Path(project)
    if project.is_dir():
        found = sorted(project.glob("*.uproject"))
        if len(found) != 1:
            raise InstallError(f"{project} holds {len(found)} .uproject files; name the one to install into")
        project = found[0]
    if project.suffix != ".uproject" or not project.is_file():
        raise InstallError(f"{project} is not an Unreal project file (.uproject)")
    unknown = sorted(set(vendor_platforms or ()) - set(PLATFORMS))
    if unknown:
        raise InstallError(f"unknown platform {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}")
    dest = project.parent / "Plugins" / "MachCreator"
    if dest.exists() and not force:
        raise InstallError(f"{dest} exists; pass --force to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # the staging folder sits beside the plugin (one volume: renames, no copies). Not a
    # TemporaryDirectory: on Windows its cleanup recurses without end on a file still in use
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".MachCreator-"))
    try:
        stage = tmp / "MachCreator"
        files = _stage(stage)
        if vendor_platforms:
            _vendor_pyzmq(stage / "Content" / "Python", vendor_platforms)
            files = sum(1 for p in stage.rglob("*") if p.is_file())
        old = tmp / "old"
        try:
            removed = replace_dir(stage, dest, old)
        except PermissionError as exc:  # Windows: the running editor holds a file of the plugin
            raise InstallError(f"cannot replace {dest}: {exc.filename or 'a file in it'} is in use; close the Unreal "
                               "Editor and run the command again") from None
        if not removed:
            # what is left must not load as a second MachCreator plugin: hide its descriptor
            try:
                (old / "MachCreator.uplugin").rename(old / "MachCreator.uplugin.removed")
            except OSError:
                pass
    finally:
        # a file of the old plugin still held open (Windows) stays behind: reported, not fatal
        leftover = None if remove_tree(tmp) else tmp
    return InstallResult(dest, files, tuple(vendor_platforms or ()), leftover)


if __name__ == "__main__":
    print(write_request_schema(plugin_source()))
