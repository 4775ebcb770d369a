"""The backend the editor talks to: a remote ``mach serve``, or a local one it starts itself.

On Windows (where most editors run) the local server is started without a console window and in a
process group of its own (a Ctrl-C in an editor console is not its), and is stopped the same way
everywhere: a ``shutdown`` request, which puts running jobs back in the queue; only a server that
does not answer is terminated (its workers follow it: service/portable.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import unreal

from machcreator.client import BackendError, BackendUnavailable, Client
from machcreator_editor.settings import Settings, saved_dir

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class Backend:
    """One per editor session (see :func:`get`)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.process: subprocess.Popen | None = None
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            s = self.settings
            self._client = Client(s.endpoint, server_key=s.server_key or None, client_key=s.client_key or None)
        return self._client

    def is_local(self) -> bool:
        return urlparse(self.settings.endpoint.replace("tcp://", "tcp://x@", 1)).hostname in LOOPBACK_HOSTS

    def _probe(self, timeout_s: float) -> Client:
        """A short-lived client that asks once (the Backend dialog must not hang on a dead endpoint)."""
        s = self.settings
        return Client(s.endpoint, timeout_s=timeout_s, retries=1, server_key=s.server_key or None,
                      client_key=s.client_key or None)

    def status(self, timeout_s: float = 1.0) -> dict | None:
        """The server's status, or None when nothing answers."""
        try:
            with self._probe(timeout_s) as probe:
                return probe.status()["server"]
        except BackendError:
            return None

    def capabilities(self, timeout_s: float = 1.0) -> dict | None:
        """``hello``'s capabilities (parsers, stages, the portrait's models ...), or None when nothing answers."""
        try:
            with self._probe(timeout_s) as probe:
                return probe.hello()["capabilities"]
        except BackendError:
            return None

    def command(self) -> list[str]:
        """The local server: ``mach serve`` on the configured loopback endpoint."""
        s = self.settings
        return [s.backend_python, "-m", "machcreator.cli", "serve", "--bind", s.endpoint,
                "--data", str(saved_dir() / "backend"), "--workers", str(s.backend_workers)]

    def start_local(self) -> None:
        if not self.is_local():
            raise BackendUnavailable(f"{self.settings.endpoint} is not on this machine; start `mach serve` there")
        log = saved_dir() / "backend.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log, "ab") as out:  # the child keeps its own handle; the editor's closes here
                self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, env=backend_env(), **popen_kwargs())
        except OSError as exc:
            raise BackendUnavailable(f"cannot start the local backend with {self.settings.backend_python!r} "
                                     f"({exc}); set its Python in MachCreator > Backend…") from None

    def ensure(self, wait_s: float = 180.0) -> Client:
        """A client to a backend whose workers are ready, starting the local one if allowed."""
        status = self.status()
        if status is None:
            if not self.settings.start_local_backend:
                raise BackendUnavailable(f"no MachCreator backend answers at {self.settings.endpoint}; "
                                         "start `mach serve` or enable 'start local backend' in MachCreator > Backend…")
            self.start_local()
            with unreal.ScopedSlowTask(wait_s, "Starting the MachCreator backend") as task:
                task.make_dialog(True)
                deadline = time.monotonic() + wait_s
                while status is None or not status.get("workers") or \
                        any(w["state"] == "starting" for w in status["workers"]):
                    if self.process.poll() is not None:
                        raise BackendUnavailable(f"the local backend exited with code {self.process.returncode}; "
                                                 f"see {saved_dir() / 'backend.log'}")
                    if task.should_cancel() or time.monotonic() > deadline:
                        raise BackendUnavailable("the local backend did not become ready")
                    task.enter_progress_frame(0.5, "loading the character pipeline")
                    time.sleep(0.5)
                    status = self.status()
        return self.client()

    def stop(self) -> None:
        """Stop a backend this editor started (a remote or shared one is left alone).

        A ``shutdown`` request on every system (Windows has no SIGTERM to send, and the editor
        shares no console with the server for a CTRL_BREAK_EVENT); a server that does not answer
        is terminated (SIGTERM on POSIX, TerminateProcess on Windows), then killed.
        """
        if self.process is not None and self.process.poll() is None:
            try:
                self.client().shutdown()
                self.process.wait(timeout=30)
            except (BackendError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
        if self._client is not None:
            self._client.close()
            self._client = None


def popen_kwargs() -> dict:
    """Windows: no console window, and a process group of its own."""
    if sys.platform != "win32":
        return {}
    return {"creationflags": subprocess.CREATE_NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP}


def backend_env() -> dict[str, str]:
    """The editor's environment for the backend's Python, less what belongs to the editor's own
    embedded Python (``PYTHONHOME`` would point a venv's interpreter at the wrong standard
    library), with UTF-8 text files (Windows would write the locale's code page)."""
    env = {k: v for k, v in os.environ.items() if k.upper() != "PYTHONHOME"}
    env.setdefault("PYTHONUTF8", "1")
    return env


_backend: Backend | None = None


def get(settings: Settings) -> Backend:
    """The session's backend; a settings change replaces it."""
    global _backend
    if _backend is None:
        _backend = Backend(settings)
    elif _backend.settings != settings:  # keep the local process; reconnect with the new settings
        if _backend._client is not None:
            _backend._client.close()
            _backend._client = None
        _backend.settings = settings
    return _backend
