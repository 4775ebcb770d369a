"""Fixtures for the editor tests: a fresh fake editor installed as ``unreal`` for each test, once per
supported engine version (the test id names it: ``test_x[5.4]``)."""
from __future__ import annotations

import sys

import pytest

from fake_unreal import FakeEditor
from unreal_api import VERSIONS

#: the engine versions every editor test runs on: one per stub (0.1, 0.2.1, 0.3)
EDITOR_VERSIONS = ("5.4", "5.5", "5.6")
#: and 5.7, for the tests where it adds something: 5.7 is simulated as the 5.6 stub plus the extras
#: new in 5.7 (MetaHuman Creator's Python API, behind the MetaHumanCharacter plugin, which a stock
#: editor has off), so with the default plugins it behaves as 5.6 apart from its version string
ALL_VERSIONS = VERSIONS

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


@pytest.fixture(params=ALL_VERSIONS)
def unreal_version(request) -> str:
    """Every supported engine version, 5.7 included, for tests that build their editor with
    :func:`new_editor` (import this fixture next to them)."""
    return request.param


@pytest.fixture(params=EDITOR_VERSIONS)
def editor(request, tmp_path, monkeypatch):
    """A fresh fake editor of each supported version (``editor.version``)."""
    yield new_editor(tmp_path, monkeypatch, request.param)
    purge_editor_modules()


# --- a real `mach serve` on loopback for the panel and population tests ---------------------------

import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import free_port  # noqa: E402,F401 - `mach serve` itself is the session fixture backend_endpoint

#: the cheapest real character: every stage runs, on small maps and a draft groom
SMALL_SETTINGS = {"texture_size": 128, "hair_detail": 0.05, "preview_size": 96}


def configure(editor: FakeEditor, *, skin_cache: bool = True, **settings) -> Path:
    """Write the plugin's settings file into the fake project, as the Backend… dialog does; the
    project has the compute skin cache on (as README's set-up says) unless ``skin_cache`` is False."""
    editor.console_variables["r.SkinCache.CompileShaders"] = int(skin_cache)
    path = editor.project_dir / "Saved" / "MachCreator" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def run_until_finished(editor: FakeEditor, monitor, timeout_s: float = 240.0,
                       between_ticks: Callable[[], None] | None = None) -> int:
    """Tick the editor like Slate does until the job monitor lets go; returns the number of ticks.
    ``between_ticks`` runs after every editor frame (e.g. to assert the editor is not held modal)."""
    ticks, deadline = 0, time.monotonic() + timeout_s
    while monitor.running:
        assert time.monotonic() < deadline, f"job {getattr(monitor, 'job_id', monitor)} still {monitor.state}"
        editor.tick(0.02)
        ticks += 1
        if between_ticks is not None:
            between_ticks()
        time.sleep(0.02)
    return ticks
