"""One process-wide lock around every use of USD (pxr) and Alembic (alembic3d, imath).

These C++ libraries take mutexes of their own while holding the GIL, or re-take the GIL while
holding them (USD's plugin registry on a first stage, for one). Two threads inside them at once can
each hold one lock and wait for the other's: issue 21 found two pool threads of ``write_package``
deadlocked in their first ``Usd.Stage.CreateInMemory``. With this lock at most one thread is ever
inside them; the work beside them (PNG encoding, which releases the GIL) stays parallel.
"""

from __future__ import annotations

import functools
import threading
import traceback
from typing import Callable, TypeVar

NATIVE_LOCK = threading.Lock()

F = TypeVar("F", bound=Callable)


def serialised(fn: F) -> F:
    """``fn`` run under :data:`NATIVE_LOCK`; it must hold every USD/Alembic object it makes in its
    own locals, so that they are destroyed (files finished, layers released) before the lock is."""
    @functools.wraps(fn)
    def locked(*args, **kwargs):
        with NATIVE_LOCK:
            try:
                return fn(*args, **kwargs)
            except BaseException as exc:
                # the traceback would keep fn's locals alive and destroy them later, unlocked
                traceback.clear_frames(exc.__traceback__)
                raise
    return locked  # type: ignore[return-value]
