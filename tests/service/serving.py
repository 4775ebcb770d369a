"""Helpers for the service tests: `mach serve` subprocesses on loopback with their own data folders."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from machcreator.client import BackendError, Client

#: the cheapest real character: every stage runs, on small maps and a draft groom
SMALL = {"texture_size": 128, "preview_size": 96, "hair_detail": 0.05}


def token_for(name: str) -> str:
    """A client identity of its own for ``name`` (an ``auth`` token, service/identity.py)."""
    return hashlib.sha256(name.encode()).hexdigest()


def wait_for_stage(client: Client, job_id: str, stage: str, attempt: int = 1) -> int:
    """Block until ``job_id`` (on its ``attempt``-th run) starts ``stage``; returns the last seq seen."""
    after, current = 0, 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        reply = client.events(job_id, after=after, wait_ms=2000)
        for e in reply["events"]:
            after = e["seq"]
            current = e.get("attempt", current)
            if e["event"] == "stage_started" and e["stage"] == stage and current == attempt:
                return after
        assert reply["state"] not in ("done", "failed", "cancelled"), reply
    raise TimeoutError(stage)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``mach serve`` in a subprocess; ``kill()`` is SIGKILL, ``start()`` again reuses the data folder."""

    def __init__(self, data: Path, *args: str, workers: int = 1, port: int | None = None,
                 bind_host: str = "127.0.0.1", client_kwargs: dict | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.data, self.args, self.workers = data, list(args), workers
        self.env = env  # extra environment for `mach serve` (e.g. service/config.py's test-only waits)
        self.client_kwargs = client_kwargs or {}
        self.port = port or free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.bind = f"tcp://{bind_host}:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, wait_workers: bool = True) -> "ServerProcess":
        cmd = [sys.executable, "-m", "machcreator.cli", "serve", "--bind", self.bind, "--data", str(self.data),
               "--workers", str(self.workers), *self.args]
        self.log = open(self.data.parent / f"{self.data.name}-serve.log", "ab")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        if wait_workers:
            self.wait_ready()
        return self

    def client(self, **kwargs) -> Client:
        return Client(self.endpoint, **(self.client_kwargs | kwargs))

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        """Until every worker has loaded its pipeline."""
        deadline = time.monotonic() + timeout_s
        with self.client(timeout_s=2.0, retries=1) as c:
            while time.monotonic() < deadline:
                assert self.proc.poll() is None, f"mach serve exited with {self.proc.returncode}: {self.read_log()}"
                try:
                    workers = c.status()["server"]["workers"]
                    if len(workers) == self.workers and all(w["state"] == "idle" for w in workers):
                        return
                except BackendError:
                    pass
                time.sleep(0.3)
        raise TimeoutError(f"server not ready: {self.read_log()}")

    def worker_pids(self) -> list[int]:
        with self.client() as c:
            return [w["pid"] for w in c.status()["server"]["workers"]]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def read_log(self) -> str:
        return (self.data.parent / f"{self.data.name}-serve.log").read_text(errors="replace")[-3000:]


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split()[2] != "Z"
