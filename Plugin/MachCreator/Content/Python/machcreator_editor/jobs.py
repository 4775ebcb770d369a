"""Follow a generate or edit job to a placed character without stopping the editor.

Every piece runs as a short step from the plugin's one Slate post-tick callback (:mod:`ticker`):
1. wait for the backend: poll its events (never blocks; progress on screen and in the log);
2. download the package on a Python thread (its own client; no ``unreal`` call off the game thread);
3. import it on the game thread, one step per frame (:func:`ue_scripts.import_package.import_steps`);
4. bind the face rig (MetaHuman where the editor has it, best effort; ARKit morphs otherwise);
5. place the character (or update the edited one) and select it.
Cancel ("Cancel Running Jobs" in the menu) stops the backend's job, or undoes a half-done import.
"""
from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path

import unreal

from machcreator.client import BackendError, Client
from ue_scripts import ticker
from machcreator_editor.backend import Backend
from machcreator_editor.progress import Progress
from machcreator_editor.settings import Settings, saved_dir
from ue_scripts import actors, grooms, metahuman
from ue_scripts.download import Download
from ue_scripts.environment import engine_info
from ue_scripts.import_package import ImportedCharacter, import_steps
from ue_scripts.population import Population, PopulationResult

#: how much of the progress the backend's stages fill; download, import and rig share the rest
GENERATION_SHARE = 0.8
IMPORT_SHARE = 0.15


class JobMonitor:
    """One job, from the backend's queue to a character in the level (see the module docstring)."""

    def __init__(self, backend: Backend, settings: Settings, job_id: str, *, title: str, name: str,
                 replace: actors.PlacedCharacter | None = None,
                 on_finished: Callable[["JobMonitor"], None] | None = None):
        self.backend, self.settings, self.job_id = backend, settings, job_id
        self.title, self.name, self.replace, self.on_finished = title, name, replace, on_finished
        self.state = "queued"  # queued | running | importing | done | failed | cancelled
        self.error: str | None = None
        self.placed: actors.PlacedCharacter | None = None
        self.rig: metahuman.RigBinding | None = None
        self.cancel_requested = False
        self.progress = Progress(f"MachCreator.{job_id}", title)
        self._backend_done = False
        self._download: Download | None = None
        self._steps: Generator | None = None
        self._phase = "backend"  # backend | download | import | rig | place
        self._character: ImportedCharacter | None = None
        self._running = False
        self._inbox: list = []  # this job's updates from the shared client (see _deliver)

    def start(self) -> "JobMonitor":
        self.client = self.backend.client()
        self.client.watch(self.job_id)
        self._running = True
        self.progress.update(0.0, "waiting for the backend")
        ticker.add(self)
        return self

    @property
    def running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        """Stop at the next step: the backend's job is cancelled, a half-done import undone."""
        self.cancel_requested = True

    # --- one step per frame ------------------------------------------------------------
    def step(self) -> bool:
        if self.cancel_requested and self._phase in ("backend", "download", "import"):
            self._cancel()
            return False
        return getattr(self, f"_step_{self._phase}")()

    def abort(self, error: BaseException) -> None:
        self._finish(describe(error))

    def _step_backend(self) -> bool:
        _deliver(self.client)
        inbox, self._inbox = self._inbox, []
        for update in inbox:
            if update.kind == "error" and update.data.get("code") == "unreachable":
                self._finish(f"the MachCreator backend at {self.settings.endpoint} stopped answering; "
                             "the job carries on there if it is still running")
                return False
            if update.kind == "event":
                self._on_event(update.data)
        if self.state in ("failed", "cancelled"):
            self._finish(None if self.state == "cancelled" else f"the job failed: {self.error or 'no reason given'}")
            return False
        if self._backend_done:
            self.client.unwatch(self.job_id)
            self.progress.update(GENERATION_SHARE, "downloading the character")
            self._download = Download(self.client, self.job_id, Path(saved_dir()) / "Packages" / self.name)
            self._phase = "download"
        else:
            self.progress.show()
        return True

    def _on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "done":
            self._backend_done = True
            return
        if kind in ("failed", "cancelled"):
            self.state = kind
            self.error = event.get("reason") or event.get("message")
            return
        self.state = "running"
        stage = event.get("stage") or kind
        message = event.get("message") or {"queued": "waiting for a free worker", "retrying": "retrying"}.get(kind, stage)
        self.progress.update(GENERATION_SHARE * float(event.get("fraction") or 0.0), f"{stage}: {message}")

    def _step_download(self) -> bool:
        if not self._download.finished:
            self.progress.show()
            return True
        if self._download.error is not None:
            self._finish(f"downloading the character failed: {describe(self._download.error)}")
            return False
        self.state = "importing"
        self._steps = import_steps(self._download.path, content_root=self.settings.content_root, name=self.name,
                                   info=engine_info())
        self._phase = "import"
        return True

    def _step_import(self) -> bool:
        try:
            fraction, message = next(self._steps)
        except StopIteration as stop:
            self._character = stop.value
            self._steps = metahuman.rig_steps(self._character, engine_info(), mode=self.settings.rig,
                                              content_root=self.settings.content_root)
            self._phase = "rig"
            return True
        self.progress.update(GENERATION_SHARE + IMPORT_SHARE * fraction, message)
        return True

    def _step_rig(self) -> bool:
        try:
            message = next(self._steps)
        except StopIteration as stop:
            self.rig = stop.value
            for note in self.rig.notes:
                unreal.log(f"MachCreator: {note}")
            self._phase = "place"
            return True
        self.progress.update(GENERATION_SHARE + IMPORT_SHARE, f"face rig: {message}")
        return True

    def _step_place(self) -> bool:
        character, package = self._character, str(self._download.path)
        if self.replace is not None:
            actors.refresh(self.replace, character, job_id=self.job_id, package_dir=package, rig=self.rig)
            self.placed = self.replace
        else:
            self.placed = actors.place(character, job_id=self.job_id, package_dir=package, rig=self.rig)
        unreal.get_editor_subsystem(unreal.EditorActorSubsystem).set_selected_level_actors([self.placed.actor])
        self.state = "done"
        self.progress.done(f"{self.name} is in the level")
        self._finish(None)
        if character.grooms:  # a modal offer, so only now that nothing of this job is left to do
            grooms.notify_skin_cache()
        return False

    # --- endings ---------------------------------------------------------------------------
    def _cancel(self) -> None:
        if self._steps is not None:
            self._steps.close()  # import_steps deletes what it had created
        if self._phase in ("backend", "download"):
            self.client.send("cancel", job_id=self.job_id)  # not waited for: the client resends it if lost
        self.state = "cancelled"
        self.progress.done("cancelled")
        self._finish(None)

    def _finish(self, error: str | None) -> None:
        if not self._running:
            return
        self._running = False
        if self._steps is not None:
            self._steps.close()
        self.client.unwatch(self.job_id)
        if error is not None:
            self.error = error
            self.state = "failed" if self.state not in ("failed", "cancelled") else self.state
            self.progress.done(f"failed: {error}")
            unreal.EditorDialog.show_message("MachCreator", f"{self.name}: {error}", unreal.AppMsgType.OK)
        if self.on_finished is not None:
            self.on_finished(self)


def running_jobs() -> list[JobMonitor]:
    return [t for t in ticker.running() if isinstance(t, JobMonitor)]


def _deliver(client: Client) -> None:
    """Read what the (shared) client has and hand each job's updates to its monitor."""
    monitors = {m.job_id: m for m in running_jobs() if m.client is client}
    for update in client.poll():
        if update.job_id in monitors:
            monitors[update.job_id]._inbox.append(update)


class PopulationMonitor:
    """A :class:`ue_scripts.population.Population` stepped from the ticker, its progress on screen."""

    def __init__(self, population: Population, title: str):
        self.population, self.title = population, title
        self.progress = Progress(f"MachCreator.{population.batch_id}", title)
        population.report = self.progress.update
        self._running = False

    def start(self) -> "PopulationMonitor":
        self._running = True
        self.progress.update(0.0, f"{len(self.population.job_ids)} characters queued")
        ticker.add(self)
        return self

    @property
    def running(self) -> bool:
        return self._running

    @property
    def result(self) -> PopulationResult | None:
        return self.population.result

    def cancel(self) -> None:
        self.population.cancel()

    def step(self) -> bool:
        if self.population.step():
            self.progress.show()
            return True
        self._end()
        return False

    def abort(self, error: BaseException) -> None:
        self.population.cancel()
        self.population.step()  # cancels the remaining jobs, undoes a half-done import
        self._end(describe(error))

    def _end(self, error: str | None = None) -> None:
        self._running = False
        self.population.client.close()  # the population's own client (commands.populate_level)
        result = self.population.result
        if error is not None:
            message = f"Population stopped: {error}"
        elif self.population.cancelled:
            message = "Population cancelled: nothing was placed."
        elif result.failures:
            grooms.notify_skin_cache()
            message = (f"Placed {len(result.placed)} characters; {len(result.failures)} could not be made:\n"
                       + "\n".join(result.failures))
        else:
            grooms.notify_skin_cache()
            return
        unreal.EditorDialog.show_message("MachCreator", message, unreal.AppMsgType.OK)


def cancel_all() -> int:
    """Cancel every job and population this editor is following; returns how many."""
    tasks = [t for t in ticker.running() if isinstance(t, (JobMonitor, PopulationMonitor))]
    for task in tasks:
        task.cancel()
    return len(tasks)


def describe(exc: BaseException) -> str:
    """One line for a dialog: what went wrong, not a traceback."""
    if isinstance(exc, BackendError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
