"""Test only: a Python process that fails, as Windows would, on the POSIX-only calls of MachCreator.

tests/service/test_windows_mode.py puts this folder on ``PYTHONPATH`` of the ``mach serve``,
worker, ``mach client`` and ``mach generate`` processes it starts, with ``MACH_POSIX_GUARD``
naming a log file. In those processes:

- importing ``fcntl``, ``resource``, ``termios``, ``pwd``, ``grp``, ``pty`` or ``tty`` from
  MachCreator's own code raises ModuleNotFoundError (Windows has none of them);
- MachCreator's code calling POSIX-only functions (``os.kill``, ``os.getuid``, ``os.setsid``,
  ``os.killpg``, ``os.chown``, ``os.sched_getaffinity``..., ``signal.alarm``...), installing a
  handler for a signal Windows never delivers (SIGTERM, SIGHUP, SIGCHLD...), loading libc with
  ``ctypes.CDLL(None)`` (prctl), or starting a subprocess with ``preexec_fn``,
  ``start_new_session``, ``pass_fds``, ``shell=True``... raises;
- anyone forking (``os.fork``: multiprocessing's fork start method) or using an ``ipc://``
  ZeroMQ endpoint (most Windows builds of libzmq have no ipc transport) raises;
- ``os.getppid()`` keeps returning the parent the process started with, as on Windows, where an
  orphan is not re-parented: a worker cannot notice its server's death by a changed parent pid.

Each such call is also written to the log as one JSON line (an exception can be swallowed; the
log cannot), and every guarded process writes one ``{"kind": "active"}`` line at start, so the
test can tell that the guard ran at all. ``MACH_POSIX_GUARD_MODE=record`` only logs.
"""

import builtins
import json
import os
import sys

LOG = os.environ.get("MACH_POSIX_GUARD")


def _install() -> None:
    import ctypes
    import signal
    import subprocess

    strict = os.environ.get("MACH_POSIX_GUARD_MODE", "fail") != "record"
    posix_modules = {"fcntl", "resource", "termios", "pwd", "grp", "pty", "tty"}
    # the signals Windows' C runtime knows (SIGBREAK is Windows-only); SIGTERM is defined there but
    # no one sends it: TerminateProcess cannot be caught
    windows_signals = {signal.SIGINT, signal.SIGABRT, signal.SIGFPE, signal.SIGILL, signal.SIGSEGV}

    def module_of(globals_: dict | None) -> str:
        """The module a frame runs in; ``python -m machcreator.x`` runs as ``__main__``."""
        name = (globals_ or {}).get("__name__") or ""
        spec = (globals_ or {}).get("__spec__")
        return spec.name if name == "__main__" and spec is not None else name

    def ours(globals_: dict | None) -> bool:
        module = module_of(globals_)
        return module == "machcreator" or module.startswith(("machcreator.", "machcreator_"))

    def violation(what: str, frame, exc: type[BaseException] = OSError) -> None:
        where = f"{module_of(frame.f_globals)}:{frame.f_lineno}" if frame is not None else "?"
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": "violation", "pid": os.getpid(), "what": what, "where": where,
                                "argv": sys.orig_argv[1:5]}) + "\n")
        if strict:
            raise exc(f"{what}: POSIX-only, not available on Windows (tests/service/posix_guard)")

    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name.partition(".")[0] in posix_modules and ours(globals):
            where = sys._getframe(1)
            try:
                violation(f"import {name}", where, ModuleNotFoundError)
            except ModuleNotFoundError as exc:
                exc.name = name
                raise
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import

    def guard_call(owner: object, name: str, *, anyone: bool = False, allow=None) -> None:
        real = getattr(owner, name, None)
        if real is None:
            return

        def wrapper(*args, **kwargs):
            caller = sys._getframe(1)
            if (anyone or ours(caller.f_globals)) and not (allow and allow(*args, **kwargs)):
                violation(f"{getattr(owner, '__name__', owner)}.{name}{args[:2]!r}", caller)
            return real(*args, **kwargs)

        wrapper.__name__ = name
        setattr(owner, name, wrapper)

    for name in ("kill", "killpg", "getuid", "geteuid", "getgid", "getegid", "getgroups", "setsid", "setpgid",
                 "getpgid", "getsid", "chown", "lchown", "fchown", "mkfifo", "mknod", "nice", "getloadavg",
                 "sched_getaffinity", "sched_setaffinity", "statvfs", "sysconf", "pathconf", "openpty",
                 "wait3", "wait4", "getpriority", "setpriority"):
        guard_call(os, name)
    for name in ("fork", "forkpty"):
        guard_call(os, name, anyone=True)
    for name in ("alarm", "setitimer", "getitimer", "pause", "pthread_kill", "pthread_sigmask", "siginterrupt",
                 "sigwait", "sigpending", "sigtimedwait", "sigwaitinfo"):
        guard_call(signal, name)
    guard_call(signal, "signal", allow=lambda signum, *_: signum in windows_signals)

    real_cdll_init = ctypes.CDLL.__init__

    def cdll_init(self, name, *args, **kwargs):
        caller = sys._getframe(1)
        if ours(caller.f_globals) and (name is None or "libc" in str(name)):
            violation(f"ctypes.CDLL({name!r}) (libc: prctl and friends)", caller)
        return real_cdll_init(self, name, *args, **kwargs)

    ctypes.CDLL.__init__ = cdll_init

    real_popen_init = subprocess.Popen.__init__
    posix_popen = ("preexec_fn", "start_new_session", "process_group", "pass_fds", "user", "group",
                   "extra_groups", "shell")

    def popen_init(self, *args, **kwargs):
        caller = sys._getframe(1)
        used = [k for k in posix_popen if kwargs.get(k) not in (None, False, (), [])]
        if ours(caller.f_globals) and used:
            violation(f"subprocess.Popen({', '.join(used)})", caller)
        return real_popen_init(self, *args, **kwargs)

    subprocess.Popen.__init__ = popen_init

    # Windows does not re-parent an orphan: its recorded parent pid stays that of the dead parent
    parent = os.getppid()
    os.getppid = lambda: parent

    try:
        import zmq
    except ImportError:
        return

    for name in ("bind", "connect"):
        real = getattr(zmq.Socket, name)

        def endpoint_guard(self, addr, *args, _real=real, _name=name, **kwargs):
            if str(addr).startswith("ipc://"):
                violation(f"zmq socket.{_name}({addr!r}) (no ipc transport in Windows' libzmq)", sys._getframe(1))
            return _real(self, addr, *args, **kwargs)

        setattr(zmq.Socket, name, endpoint_guard)


if LOG:
    _install()
    with open(LOG, "a", encoding="utf-8") as _f:
        _f.write(json.dumps({"kind": "active", "pid": os.getpid(), "argv": sys.orig_argv[1:5]}) + "\n")
