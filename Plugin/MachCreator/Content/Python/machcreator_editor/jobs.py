"""Follow a generate or edit job without freezing the editor: a Slate post-tick callback polls the
backend (never blocking), a progress dialog shows each stage and offers Cancel; when the job is
done the package is fetched, imported, rigged and placed (or an edited character updated)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import unreal

from machcreator.client import BackendError
from machcreator_editor.backend import Backend
from machcreator_editor.settings import Settings, saved_dir
from ue_scripts import actors, metahuman
from ue_scripts.environment import engine_info
from ue_scripts.import_package import import_character

#: jobs being followed: a registered callback must keep its owner alive
ACTIVE: set["JobMonitor"] = set()
#: how much of the progress bar the backend's stages fill; fetch and import share the rest
GENERATION_SHARE = 80.0


class JobMonitor:
    def __init__(self, backend: Backend, settings: Settings, job_id: str, *, title: str, name: str,
                 replace: actors.PlacedCharacter | None = None,
                 on_finished: Callable[["JobMonitor"], None] | None = None):
        self.backend, self.settings, self.job_id = backend, settings, job_id
        self.title, self.name, self.replace, self.on_finished = title, name, replace, on_finished
        self.state = "queued"
        self.error: str | None = None
        self.placed: actors.PlacedCharacter | None = None
        self.progress = 0.0
        self.cancel_requested = False
        self._task = None
        self._handle = None

    def start(self) -> "JobMonitor":
        self.client = self.backend.client()
        self.client.watch(self.job_id)
        self._task = unreal.ScopedSlowTask(100.0, self.title)
        self._task.__enter__()
        self._task.make_dialog(True)
        self._handle = unreal.register_slate_post_tick_callback(self._tick)
        ACTIVE.add(self)
        return self

    @property
    def running(self) -> bool:
        return self._handle is not None

    def _advance(self, fraction: float, message: str) -> None:
        target = max(self.progress, min(100.0, fraction))
        self._task.enter_progress_frame(target - self.progress, message)
        self.progress = target

    def _tick(self, delta_seconds: float) -> None:
        try:
            self._poll()
        except Exception as exc:  # the callback must never raise into Slate
            self._finish(f"{type(exc).__name__}: {exc}")

    def _poll(self) -> None:
        if not self.cancel_requested and self._task.should_cancel():
            self.cancel_requested = True
            self.client.send("cancel", job_id=self.job_id)
            self._advance(self.progress, "cancelling: the backend stops at the end of the current stage")
        for update in self.client.poll():
            if update.kind == "error" and update.job_id == self.job_id and update.data.get("code") == "unreachable":
                self._finish(f"the MachCreator backend at {self.settings.endpoint} stopped answering; "
                             "the job carries on there if it is still running")
                return
            if update.kind == "event" and update.job_id == self.job_id:
                self._on_event(update.data)
        if self.state == "done":
            self._import()
            self._finish(None)
        elif self.state in ("failed", "cancelled"):
            self._finish(None if self.state == "cancelled" else f"the job failed: {self.error or 'no reason given'}")

    def _on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind in ("done", "failed", "cancelled"):
            self.state = kind
            self.error = event.get("reason") or event.get("message")
            return
        self.state = "running"
        stage = event.get("stage") or kind
        message = event.get("message") or {"queued": "waiting for a free worker", "retrying": "retrying"}.get(kind, stage)
        self._advance(GENERATION_SHARE * float(event.get("fraction") or 0.0), f"{stage}: {message}")

    def _import(self) -> None:
        self._advance(GENERATION_SHARE, "downloading the character")
        package = self.client.fetch(self.job_id, Path(saved_dir()) / "Packages" / self.name)
        share = 100.0 - GENERATION_SHARE

        def progress(fraction: float, message: str) -> None:
            self._advance(GENERATION_SHARE + share * 0.9 * fraction, message)

        info = engine_info()
        character = import_character(package, content_root=self.settings.content_root, name=self.name,
                                     info=info, progress=progress)
        self._advance(GENERATION_SHARE + share * 0.95, "binding the face rig")
        rig = metahuman.bind_rig(character, info, mode=self.settings.rig, content_root=self.settings.content_root)
        for note in rig.notes:
            unreal.log(f"MachCreator: {note}")
        if self.replace is not None:
            actors.refresh(self.replace, character, job_id=self.job_id, package_dir=str(package))
            self.placed = self.replace
        else:
            self.placed = actors.place(character, job_id=self.job_id, package_dir=str(package))
        unreal.get_editor_subsystem(unreal.EditorActorSubsystem).set_selected_level_actors([self.placed.actor])
        self._advance(100.0, f"{self.name} is in the level")

    def _finish(self, error: str | None) -> None:
        if self._handle is not None:
            unreal.unregister_slate_post_tick_callback(self._handle)
            self._handle = None
        if self._task is not None:
            self._task.__exit__(None, None, None)
            self._task = None
        self.client.unwatch(self.job_id)
        ACTIVE.discard(self)
        if error is not None:
            self.error = error
            self.state = "failed" if self.state not in ("failed", "cancelled") else self.state
            unreal.EditorDialog.show_message("MachCreator", error, unreal.AppMsgType.OK)
        if self.on_finished is not None:
            self.on_finished(self)


def describe(exc: BaseException) -> str:
    """One line for a dialog: what went wrong, not a traceback."""
    if isinstance(exc, BackendError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
