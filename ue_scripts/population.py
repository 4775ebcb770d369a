"""Populate a level: N distinct characters from one batch request, placed in one undoable step.

The editor's menu runs a :class:`Population` a short step per frame (jobs polled, packages fetched on
a thread, imported one step per frame, all placed at the end in one transaction), so the editor
keeps running. From the Python console it runs to the end at once (a backend must be running,
e.g. ``mach serve``)::

    from machcreator.client import Client
    from ue_scripts import population
    with Client("tcp://127.0.0.1:5555") as client:
        population.populate(client, population.Crowd(count=20, seed=7, genders=["female", "male"]),
                            population.Layout(kind="grid", spacing_cm=150))
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import unreal

from machcreator.client import Client
from ue_scripts import actors, assets, ticker
from ue_scripts.download import Download
from ue_scripts.import_package import ImportedCharacter, import_steps

FINAL_STATES = ("done", "failed", "cancelled", "expired")
#: seconds between two status requests for the batch
STATUS_PERIOD_S = 0.3


class PopulationCancelled(RuntimeError):
    """The user cancelled; the level is as it was before (the imported assets stay for reuse)."""


@dataclass
class Crowd:
    """Who to generate: explicit prompts, or ``count`` seeded random characters."""
    prompts: list[str] = field(default_factory=list)
    count: int = 0
    seed: int = 0
    prompt: str = ""  # shared by every random character, e.g. "in a wool coat"
    genders: list[str] = field(default_factory=list)  # empty: any
    ancestries: list[str] = field(default_factory=list)
    age_range: tuple[float, float] | None = None
    options: dict = field(default_factory=dict)  # texture_size, preview_size, hair_detail

    @property
    def size(self) -> int:
        return len(self.prompts) if self.prompts else self.count

    def diversity(self) -> dict:
        out: dict = {}
        if self.genders:
            out["genders"] = list(self.genders)
        if self.ancestries:
            out["ancestries"] = list(self.ancestries)
        if self.age_range:
            out["age_range"] = list(self.age_range)
        return out


@dataclass
class Layout:
    """Where they stand: ``grid`` (from ``origin``, ``spacing_cm`` apart), ``spline`` (evenly along
    the SplineComponent of the actor labelled ``spline_actor``) or ``targets`` (at the TargetPoints
    tagged ``target_tag``, facing where they face)."""
    kind: str = "grid"
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    spacing_cm: float = 150.0
    columns: int = 0  # 0: a square-ish grid
    yaw_deg: float = actors.MESH_FRONT_YAW_DEG  # grid: the direction they face (Unreal yaw, 0 = +X)
    spline_actor: str = ""
    target_tag: str = ""


@dataclass
class PopulationResult:
    batch_id: str
    placed: list[actors.PlacedCharacter]
    failures: list[str]  # one line per character that could not be made


def _level_actors():
    return unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_all_level_actors()


def slots(layout: Layout, n: int) -> list[tuple[object, float]]:
    """``n`` (location cm, facing yaw deg) pairs: where each character stands and the Unreal yaw it
    faces (along the spline, where a target point points); raises ValueError before anything is
    generated."""
    if n <= 0:
        raise ValueError("nothing to place: the crowd is empty")
    if layout.kind == "grid":
        columns = layout.columns or math.ceil(math.sqrt(n))
        ox, oy, oz = layout.origin
        return [(unreal.Vector(ox + (i % columns) * layout.spacing_cm, oy + (i // columns) * layout.spacing_cm, oz),
                 layout.yaw_deg) for i in range(n)]
    if layout.kind == "spline":
        owner = next((a for a in _level_actors() if a.get_actor_label() == layout.spline_actor), None)
        spline = owner.get_component_by_class(unreal.SplineComponent) if owner is not None else None
        if spline is None:
            raise ValueError(f"no actor labelled {layout.spline_actor!r} with a spline component in this level")
        length = spline.get_spline_length()
        space = unreal.SplineCoordinateSpace.WORLD
        out = []
        for i in range(n):
            d = 0.0 if n == 1 else length * i / (n - 1)
            rotation = spline.get_rotation_at_distance_along_spline(d, space)
            out.append((spline.get_location_at_distance_along_spline(d, space), rotation.yaw))
        return out
    if layout.kind == "targets":
        points = sorted((a for a in _level_actors()
                         if isinstance(a, unreal.TargetPoint) and a.actor_has_tag(layout.target_tag)),
                        key=lambda a: a.get_actor_label())
        if len(points) < n:
            raise ValueError(f"found {len(points)} target points tagged {layout.target_tag!r}; {n} are needed")
        return [(p.get_actor_location(), p.get_actor_rotation().yaw) for p in points[:n]]
    raise ValueError(f"layout kind must be grid, spline or targets, not {layout.kind!r}")


class Population:
    """One crowd from submission to placement, a short step at a time (:meth:`step`).

    Imports and saves happen as characters arrive, outside any transaction; the placement of the
    whole crowd is one transaction at the end, so one undo removes it. Cancel stops the backend's
    remaining jobs and places nothing (imported assets stay for reuse).
    """

    def __init__(self, client: Client, crowd: Crowd, layout: Layout, *,
                 content_root: str = assets.DEFAULT_CONTENT_ROOT, download_dir: str | Path | None = None,
                 name_prefix: str = "Crowd",
                 progress: Callable[[float, str], None] | None = None):
        self.places = slots(layout, crowd.size)  # a bad layout fails before the backend does any work
        self.content_root = assets.check_content_root(content_root)
        self.download_dir = Path(download_dir or Path(unreal.Paths.project_saved_dir()) / "MachCreator" / "Packages")
        self.client, self.name_prefix = client, name_prefix
        self.report = progress or (lambda fraction, message: None)
        if crowd.prompts:
            self.batch_id, self.job_ids = client.batch(crowd.prompts, seed=crowd.seed, **crowd.options)
        else:
            self.batch_id, self.job_ids = client.batch(count=crowd.count, prompt=crowd.prompt, seed=crowd.seed,
                                                       diversity=crowd.diversity(), **crowd.options)
        self.states: dict[str, dict] = {job_id: {"state": "queued"} for job_id in self.job_ids}
        self.characters: dict[int, tuple[ImportedCharacter, Path]] = {}
        self.failures: dict[int, str] = {}
        self.result: PopulationResult | None = None
        self.cancel_requested = False
        self.cancelled = False
        self._status_request: str | None = None
        self._next_status = 0.0
        self._download: tuple[int, Download] | None = None
        self._import: tuple[int, Path, Generator] | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None or self.cancelled

    def label(self, index: int) -> str:
        return f"character {index + 1} of {len(self.job_ids)}"

    def cancel(self) -> None:
        self.cancel_requested = True

    def step(self) -> bool:
        """One short piece of work; False once the crowd is placed, or cancelled."""
        if self.cancel_requested:
            self._cancel()
            return False
        if self._import is not None:
            self._step_import()
        elif self._download is not None and self._download[1].finished:
            self._start_import()
        else:
            self._poll_status()
            if self._download is None:
                self._start_download()
        if self._all_in():
            self._place_all()
            return False
        return True

    def _report(self, message: str) -> None:
        done = len(self.characters) + len(self.failures)
        self.report(done / max(1, len(self.job_ids)), message)

    def _poll_status(self) -> None:
        for update in self.client.poll():
            if update.request_id != self._status_request:
                continue
            self._status_request = None
            if update.kind == "reply":
                for job in update.data["batch"]["jobs"]:
                    self.states[job["job_id"]] = job
        if self._status_request is None and time.monotonic() >= self._next_status:
            self._status_request = self.client.send("status", batch_id=self.batch_id)
            self._next_status = time.monotonic() + STATUS_PERIOD_S
        for index, job_id in enumerate(self.job_ids):
            job = self.states[job_id]
            if job["state"] in FINAL_STATES and job["state"] != "done" and index not in self.failures:
                self.failures[index] = f"{self.label(index)}: {job['state']}: {job.get('error') or 'no reason given'}"
                self._report(self.failures[index])

    def _waiting_download(self) -> int | None:
        for index, job_id in enumerate(self.job_ids):
            if self.states[job_id]["state"] == "done" and index not in self.characters and index not in self.failures:
                return index
        return None

    def _start_download(self) -> None:
        index = self._waiting_download()
        if index is None:
            running = [j for j in self.states.values() if j["state"] not in FINAL_STATES]
            if running:
                j = running[0]
                self._report(f"{len(running)} still generating; {j.get('stage') or j['state']}")
            return
        self._report(f"{self.label(index)}: downloading")
        self._download = (index, Download(self.client, self.job_ids[index], self.download_dir / self._name(index)))

    def _name(self, index: int) -> str:
        return f"{self.name_prefix}_{self.batch_id[:6]}_{index + 1:03d}"

    def _start_import(self) -> None:
        index, download = self._download
        self._download = None
        if download.error is not None:
            self.failures[index] = f"{self.label(index)}: download failed: {download.error}"
            return
        steps = import_steps(download.path, content_root=self.content_root, name=self._name(index))
        self._import = (index, download.path, steps)

    def _step_import(self) -> None:
        index, package, steps = self._import
        try:
            fraction, message = next(steps)
        except StopIteration as stop:
            self._import = None
            self.characters[index] = (stop.value, package)
            self._report(f"{self.label(index)}: imported")
            return
        except Exception as exc:  # one broken character does not stop the crowd
            self._import = None
            self.failures[index] = f"{self.label(index)}: import failed: {type(exc).__name__}: {exc}"
            return
        self._report(f"{self.label(index)}: {message}")

    def _all_in(self) -> bool:
        return len(self.characters) + len(self.failures) == len(self.job_ids)

    def _place_all(self) -> None:
        """The whole crowd in one undoable transaction (spawning is quick; nothing is imported here)."""
        placed = []
        with unreal.ScopedEditorTransaction(f"Populate level with {len(self.characters)} MachCreator characters"):
            for index in sorted(self.characters):
                character, package = self.characters[index]
                location, facing = self.places[index]
                placed.append(actors.place(character, location, facing, job_id=self.job_ids[index],
                                           package_dir=str(package)))
        self.result = PopulationResult(self.batch_id, placed, [self.failures[i] for i in sorted(self.failures)])
        self.report(1.0, f"placed {len(placed)} characters")

    def _cancel(self) -> None:
        if self._import is not None:
            self._import[2].close()  # deletes what the half-done import created
            self._import = None
        for job_id in self.job_ids:
            if self.states[job_id]["state"] not in FINAL_STATES:
                self.client.send("cancel", job_id=job_id)
        self.client.poll()
        self.cancelled = True
        self.report(1.0, "cancelled: nothing was placed")


def populate(client: Client, crowd: Crowd, layout: Layout, *, content_root: str = assets.DEFAULT_CONTENT_ROOT,
             download_dir: str | Path | None = None, name_prefix: str = "Crowd") -> PopulationResult:
    """Generate, import and place a crowd in one blocking call (for scripts), with a progress dialog
    whose Cancel stops the backend's jobs and places nothing."""
    # the dialog ticks Slate: the plugin's own tasks are held still meanwhile
    with ticker.exclusive(), unreal.ScopedSlowTask(100.0, "Generating characters") as task:
        task.make_dialog(True)
        shown = [0.0]

        def progress(fraction: float, message: str) -> None:
            task.enter_progress_frame(max(0.0, 100.0 * fraction - shown[0]), message)
            shown[0] = max(shown[0], 100.0 * fraction)

        population = Population(client, crowd, layout, content_root=content_root, download_dir=download_dir,
                                name_prefix=name_prefix, progress=progress)
        while True:
            if task.should_cancel():
                population.cancel()
            if not population.step():
                break
            if population._import is None:
                time.sleep(0.02)
    if population.cancelled:
        raise PopulationCancelled("population cancelled")
    return population.result
