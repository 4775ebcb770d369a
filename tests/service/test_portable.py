"""service/portable.py: each difference between Windows and POSIX, one small check each."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

from machcreator.service import portable
from machcreator.service import protocol as P
from machcreator.service.pool import WorkerProc
from machcreator.service.config import ServerConfig
from machcreator.service.server import Server, ServeError

HOLD_LOCK = """
import sys, time
from machcreator.service.portable import FolderLock
FolderLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def windows_mode(monkeypatch):
    monkeypatch.setenv(portable.MODE_ENV, "windows")


def test_the_folder_lock_is_held_until_its_process_ends_however_it_ends(tmp_path):
    path = tmp_path / "server.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(portable.FolderLockBusy):
            portable.FolderLock(path).acquire()
        holder.kill()  # no cleanup runs: the system drops the lock
        holder.wait(10)
    finally:
        holder.kill()
    lock = portable.FolderLock(path)
    lock.acquire()
    with pytest.raises(portable.FolderLockBusy):  # in one process too
        portable.FolderLock(path).acquire()
    lock.release()
    portable.FolderLock(path).acquire()


def test_a_second_server_on_a_data_folder_is_refused_until_the_first_closes(tmp_path):
    first = Server(ServerConfig(data_dir=tmp_path))
    with pytest.raises(ServeError, match="another `mach serve` is using"):
        Server(ServerConfig(data_dir=tmp_path))
    first.close()
    Server(ServerConfig(data_dir=tmp_path)).close()


def test_windows_mode_takes_the_windows_paths(windows_mode):
    assert portable.windows_mode()
    assert portable.worker_transport() == "tcp"
    assert signal.SIGTERM not in portable.stop_signals() and signal.SIGINT in portable.stop_signals()
    assert portable.die_with_parent() is False  # no prctl: the worker runs a parent watchdog instead


def test_posix_keeps_ipc_for_the_workers_and_sigterm(monkeypatch):
    monkeypatch.delenv(portable.MODE_ENV, raising=False)
    if sys.platform == "win32":
        pytest.skip("POSIX only")
    assert portable.worker_transport() == ("ipc" if zmq.has("ipc") else "tcp")
    assert signal.SIGTERM in portable.stop_signals()


def test_the_tcp_worker_socket_is_on_loopback_with_an_ephemeral_port(windows_mode):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    try:
        endpoint, folder = portable.bind_worker_socket(sock)
        assert folder is None and endpoint.startswith("tcp://127.0.0.1:") and not endpoint.endswith(":0")
    finally:
        sock.close(0)
        ctx.term()


def test_the_parent_watch_tells_a_dead_parent_and_a_reused_pid():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        watch = portable.ParentWatch(child.pid)
        assert watch.alive()
        reused = portable.ParentWatch(child.pid)
        reused.created -= 3600  # the pid now names another process than the one that started us
        assert not reused.alive()
        child.kill()
        child.wait()
        assert not watch.alive()
    finally:
        child.kill()


WATCHED_CHILD = """
import os, time
from machcreator.service.portable import ParentWatch
ParentWatch(os.getppid()).watchdog(0.2)
print(os.getpid(), flush=True)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
time.sleep(60)
"""


def test_the_watchdog_ends_a_process_whose_parent_died():
    """A worker's watchdog, with its parent killed: the child exits within about a second."""
    import psutil

    parent = subprocess.Popen([sys.executable, "-c", PARENT, WATCHED_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        assert psutil.pid_exists(pid)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 5
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child outlived its parent"
            time.sleep(0.05)
    finally:
        parent.kill()


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8, reason="the layout checked is 64-bit Windows'")
def test_the_job_object_structure_has_the_windows_layout():
    # JOBOBJECT_EXTENDED_LIMIT_INFORMATION is 144 bytes on x64 (LimitFlags at 16, IoInfo at 64)
    info = portable.job_structures()
    assert ctypes.sizeof(info) == 144
    assert info.IoInfo.offset == 64 and info.ProcessMemoryLimit.offset == 112
    assert info.BasicLimitInformation.offset == 0


def test_the_job_object_is_a_no_op_off_windows():
    if sys.platform == "win32":
        pytest.skip("off Windows only")
    job = portable.KillOnCloseJob()
    assert job.handle is None
    job.add(subprocess.Popen([sys.executable, "-c", "pass"]))  # nothing to do, nothing raised


def test_the_server_ignores_a_process_posing_as_a_worker(tmp_path):
    """On tcp loopback any local process can connect: only the secret routing id makes a worker."""
    server = Server(ServerConfig(data_dir=tmp_path))
    pool = server.pool
    try:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        pool.workers["w1"] = WorkerProc("w1", proc, route=b"w1.secret")
        pool.routes[b"w1.secret"] = "w1"
        ready = P.pack_worker(P.WorkerReady(pid=proc.pid, rss_mb=1.0))
        pool.on_frames([b"w1", ready])  # the name alone, as anyone could guess it
        assert pool.workers["w1"].state == "starting"
        pool.on_frames([b"w1.secret", ready])
        assert pool.workers["w1"].state == "idle"
    finally:
        proc.kill()
        proc.wait()
        pool.workers.clear()
        server.close()


def test_the_default_data_folder_is_the_platforms_own(monkeypatch):
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\ana\AppData\Local")
    monkeypatch.setattr(sys, "platform", "win32")
    assert portable.default_data_dir() == Path(r"C:\Users\ana\AppData\Local") / "MachCreator" / "serve"
    monkeypatch.setattr(sys, "platform", "linux")
    assert portable.default_data_dir() == Path("~/.local/share/machcreator/serve").expanduser()


@pytest.fixture
def win32(monkeypatch):
    """sys.platform says Windows, and subprocess has Windows' creation flags."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x00000200, raising=False)
    monkeypatch.setattr(subprocess, "CREATE_NO_WINDOW", 0x08000000, raising=False)


def test_workers_and_the_editors_backend_start_windowless_in_their_own_process_group(win32, monkeypatch):
    assert portable.worker_popen_kwargs() == {"creationflags": 0x08000200}
    # the editor plugin's backend.py (imported with a bare `unreal` module, then forgotten)
    import importlib
    import types

    before = set(sys.modules)
    monkeypatch.setitem(sys.modules, "unreal", types.ModuleType("unreal"))
    try:
        backend = importlib.import_module("machcreator_editor.backend")
        assert backend.popen_kwargs() == {"creationflags": 0x08000200}
        monkeypatch.setenv("PYTHONHOME", r"C:\Program Files\Epic Games\UE_5.5\Engine\Binaries\ThirdParty\Python3\Win64")
        monkeypatch.delenv("PYTHONUTF8", raising=False)
        env = backend.backend_env()
        assert "PYTHONHOME" not in env and env["PYTHONUTF8"] == "1"
    finally:
        for name in set(sys.modules) - before:
            if name.startswith("machcreator_editor"):
                del sys.modules[name]
