"""Shared fixtures: one real character package per test session (generation takes seconds), and one
`mach serve` on loopback for the editor tests."""

import os
import socket
import subprocess
import tempfile
import sys
import time
from pathlib import Path

import pytest

from machcreator.attributes import Attributes, resolve
from machcreator.body.template import load_anny, shape_body
from machcreator.character import ShapedBody
from machcreator.client import BackendError, Client
from machcreator.export.package import write_package
from machcreator.pipeline import GenerateRequest, Pipeline

# every client and server of the run (subprocesses inherit it) shares one per-user token file of
# its own, never the developer's ~/.config/machcreator/client.token
os.environ.setdefault("MACH_CLIENT_TOKEN_FILE", str(Path(tempfile.mkdtemp(prefix="mach-token-")) / "client.token"))

FISHERMAN = "an old fisherman with a grey beard and a wool cap"
#: the shared character: the real pipeline, with a draft groom (a fifth of the strands) so the
#: many tests that read its package stay fast; full-detail grooms are tested in tests/hair. Its
#: maps stay 2048 px (test_generate reads that size); its preview is 128 px (nothing reads the
#: preview's size: test_preview_shows_a_character reads it at any size, and the 512 px default cost
#: the session seconds of rendering and PNG writing)
FISHERMAN_REQUEST = GenerateRequest(prompt=FISHERMAN, seed=7, hair_detail=0.2, preview_size=128)


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="session")
def fisherman_result(pipeline):
    return pipeline(FISHERMAN_REQUEST)


@pytest.fixture(scope="session")
def fisherman_package(fisherman_result, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "fisherman"
    write_package(fisherman_result, out)
    return out


@pytest.fixture(scope="session")
def body() -> ShapedBody:
    """anny's body for seed 0's default attributes (rest pose, 52 ARKit facial-action deltas)."""
    return shape_body(load_anny(), resolve(Attributes(), seed=0))


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


@pytest.fixture(scope="session")
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


#: the engine version whose fake runs the editor's end-to-end tests (a real `mach serve`) by default;
#: the other versions run them under `pytest -m slow` (the fake-only editor tests run on every version)
E2E_EDITOR_VERSION = "5.6"


def pytest_collection_modifyitems(config, items):
    for item in items:
        spec = getattr(item, "callspec", None)
        version = spec.params.get("editor") if spec is not None else None
        end_to_end = "backend_endpoint" in item.fixturenames or item.get_closest_marker("e2e") is not None
        if version and version != E2E_EDITOR_VERSION and end_to_end:
            item.add_marker(pytest.mark.slow)
