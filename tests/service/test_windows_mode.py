"""`mach serve` as it runs on Windows, exercised on Linux.

``MACH_PLATFORM_MODE=windows`` makes the service take its Windows code paths on any system (tcp
loopback for the workers, the portable data-folder lock, no PDEATHSIG, no SIGTERM handler, a
parent watchdog in the worker, the spawn start method), and ``tests/service/posix_guard``
(a ``sitecustomize`` on ``PYTHONPATH``) makes every process started here fail and log on a
POSIX-only call made by MachCreator's code, and freeze ``os.getppid()`` as Windows does. What is
not exercised here (it needs a real Windows): msvcrt, creation flags, the Job Object, CTRL_BREAK.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import zmq
from serving import free_port, process_alive

from machcreator.client import BackendError, Client
from machcreator.export.package import validate_package

GUARD = Path(__file__).parent / "posix_guard"
MACH = [sys.executable, "-m", "machcreator.cli"]
SMALL_CLI = ["--texture-size", "128", "--hair-detail", "0.05"]
#: the package writer's last step for an existing output folder (write_package with force=True)
REPLACE = """
import sys
from pathlib import Path
from machcreator.export.package import _swap_into_place, remove_stale_partials
out, new = Path(sys.argv[1]), Path(sys.argv[2])
print(*remove_stale_partials(out))
_swap_into_place(new, out)
"""


def windows_env(log: Path) -> dict[str, str]:
    env = dict(os.environ, MACH_PLATFORM_MODE="windows", MACH_POSIX_GUARD=str(log))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(GUARD), env.get("PYTHONPATH")) if p)
    return env


def guard_log(log: Path) -> tuple[list[dict], list[dict]]:
    """(the processes the guard ran in, the POSIX-only calls it caught)."""
    lines = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    return [x for x in lines if x["kind"] == "active"], [x for x in lines if x["kind"] == "violation"]


class GuardedServer:
    """``mach serve`` with one worker, in Windows mode, under the guard; stopped by a message, not a signal."""

    def __init__(self, data: Path, env: dict[str, str]) -> None:
        self.data, self.env = data, env
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, warm: bool = True) -> "GuardedServer":
        """Start it; with ``warm``, until its worker has loaded the pipeline, else until it answers."""
        self.starts += 1
        self.log_path = self.data.parent / f"serve-{self.starts}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([*MACH, "serve", "--bind", self.endpoint, "--data", str(self.data),
                                          "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 180
        with Client(self.endpoint, timeout_s=2.0, retries=1) as c:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, f"mach serve exited with {self.proc.returncode}:\n{self.output()}"
                try:
                    workers = c.status()["server"]["workers"]
                    if workers and (not warm or all(w["state"] == "idle" for w in workers)):
                        return self
                except BackendError:
                    pass
                time.sleep(0.3)
        raise TimeoutError(f"server not ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def worker_pids(self) -> list[int]:
        with Client(self.endpoint) as c:
            return [w["pid"] for w in c.status()["server"]["workers"]]

    def mach(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*MACH, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def shutdown(self) -> None:
        """``mach client shutdown``: the way an editor on Windows stops it (no SIGTERM there)."""
        done = self.mach("client", "shutdown", "--endpoint", self.endpoint, timeout=60)
        assert done.returncode == 0, done.stderr
        assert self.proc.wait(60) == 0, self.output()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not process_alive(pid)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_the_guard_catches_posix_only_calls_of_machcreator_code(tmp_path):
    """The guard itself: each kind of call the Windows-mode test relies on it to catch is caught."""
    probe = r"""
import os, types
calls = ['import fcntl', 'import signal; signal.signal(signal.SIGTERM, signal.SIG_DFL)', 'os.kill(os.getpid(), 0)',
         'import ctypes; ctypes.CDLL(None)', 'import zmq; zmq.Context().socket(zmq.ROUTER).connect("ipc:///nowhere")',
         'import subprocess; subprocess.Popen(["true"], start_new_session=True).wait()',
         'import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)']
for src in calls:
    try:
        exec(src, {'__name__': 'machcreator.probe', 'os': os})
        print('allowed')
    except Exception as exc:
        print(type(exc).__name__)
"""
    log = tmp_path / "guard.jsonl"
    out = subprocess.run([sys.executable, "-c", probe], env=windows_env(log), capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.split() == ["ModuleNotFoundError"] + ["OSError"] * 5 + ["allowed"], out.stderr
    active, caught = guard_log(log)
    assert len(active) == 1 and len(caught) == 6


def test_mach_serve_runs_end_to_end_in_windows_mode_without_posix_calls(tmp_path):
    log = tmp_path / "posix_calls.jsonl"
    env = windows_env(log)
    data = tmp_path / "data"
    server = GuardedServer(data, env)
    try:
        server.start()
        # the data folder is taken: a second server on it refuses to start
        second = server.mach("serve", "--bind", f"tcp://127.0.0.1:{free_port()}", "--data", str(data), timeout=120)
        assert second.returncode != 0 and "another `mach serve` is using" in second.stderr, second.stderr
        # the workers are on tcp loopback (no ipc transport on Windows)
        serving = [json.loads(line) for line in (data / "server.log").read_text().splitlines()
                   if '"msg": "serving"' in line][-1]
        assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", serving["worker_endpoint"]), serving
        # which any local process can reach: one posing as worker w1 is never handed a job
        impostor = zmq.Context.instance().socket(zmq.DEALER)
        impostor.setsockopt(zmq.IDENTITY, b"w1")
        impostor.setsockopt(zmq.LINGER, 0)
        impostor.connect(serving["worker_endpoint"])
        impostor.send(json.dumps({"type": "ready", "pid": os.getpid(), "rss_mb": 1.0}).encode())

        # `mach client generate`: progress, then the package
        pkg = tmp_path / "pkg"
        done = server.mach("client", "generate", "a young woman with short black hair", "-o", str(pkg), *SMALL_CLI,
                           "--preview-size", "96", "--endpoint", server.endpoint)
        assert done.returncode == 0, done.stderr
        job_id = re.search(r"\bj_[0-9a-f]{16}\b", done.stdout).group(0)
        assert [i for i in validate_package(pkg) if i.severity == "error"] == []
        assert impostor.poll(0) == 0
        impostor.close()

        with Client(server.endpoint) as c:
            # cancel a running job
            slow = c.generate("a tall man with a long beard", seed=11, texture_size=1024, hair_detail=0.5)
            after = 0
            while True:  # until it is in its geometry stage
                reply = c.events(slow, after=after, wait_ms=2000)
                assert reply["state"] in ("queued", "running"), reply
                after = max([after] + [e["seq"] for e in reply["events"]])
                if any(e.get("stage") == "geometry" for e in reply["events"]):
                    break
            assert c.cancel(slow) in ("cancelling", "cancelled")
            assert c.wait(slow, timeout_s=120)["state"] == "cancelled"
            # fetch again over a damaged copy: the file is downloaded again and replaces the bad one
            (pkg / "preview.png").write_bytes(b"not a png")
            c.fetch(job_id, pkg)
        assert [i for i in validate_package(pkg) if i.severity == "error"] == []

        worker = server.worker_pids()[0]
        server.shutdown()  # a message, not a signal
        assert _wait_gone(worker, 10), "the worker outlived a server that stopped"

        # the lock went with the server: a new one starts on the same folder and still has the job
        server.start(warm=False)
        with Client(server.endpoint) as c:
            assert c.status(job_id)["job"]["state"] == "done"
            c.fetch(job_id, tmp_path / "again")
        # a server killed outright (TerminateProcess on Windows) takes its worker with it, without
        # PDEATHSIG and with os.getppid() frozen as on Windows: the worker's parent watchdog
        worker = server.worker_pids()[0]
        server.kill()
        assert _wait_gone(worker, 15), "the worker outlived a killed server"
        server.start(warm=False)  # the lock of a killed server is free too
        worker = server.worker_pids()[0]
        server.kill()
        assert _wait_gone(worker, 15)

        # the package writer's replacement of an existing folder (what `mach generate --force`
        # does after writing), sweeping the leftover of a dead writer beside it, in a guarded process
        new = tmp_path / f".pkg.{os.getpid()}-new.partial"
        shutil.copytree(tmp_path / "again", new)
        stale = tmp_path / f".pkg.{_dead_pid()}-x1.partial"
        stale.mkdir()
        done = subprocess.run([sys.executable, "-c", REPLACE, str(pkg), str(new)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [str(stale)]
        assert [i for i in validate_package(pkg) if i.severity == "error"] == []
        assert sorted(p.name for p in tmp_path.glob(".pkg*")) == []
    finally:
        server.kill()
    active, caught = guard_log(log)
    assert caught == [], caught
    # the guard ran in the servers, their workers, the clients and the package writer
    commands = [" ".join(a["argv"]) for a in active]
    for command in ("-m machcreator.cli serve", "-m machcreator.service.worker", "-m machcreator.cli client generate",
                    "-m machcreator.cli client shutdown", "-c"):
        assert any(c.startswith(command) for c in commands), (command, commands)
