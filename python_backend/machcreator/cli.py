"""`mach`: the command line. Every user error is one red line and a non-zero exit, nothing written."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from machcreator.core.errors import MachError
from machcreator.pipeline.request import GenerateRequest, field_bounds

if TYPE_CHECKING:
    from machcreator.client import Client
    from machcreator.core.models import ModelsConfig

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MachCreator: text → 3D character package.")
err_console = Console(stderr=True)
out_console = Console()

ModelsOption = typer.Option(None, "--models", help="The models config file naming your local weights (default: "
                            "$MACH_MODELS, else ~/.config/machcreator/models.toml; %APPDATA%\\MachCreator on Windows).")
SetOption = typer.Option(None, "--set", help="Override an attribute, e.g. --set hair.color=blonde (repeatable).")
LibraryOption = typer.Option(None, "--asset-library", help="A user asset library folder (repeatable; also env MACH_ASSET_LIBRARIES).")


def _request_option(name: str, flag: str, **changes: Any) -> Any:
    """A typer option for GenerateRequest's numeric field ``name``: its default and bounds are the model's
    (unless ``changes`` say otherwise)."""
    low, high = field_bounds(name)
    settings = {"default": GenerateRequest.model_fields[name].default, "min": low, "max": high} | changes
    return typer.Option(settings.pop("default"), flag, **settings)


def _read_prompt(prompt: Optional[str], prompt_file: Optional[Path]) -> str | bytes:
    if prompt is not None and prompt_file is not None:
        raise MachError("give the prompt as an argument or with --prompt-file, not both")
    if prompt_file is not None:
        try:
            return prompt_file.read_bytes()
        except OSError as exc:
            raise MachError(f"cannot read prompt file {prompt_file}: {exc.strerror}") from None
    if prompt is None:
        return ""
    # argv bytes that are not UTF-8 arrive as lone surrogates: hand the raw bytes to the checker
    return prompt.encode("utf-8", "surrogateescape") if any("\udc80" <= c <= "\udcff" for c in prompt) else prompt


def _parser_options(parser: str, llm_model_dir: Optional[Path], llm_url: Optional[str], llm_model: Optional[str],
                    models: "ModelsConfig | None" = None) -> dict:
    """The parser's options from the flags; the transformers parser's model from the models config's
    ``llm`` when ``--llm-model-dir`` is not given (on its device, fp16 on CUDA)."""
    if parser == "transformers":
        if llm_model_dir is None and models is not None and models.llm is not None:
            return {"model_dir": str(models.llm), "device": models.resolved_device(),
                    "dtype": models.resolved_dtype()}
        if llm_model_dir is None:
            raise MachError("--parser transformers needs --llm-model-dir DIR (a local chat model folder) "
                            "or llm in the models config")
        if not llm_model_dir.is_dir():
            raise MachError(f"--llm-model-dir {llm_model_dir} is not a folder")
        return {"model_dir": str(llm_model_dir)}
    if parser == "openai":
        if not llm_url or not llm_model:
            raise MachError("--parser openai needs --llm-url URL and --llm-model NAME")
        return {"base_url": llm_url, "model": llm_model}
    return {}  # the embedded parser; an unknown name is the request's to refuse


@contextlib.contextmanager
def _progress_reporter() -> Iterator[Callable[[str, float, str], None]]:
    """A ``progress(stage, fraction, message)`` callback: a live bar on a terminal, otherwise one
    line per stage (logs, pipes and editor subprocesses see every step)."""
    if not err_console.is_terminal:
        seen: set[tuple[str, str]] = set()

        def log(stage: str, fraction: float, message: str) -> None:
            if (stage, message) not in seen:  # a stage's start, and each step of a long one
                seen.add((stage, message))
                err_console.print(f"[{fraction:4.0%}] {message}", highlight=False, markup=False)

        yield log
        return
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err_console, transient=False) as bar:
        task = bar.add_task("Starting", total=1.0)
        yield lambda stage, fraction, message: bar.update(task, completed=fraction, description=message)


@app.command()
def generate(
    prompt: Optional[str] = typer.Argument(None, help="Describe the character, e.g. 'an old fisherman with a grey beard'."),
    output: Path = typer.Option(..., "-o", "--output", help="Package folder to create."),
    seed: int = _request_option("seed", "--seed", help="Draws every unspecified attribute."),
    set_: Optional[list[str]] = SetOption,
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="Read the prompt from a UTF-8 text file."),
    parser: Optional[str] = typer.Option(None, "--parser", help="embedded | transformers | openai (default: "
                                         "transformers when the models config names an llm, else embedded)"),
    llm_model_dir: Optional[Path] = typer.Option(None, "--llm-model-dir", help="Local chat model folder (--parser transformers)."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible base URL (--parser openai)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name at --llm-url."),
    texture_size: int = _request_option("texture_size", "--texture-size", help="Skin texture size in pixels (4096: ~4 GB RAM)."),
    hair_detail: float = _request_option("hair_detail", "--hair-detail", help="Share of the full strand count: drafts grow and write faster."),
    anny_cache: Optional[Path] = typer.Option(None, "--anny-cache", envvar="MACH_ANNY_CACHE", help="anny template cache folder."),
    asset_library: Optional[list[Path]] = LibraryOption,
    asset_encoder: str = typer.Option("minilm", "--asset-encoder", help="minilm (shipped) | clip (local weights: --clip-model-dir)."),
    clip_model_dir: Optional[Path] = typer.Option(None, "--clip-model-dir", help="Local CLIP text tower (Hugging Face layout) for --asset-encoder clip."),
    image: Optional[Path] = typer.Option(None, "--image", help="A frontal portrait (JPEG/PNG): the head is fitted to it, the prompt makes the rest."),
    largest_face: bool = typer.Option(False, "--largest-face", help="With several faces in --image, fit the largest instead of refusing."),
    delighter_dir: Optional[Path] = typer.Option(None, "--delighter-dir", help="A learned delighter for --image (config.json + model.pt) instead of the SH one."),
    models: Optional[Path] = ModelsOption,
    portrait: Optional[bool] = typer.Option(None, "--portrait/--no-portrait", help="Paint a reference portrait from "
                                            "the text with the models config's Stable Diffusion + ControlNets and fit "
                                            "the head to it (default: whenever they are configured and no --image)."),
) -> None:
    """Generate a character package from a prompt, or from a portrait and a prompt."""
    from machcreator.core.models import load_models_config
    from machcreator.export.package import check_output_dir
    from machcreator.pipeline import Pipeline

    # every input check happens before any slow work, so bad input costs nothing
    model_config = load_models_config(models)
    parser = parser or ("transformers" if model_config.llm is not None else "embedded")
    request = GenerateRequest.from_user(
        prompt=_read_prompt(prompt, prompt_file), seed=seed, overrides=list(set_ or []), parser=parser,
        parser_options=_parser_options(parser, llm_model_dir, llm_url, llm_model, model_config), texture_size=texture_size,
        hair_detail=hair_detail, asset_libraries=[str(p) for p in asset_library or []], asset_encoder=asset_encoder,
        asset_encoder_options={"model_dir": str(clip_model_dir)} if clip_model_dir else {},
        photo=str(image.expanduser().absolute()) if image is not None else None, photo_largest_face=largest_face,
        delighter_dir=str(delighter_dir.expanduser().absolute()) if delighter_dir is not None else None,
        portrait=portrait,
    )
    check_output_dir(output, force)
    if image is not None:
        from machcreator.photo.image import load_photo

        load_photo(image)  # a corrupt or hostile file is refused here, before any slow work
    with _progress_reporter() as progress:
        pipe = Pipeline(progress=progress, anny_cache_dir=str(anny_cache) if anny_cache else None, models=model_config)
        result = pipe(request)
        manifest = pipe.write(result, output, force=force)
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if result.unknown_words:
        err_console.print(f"[yellow]not understood:[/] {', '.join(result.unknown_words)}", highlight=False, soft_wrap=True)
    total = sum(manifest.timings_s.values())
    out_console.print(f"[green]Wrote[/] {output} ({len(manifest.files)} files, stages {total:.1f} s)")


@app.command()
def attributes(
    prompt: Optional[str] = typer.Argument(None, help="Prompt to parse."),
    set_: Optional[list[str]] = SetOption,
    seed: Optional[int] = _request_option("seed", "--seed", default=None, help="Also fill unspecified fields from this seed."),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="Read the prompt from a UTF-8 text file."),
    fields: bool = typer.Option(False, "--fields", help="List every attribute path and exit."),
    editor_fields: bool = typer.Option(False, "--editor-fields",
                                       help="Print every attribute as an editor field (JSON, what the Unreal panel shows) and exit."),
) -> None:
    """Print the attributes a prompt specifies, as JSON (with --seed: every attribute)."""
    from machcreator.attributes import Attributes, apply_overrides, editor_fields as fields_for_editor, literal_values, resolve
    from machcreator.parsing import get_parser

    if editor_fields:
        sys.stdout.write(json.dumps(fields_for_editor(), indent=1) + "\n")
        return
    if fields:
        for path in Attributes.field_paths():
            words = literal_values(path)
            out_console.print(f"{path}" + (f"  ({' | '.join(words)})" if words else ""), highlight=False)
        return
    request = GenerateRequest.from_user(prompt=_read_prompt(prompt, prompt_file), overrides=list(set_ or []))
    if request.prompt:
        parsed = get_parser("embedded").parse(request.prompt)
        attrs, unknown, warnings = parsed.attributes, parsed.unknown_words, parsed.warnings
    else:
        attrs, unknown, warnings = Attributes(), [], []
    attrs = apply_overrides(attrs, request.overrides)
    out = {
        "attributes": (resolve(attrs, seed) if seed is not None else attrs).model_dump(mode="json", exclude_none=seed is None),
        "unknown_words": list(unknown),
        "warnings": list(warnings),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


@app.command()
def compare(
    prompt: str = typer.Argument("", help="The prompt every cell shares."),
    output: Path = typer.Option(..., "-o", "--output", help="The contact sheet, a PNG."),
    columns: str = typer.Option(..., "--columns", help="PATH=V1,V2,... across (e.g. body.age_years=6,30,60 or seed=0,1,2)."),
    rows: Optional[str] = typer.Option(None, "--rows", help="PATH=V1,V2,... down (e.g. body.gender=female,male)."),
    set_: Optional[list[str]] = SetOption,
    seed: int = _request_option("seed", "--seed"),
    view: str = typer.Option("head", "--view", help="head, three_quarter, body or back."),
    # a cell is a preview; a sheet holds many, so they stay at most 1024 pixels
    cell_px: int = _request_option("preview_size", "--cell", default=256, max=1024, help="Cell size, pixels."),
    texture_size: int = _request_option("texture_size", "--texture-size", default=1024),
    hair_detail: float = _request_option("hair_detail", "--hair-detail", default=0.3),
    force: bool = typer.Option(False, "--force", help="Replace an existing PNG."),
) -> None:
    """Render a prompt across seeds or an attribute sweep into one labelled PNG, to judge side by side."""
    from PIL import Image

    from machcreator.compare import Axis, contact_sheet
    from machcreator.pipeline import Pipeline

    if output.exists() and not force:
        _fail(f"{output} exists; pass --force to replace it")
    try:
        col_axis, row_axis = Axis.parse(columns), Axis.parse(rows) if rows else None
    except ValueError as exc:
        _fail(str(exc))
    # an empty prompt and no --set: a sheet of random characters
    base = GenerateRequest(prompt=prompt, seed=seed, overrides=list(set_ or []), texture_size=texture_size,
                           preview_size=cell_px, hair_detail=hair_detail)
    cells = len(col_axis.values) * (len(row_axis.values) if row_axis else 1)
    with Progress(TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("contact sheet", total=cells)
        sheet = contact_sheet(Pipeline(), base, col_axis, row_axis, view=view,
                              progress=lambda done, total, label: bar.update(task, completed=done, description=label))
    output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(output)
    out_console.print(f"Wrote {output} ({cells} characters, {sheet.shape[1]}x{sheet.shape[0]} px)", highlight=False)


@app.command()
def validate(
    package: Path = typer.Argument(..., help="Package folder to check."),
    no_gltf_validator: bool = typer.Option(False, "--no-gltf-validator", help="Skip the Khronos glTF validator (needs Node.js)."),
) -> None:
    """Check a character package: manifest, paths, checksums, images, glTF validity."""
    from machcreator.export.package import validate_package

    issues = validate_package(package, gltf_validator=not no_gltf_validator)
    for i in issues:
        colour = "red" if i.severity == "error" else "yellow"
        out_console.print(f"[{colour}]{i.severity}[/] {i.path}: {i.message}", highlight=False, soft_wrap=True)
    errors = sum(i.severity == "error" for i in issues)
    if errors:
        err_console.print(f"[red]invalid:[/] {errors} error(s)")
        raise typer.Exit(1)
    out_console.print(f"[green]valid[/] {package}")


@app.command()
def export(
    package: Path = typer.Argument(..., help="Package folder whose glb to export."),
    glb: Path = typer.Option(..., "--glb", help="Self-contained .glb file to write."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write the package's glb as one self-contained file, every texture embedded in it."""
    from machcreator.export.embed import write_embedded_glb

    stats = write_embedded_glb(package, glb, force=force)
    out_console.print(f"[green]Wrote[/] {glb} ({stats.bytes / 1e6:.1f} MB, {stats.images} images embedded)",
                      highlight=False, soft_wrap=True)


hair_app = typer.Typer(no_args_is_help=True, help="The hairstyle library.")
app.add_typer(hair_app, name="hair")


@hair_app.command("list")
def hair_list(as_json: bool = typer.Option(False, "--json", help="Print the styles and their labels as JSON.")) -> None:
    """Every named hairstyle with its labels (type, length, curl, part, bangs, volume, hairline)."""
    from rich.table import Table

    from machcreator.core.hair_styles import STYLES

    if as_json:
        sys.stdout.write(json.dumps({s.name: s.labels() | {"aliases": list(s.aliases)} for s in STYLES.values()}, indent=2) + "\n")
        return
    table = Table(title=f"{len(STYLES)} hairstyles (use --set hair.style=NAME, or say it in the prompt)")
    for column in ("name", "type", "length cm", "curl", "part", "bangs", "volume", "hairline", "gather", "words"):
        table.add_column(column, no_wrap=column != "words")
    for s in STYLES.values():
        table.add_row(s.name, s.type, f"{s.length_cm:g}", f"{s.curl:g}", s.part, s.bangs, f"{s.volume:g}", s.hairline,
                      s.gather, ", ".join(s.aliases[:3]))
    Console(width=max(out_console.width, 160)).print(table)  # every label on one row, even in a pipe


models_app = typer.Typer(no_args_is_help=True, help="The local weights of the portrait stage (models.toml).")
app.add_typer(models_app, name="models")


@models_app.command("check")
def models_check(
    models: Optional[Path] = ModelsOption,
    no_load: bool = typer.Option(False, "--no-load", help="Check configs and checkpoint headers only; load nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """For each configured model: found, loadable, architecture, device, dtype, VRAM estimate; one line per
    problem. Exits 1 when there is a problem."""
    from machcreator.core.errors import ModelConfigError
    from machcreator.core.models import load_models_config, user_config_file

    try:
        config = load_models_config(models)
    except ModelConfigError as exc:
        _report_model_checks(None, [], [str(exc)], as_json)
        raise typer.Exit(1)
    if not config.model_paths():
        where = config.source or f"{user_config_file()} (absent)"
        _report_model_checks(config, [], [], as_json, note=f"No models configured in {where}: the embedded CPU path is "
                             "used (no portrait stage, the embedded parser).")
        return
    from machcreator.portrait.models import check_models

    checks = check_models(config, load=not no_load)
    problems = [f"{c.name}: {c.problem}" if not c.problem.startswith(c.name) else c.problem
                for c in checks if c.problem]
    _report_model_checks(config, checks, problems, as_json)
    if problems:
        raise typer.Exit(1)


def _report_model_checks(config: Any, checks: list, problems: list[str], as_json: bool, note: str = "") -> None:
    """`mach models check`'s output: a JSON object, or a table, the problem lines and a summary line."""
    device = (config.resolved_device(), config.resolved_dtype()) if config is not None else (None, None)
    if as_json:
        sys.stdout.write(json.dumps({
            "source": str(config.source) if config is not None and config.source else None,
            "portrait_configured": bool(config is not None and config.portrait_configured),
            "device": device[0], "dtype": device[1], "models": [c.to_dict() for c in checks],
            "problems": problems, "note": note or None}, indent=2) + "\n")
        return
    if checks:
        from rich.table import Table

        def mark(value: Optional[bool]) -> str:
            return {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[value]

        table = Table(title=f"models ({config.source or 'env and flags'})")
        for column in ("model", "path", "found", "loadable", "arch", "device", "dtype", "VRAM GB"):
            table.add_column(column, no_wrap=column != "path", overflow="fold")
        for c in checks:
            table.add_row(c.name, str(c.path or "-"), mark(c.found), mark(c.loadable), c.arch or "-", c.device, c.dtype,
                          f"{c.vram_gb:.2f}" if c.vram_gb is not None else "-")
        Console(width=max(out_console.width, 140)).print(table)
    for line in problems:
        out_console.print(f"[red]problem:[/] {line}", highlight=False, soft_wrap=True)
    if note:
        out_console.print(note, highlight=False, soft_wrap=True)
    elif checks and not problems:
        stage = sum(c.vram_gb or 0 for c in checks if c.name not in ("llm", "base_config", "face_landmarker"))
        ready = "portrait stage ready" if config.portrait_configured else "no portrait stage (base and both ControlNets needed)"
        out_console.print(f"[green]ok[/] {ready} on {device[0]} ({device[1]}), about {stage:.1f} GB for the portrait "
                          "models", highlight=False)


@app.command()
def bench(
    prompts: Optional[list[str]] = typer.Argument(None, help="Prompts to time (default: a built-in set)."),
    runs: int = typer.Option(2, "--runs", min=1, max=20, help="Warm runs per prompt."),
    texture_size: int = _request_option("texture_size", "--texture-size"),
    hair: bool = typer.Option(True, "--hair/--no-hair", help="Also time the hair stage alone per style."),
    raster: bool = typer.Option(True, "--raster/--no-raster", help="Also time the differentiable rasteriser."),
    photo_geometry: int = typer.Option(0, "--photo-geometry", min=0, max=1000, help="Instead: the photo path's head "
                                       "geometry on N known rendered heads (NoW-style error, mm); 0 = skip."),
    photo: Optional[Path] = typer.Option(None, "--photo", help="Time photo → package: this portrait with each prompt."),
) -> None:
    """Time every stage and measure peak RAM, cold (fresh process) and warm."""
    from machcreator.bench import run_bench

    if photo_geometry > 0:
        from machcreator.bench import run_photo_geometry_bench

        run_photo_geometry_bench(out_console, photo_geometry)
        return
    if photo is not None:
        from machcreator.photo.image import load_photo

        load_photo(photo)  # a bad photo is one clear line, not a worker's traceback
    run_bench(prompts or None, runs=runs, texture_size=texture_size, console=out_console, hair=hair, raster=raster,
              photo=str(photo.expanduser().absolute()) if photo else None)


@app.command("bench-service")
def bench_service(
    workers: int = typer.Option(1, "--workers", min=1, max=16),
    batch: int = typer.Option(4, "--batch", min=1, max=100, help="Random characters for the jobs-per-minute figure."),
    rss_jobs: int = typer.Option(200, "--rss-jobs", min=2, max=10_000, help="Small jobs before reading the server's RSS."),
) -> None:
    """Time `mach serve` from a client: first event, warm prompt and edit to fetched package, MB/s, jobs/min, RSS."""
    from machcreator.bench import run_service_bench

    run_service_bench(out_console, workers=workers, batch=batch, rss_jobs=rss_jobs)


@app.command("bench-soak")
def bench_soak(
    clients: int = typer.Option(50, "--clients", min=1, max=500, help="Simulated users, one thread each."),
    jobs: int = typer.Option(4, "--jobs", min=1, max=64, help="Characters each client queues."),
    workers: int = typer.Option(2, "--workers", min=1, max=16),
    seed: int = typer.Option(0, "--seed", help="Seeds prompts, cancels, edits and worker kills."),
    kill_every: tuple[float, float] = typer.Option((20.0, 30.0), "--kill-every", help="SIGKILL a busy worker after a "
                                                   "pause drawn from this range (s)."),
    deadline_min: float = typer.Option(120.0, "--deadline-min", min=1.0, help="Clients stop waiting after this "
                                       "long; jobs not ended by then count as lost (minutes)."),
    keep: Optional[Path] = typer.Option(None, "--keep", help="Copy the server's logs and jobs.sqlite here."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the result here as JSON."),
) -> None:
    """Soak `mach serve`: many clients with random cancels, edits, worker kills and one restart; counts lost and
    duplicated jobs (both must be 0), the longest job, status latency while busy."""
    from machcreator.soak import SoakConfig, run_soak

    result = run_soak(SoakConfig(clients=clients, jobs=jobs, workers=workers, seed=seed, kill_every_s=kill_every,
                                 deadline_s=deadline_min * 60, keep=keep), out_console)
    if out is not None:
        out.write_text(json.dumps(result, indent=2) + "\n")
    if result["lost"] or result["duplicated"]:
        raise typer.Exit(1)


@app.command()
def serve(
    bind: str = typer.Option("tcp://127.0.0.1:5555", "--bind", help="Address for clients; beyond loopback needs --keys."),
    data: Optional[Path] = typer.Option(None, "--data", help="Job queue, packages and logs (default: "
                                        "~/.local/share/machcreator/serve; on Windows %LOCALAPPDATA%\\MachCreator\\serve)."),
    workers: int = typer.Option(1, "--workers", min=1, max=16, help="Worker processes, each a warm pipeline (~2-3 GB RAM)."),
    keys: Optional[Path] = typer.Option(None, "--keys", help="CurveZMQ key folder from `mach keys generate`."),
    retention_hours: float = typer.Option(24.0, "--retention-hours", min=0.0, help="Keep finished packages this long."),
    max_jobs_per_client: int = typer.Option(64, "--max-jobs-per-client", min=1, max=10_000),
    max_queued_jobs: int = typer.Option(1000, "--max-queued-jobs", min=1, max=1_000_000,
                                        help="Queued jobs of all clients together."),
    job_timeout: float = typer.Option(1800.0, "--job-timeout", min=1.0, help="Seconds a job may run before its "
                                      "worker is killed and the job retried once, then failed."),
    stage_timeout: float = typer.Option(600.0, "--stage-timeout", min=1.0, help="Seconds one stage may run (the same)."),
    heartbeat_timeout: float = typer.Option(20.0, "--heartbeat-timeout", min=2.0,
                                            help="Seconds of silence after which a worker counts as hung."),
    cancel_grace: float = typer.Option(15.0, "--cancel-grace", min=0.0, help="Seconds a cancelled job may take to "
                                       "reach its next stage boundary before its worker is killed."),
    llm_model_dir: Optional[Path] = typer.Option(None, "--llm-model-dir", help="Also offer parser 'transformers' (a local chat model)."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="Also offer parser 'openai' at this URL (with --llm-model)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model"),
    anny_cache: Optional[Path] = typer.Option(None, "--anny-cache", envvar="MACH_ANNY_CACHE", help="anny template cache folder."),
    models: Optional[Path] = ModelsOption,
) -> None:
    """Run the backend service: a ZeroMQ job server with warm worker processes (docs/protocol.md)."""
    from machcreator.service import portable
    from machcreator.service.config import ServerConfig
    from machcreator.service.server import serve as run_server

    # a log on a Windows code page must not end the server over a character it cannot encode
    if hasattr(sys.stderr, "reconfigure"):
        sys.stderr.reconfigure(errors="backslashreplace")
    portable.use_spawn()
    if os.name == "posix":
        os.umask(0o077)  # the queue, photos, packages and logs are this user's alone (workers inherit it)
    data = (data or portable.default_data_dir()).expanduser()

    from machcreator.core.models import load_models_config

    model_config = load_models_config(models)  # a broken config stops the start with its one line
    parsers: dict[str, dict] = {"embedded": {}}
    if llm_model_dir is not None or model_config.llm is not None:
        parsers["transformers"] = _parser_options("transformers", llm_model_dir, None, None, model_config)
    if llm_url is not None or llm_model is not None:
        parsers["openai"] = _parser_options("openai", None, llm_url, llm_model)
    config = ServerConfig(data_dir=data, bind=bind, workers=workers, keys_dir=keys,
                          retention_hours=retention_hours, max_jobs_per_client=max_jobs_per_client,
                          max_queued_jobs=max_queued_jobs, job_timeout_s=job_timeout, stage_timeout_s=stage_timeout,
                          heartbeat_timeout_s=heartbeat_timeout, cancel_grace_s=cancel_grace, parsers=parsers,
                          anny_cache=str(anny_cache) if anny_cache else None,
                          models_path=models.expanduser().absolute() if models is not None else None)
    run_server(config, log_stream=sys.stderr,
               ready=lambda server: err_console.print(f"serving on {server.endpoint} (data {server.data})", highlight=False))


keys_app = typer.Typer(no_args_is_help=True, help="CurveZMQ keys for `mach serve --keys` beyond loopback.")
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate(
    folder: Path = typer.Argument(..., help="Key folder (created; the server pair is made once)."),
    client_name: str = typer.Option("client", "--client", help="Name of the client key pair to make and authorise."),
    admin: bool = typer.Option(False, "--admin", help="This client is an admin: may shut the server down and see "
                               "every client's jobs."),
) -> None:
    """Make the server's key pair (once) and an authorised key pair for one client."""
    from machcreator.service.keys import generate_keys

    for path in generate_keys(folder, client_name, admin=admin):
        out_console.print(str(path), highlight=False)
    out_console.print(f"[green]give the client[/] {folder}/server.key and {folder}/clients/{client_name}.key_secret",
                      highlight=False)


client_app = typer.Typer(no_args_is_help=True, help="Talk to a running `mach serve`.")
app.add_typer(client_app, name="client")
EndpointOption = typer.Option("tcp://127.0.0.1:5555", "--endpoint", envvar="MACH_ENDPOINT", help="The server's address.")
ServerKeyOption = typer.Option(None, "--server-key", envvar="MACH_SERVER_KEY", help="The server's public key file (CURVE).")
ClientKeyOption = typer.Option(None, "--client-key", envvar="MACH_CLIENT_KEY", help="This client's .key_secret file (CURVE).")


@contextlib.contextmanager
def _client(endpoint: str, server_key: Optional[Path], client_key: Optional[Path]) -> Iterator["Client"]:
    from machcreator.client import BackendError, Client

    try:
        with Client(endpoint, server_key=server_key, client_key=client_key) as client:
            yield client
    except BackendError as exc:
        raise MachError(str(exc)) from None


def _follow_and_fetch(client: "Client", job_id: str, output: Optional[Path]) -> None:
    """Show a job's progress until it ends, then download it to ``output``."""
    from machcreator.client import JobFailed

    with _progress_reporter() as progress:
        def on_event(e: dict) -> None:
            if e["event"] in ("stage_started", "stage_progress"):
                progress(e["stage"], e["fraction"], e["message"])

        job = client.wait(job_id, on_event=on_event)
    if job["state"] != "done":
        raise JobFailed(job)
    if output is not None:
        client.fetch(job_id, output)
        out_console.print(f"[green]Wrote[/] {output} (job {job_id})", highlight=False)


@client_app.command("generate")
def client_generate(
    prompt: Optional[str] = typer.Argument(None, help="Describe the character."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Download the package here when done."),
    seed: int = _request_option("seed", "--seed"),
    set_: Optional[list[str]] = SetOption,
    texture_size: int = _request_option("texture_size", "--texture-size"),
    hair_detail: float = _request_option("hair_detail", "--hair-detail"),
    preview_size: int = _request_option("preview_size", "--preview-size", help="Size of preview.png's views in pixels."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Print the job id and return at once."),
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """Queue a character on the server, follow its progress, download the package."""
    if output is not None:
        from machcreator.export.package import check_output_dir

        check_output_dir(output, force=False)
    with _client(endpoint, server_key, client_key) as client:
        job_id = client.generate(prompt or "", seed=seed, overrides=list(set_ or []), texture_size=texture_size,
                                 hair_detail=hair_detail, preview_size=preview_size)
        out_console.print(job_id, highlight=False)
        if not no_wait:
            _follow_and_fetch(client, job_id, output)


@client_app.command("edit")
def client_edit(
    job_id: str = typer.Argument(..., help="A done job."),
    set_: list[str] = typer.Option(..., "--set", help="Attribute to change, e.g. --set hair.color=red (repeatable)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output"),
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """Change attributes of a finished job: a new job re-runs only the stages the change touches."""
    with _client(endpoint, server_key, client_key) as client:
        new_id = client.edit(job_id, set_)
        out_console.print(new_id, highlight=False)
        _follow_and_fetch(client, new_id, output)


@client_app.command("status")
def client_status(
    job_id: Optional[str] = typer.Argument(None, help="A job id (default: the server's queue and workers)."),
    as_json: bool = typer.Option(False, "--json"),
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """A job's state, or the server's queue and workers."""
    from rich.table import Table

    with _client(endpoint, server_key, client_key) as client:
        status = client.status(job_id)
        # an admin sees every client's recent jobs; anyone else their own
        jobs = [] if job_id else client.jobs(mine=not client.hello()["admin"], limit=20)
    if as_json:
        sys.stdout.write(json.dumps({k: v for k, v in status.items() if k in ("job", "server")} | ({"jobs": jobs} if jobs else {}),
                                    indent=2) + "\n")
        return
    if job_id:
        j = status["job"]
        out_console.print(f"{j['job_id']} {j['state']} stage={j['stage']} {j['fraction']:.0%} attempts={j['attempts']}"
                          + (f" error: {j['error']}" if j["error"] else ""), highlight=False)
        return
    s = status["server"]
    out_console.print(f"MachCreator {s['version']} at {s['endpoint']}, up {s['uptime_s']:.0f} s, {s['rss_mb']:.0f} MB; "
                      f"jobs: {', '.join(f'{k} {v}' for k, v in sorted(s['counts'].items())) or 'none'}", highlight=False)
    workers = Table(title="workers")
    for column in ("name", "pid", "state", "job", "RSS MB", "jobs done"):
        workers.add_column(column)
    for w in s["workers"]:
        workers.add_row(w["name"], str(w["pid"]), w["state"], w["job_id"] or "", f"{w['rss_mb']:.0f}", str(w["jobs_done"]))
    out_console.print(workers)
    recent = Table(title="recent jobs")
    for column in ("job", "state", "stage", "progress", "prompt"):
        recent.add_column(column)
    for j in jobs:
        recent.add_row(j["job_id"], j["state"], j["stage"] or "", f"{j['fraction']:.0%}", j["request"]["prompt"][:50])
    out_console.print(recent)


@client_app.command("fetch")
def client_fetch(
    job_id: str = typer.Argument(...),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to download into (resumes a broken download)."),
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """Download a done job's package, checking every file's sha256."""
    with _client(endpoint, server_key, client_key) as client:
        client.fetch(job_id, output)
    out_console.print(f"[green]Wrote[/] {output}", highlight=False)


@client_app.command("cancel")
def client_cancel(
    job_id: str = typer.Argument(...),
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """Cancel a queued or running job (a running one stops at its next stage)."""
    with _client(endpoint, server_key, client_key) as client:
        out_console.print(f"{job_id} {client.cancel(job_id)}", highlight=False)


@client_app.command("shutdown")
def client_shutdown(
    endpoint: str = EndpointOption, server_key: Optional[Path] = ServerKeyOption, client_key: Optional[Path] = ClientKeyOption,
) -> None:
    """Stop the server; running jobs go back to the queue and run when it starts again."""
    with _client(endpoint, server_key, client_key) as client:
        client.shutdown()
    out_console.print("server stopping", highlight=False)


assets_app = typer.Typer(no_args_is_help=True, help="The asset library: garments, glasses, headwear, shoes, accessories.")
app.add_typer(assets_app, name="assets")


@assets_app.command("list")
def assets_list(
    category: Optional[str] = typer.Option(None, "--category", help="Only this category (top, bottom, dress, outerwear, shoes, glasses, headwear, accessory)."),
    asset_library: Optional[list[Path]] = LibraryOption,
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
) -> None:
    """Every asset of the built-in library and the user libraries, with its tags and licence."""
    from rich.table import Table

    from machcreator.assets.library import CATEGORIES, library_paths, load_libraries

    if category is not None and category not in CATEGORIES:
        raise MachError(f"unknown category {category!r}; choose one of: {', '.join(CATEGORIES)}")
    library, problems = load_libraries(library_paths([str(p) for p in asset_library or []]))
    for problem in problems:
        err_console.print(f"[yellow]warning:[/] skipped library: {problem.message}", highlight=False, soft_wrap=True)
    assets = [a for a in library.assets if category is None or a.entry.category == category]
    if as_json:
        sys.stdout.write(json.dumps([a.entry.model_dump(mode="json", exclude_none=True) | {"id": a.id, "library": a.library}
                                     for a in assets], indent=1) + "\n")
        return
    table = Table(title=f"{len(assets)} assets")
    for column in ("id", "category", "tags", "library", "licence"):
        table.add_column(column, no_wrap=column != "tags")
    for a in assets:
        table.add_row(a.id, a.entry.category, ", ".join(a.entry.tags[:6]), a.library, a.entry.licence)
    Console(width=max(out_console.width, 140)).print(table)


@assets_app.command("add")
def assets_add(
    file: Optional[Path] = typer.Argument(None, help="A self-contained .glb authored on the reference body."),
    library: Path = typer.Option(..., "--library", help="The library folder (created when missing)."),
    category: str = typer.Option(..., "--category", help="top, bottom, dress, outerwear, shoes, glasses, headwear or accessory."),
    tags: str = typer.Option(..., "--tags", help='Comma-separated words text matching reads, e.g. "flannel,plaid,lumberjack".'),
    asset_id: Optional[str] = typer.Option(None, "--id", help="Asset id (default: from the file name)."),
    description: str = typer.Option("", "--description", help="One sentence describing the asset."),
    licence: str = typer.Option("proprietary", "--licence", help="SPDX id (e.g. CC-BY-4.0) or licence text."),
    unreal_asset: Optional[str] = typer.Option(None, "--unreal-asset", help="An Unreal object path (/Game/...) to reference instead of, or besides, a file."),
) -> None:
    """Add a glb (or an Unreal asset reference) to a library; a bad file changes nothing."""
    from machcreator.assets.authoring import add_asset, entry_from_options

    entry = entry_from_options(category, tags, asset_id, file, description, licence, unreal_asset)
    manifest = add_asset(library, entry, file)
    out_console.print(f"[green]Added[/] {entry.id} ({entry.category}) to {manifest}", highlight=False, soft_wrap=True)


@assets_app.command("reference-body")
def assets_reference_body(
    output: Path = typer.Option(..., "-o", "--output", help="The .glb to write (glTF Y-up, metres)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write the reference body user garments are modelled on (fitted to every generated body)."""
    from machcreator.assets.user_mesh import REFERENCE_OVERRIDES, write_reference_glb

    if output.exists() and not force:
        raise MachError(f"{output} exists; pass --force to replace it")
    output.parent.mkdir(parents=True, exist_ok=True)
    write_reference_glb(output)
    out_console.print(f"Wrote {output} ({', '.join(REFERENCE_OVERRIDES)}, seed 0)", highlight=False, soft_wrap=True)


unreal_app = typer.Typer(no_args_is_help=True, help="The Unreal Editor plugin.")
app.add_typer(unreal_app, name="unreal")


@unreal_app.command("install")
def unreal_install(
    project: Path = typer.Argument(..., help="The project's .uproject file (or its folder)."),
    force: bool = typer.Option(False, "--force", help="Replace an installed MachCreator plugin."),
    vendor_pyzmq: Optional[list[str]] = typer.Option(
        None, "--vendor-pyzmq", help="Also put pyzmq inside the plugin for this platform (Win64, Mac, Linux; "
                                     "repeatable), for editors that cannot pip install."),
) -> None:
    """Copy the MachCreator plugin (menu, editor scripts, backend client) into an Unreal project."""
    from machcreator.plugin_install import InstallError, install

    try:
        result = install(project, force=force, vendor_platforms=list(vendor_pyzmq or []))
    except InstallError as exc:
        _fail(str(exc))
    vendored = f", pyzmq vendored for {', '.join(result.vendored)}" if result.vendored else ""
    out_console.print(f"Installed MachCreator into {result.plugin_dir} ({result.files} files{vendored}). "
                      "Restart the editor; the MachCreator menu is in the main menu bar.", highlight=False)
    if result.leftover is not None:
        err_console.print(f"[yellow]warning:[/] part of the replaced plugin is still in use and was left in "
                          f"{result.leftover}; delete it once the editor is closed", highlight=False, soft_wrap=True)


def main() -> None:
    from pydantic import ValidationError

    from machcreator.pipeline.request import refusal

    try:
        code = app(standalone_mode=False)  # errors come back here, to be reported as one line
    except MachError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        if exc.title != GenerateRequest.__name__:
            raise  # another model refusing is a bug, with its traceback
        _fail(refusal(exc).message)  # a refused request: the model's own one line
    except Exception as exc:
        # click's usage errors (bad option values, missing arguments): typer vendors click in
        # recent versions, so they are recognised by their interface rather than their class
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(0)  # `mach` alone has printed the help
        command = getattr(getattr(exc, "ctx", None), "command_path", "mach")
        _fail(f"{exc.format_message()} (see {command} --help)", exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, however long
    sys.exit(code)


if __name__ == "__main__":
    main()
