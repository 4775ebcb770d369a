"""Content-browser bookkeeping: where a character's assets live, and all-or-nothing steps."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import unreal

DEFAULT_CONTENT_ROOT = "/Game/MachCreator"


def character_folder(content_root: str, name: str) -> str:
    """``/Game/MachCreator/Characters/<Name>``: everything one character owns."""
    return f"{content_root.rstrip('/')}/Characters/{name}"


def check_content_root(content_root: str) -> str:
    root = content_root.rstrip("/")
    if not root.startswith("/Game/") or ".." in root or "\\" in root:
        raise ValueError(f"content folder {content_root!r} must be under /Game/ (e.g. /Game/MachCreator)")
    return root


def package_path(object_path: str) -> str:
    """``/Game/A/B.B`` -> ``/Game/A/B``."""
    return object_path.split(".", 1)[0]


def existing_assets(folder: str) -> set[str]:
    if not unreal.EditorAssetLibrary.does_directory_exist(folder):
        return set()
    return {package_path(p) for p in unreal.EditorAssetLibrary.list_assets(folder, recursive=True, include_folder=False)}


@contextlib.contextmanager
def rollback_on_failure(folder: str) -> Iterator[None]:
    """Run a step that creates assets under ``folder``; if it raises, delete what it created.

    Assets that existed before (a re-import replaces them in place) are kept; a folder the step
    made is removed with them. So a failed import leaves nothing half-created.
    """
    folder_existed = unreal.EditorAssetLibrary.does_directory_exist(folder)
    before = existing_assets(folder)
    try:
        yield
    except BaseException:
        for path in sorted(existing_assets(folder) - before):
            unreal.EditorAssetLibrary.delete_asset(path)
        if not folder_existed and unreal.EditorAssetLibrary.does_directory_exist(folder):
            unreal.EditorAssetLibrary.delete_directory(folder)
        raise


def load(path: str, expected: type):
    """The asset at ``path`` if it exists and is an ``expected``; None if there is none."""
    if not unreal.EditorAssetLibrary.does_asset_exist(path):
        return None
    asset = unreal.EditorAssetLibrary.load_asset(path)
    if not isinstance(asset, expected):
        raise RuntimeError(f"{path} exists but is a {type(asset).__name__}, not a {expected.__name__}; "
                           "move it away or choose another content folder")
    return asset


def import_task(filename, folder: str):
    """An automated, replacing import of one file into ``folder`` (saved later, all at once)."""
    task = unreal.AssetImportTask()
    task.filename = str(filename)
    task.destination_path = folder
    task.replace_existing = True
    task.automated = True
    task.save = False
    return task


def create_or_load(name: str, folder: str, asset_class: type, factory):
    """Load ``folder/name`` if it exists (replaced in place), else create it with ``factory``."""
    existing = load(f"{folder}/{name}", asset_class)
    if existing is not None:
        return existing
    asset = unreal.AssetToolsHelpers.get_asset_tools().create_asset(name, folder, asset_class, factory)
    if asset is None:
        raise RuntimeError(f"Unreal could not create {folder}/{name}")
    return asset
