"""Populate Level: placement layouts, ten real characters from one batch in one transaction, cancel."""
from __future__ import annotations

import pytest

from editor_fixtures import SMALL_SETTINGS, configure, editor  # noqa: F401
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


def _crowd_panel(count: int, **values):
    def fill(request):
        request.set_editor_property("count", count)
        request.set_editor_property("seed", 5)
        for key, value in values.items():
            request.set_editor_property(key, value)
        return True
    return fill


def test_populate_places_ten_distinct_characters_in_one_undoable_step(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _crowd_panel(10, spacing_cm=180.0, female=True, male=True, min_age=20.0, max_age=70.0)
    result = commands.populate_level()
    assert result is not None and not result.failures, editor.dialogs
    assert len(result.placed) == 10 and not editor.dialogs
    [transaction] = editor.transactions
    assert not transaction["cancelled"] and "10 MachCreator characters" in transaction["description"]
    mesh_actors = [p.actor for p in result.placed]
    assert all(a in transaction["actors"] for a in mesh_actors)  # every spawn inside the one transaction
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
    task = editor.slow_tasks[-1]
    assert task.can_cancel and "character 10 of 10: placed" in [m for _, m in task.frames]


def test_cancelling_a_population_removes_what_was_placed_and_stops_the_jobs(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _crowd_panel(4)
    calls = {"n": 0}
    original = editor.handlers[("ScopedSlowTask", "should_cancel")]

    def should_cancel(task):  # the user presses Cancel once the first character is placed
        calls["n"] += 1
        return bool(editor.actors)

    editor.handlers[("ScopedSlowTask", "should_cancel")] = should_cancel
    assert commands.populate_level() is None
    editor.handlers[("ScopedSlowTask", "should_cancel")] = original
    assert "Population cancelled" in editor.dialogs[-1].message
    assert not editor.actors and editor.transactions[-1]["cancelled"]
    assert calls["n"] > 0
    with Client(backend_endpoint) as client:
        jobs = client.jobs(mine=False, limit=4)  # the newest: this population's batch
        assert len({j["batch_id"] for j in jobs}) == 1
        states = {client.wait(j["job_id"], timeout_s=120)["state"] for j in jobs}
    assert "done" in states and "cancelled" in states
