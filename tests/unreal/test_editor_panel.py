"""The plugin in the (fake) editor against a real ``mach serve`` on loopback: the menu, Generate with
progress polled from Slate ticks, Cancel, error dialogs, Edit Selected Character, the local backend."""
from __future__ import annotations

import importlib
import sys

import pytest

from editor_fixtures import (SMALL_SETTINGS, configure, editor, free_port,  # noqa: F401
                             run_until_finished)
from machcreator.client import Client


def test_init_unreal_registers_the_machcreator_menu(editor):
    import init_unreal  # noqa: F401 - runs at editor start
    menu = editor.menus["LevelEditor.MainMenu.MachCreator"]
    assert menu._data["label"] == "MachCreator"
    entries = editor.menu_entries["LevelEditor.MainMenu.MachCreator"]
    assert [e._data["label"] for e in entries] == ["Generate Character…", "Edit Selected Character…",
                                                    "Populate Level…", "Drive with Live Link Face…",
                                                    "Cancel Running Jobs", "Backend…"]
    commands = importlib.import_module("machcreator_editor.commands")
    for entry in entries:
        kind, command = entry._data["command"]
        assert kind == editor.module.ToolMenuStringCommandType.PYTHON
        function = command.rsplit(".", 1)[1].removesuffix("()")
        assert callable(getattr(commands, function)), command
        compile(command, "<menu>", "exec")
    assert not [line for level, line in editor.logs if level == "log_error"]


def test_the_request_panel_has_every_attribute_with_its_widget(editor):
    from machcreator_editor import request as req
    unreal = editor.module
    r = req.MachCharacterRequest()
    props = type(r)._uprops
    assert {"prompt", "seed", "texture_size", "hair_detail"} <= set(props)
    for field in req.FIELDS:
        definition, _ = props[req.prop_name(field["path"])]
        if field["kind"] == "color":
            assert definition.type is unreal.LinearColor and definition.meta["EditCondition"] == req.use_name(field["path"])
        elif field["kind"] == "float":
            assert float(definition.meta["ClampMin"]) == field["min"] and float(definition.meta["ClampMax"]) == field["max"]
        elif field["kind"] == "enum":
            assert r.get_editor_property(req.prop_name(field["path"])).name == req.UNSPECIFIED
    # untouched, the panel asks for nothing: the prompt and seed decide
    assert req.overrides(req.read_values(req.MachCharacterRequest()), req.read_values(r)) == []


def test_the_panels_request_bounds_and_defaults_are_the_request_models(editor):
    from machcreator.attributes import PROMPT_MAX_CHARS
    from machcreator.pipeline.request import GenerateRequest, field_bounds
    from machcreator_editor import request as req
    from machcreator_editor import request_model, settings

    for panel in (req.MachCharacterRequest, req.MachCrowdRequest, req.MachBackendSettings):
        for name in ("texture_size", "hair_detail"):
            meta = panel._uprops[name][0].meta
            assert (float(meta["ClampMin"]), float(meta["ClampMax"])) == field_bounds(name), (panel, name)
    assert float(req.MachCharacterRequest._uprops["seed"][0].meta["ClampMin"]) == field_bounds("seed")[0]
    for name in ("texture_size", "hair_detail", "preview_size"):
        assert getattr(settings.Settings(), name) == GenerateRequest.model_fields[name].default, name
    assert request_model.MAX_PROMPT_CHARS == PROMPT_MAX_CHARS


def test_changed_fields_become_overrides_and_colours_snap_to_the_vocabulary(editor):
    from machcreator_editor import request as req
    r = req.MachCharacterRequest()
    before = req.read_values(r)
    r.set_editor_property("hair_style", req.ENUMS["hair.style"].BOB)
    r.set_editor_property("use_hair_color", True)
    field = next(f for f in req.FIELDS if f["path"] == "hair.color")
    red = req.color_of(field, "red")
    r.set_editor_property("hair_color", editor.module.LinearColor(red.r * 1.05, red.g * 0.95, red.b, 1.0))
    r.set_editor_property("use_body_age_years", True)
    r.set_editor_property("body_age_years", 67.0)
    assert sorted(req.overrides(before, req.read_values(r))) == ["body.age_years=67.0", "hair.color=red",
                                                                 "hair.style=bob"]
    for name in field["srgb"]:  # a named colour survives the round trip through LinearColor
        assert req.nearest_color(field, req.color_of(field, name)) == name


def _fill(prompt: str, **values):
    def fill(request):
        request.set_editor_property("prompt", prompt)
        for key, value in values.items():
            request.set_editor_property(key, value)
        return True
    return fill


def test_generate_shows_progress_without_blocking_and_places_the_character(editor, backend_endpoint):
    """Issue 20 (1): failed before the fix: a modal slow task stayed open for the whole job, and its
    frames ticked Slate, re-entering the job's own tick callback."""
    from machcreator_editor import commands
    from machcreator_editor import request as req
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _fill("a young woman with short black hair", seed=4,
                                   hair_style=req.ENUMS["hair.style"].BOB)
    monitor = commands.generate_character()
    assert monitor is not None and monitor.running and len(editor.tick_callbacks) == 1
    ticks = run_until_finished(editor, monitor, between_ticks=lambda: _assert_not_modal(editor))
    assert monitor.state == "done", monitor.error
    assert ticks > 5  # the editor kept ticking while the backend worked
    assert not editor.tick_callbacks and not editor.dialogs
    messages = " ".join(monitor.progress.history)
    for stage in ("geometry", "hair", "textures", "downloading", "importing the skeletal mesh", "is in the level"):
        assert stage in messages
    assert monitor.progress.fraction == 1.0
    assert any("is in the level" in text for text in editor.screen_messages.values())  # the viewport line
    assert len([i for i in editor.imports if i.kind == "interchange"]) == 1  # imported once, never re-entered
    placed = monitor.placed
    assert placed.actor in editor.actors and editor.selected == [placed.actor]
    assert placed.tag("MachCreator.Job=") == monitor.job_id
    with Client(backend_endpoint) as client:
        job = client.status(monitor.job_id)["job"]
    assert "hair.style=bob" in job["request"]["overrides"]
    name = placed.tag("MachCreator.Character=")
    assert name.startswith("A_Young_Woman_With_4")
    assert editor.assets_under(f"/Game/MachCreator/Characters/{name}")


def _assert_not_modal(editor):
    """Between frames nothing of ours holds the editor: no open slow task, no modal window."""
    assert not [t for t in editor.slow_tasks if t.open]
    assert editor.modal_depth == 0


def test_a_photo_travels_with_the_request_and_a_bad_one_says_why(editor, backend_endpoint, tmp_path):
    import numpy as np
    from PIL import Image

    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    unreal = editor.module
    editor.on_details_view = _fill("a woman", photo=unreal.FilePath(str(tmp_path / "missing.jpg")))
    assert commands.generate_character() is None
    assert "Cannot read the photo" in editor.dialogs[-1].message and not editor.tick_callbacks

    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((256, 256, 3), 200, np.uint8)).save(blank)
    editor.on_details_view = _fill("", photo=unreal.FilePath(str(blank)))
    monitor = commands.generate_character()
    run_until_finished(editor, monitor)
    assert monitor.state == "failed" and "no face found" in monitor.error, monitor.error
    assert not editor.actors
    with Client(backend_endpoint) as client:
        assert client.status(monitor.job_id)["job"]["request"]["photo"]  # the server kept the image


def test_cancel_running_jobs_stops_the_job(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _fill("an old man with a long white beard", seed=11)
    monitor = commands.generate_character()
    while monitor.state == "queued":
        editor.tick()
    assert commands.cancel_running_jobs() == 1  # the menu's Cancel Running Jobs
    run_until_finished(editor, monitor)
    assert monitor.state == "cancelled" and monitor.placed is None
    assert not editor.dialogs and not editor.actors
    with Client(backend_endpoint) as client:
        assert client.wait(monitor.job_id, timeout_s=60)["state"] == "cancelled"
    assert commands.cancel_running_jobs() == 0 and "No MachCreator job" in editor.dialogs[-1].message


def test_backend_errors_appear_in_a_dialog(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, texture_size=9000, hair_detail=0.05)
    editor.on_details_view = _fill("a woman")
    assert commands.generate_character() is None
    assert "texture_size" in editor.dialogs[-1].message and not editor.tick_callbacks

    configure(editor, endpoint=f"tcp://127.0.0.1:{free_port()}", start_local_backend=False)
    assert commands.generate_character() is None
    assert "no MachCreator backend answers" in editor.dialogs[-1].message

    editor.on_details_view = _fill("x" * 2001)
    assert commands.generate_character() is None
    assert "2001 characters" in editor.dialogs[-1].message
    assert not editor.actors


def test_edit_selected_character_reruns_only_what_changed(editor, backend_endpoint):
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False, **SMALL_SETTINGS)
    editor.on_details_view = _fill("a man with short brown hair", seed=2)
    first = commands.generate_character()
    run_until_finished(editor, first)
    assert first.state == "done", first.error
    actor = first.placed.actor
    old_binding = first.placed.grooms["scalp"].groom_component.get_editor_property("binding_asset")

    def change_hair(request):
        assert request.get_editor_property("prompt") == "a man with short brown hair"
        assert request.get_editor_property("use_hair_color")  # filled from the resolved attributes
        request.set_editor_property("hair_color", editor.module.LinearColor(0.75, 0.6, 0.25, 1.0))  # blonde
        return True

    editor.selected = [first.placed.grooms["scalp"]]  # clicking the hair selects the groom actor
    editor.on_details_view = change_hair
    edit = commands.edit_selected_character()
    run_until_finished(editor, edit)
    assert edit.state == "done", edit.error
    assert edit.placed.actor is actor and editor.actors.count(actor) == 1
    assert actor.actor_has_tag(f"MachCreator.Job={edit.job_id}")
    new_binding = first.placed.grooms["scalp"].groom_component.get_editor_property("binding_asset")
    assert new_binding is not old_binding
    with Client(backend_endpoint) as client:
        job = client.status(edit.job_id)["job"]
        events = client.events(edit.job_id)["events"]
    assert job["parent"] == first.job_id
    reused = {e["stage"] for e in events if e["event"] == "stage_finished" and e.get("reused")}
    assert "geometry" in reused


def test_edit_without_a_selected_character_says_so(editor):
    from machcreator_editor import commands
    assert commands.edit_selected_character() is None
    assert "Select a MachCreator character" in editor.dialogs[-1].message


@pytest.mark.e2e  # starts its own `mach serve`
def test_the_backend_dialog_starts_and_stops_a_local_backend(editor):
    from machcreator_editor import backend, commands, settings
    endpoint = f"tcp://127.0.0.1:{free_port()}"

    def set_backend(request):
        request.set_editor_property("endpoint", endpoint)
        request.set_editor_property("backend_python", sys.executable)
        request.set_editor_property("start_local_backend", True)
        return True

    editor.on_details_view = set_backend
    saved = commands.backend_settings()
    assert saved.endpoint == endpoint and settings.load() == saved
    assert "No backend answers" in editor.dialogs[-1].message
    local = backend.get(saved)
    try:
        local.ensure()
        assert local.process is not None and local.status()["workers"]
        assert local.command()[1:4] == ["-m", "machcreator.cli", "serve"]
    finally:
        local.stop()
    assert local.process.poll() is not None


def test_the_backend_dialog_reports_the_servers_queue(editor, backend_endpoint):
    """Issue 20 (10): failed before the fix: the dialog read a ``queued`` field the server never
    sends (it sends ``counts`` and ``queue``), so it always said 0 jobs queued."""
    from machcreator_editor import commands
    configure(editor, endpoint=backend_endpoint, start_local_backend=False)
    with Client(backend_endpoint) as client:
        jobs = [client.generate("a man", seed=100 + i, **SMALL_SETTINGS) for i in range(5)]
        try:
            before = client.status()["server"]["counts"].get("queued", 0)
            commands.backend_settings()
            after = client.status()["server"]["counts"].get("queued", 0)
        finally:
            for job_id in jobs:
                client.cancel(job_id)
    message = editor.dialogs[-1].message
    assert max(before, after) >= 1
    assert any(f"{n} jobs queued" in message for n in (before, after)), message
    assert "running" in message and "workers" in message
    assert "Portrait: off (no Stable Diffusion base" in message  # hello's models: this server has no weights


def test_a_status_reply_without_its_fields_is_refused():
    from machcreator_editor.replies import ReplyError, ServerStatus
    with pytest.raises(ReplyError, match="no 'counts'"):
        ServerStatus.from_reply({"queued": 3, "workers": []})
    status = ServerStatus.from_reply({"version": "1", "counts": {"queued": 3, "running": 1}, "queue": ["j_1"],
                                      "workers": [{"name": "w1", "state": "busy", "job_id": "j_0"}]})
    assert status.queued == 3 and status.summary() == "backend 1; workers w1 busy; 3 jobs queued, 1 running"
