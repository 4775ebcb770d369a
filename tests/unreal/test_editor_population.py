"""Populate Level: placement layouts, ten real characters from one batch in one transaction, cancel."""
from __future__ import annotations

import math
import time

import pytest

from editor_fixtures import SMALL_SETTINGS, configure, editor, run_until_finished  # noqa: F401
from machcreator.client import Client


def test_grid_slots_are_spaced_from_the_origin(editor):
    from ue_scripts.population import Layout, slots
    places = slots(Layout(kind="grid", origin=(10.0, 20.0, 0.0), spacing_cm=200.0, columns=3, yaw_deg=45.0), 7)
    xy = [(p.x, p.y) for p, _ in places]
    assert xy == [(10, 20), (210, 20), (410, 20), (10, 220), (210, 220), (410, 220), (10, 420)]
    assert {yaw for _, yaw in places} == {45.0}


def test_spline_slots_are_even_along_the_spline_and_face_along_it(editor):
    from ue_scripts.population import Layout, slots
    spline = editor.new("SplineComponent")
    spline._data["points"] = [(0.0, 0.0, 0.0), (1000.0, 0.0, 0.0), (1000.0, 500.0, 0.0)]
    editor.spawn("Actor", components=[spline], label="Street")
    places = slots(Layout(kind="spline", spline_actor="Street"), 4)
    assert [(round(p.x), round(p.y)) for p, _ in places] == [(0, 0), (500, 0), (1000, 0), (1000, 500)]
    assert [round(yaw) for _, yaw in places][:2] == [0, 0] and round(places[-1][1]) == 90
    with pytest.raises(ValueError, match="no actor labelled 'Road'"):
        slots(Layout(kind="spline", spline_actor="Road"), 4)


def test_target_points_are_used_by_tag_and_too_few_is_an_error(editor):
    from ue_scripts.population import Layout, slots
    for i in range(3):
        point = editor.spawn("TargetPoint", location=(i * 100.0, 50.0, 0.0), label=f"Spot{i}")
        point._props["tags"] = ["crowd"]
        point._data["rotation"] = (0.0, 0.0, 30.0 * i)
    editor.spawn("TargetPoint", location=(999.0, 0.0, 0.0), label="Other")
    places = slots(Layout(kind="targets", target_tag="crowd"), 3)
    assert [(p.x, yaw) for p, yaw in places] == [(0.0, 0.0), (100.0, 30.0), (200.0, 60.0)]
    with pytest.raises(ValueError, match="found 3 target points tagged 'crowd'; 5 are needed"):
        slots(Layout(kind="targets", target_tag="crowd"), 5)


def _front(actor) -> tuple[float, float]:
    """The unit direction (x, y) the placed character's face points in the level: the mesh faces
    Unreal +Y at actor yaw 0 (glTF +Z front through Interchange), turned by the actor's yaw."""
    yaw = math.radians(actor._data["rotation"][2])
    return -math.sin(yaw), math.cos(yaw)


@pytest.mark.parametrize("facing", [0.0, 90.0, -135.0])
def test_a_placed_character_faces_the_direction_it_is_given(editor, fisherman_package, facing):
    """Issue 20 (8): failed before the fix: the facing yaw was applied as the actor's yaw, so every
    crowd character faced 90 degrees to the left of its spline or target point."""
    from ue_scripts import actors
    from ue_scripts.import_package import import_character
    character = import_character(fisherman_package, name="Walker")
    placed = actors.place(character, editor.module.Vector(0.0, 0.0, 0.0), facing)
    x, y = _front(placed.actor)
    assert x == pytest.approx(math.cos(math.radians(facing)), abs=1e-9)
    assert y == pytest.approx(math.sin(math.radians(facing)), abs=1e-9)


def _crowd_panel(count: int, **values):
    def fill(request):
        request.set_editor_property("count", count)
        request.set_editor_property("seed", 5)
        for key, value in values.items():
            request.set_editor_property(key, value)
        return True
    return fill


def test_populate_places_ten_distinct_characters_in_one_undoable_step(editor, backend_endpoint):
    """Issue 20 (9): failed before the fix: the whole batch ran inside one modal slow task and one
    transaction (imports and saves included), blocking the editor until the last character."""
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _crowd_panel(10, spacing_cm=180.0, female=True, male=True, min_age=20.0, max_age=70.0)
    monitor = commands.populate_level()
    assert monitor is not None and monitor.running  # returns at once; the editor goes on
    run_until_finished(editor, monitor, timeout_s=400, between_ticks=lambda: _assert_free(editor))
    result = monitor.result
    assert result is not None and not result.failures, editor.dialogs
    assert len(result.placed) == 10 and not editor.dialogs
    [transaction] = editor.transactions
    assert not transaction["cancelled"] and "10 MachCreator characters" in transaction["description"]
    mesh_actors = [p.actor for p in result.placed]
    assert all(a in transaction["actors"] for a in mesh_actors)  # every spawn inside the one transaction
    assert not transaction["imports"] and not transaction["saves"]  # imports and saves happened outside it
    assert len({a.skeletal_mesh_component.get_editor_property("skeletal_mesh_asset")._asset_path
                for a in mesh_actors}) == 10
    locations = sorted(a._data["location"][:2] for a in mesh_actors)
    assert locations[0] == (0.0, 0.0) and {(540.0, 0.0), (180.0, 360.0)} <= set(locations)  # 4 columns, 180 cm
    with Client(backend_endpoint) as client:
        jobs = [client.status(p.tag("MachCreator.Job="))["job"] for p in result.placed]
    assert len({j["batch_id"] for j in jobs}) == 1  # one batch request
    from ue_scripts.package import read_package
    genders = {read_package(p.tag("MachCreator.Package="), verify_checksums=False).attributes["body"]["gender"]
               for p in result.placed}
    assert genders == {"female", "male"}
    assert "placed 10 characters" in monitor.progress.history[-1]


def _assert_free(editor):
    assert not [t for t in editor.slow_tasks if t.open] and editor.modal_depth == 0
    assert editor.open_transaction is None


def test_cancelling_a_population_places_nothing_and_stops_the_jobs(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _crowd_panel(4)
    monitor = commands.populate_level()
    while not monitor.population.characters:  # the user cancels once the first character is in
        editor.tick(0.02)
        time.sleep(0.02)  # frame by frame, as run_until_finished: a busy loop took CPU from the two workers
    assert commands.cancel_running_jobs() == 1
    run_until_finished(editor, monitor)
    assert "Population cancelled" in editor.dialogs[-1].message
    assert not editor.actors and not editor.transactions
    with Client(backend_endpoint) as client:
        states = {client.wait(j, timeout_s=120)["state"] for j in monitor.population.job_ids}
    assert "done" in states and "cancelled" in states


def test_populate_from_a_script_runs_to_the_end(editor, backend_endpoint):
    from ue_scripts import population
    with Client(backend_endpoint) as client:
        result = population.populate(client, population.Crowd(count=2, seed=9, options=SMALL_SETTINGS),
                                     population.Layout(kind="grid"))
    assert len(result.placed) == 2 and not result.failures
    task = editor.slow_tasks[-1]
    assert task.can_cancel and not task.open and "placed 2 characters" in task.frames[-1][1]
