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


# --- a real `mach serve` on loopback for the panel and population tests ---------------------------

import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from machcreator.client import BackendError, Client  # noqa: E402

#: the cheapest real character: every stage runs, on small maps and a draft groom
SMALL_SETTINGS = {"texture_size": 128, "hair_detail": 0.05, "preview_size": 96}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(endpoint: str, proc: subprocess.Popen, log: Path, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    with Client(endpoint, timeout_s=2.0, retries=1) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"mach serve exited: {log.read_text()[-2000:]}"
            try:
                workers = client.status()["server"]["workers"]
                if workers and all(w["state"] == "idle" for w in workers):
                    return
            except BackendError:
                pass
            time.sleep(0.3)
    raise TimeoutError("mach serve did not get ready")


@pytest.fixture(scope="module")
def backend_endpoint(tmp_path_factory):
    """``mach serve`` with two workers, as an artist would run it next to the editor."""
    folder = tmp_path_factory.mktemp("serve")
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    log = folder / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "machcreator.cli", "serve", "--bind", endpoint, "--data",
                             str(folder / "data"), "--workers", "2"], stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        wait_ready(endpoint, proc, log)
        yield endpoint
    finally:
        try:
            with Client(endpoint, timeout_s=2.0, retries=1) as client:
                client.shutdown()
            proc.wait(timeout=30)
        except (BackendError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


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
