"""What the MachCreator menu entries do. Each returns what it started (for scripts and tests)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import unreal

from machcreator.client import BackendError, RequestFailed
from machcreator_editor import backend as backend_mod
from machcreator_editor import request as req
from machcreator_editor import request_model
from machcreator_editor import settings as settings_mod
from machcreator_editor.jobs import JobMonitor, PopulationMonitor, cancel_all, describe
from machcreator_editor.replies import ModelsReport, ServerStatus
from ue_scripts import actors, assets, livelink, population, project_settings, ticker
from ue_scripts.environment import engine_info
from ue_scripts.package import PackageError, asset_name, read_package


def _error(message: str) -> None:
    with ticker.exclusive():  # the dialog's modal loop ticks Slate: running jobs wait for it
        unreal.EditorDialog.show_message("MachCreator", message, unreal.AppMsgType.OK)


def _details(title: str, obj) -> bool:
    options = unreal.EditorDialogLibraryObjectDetailsViewOptions(show_object_name=False, allow_search=True,
                                                                 min_width=520, min_height=640)
    with ticker.exclusive():
        return unreal.EditorDialog.show_object_details_view(title, obj, options)


def _options(request, settings: settings_mod.Settings) -> dict:
    return {"texture_size": int(request.get_editor_property("texture_size")),
            "hair_detail": float(request.get_editor_property("hair_detail")), "preview_size": settings.preview_size}


def _unique_name(content_root: str, base: str) -> str:
    name, n = base, 2
    while unreal.EditorAssetLibrary.does_directory_exist(assets.character_folder(content_root, name)):
        name, n = f"{base}_{n}", n + 1
    return name


def generate_character(request=None) -> JobMonitor | None:
    """Generate Character…: the request in a details panel, then a job followed in the background."""
    settings = settings_mod.load()
    request = request or req.new_character_request(settings.texture_size, settings.hair_detail)
    before = req.read_values(req.new_character_request(settings.texture_size, settings.hair_detail))
    if not _details("MachCreator: Generate Character", request):
        return None
    prompt = str(request.get_editor_property("prompt")).strip()
    if len(prompt) > request_model.MAX_PROMPT_CHARS:  # refused before the backend is even started
        _error(f"The prompt is {len(prompt)} characters; the limit is {request_model.MAX_PROMPT_CHARS}.")
        return None
    seed = int(request.get_editor_property("seed"))
    photo_path = str(request.get_editor_property("photo").get_editor_property("file_path")).strip()
    photo = None
    if photo_path:
        try:
            photo = Path(photo_path).read_bytes()
        except OSError as exc:
            _error(f"Cannot read the photo {photo_path}: {exc.strerror or exc}.")
            return None
    try:
        base = asset_name(str(request.get_editor_property("character_name")) or
                          (" ".join(prompt.split()[:4]) + f" {seed}" if prompt else
                           f"{Path(photo_path).stem} {seed}" if photo_path else f"Character {seed}"))
        backend = backend_mod.get(settings)
        client = backend.ensure()
        job_id = client.generate(prompt, seed=seed, overrides=req.overrides(before, req.read_values(request)),
                                 photo=photo, **_options(request, settings))
    except (BackendError, PackageError, ValueError) as exc:
        _error(describe(exc))
        return None
    name = _unique_name(settings.content_root, base)
    return JobMonitor(backend, settings, job_id, title=f"MachCreator: generating {name}", name=name).start()


def edit_selected_character(request=None) -> JobMonitor | None:
    """Edit Selected Character…: its attributes in the details panel; changed ones re-run as an edit."""
    settings = settings_mod.load()
    selected = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_selected_level_actors()
    placed = next((p for p in (actors.find_placed(a) for a in selected) if p is not None), None)
    if placed is None:
        _error("Select a MachCreator character in the level first.")
        return None
    job_id, package_dir = placed.tag(actors.TAG_JOB), placed.tag(actors.TAG_PACKAGE)
    name = placed.tag(actors.TAG_CHARACTER)
    try:
        manifest = read_package(package_dir, verify_checksums=False).manifest
    except (PackageError, TypeError) as exc:
        _error(f"{name}: its package is gone ({exc}); generate it again.")
        return None
    request = request or req.new_character_request(settings.texture_size, settings.hair_detail)
    request.set_editor_property("prompt", manifest["request"].get("prompt", ""))
    request.set_editor_property("seed", int(manifest.get("seed", 0)))
    request.set_editor_property("character_name", name)
    req.write_values(request, manifest.get("attributes_resolved", {}))
    before = req.read_values(request)
    if not _details(f"MachCreator: Edit {name}", request):
        return None
    changes = req.overrides(before, req.read_values(request))
    prompt, seed = str(request.get_editor_property("prompt")).strip(), int(request.get_editor_property("seed"))
    try:
        backend = backend_mod.get(settings)
        client = backend.ensure()
        if prompt != manifest["request"].get("prompt", "") or seed != int(manifest.get("seed", 0)):
            job = client.generate(prompt, seed=seed, overrides=changes, **_options(request, settings))
        else:
            try:
                job = client.edit(job_id, changes)
            except RequestFailed as exc:
                if exc.code != "not_found":
                    raise
                # the backend no longer has the parent job: regenerate from the full attribute set
                every = req.overrides({}, {k: v for k, v in req.read_values(request).items() if v is not None})
                job = client.generate(prompt, seed=seed, overrides=every, **_options(request, settings))
    except BackendError as exc:
        _error(describe(exc))
        return None
    return JobMonitor(backend, settings, job, title=f"MachCreator: updating {name}", name=name,
                      replace=placed).start()


def _crowd(request, settings: settings_mod.Settings) -> tuple[population.Crowd, population.Layout]:
    prompts = [line.strip() for line in str(request.get_editor_property("prompts")).splitlines() if line.strip()]
    genders = [g for g in ("female", "male") if request.get_editor_property(g)]
    ancestries = [a for a in ("african", "asian", "caucasian", "mixed") if request.get_editor_property(a)]
    lo, hi = float(request.get_editor_property("min_age")), float(request.get_editor_property("max_age"))
    if lo and hi and lo > hi:
        raise ValueError(f"the minimum age ({lo:g}) is above the maximum ({hi:g})")
    crowd = population.Crowd(prompts=prompts, count=int(request.get_editor_property("count")),
                             seed=int(request.get_editor_property("seed")),
                             prompt=str(request.get_editor_property("shared_prompt")), genders=genders,
                             ancestries=ancestries, age_range=(lo, hi) if lo and hi else None,
                             options=_options(request, settings))
    kind = {req.MachLayout.GRID: "grid", req.MachLayout.SPLINE: "spline",
            req.MachLayout.TARGETS: "targets"}
    layout_value = request.get_editor_property("layout")
    layout = population.Layout(kind=next(k for v, k in kind.items() if v == layout_value),
                               spacing_cm=float(request.get_editor_property("spacing_cm")) or 150.0,
                               columns=int(request.get_editor_property("columns")),
                               spline_actor=str(request.get_editor_property("spline_actor")),
                               target_tag=str(request.get_editor_property("target_tag")))
    return crowd, layout


def populate_level(request=None) -> PopulationMonitor | None:
    """Populate Level…: a crowd from prompts or seeded random attributes, generated and imported in
    the background and placed in one undo step."""
    settings = settings_mod.load()
    if request is None:
        request = req.MachCrowdRequest()
        for key, value in (("count", 10), ("female", True), ("male", True), ("spacing_cm", 150.0),
                           ("texture_size", settings.texture_size), ("hair_detail", settings.hair_detail)):
            request.set_editor_property(key, value)
    if not _details("MachCreator: Populate Level", request):
        return None
    try:
        crowd, layout = _crowd(request, settings)
        backend = backend_mod.get(settings)
        # a client of its own: the shared one's poll() would take the job monitors' events
        client = dataclasses.replace(backend.ensure())
        crowd_population = population.Population(client, crowd, layout, content_root=settings.content_root,
                                                  download_dir=settings_mod.saved_dir() / "Packages")
    except (BackendError, PackageError, ValueError, RuntimeError) as exc:
        _error(describe(exc))
        return None
    return PopulationMonitor(crowd_population, f"MachCreator: {crowd.size} characters").start()


def drive_with_live_link(request=None):
    """Drive with Live Link Face…: the selected character's 52 ARKit morph targets follow a Live Link
    Face subject in the editor viewport (:mod:`ue_scripts.livelink`); returns the wiring."""
    selected = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_selected_level_actors()
    placed = next((p for p in (actors.find_placed(a) for a in selected) if p is not None), None)
    if placed is None:
        _error("Select a MachCreator character in the level first.")
        return None
    info = engine_info()
    request = request or req.MachLiveLinkRequest()
    def is_ini(line: str) -> bool:
        return project_settings.LIVE_LINK_FACE_KEY in line

    request.set_editor_property("enable_project_setting", any(map(is_ini, livelink.live_link_missing(info))))
    if not _details("MachCreator: Drive with Live Link Face", request):
        return None
    notes = []
    if request.get_editor_property("enable_project_setting") and project_settings.enable_live_link_face():
        notes.append("The project setting is written: restart the editor for the phone to connect.")
    try:
        mesh = placed.actor.skeletal_mesh_component.get_editor_property("skeletal_mesh_asset")
        wiring = livelink.wire_live_link(mesh, str(request.get_editor_property("subject")), actors=[placed.actor])
    except (RuntimeError, ValueError) as exc:
        _error(str(exc))
        return None
    still = [m for m in livelink.live_link_missing(info) if not (notes and is_ini(m))]
    _error("\n".join([f"{placed.tag(actors.TAG_CHARACTER)} follows Live Link subject '{wiring.subject}' "
                      f"({wiring.morphs} ARKit curves)."] + notes + wiring.notes
                     + [f"Still needed: {m}" for m in still]))
    return wiring


def cancel_running_jobs() -> int:
    """Cancel Running Jobs: every generation, edit and population this editor is following."""
    count = cancel_all()
    if not count:
        _error("No MachCreator job is running.")
    return count


def backend_settings(request=None) -> settings_mod.Settings | None:
    """Backend…: where the backend is, whether to start it here, import options."""
    settings = settings_mod.load()
    request = request or req.MachBackendSettings()
    for key, value in vars(settings).items():
        if hasattr(request, key):
            request.set_editor_property(key, value)
    if not _details("MachCreator: Backend", request):
        return None
    shown = {key for key in vars(settings) if hasattr(request, key)}
    new = settings_mod.Settings(**(vars(settings) | {key: request.get_editor_property(key) for key in shown}))
    try:
        assets.check_content_root(new.content_root)
        if new.rig not in ("auto", "metahuman", "arkit"):
            raise ValueError(f"rig must be auto, metahuman or arkit, not {new.rig!r}")
    except ValueError as exc:
        _error(str(exc))
        return None
    settings_mod.save(new)
    backend = backend_mod.get(new)
    reply = backend.status()
    if reply is None:
        where = "it starts on the next Generate" if new.start_local_backend else "start `mach serve` there"
        _error(f"No backend answers at {new.endpoint} yet; {where}.")
    else:
        capabilities = backend.capabilities() or {}
        models = ModelsReport.from_capabilities(capabilities).summary() if "models" in capabilities else ""
        _error(f"Connected to {new.endpoint}: {ServerStatus.from_reply(reply).summary()}.\n{models}".rstrip())
    return new
