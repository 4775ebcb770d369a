"""Replacing files and folders the way Windows allows, checked on any system.

``windows_fs`` makes ``os.rename``/``os.replace``/``os.unlink``/``os.rmdir`` behave as on Windows:
a rename never lands on an existing path (FileExistsError), and a file another process holds open
(an antivirus scanning new files, the editor with a plugin loaded) makes renaming it or a folder
holding it, and deleting it, fail with PermissionError, for a few tries or for good.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from machcreator.export import package

FOREVER = 10**9


class WindowsFs:
    def __init__(self) -> None:
        self.holds: dict[Path, dict[str, int]] = {}  # a held file -> {"rename"|"delete": failures left}

    def hold(self, path: Path, *, rename: int = 0, delete: int = 0) -> None:
        self.holds[Path(path).absolute()] = {"rename": rename, "delete": delete}

    def moved(self, src: Path, dst: Path) -> None:
        """A held file stays held where a rename takes it (or the folder it is in)."""
        for held in list(self.holds):
            if held == src or held.is_relative_to(src):
                self.holds[dst / held.relative_to(src)] = self.holds.pop(held)

    def busy(self, op: str, *paths: object) -> bool:
        for p in paths:
            p = Path(os.fspath(p)).absolute()
            for held, left in self.holds.items():
                if left[op] > 0 and (held == p or held.is_relative_to(p)):
                    left[op] -= 1
                    return True
        return False


@pytest.fixture
def windows_fs(monkeypatch) -> WindowsFs:
    fs = WindowsFs()
    real = {name: getattr(os, name) for name in ("rename", "replace", "unlink", "rmdir")}

    def in_use(path: object) -> PermissionError:
        return PermissionError(13, "The process cannot access the file because it is being used by another process",
                               os.fspath(path))

    def rename(src, dst, **kw):
        if fs.busy("rename", src, dst):
            raise in_use(src)
        if os.path.lexists(dst):
            raise FileExistsError(183, "Cannot create a file when that file already exists", os.fspath(dst))
        real["rename"](src, dst, **kw)
        fs.moved(Path(os.fspath(src)).absolute(), Path(os.fspath(dst)).absolute())

    def replace(src, dst, **kw):
        if fs.busy("rename", src, dst):
            raise in_use(dst)
        real["replace"](src, dst, **kw)

    def deleter(name: str):
        def delete(path, **kw):
            if fs.busy("delete", path):
                raise in_use(path)
            real[name](path, **kw)
        return delete

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "unlink", deleter("unlink"))
    monkeypatch.setattr(os, "remove", deleter("unlink"))
    monkeypatch.setattr(os, "rmdir", deleter("rmdir"))
    monkeypatch.setattr(shutil, "_use_fd_functions", False)  # rmtree by path, through the functions above
    return fs


def _folder(path: Path, **files: str) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


# --- the package writer ---------------------------------------------------------------------------

def test_the_package_writer_replaces_an_existing_folder_the_way_windows_allows(tmp_path, windows_fs):
    """``--force`` over an existing package: the old folder goes aside, the new one takes its place
    once the antivirus lets go of a file it is scanning, the old one is deleted."""
    out = _folder(tmp_path / "fisher", **{"manifest.json": "old", "preview.png": "old"})
    tmp = _folder(tmp_path / ".fisher.123-abc.partial", **{"manifest.json": "new"})
    windows_fs.hold(tmp / "manifest.json", rename=3)  # just written: scanned for a moment
    package._swap_into_place(tmp, out)
    assert (out / "manifest.json").read_text() == "new" and not (out / "preview.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fisher"]  # neither the old nor the partial is left


def test_an_old_package_held_open_is_left_aside_and_swept_by_a_later_write(tmp_path, windows_fs):
    out = _folder(tmp_path / "fisher", **{"manifest.json": "old", "preview.png": "old"})
    tmp = _folder(tmp_path / ".fisher.123-abc.partial", **{"manifest.json": "new"})
    windows_fs.hold(out / "preview.png", delete=FOREVER)  # an image viewer has it open
    package._swap_into_place(tmp, out)
    assert (out / "manifest.json").read_text() == "new"
    aside = [p for p in tmp_path.iterdir() if p.name != "fisher"]
    assert len(aside) == 1 and aside[0].name.startswith(f".fisher.{os.getpid()}-old")
    # a later writer (another process) sweeps it once this one has ended and the file is free
    windows_fs.holds.clear()
    dead = aside[0].with_name(aside[0].name.replace(str(os.getpid()), str(_dead_pid()), 1))
    aside[0].rename(dead)
    assert package.remove_stale_partials(out) == [dead] and not dead.exists()


def test_a_new_package_that_stays_held_leaves_the_old_one_in_place(tmp_path, windows_fs, monkeypatch):
    monkeypatch.setattr("machcreator.core.files.RETRY_S", 0.3)
    out = _folder(tmp_path / "fisher", **{"manifest.json": "old"})
    tmp = _folder(tmp_path / ".fisher.123-abc.partial", **{"manifest.json": "new"})
    windows_fs.hold(tmp / "manifest.json", rename=FOREVER)
    with pytest.raises(PermissionError):
        package._swap_into_place(tmp, out)
    assert (out / "manifest.json").read_text() == "old" and (tmp / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fisher.123-abc.partial", "fisher"]


def test_stale_partials_are_told_by_psutil_not_by_os_kill(tmp_path, monkeypatch):
    """On Windows os.kill(pid, 0) is no question: it sends CTRL_C_EVENT (signal 0) or fails."""
    def windows_kill(pid, sig):
        raise OSError(22, "The parameter is incorrect", None, 87)

    monkeypatch.setattr(os, "kill", windows_kill)
    out = tmp_path / "fisher"
    dead = (tmp_path / f".fisher.{_dead_pid()}-x1.partial")
    alive = (tmp_path / f".fisher.{os.getpid()}-x2.partial")
    dead.mkdir()
    alive.mkdir()
    assert package.remove_stale_partials(out) == [dead]
    assert alive.exists() and not dead.exists()


# --- the helpers themselves, the client's download and the plugin installer ----------------------

def test_replace_file_waits_for_a_held_target(tmp_path, windows_fs):
    from machcreator.core.files import replace_file

    target = tmp_path / "preview.png"
    target.write_text("old")
    part = tmp_path / "preview.png.part"
    part.write_text("new")
    windows_fs.hold(target, rename=4)  # the editor is reading the old file
    replace_file(part, target)
    assert target.read_text() == "new" and not part.exists()


def test_remove_tree_deletes_read_only_files(tmp_path):
    from machcreator.core.files import remove_tree

    folder = _folder(tmp_path / "old", **{"a.txt": "x"})
    (folder / "a.txt").chmod(0o444)
    folder.chmod(0o555)
    assert remove_tree(folder) and not folder.exists()


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "Game" / "Game.uproject"
    project.parent.mkdir()
    project.write_text("{}")
    return project


def test_unreal_install_over_a_plugin_the_editor_holds(tmp_path, windows_fs, monkeypatch):
    from machcreator.plugin_install import InstallError, install

    monkeypatch.setattr("machcreator.core.files.RETRY_S", 0.3)
    project = _project(tmp_path)
    plugin = install(project).plugin_dir
    held = plugin / "Content" / "Python" / "machcreator" / "client.py"
    held.write_text("# the installed one")
    # the editor has a file open that forbids moving it: nothing changes, the message says why
    windows_fs.hold(held, rename=FOREVER)
    with pytest.raises(InstallError, match="in use; close the Unreal Editor"):
        install(project, force=True)
    assert held.read_text() == "# the installed one"
    assert sorted(p.name for p in plugin.parent.iterdir()) == ["MachCreator"]
    # a file that can be moved but not yet deleted: the new plugin is installed, the rest is reported
    windows_fs.holds.clear()
    windows_fs.hold(held, delete=FOREVER)
    result = install(project, force=True)
    assert held.read_text() != "# the installed one"
    assert result.leftover is not None and result.leftover.parent == plugin.parent
    assert not list(result.leftover.rglob("*.uplugin"))  # never loaded as a second MachCreator
    windows_fs.holds.clear()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid
