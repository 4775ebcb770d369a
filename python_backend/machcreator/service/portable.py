"""What `mach serve` does differently on Windows, in one place.

Windows has no ``fcntl``, no ``prctl(PR_SET_PDEATHSIG)``, no SIGTERM that anyone can send (a
process is stopped by ``TerminateProcess``, which cannot be caught), no re-parenting of orphans
(``os.getppid()`` keeps naming a dead parent) and, in most libzmq builds, no ``ipc://``
transport. Each difference is one function here; everything else in the service is the same code
on every system.

``MACH_PLATFORM_MODE=windows`` makes any system take the Windows paths (tcp loopback for the
workers, no PDEATHSIG, SIGINT/SIGBREAK only, a parent watchdog in the worker, multiprocessing's
spawn start method): tests/service/test_windows_mode.py runs the whole service that way on Linux.
What only a real Windows runs: the creation flags, the Job Object and SIGBREAK.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MODE_ENV = "MACH_PLATFORM_MODE"
#: the server hands each worker its secret routing id in this variable (not on the command line,
#: which other users can read): other local processes cannot pose as a worker on tcp loopback
WORKER_ID_ENV = "MACH_WORKER_ID"

log = logging.getLogger("machcreator.service")
#: the worker socket's private folder (POSIX) is a temporary folder named so
IPC_DIR_PREFIX = "mach-serve-"


def windows_mode() -> bool:
    """True on Windows, and anywhere ``MACH_PLATFORM_MODE=windows`` asks for its code paths."""
    return sys.platform == "win32" or os.environ.get(MODE_ENV, "").strip().lower() == "windows"


# -- the data folder's lock ----------------------------------------------------------------------

class FolderLockBusy(Exception):
    """Another process holds the lock."""


class FolderLock:
    """One ``mach serve`` per data folder, on every system, through SQLite's own file locking.

    An exclusive transaction on ``path`` (an empty SQLite database) held for the server's life:
    SQLite locks with ``LockFileEx`` on Windows and ``fcntl`` on POSIX, from C, and the operating
    system drops the lock when the process ends however it ends, so a killed server leaves no stale
    lock. The same code runs everywhere: no msvcrt branch that only a Windows machine would run.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def acquire(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise FolderLockBusy(str(self.path)) from None
            raise OSError(f"cannot lock {self.path}: {exc}") from None
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # rolls back the empty transaction: the lock is free
            self._conn = None


# -- the workers' socket -------------------------------------------------------------------------

def worker_transport() -> str:
    """``ipc`` on POSIX (a socket file in a private 0700 folder: other users cannot even connect),
    ``tcp`` on 127.0.0.1 where libzmq has no ipc (Windows) or in Windows mode."""
    import zmq

    return "ipc" if not windows_mode() and zmq.has("ipc") else "tcp"


def bind_worker_socket(sock) -> tuple[str, Path | None]:
    """Bind the server's socket for its workers; returns ``(endpoint, private folder or None)``.

    On tcp the port is ephemeral and the workers are told it; the routing ids the server gives
    them (:data:`WORKER_ID_ENV`) are what keeps other local processes out.
    """
    if worker_transport() == "ipc":
        folder = Path(tempfile.mkdtemp(prefix=IPC_DIR_PREFIX))  # private (0700): workers only
        endpoint = f"ipc://{folder}/workers"
        sock.bind(endpoint)
        return endpoint, folder
    import zmq

    sock.bind("tcp://127.0.0.1:*")
    return sock.getsockopt_string(zmq.LAST_ENDPOINT), None


# -- starting and stopping processes -------------------------------------------------------------

def worker_popen_kwargs() -> dict:
    """Windows: no console window for a worker (the server may have none: started by the editor),
    and a process group of its own, so a Ctrl-C or Ctrl-Break meant for the server is not its."""
    if sys.platform != "win32":
        return {}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}


def stop_signals() -> list[int]:
    """The signals that stop the server gracefully: SIGTERM and SIGINT on POSIX; on Windows
    SIGINT (Ctrl-C) and SIGBREAK (Ctrl-Break, or ``CTRL_BREAK_EVENT`` sent to its process group).
    Everywhere, a ``shutdown`` request (``mach client shutdown``) does the same without a signal."""
    if windows_mode():
        return [signal.SIGINT] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
    return [signal.SIGTERM, signal.SIGINT]


def ignore_console_signals() -> None:
    """A worker leaves Ctrl-C (and Ctrl-Break) in the server's terminal to the server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, signal.SIG_IGN)


def use_spawn() -> None:
    """Windows mode: multiprocessing starts processes as on Windows (spawn, never fork)."""
    if windows_mode():
        import multiprocessing

        multiprocessing.set_start_method("spawn", force=True)


def die_with_parent() -> bool:
    """Linux: the kernel kills this process when its parent dies (``PR_SET_PDEATHSIG``). Returns
    False where that does not exist (Windows, macOS, Windows mode): use a :class:`ParentWatch`."""
    if windows_mode() or not sys.platform.startswith("linux"):
        return False
    import ctypes

    PR_SET_PDEATHSIG = 1
    return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0


class ParentWatch:
    """Whether the process that started this one still lives, by pid and start time (psutil).

    ``os.getppid()`` cannot tell: Windows does not re-parent an orphan, so it keeps naming the dead
    parent, whose pid may even be reused by then.
    """

    def __init__(self, pid: int) -> None:
        import psutil

        self.pid = pid
        try:
            self.created: float | None = psutil.Process(pid).create_time()
        except psutil.Error:
            self.created = None  # already gone

    def alive(self) -> bool:
        import psutil

        if self.created is None:
            return False
        try:
            p = psutil.Process(self.pid)
            # a second's slack: psutil derives Linux start times from a boot time that can drift
            return abs(p.create_time() - self.created) < 1.0 and p.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True  # cannot look (access denied): assume it lives

    def watchdog(self, interval_s: float = 1.0) -> threading.Thread:
        """A daemon thread that ends this process (exit code 3) within ``interval_s`` of the
        parent's death, even in the middle of a stage: the worker of a dead server writes nothing."""

        def watch() -> None:
            while self.alive():
                time.sleep(interval_s)
            os._exit(3)

        thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
        thread.start()
        return thread


class KillOnCloseJob:
    """Windows: a Job Object that kills the workers when the server's handle to it closes, which
    the system does when the server ends, however it ends (the PDEATHSIG of Windows). A no-op
    elsewhere; if Windows refuses (an old system, a job that forbids nesting), the workers'
    :class:`ParentWatch` still ends them within a second."""

    def __init__(self) -> None:
        self.handle = self._kernel32 = None
        if sys.platform != "win32":
            return
        try:
            self._kernel32, self.handle = _create_kill_on_close_job()
        except OSError as exc:
            log.warning("no Job Object for the workers; they rely on their parent watchdog",
                        extra={"error": str(exc)})

    def add(self, proc: subprocess.Popen) -> None:
        if self.handle is None:
            return
        import ctypes

        if not self._kernel32.AssignProcessToJobObject(self.handle, int(proc._handle)):
            log.warning("could not put a worker in the Job Object; it relies on its parent watchdog",
                        extra={"pid": proc.pid, "error": str(ctypes.WinError(ctypes.get_last_error()))})


JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9


def job_structures():
    """The ctypes structures of ``SetInformationJobObject`` (defined on any system, so a test can
    check their layout: 144 bytes on 64-bit Windows)."""
    import ctypes

    class IO_COUNTERS(ctypes.Structure):
        _fields_ = [(name, ctypes.c_ulonglong) for name in (
            "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
            "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

    class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", ctypes.c_uint32), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", ctypes.c_uint32),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", ctypes.c_uint32),
                    ("SchedulingClass", ctypes.c_uint32)]

    class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION), ("IoInfo", IO_COUNTERS),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    return JOBOBJECT_EXTENDED_LIMIT_INFORMATION


def _create_kill_on_close_job():
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    kernel32.SetInformationJobObject.restype = wintypes.BOOL
    kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
    kernel32.AssignProcessToJobObject.restype = wintypes.BOOL
    kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    handle = kernel32.CreateJobObjectW(None, None)
    if not handle:
        raise ctypes.WinError(ctypes.get_last_error())
    info = job_structures()()
    info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if not kernel32.SetInformationJobObject(handle, JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
                                            ctypes.byref(info), ctypes.sizeof(info)):
        error = ctypes.WinError(ctypes.get_last_error())
        kernel32.CloseHandle(handle)
        raise error
    return kernel32, handle  # kept open for the server's life: closing it is what kills the workers


def default_data_dir() -> Path:
    """Where ``mach serve`` keeps its queue without ``--data``: ``%LOCALAPPDATA%\\MachCreator\\serve``
    on Windows, ``~/.local/share/machcreator/serve`` elsewhere."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "MachCreator" / "serve"
    return Path("~/.local/share/machcreator/serve").expanduser()
