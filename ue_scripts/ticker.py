"""The plugin's one Slate post-tick callback: it steps every running MachCreator task, a short step
each per frame, and never re-enters itself.

Why a guard: in the editor a slow task's ``enter_progress_frame`` and every modal dialog tick Slate
(FFeedbackContextEditor::ProgressReported -> FSlateApplication::Tick; AddModalWindow's loop), and each
Slate tick fires the post-tick callbacks again. An import inside a step (Interchange, the groom
factory and our own scripts open slow tasks) would otherwise start the next step, or another job's
import, nested inside the first.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

import unreal


class Task(Protocol):
    def step(self) -> bool:
        """Do one short piece of work on the game thread; False once the task has finished."""

    def abort(self, error: BaseException) -> None:
        """``step`` raised: end the task, saying why (it is not stepped again)."""


_tasks: list[Task] = []
_handle = None
_busy = False


def add(task: Task) -> None:
    """Step ``task`` from the next frame on (the callback is registered while any task runs)."""
    global _handle
    _tasks.append(task)
    if _handle is None:
        _handle = unreal.register_slate_post_tick_callback(_tick)


def running() -> list[Task]:
    return list(_tasks)


def busy() -> bool:
    """Whether a step (or a blocking script run) is in progress: nested ticks do nothing."""
    return _busy


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Run blocking editor work (a script's import, a modal dialog) with the tasks held still."""
    global _busy
    outer, _busy = _busy, True
    try:
        yield
    finally:
        _busy = outer


def _tick(delta_seconds: float) -> None:
    global _handle
    if _busy:
        return  # re-entered from a slow task or dialog inside a step
    with exclusive():
        for task in list(_tasks):
            try:
                alive = task.step()
            except Exception as exc:  # a task's failure must never raise into Slate
                alive = False
                task.abort(exc)
            if not alive and task in _tasks:
                _tasks.remove(task)
    if not _tasks and _handle is not None:
        unreal.unregister_slate_post_tick_callback(_handle)
        _handle = None
