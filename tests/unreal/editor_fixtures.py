"""Fixtures for the editor tests: a fresh fake editor installed as ``unreal`` for each test, once per
supported engine version (the test id names it: ``test_x[5.4]``)."""
from __future__ import annotations

import sys

import pytest

from fake_unreal import FakeEditor
from unreal_api import VERSIONS

#: the engine versions every editor test runs on (5.7 is the 5.6 stub plus the 5.7 extras)
EDITOR_VERSIONS = VERSIONS

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


def new_editor(tmp_path, monkeypatch, version: str, **kwargs) -> FakeEditor:
    """A fake editor of ``version`` (with ``plugins=``, ``engine_version=``...) installed as ``unreal``."""
    return install(FakeEditor(tmp_path, version, **kwargs), monkeypatch)


@pytest.fixture(params=EDITOR_VERSIONS)
def unreal_version(request) -> str:
    """One engine version per test run, for tests that build their editor with :func:`new_editor`
    (import this fixture next to them)."""
    return request.param


@pytest.fixture(params=EDITOR_VERSIONS)
def editor(request, tmp_path, monkeypatch):
    """A fresh fake editor of each supported version (``editor.version``)."""
    yield new_editor(tmp_path, monkeypatch, request.param)
    purge_editor_modules()


# --- a real `mach serve` on loopback for the panel and population tests ---------------------------

import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import free_port  # noqa: E402,F401 - `mach serve` itself is the session fixture backend_endpoint

#: the cheapest real character: every stage runs, on small maps and a draft groom
SMALL_SETTINGS = {"texture_size": 128, "hair_detail": 0.05, "preview_size": 96}


def configure(editor: FakeEditor, **settings) -> Path:
    """Write the plugin's settings file into the fake project, as the Backend… dialog does."""
    path = editor.project_dir / "Saved" / "MachCreator" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def run_until_finished(editor: FakeEditor, monitor, timeout_s: float = 240.0) -> int:
    """Tick the editor like Slate does until the job monitor lets go; returns the number of ticks."""
    ticks, deadline = 0, time.monotonic() + timeout_s
    while monitor.running:
        assert time.monotonic() < deadline, f"job {monitor.job_id} still {monitor.state}"
        editor.tick(0.02)
        ticks += 1
        time.sleep(0.02)
    return ticks
