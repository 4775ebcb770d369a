"""Populate a level: N distinct characters from one batch request, placed in one undoable step.

From the Python console (a backend must be running, e.g. ``mach serve``)::

    from machcreator.client import Client
    from ue_scripts import population
    with Client("tcp://127.0.0.1:5555") as client:
        population.populate(client, population.Crowd(count=20, seed=7, genders=["female", "male"]),
                            population.Layout(kind="grid", spacing_cm=150))
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import unreal

from machcreator.client import Client
from ue_scripts import actors, assets
from ue_scripts.import_package import import_character

FINAL_STATES = ("done", "failed", "cancelled")


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
    yaw_deg: float = 0.0
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
    """``n`` (location cm, yaw deg) pairs; raises ValueError before anything is generated."""
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


def populate(client: Client, crowd: Crowd, layout: Layout, *, content_root: str = assets.DEFAULT_CONTENT_ROOT,
             download_dir: str | Path | None = None, name_prefix: str = "Crowd") -> PopulationResult:
    """Generate the crowd as one batch, import each character as it finishes, place them all in one
    undoable transaction. A progress dialog shows every stage; Cancel stops the backend's jobs and
    removes what was placed."""
    places = slots(layout, crowd.size)  # a bad layout fails before the backend does any work
    content_root = assets.check_content_root(content_root)
    download = Path(download_dir or Path(unreal.Paths.project_saved_dir()) / "MachCreator" / "Packages")
    if crowd.prompts:
        batch_id, job_ids = client.batch(crowd.prompts, seed=crowd.seed, **crowd.options)
    else:
        batch_id, job_ids = client.batch(count=crowd.count, prompt=crowd.prompt, seed=crowd.seed,
                                         diversity=crowd.diversity(), **crowd.options)
    result = PopulationResult(batch_id, [], [])
    steps = 2 * len(job_ids)
    with unreal.ScopedEditorTransaction(f"Populate level with {len(job_ids)} MachCreator characters") as transaction:
        with unreal.ScopedSlowTask(steps, "Generating characters") as task:
            task.make_dialog(True)
            try:
                for index, job_id in enumerate(job_ids):
                    label = f"character {index + 1} of {len(job_ids)}"
                    job = _wait(client, job_id, task, label)
                    task.enter_progress_frame(1, f"{label}: {job['state']}")
                    if job["state"] != "done":
                        result.failures.append(f"{label}: {job['state']}: {job.get('error') or 'no reason given'}")
                        task.enter_progress_frame(1)
                        continue
                    name = f"{name_prefix}_{batch_id[:6]}_{index + 1:03d}"
                    package = client.fetch(job_id, download / name)
                    character = import_character(package, content_root=content_root, name=name)
                    location, yaw = places[index]
                    result.placed.append(actors.place(character, location, yaw, job_id=job_id,
                                                      package_dir=str(package)))
                    task.enter_progress_frame(1, f"{label}: placed")
            except PopulationCancelled:
                for job_id in job_ids:
                    client.cancel(job_id)
                for placed in result.placed:
                    for groom in placed.grooms.values():
                        unreal.get_editor_subsystem(unreal.EditorActorSubsystem).destroy_actor(groom)
                    unreal.get_editor_subsystem(unreal.EditorActorSubsystem).destroy_actor(placed.actor)
                transaction.cancel()
                raise
    return result


def _wait(client: Client, job_id: str, task, label: str) -> dict:
    """Follow one job's events, keeping the dialog responsive and honouring Cancel."""
    after = 0
    while True:
        if task.should_cancel():
            raise PopulationCancelled("population cancelled")
        reply = client.events(job_id, after=after, wait_ms=200)
        for event in reply["events"]:
            after = event["seq"]
            if event.get("stage"):
                task.enter_progress_frame(0, f"{label}: {event['stage']} {event.get('message', '')}".strip())
        if reply["state"] in FINAL_STATES and not reply["events"]:
            return client.status(job_id)["job"]
        time.sleep(0.01)
