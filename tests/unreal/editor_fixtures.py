"""Fixtures for the editor tests: a fresh fake editor installed as ``unreal`` for each test."""
from __future__ import annotations

import sys

import pytest

from fake_unreal import FakeEditor

#: modules that bind ``unreal`` at import: re-imported against each test's fake editor
EDITOR_MODULES = ("ue_scripts", "machcreator_editor", "init_unreal")


def purge_editor_modules() -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in EDITOR_MODULES:
            del sys.modules[name]


def install(editor: FakeEditor, monkeypatch) -> FakeEditor:
    purge_editor_modules()
    monkeypatch.setitem(sys.modules, "unreal", editor.module)
    return editor


@pytest.fixture
def editor(tmp_path, monkeypatch):
    yield install(FakeEditor(tmp_path), monkeypatch)
    purge_editor_modules()
