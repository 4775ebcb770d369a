"""`mach`: the command line. Every user error is one red line and a non-zero exit, nothing written."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from machcreator.errors import MachError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MachCreator: text → 3D character package.")
err_console = Console(stderr=True)
out_console = Console()

SetOption = typer.Option(None, "--set", help="Override an attribute, e.g. --set hair.color=blonde (repeatable).")


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


def _parser_options(parser: str, llm_model_dir: Optional[Path], llm_url: Optional[str], llm_model: Optional[str]) -> dict:
    if parser == "transformers":
        if llm_model_dir is None:
            raise MachError("--parser transformers needs --llm-model-dir DIR (a local chat model folder)")
        if not llm_model_dir.is_dir():
            raise MachError(f"--llm-model-dir {llm_model_dir} is not a folder")
        return {"model_dir": str(llm_model_dir)}
    if parser == "openai":
        if not llm_url or not llm_model:
            raise MachError("--parser openai needs --llm-url URL and --llm-model NAME")
        return {"base_url": llm_url, "model": llm_model}
    if parser != "embedded":
        raise MachError(f"unknown parser {parser!r}; choose embedded, transformers or openai")
    return {}


@contextlib.contextmanager
def _progress_reporter() -> Iterator[Callable[[str, float, str], None]]:
    """A ``progress(stage, fraction, message)`` callback: a live bar on a terminal, otherwise one
    line per stage (logs, pipes and editor subprocesses see every step)."""
    if not err_console.is_terminal:
        seen: set[str] = set()

        def log(stage: str, fraction: float, message: str) -> None:
            if stage not in seen:
                seen.add(stage)
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
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Draws every unspecified attribute."),
    set_: Optional[list[str]] = SetOption,
    force: bool = typer.Option(False, "--force", help="Replace a non-empty output folder."),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="Read the prompt from a UTF-8 text file."),
    parser: str = typer.Option("embedded", "--parser", help="embedded | transformers | openai"),
    llm_model_dir: Optional[Path] = typer.Option(None, "--llm-model-dir", help="Local chat model folder (--parser transformers)."),
    llm_url: Optional[str] = typer.Option(None, "--llm-url", help="OpenAI-compatible base URL (--parser openai)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name at --llm-url."),
    texture_size: int = typer.Option(2048, "--texture-size", min=64, max=4096, help="Skin texture size in pixels (4096: ~4 GB RAM)."),
    hair_detail: float = typer.Option(1.0, "--hair-detail", min=0.05, max=1.0, help="Share of the full strand count (0.05..1): drafts grow and write faster."),
    anny_cache: Optional[Path] = typer.Option(None, "--anny-cache", envvar="MACH_ANNY_CACHE", help="anny template cache folder."),
) -> None:
    """Generate a character package from a prompt."""
    from machcreator.attributes import Attributes, apply_overrides
    from machcreator.export.package import check_output_dir, write_package
    from machcreator.parsing import check_prompt
    from machcreator.pipeline import GenerateRequest, Pipeline

    overrides = list(set_ or [])
    # every input check happens before any slow work, so bad input costs nothing
    text = _read_prompt(prompt, prompt_file)
    clean = check_prompt(text) if (text or not overrides) else ""
    apply_overrides(Attributes(), overrides)
    check_output_dir(output, force)
    request = GenerateRequest(
        prompt=clean, seed=seed, overrides=overrides, parser=parser,
        parser_options=_parser_options(parser, llm_model_dir, llm_url, llm_model), texture_size=texture_size,
        hair_detail=hair_detail,
    )
    with _progress_reporter() as progress:
        # the pipeline's stages fill the first 95 %, writing the package the rest
        pipe = Pipeline(progress=lambda stage, fraction, message: progress(stage, 0.95 * fraction, message),
                        anny_cache_dir=str(anny_cache) if anny_cache else None)
        result = pipe(request)
        progress("write", 0.95, "Writing the package")
        manifest = write_package(result, output, force=force)
        progress("written", 1.0, "Done")
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
    seed: Optional[int] = typer.Option(None, "--seed", min=0, max=2**32 - 1, help="Also fill unspecified fields from this seed."),
    prompt_file: Optional[Path] = typer.Option(None, "--prompt-file", help="Read the prompt from a UTF-8 text file."),
    fields: bool = typer.Option(False, "--fields", help="List every attribute path and exit."),
) -> None:
    """Print the attributes a prompt specifies, as JSON (with --seed: every attribute)."""
    from machcreator.attributes import Attributes, apply_overrides, literal_values, resolve
    from machcreator.parsing import check_prompt, get_parser

    if fields:
        for path in Attributes.field_paths():
            words = literal_values(path)
            out_console.print(f"{path}" + (f"  ({' | '.join(words)})" if words else ""), highlight=False)
        return
    overrides = list(set_ or [])
    text = _read_prompt(prompt, prompt_file)
    apply_overrides(Attributes(), overrides)
    if text or not overrides:
        parsed = get_parser("embedded").parse(check_prompt(text))
        attrs, unknown, warnings = parsed.attributes, parsed.unknown_words, parsed.warnings
    else:
        attrs, unknown, warnings = Attributes(), [], []
    attrs = apply_overrides(attrs, overrides)
    out = {
        "attributes": (resolve(attrs, seed) if seed is not None else attrs).model_dump(mode="json", exclude_none=seed is None),
        "unknown_words": list(unknown),
        "warnings": list(warnings),
    }
    sys.stdout.write(json.dumps(out, indent=2) + "\n")


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


hair_app = typer.Typer(no_args_is_help=True, help="The hairstyle library.")
app.add_typer(hair_app, name="hair")


@hair_app.command("list")
def hair_list(as_json: bool = typer.Option(False, "--json", help="Print the styles and their labels as JSON.")) -> None:
    """Every named hairstyle with its labels (type, length, curl, part, bangs, volume, hairline)."""
    from rich.table import Table

    from machcreator.hair.styles import STYLES

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


@app.command()
def bench(
    prompts: Optional[list[str]] = typer.Argument(None, help="Prompts to time (default: a built-in set)."),
    runs: int = typer.Option(2, "--runs", min=1, max=20, help="Warm runs per prompt."),
    texture_size: int = typer.Option(2048, "--texture-size", min=64, max=4096),
    hair: bool = typer.Option(True, "--hair/--no-hair", help="Also time the hair stage alone per style."),
) -> None:
    """Time every stage and measure peak RAM, cold (fresh process) and warm."""
    from machcreator.bench import run_bench

    run_bench(prompts or None, runs=runs, texture_size=texture_size, console=out_console, hair=hair)


def main() -> None:
    try:
        code = app(standalone_mode=False)  # errors come back here, to be reported as one line
    except MachError as exc:
        _fail(str(exc))
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
