"""MachCreator's self-test for a real editor: import a character package and report, as plain text
to paste into a bug report, what works in this editor and what does not.

Headless, with an exit status (0: passed, non-zero: a check failed)::

    UnrealEditor-Cmd Game.uproject -run=pythonscript -script="<plugin>/Content/Python/ue_scripts/selftest.py C:/chars/selftest"

or in a running editor (the report goes to the Output Log)::

    UnrealEditor-Cmd Game.uproject -ExecutePythonScript="<plugin>/Content/Python/ue_scripts/selftest.py C:/chars/selftest"

The string after the script path is split into ``sys.argv`` (PythonScriptPlugin's
``FPythonScopedArgv``: ``argv[0]`` is the script). A failed check raises at the end, which the
``pythonscript`` commandlet turns into a non-zero exit code ("Python script executed with errors").

Without a package argument the self-test generates a small one with the backend when the editor's
Python has it (``machcreator.pipeline``), else it says how to make one::

    mach generate "a self-test character with short hair and a beard" -o C:/chars/selftest --texture-size 256 --hair-detail 0.05

Checks: engine and platform; every plugin the plugin's descriptor names (found or missing); the
import; each master material (compiled, with the compiler's errors); the ARKit morph targets on the
mesh; the grooms (imported, bound, and whether they follow the morph targets: the skin cache); Live
Link Face (plugins, project setting, and a test wiring of the placed character); the MetaHuman
preconditions. The test character stays in ``/Game/MachCreator/Characters/SelfTest``; the actors it
places for the checks are removed.
"""
from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__" and "ue_scripts" not in sys.modules:  # run as a file: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unreal  # noqa: E402

from ue_scripts import assets, grooms, livelink, materials  # noqa: E402
from ue_scripts.environment import engine_info  # noqa: E402

NAME = "SelfTest"
SUBJECT = "MachCreatorSelfTest"
#: what the generated package asks for: every groom kind, on small maps
PROMPT = "a self-test character with short dark hair, thick eyebrows and a short beard"
GENERATE_HINT = (f'mach generate "{PROMPT}" -o <DIR> --texture-size 256 --hair-detail 0.05, '
                 "then run the self-test again with <DIR> after the script path")

OK, WARN, FAIL, INFO = "ok", "WARN", "FAIL", "info"


@dataclass
class Check:
    section: str
    status: str
    text: str


@dataclass
class SelfTest:
    checks: list[Check] = field(default_factory=list)
    header: list[tuple[str, str]] = field(default_factory=list)

    def add(self, section: str, status: str, text: str) -> None:
        self.checks.append(Check(section, status, text))

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    @property
    def exit_status(self) -> int:
        return 1 if self.failures else 0

    def text(self) -> str:
        lines = ["MachCreator self-test", "=" * 21]
        width = max((len(k) for k, _ in self.header), default=0)
        lines += [f"{k.ljust(width)}  {v}" for k, v in self.header]
        sections: dict[str, list[Check]] = {}  # in the order each first reported
        for check in self.checks:
            sections.setdefault(check.section, []).append(check)
        for section, checks in sections.items():
            lines += ["", f"[{section}]"] + [f"  {c.status.ljust(4)}  {c.text}" for c in checks]
        n_fail, n_warn = len(self.failures), len(self.warnings)
        verdict = "FAIL" if n_fail else "PASS"
        counts = f"{n_fail} failure{'s' * (n_fail != 1)}, {n_warn} warning{'s' * (n_warn != 1)}"
        lines += ["", f"RESULT: {verdict} ({counts}) - exit status {self.exit_status}"]
        return "\n".join(lines) + "\n"


def _error(exc: BaseException) -> str:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return last.replace("\n", " ")


def descriptor_path() -> Path | None:
    """MachCreator.uplugin: beside Content/Python (installed) or under Plugin/ (a clone)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "MachCreator.uplugin" if len(here.parents) > 3 else None,
                      here.parents[1] / "Plugin" / "MachCreator" / "MachCreator.uplugin"):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def check_plugins(test: SelfTest, enabled: frozenset[str]) -> None:
    path = descriptor_path()
    if path is None:
        test.add("plugins", WARN, "MachCreator.uplugin not found beside the scripts: plugin list not checked")
        return
    for entry in json.loads(path.read_text(encoding="utf-8")).get("Plugins", []):
        name, optional = entry["Name"], bool(entry.get("Optional"))
        allowed = entry.get("PlatformAllowList")
        if name in enabled:
            test.add("plugins", OK, f"{name}")
        elif allowed and _ue_platform() not in allowed:
            test.add("plugins", INFO, f"{name}: not on this platform ({', '.join(allowed)} only)")
        elif optional:
            test.add("plugins", INFO, f"{name}: not enabled (optional) - Edit > Plugins, enable it, restart")
        else:
            test.add("plugins", FAIL, f"{name}: MISSING - Edit > Plugins, enable it, restart")


def _ue_platform() -> str:
    return {"win32": "Win64", "darwin": "Mac"}.get(sys.platform, "Linux")


def generated_package(test: SelfTest) -> Path | None:
    """A small package made with the backend in the editor's Python, or None (and how to make one)."""
    try:
        from machcreator.pipeline import GenerateRequest, Pipeline
    except ImportError as exc:
        test.add("package", FAIL, f"no package given and the backend is not in this editor's Python ({_error(exc)}): "
                                  + GENERATE_HINT)
        return None
    out = Path(tempfile.mkdtemp(prefix="machcreator-selftest-")) / "package"
    started = time.monotonic()
    pipe = Pipeline()
    pipe.write(pipe(GenerateRequest(prompt=PROMPT, seed=1, texture_size=256, preview_size=96, hair_detail=0.05)),
               out, force=True)
    test.add("package", OK, f"generated {out} in {time.monotonic() - started:.0f} s")
    return out


def run(package_dir: str | Path | None = None, *, content_root: str = assets.DEFAULT_CONTENT_ROOT,
        subject: str = SUBJECT, place: bool = True) -> SelfTest:
    """Run every check; never raises (a check that breaks is reported as FAIL with its error)."""
    test = SelfTest()
    test.header += [("date", time.strftime("%Y-%m-%d %H:%M:%S %z")),
                    ("platform", f"{platform.platform()} / Python {platform.python_version()}")]
    try:
        info = engine_info()
    except Exception as exc:  # noqa: BLE001 - reported
        test.add("engine", FAIL, f"cannot read the engine version or plugins: {_error(exc)}")
        return test
    test.header.insert(0, ("engine", info.version_string))
    try:
        test.header.append(("project", unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_dir())))
    except Exception:  # noqa: BLE001 - header only
        pass
    from ue_scripts.environment import SUPPORTED_VERSIONS
    test.add("engine", OK if info.major_minor in SUPPORTED_VERSIONS else WARN,
             f"Unreal Engine {info.version[0]}.{info.version[1]}.{info.version[2]}"
             + ("" if info.major_minor in SUPPORTED_VERSIONS else " (MachCreator is made for 5.4-5.7)"))
    check_plugins(test, info.plugins)

    if package_dir is None:
        try:
            package_dir = generated_package(test)
        except Exception as exc:  # noqa: BLE001
            test.add("package", FAIL, f"generating a package failed: {_error(exc)}; " + GENERATE_HINT)
            package_dir = None
    character = None
    if package_dir is not None:
        character = _import(test, Path(package_dir), content_root)
    _check_masters(test, content_root)
    if character is not None:
        _check_morphs(test, character)
        _check_grooms(test, character)
    _check_live_link(test, info, character, subject, place)
    _check_metahuman(test, info)
    return test


def _import(test: SelfTest, package_dir: Path, content_root: str):
    from ue_scripts.import_package import import_character
    started = time.monotonic()
    try:
        character = import_character(package_dir, content_root=content_root, name=NAME)
    except Exception as exc:  # noqa: BLE001
        test.add("import", FAIL, f"{package_dir}: {_error(exc)}")
        return None
    pkg = character.package
    test.add("import", OK, f"{package_dir} -> {character.folder} in {time.monotonic() - started:.1f} s "
                           f"({len(pkg.materials)} material slots, {len(pkg.textures)} textures, "
                           f"{len(pkg.grooms)} grooms)")
    return character


def _check_masters(test: SelfTest, content_root: str) -> None:
    try:
        reports = materials.check_masters(content_root)
    except Exception as exc:  # noqa: BLE001
        test.add("master materials", FAIL, f"cannot check the master materials: {_error(exc)}")
        return
    for kind, report in reports.items():
        status = {True: OK, False: FAIL, None: WARN}[report.compiled]
        test.add("master materials", status, f"{materials.MASTERS[kind].asset} compiled: {report.line()}")


def _check_morphs(test: SelfTest, character) -> None:
    mesh = character.skeletal_mesh
    covered, missing = livelink.arkit_coverage(mesh)
    n = len(covered) + len(missing)
    test.add("morph targets", OK if not missing else FAIL,
             f"{len(covered)} of {n} ARKit morph targets on {mesh.get_name()}"
             + (f" (missing {', '.join(missing[:6])}{'...' if len(missing) > 6 else ''})" if missing else "")
             + f"; {len(mesh.get_all_morph_target_names())} morph targets in all")


def _check_grooms(test: SelfTest, character) -> None:
    if not character.package.grooms:
        test.add("grooms", INFO, "the package has no grooms")
        return
    expected = [g.name for g in character.package.grooms]
    imported = [n for n in expected if n in character.grooms]
    test.add("grooms", OK if len(imported) == len(expected) else FAIL,
             f"{len(imported)} of {len(expected)} imported: {', '.join(imported) or '-'}")
    bound = [n for n, b in character.bindings.items() if b is not None]
    test.add("grooms", OK if len(bound) == len(expected) else FAIL,
             f"{len(bound)} of {len(expected)} bound to {character.skeletal_mesh.get_name()}")
    try:
        following = grooms.morph_following(character.skeletal_mesh, character.grooms)
    except Exception as exc:  # noqa: BLE001
        test.add("grooms", FAIL, f"cannot tell whether they follow the morph targets: {_error(exc)}")
        return
    state = following.skin_cache
    test.add("grooms", OK if state.on else WARN,
             f"skin cache: {grooms.CVAR_COMPILE_SHADERS}={int(state.compile_shaders)}, "
             f"{grooms.CVAR_MODE}={state.mode}, {grooms.CVAR_DEFAULT_BEHAVIOR}={state.default_behavior}"
             + (" (on in DefaultEngine.ini: restart the editor)" if state.restart_pending else ""))
    verdict = "yes" if following.follows else "NO - " + "; ".join(following.problems)
    test.add("grooms", OK if following.follows else WARN, f"they follow the morph targets: {verdict}")


def _check_live_link(test: SelfTest, info, character, subject: str, place: bool) -> None:
    missing = livelink.live_link_missing(info)
    for line in missing:
        test.add("live link", WARN, f"needs {line}")
    if not missing:
        test.add("live link", OK, f"Live Link Face (ARKit) can reach this editor (port {livelink.PORT})")
    if character is None:
        return
    if livelink.LIVE_LINK_PLUGIN not in info.plugins:
        test.add("live link", WARN, "wiring not tried: the LiveLink plugin is off")
        return
    if not place:
        return
    from ue_scripts import actors
    placed = None
    try:
        placed = actors.place(character, label=f"{NAME}_LiveLinkCheck")
        wiring = livelink.wire_live_link(character.skeletal_mesh, subject, actors=[placed.actor])
        instance = placed.actor.skeletal_mesh_component.get_anim_instance()
        ok = wiring.wired and isinstance(instance, unreal.LiveLinkInstance)
        test.add("live link", OK if ok else FAIL,
                 f"wiring: {'yes' if ok else 'NO'} - {type(instance).__name__} on the placed character, "
                 f"subject '{subject}', {wiring.morphs} ARKit curves -> morph targets (editor viewport; PIE needs an "
                 "Animation Blueprint with a Live Link Pose node)")
        groom_actors = list(placed.grooms.values())
        if groom_actors:
            bound = [g for g in groom_actors if g.groom_component.get_editor_property("binding_asset") is not None]
            test.add("grooms", OK if len(bound) == len(groom_actors) else FAIL,
                     f"{len(bound)} of {len(groom_actors)} groom actors placed with their binding")
    except Exception as exc:  # noqa: BLE001
        test.add("live link", FAIL, f"wiring the placed character failed: {_error(exc)}")
    finally:
        if placed is not None:
            subsystem = unreal.get_editor_subsystem(unreal.EditorActorSubsystem)
            for actor in [*placed.grooms.values(), *placed.studio.values(), placed.actor]:
                subsystem.destroy_actor(actor)


def _check_metahuman(test: SelfTest, info) -> None:
    try:
        from ue_scripts import metahuman
        missing = metahuman.metahuman_missing(info)
    except Exception as exc:  # noqa: BLE001
        test.add("metahuman", WARN, f"cannot check the MetaHuman preconditions: {_error(exc)}")
        return
    if not missing:
        test.add("metahuman", OK, "MetaHuman conform available (auto-rigging also needs an Epic account sign-in)")
    for line in missing:
        test.add("metahuman", INFO, f"MetaHuman conform unavailable, needs {line} (the ARKit morphs are used instead)")


def report(package_dir: str | Path | None = None, **options) -> tuple[str, int]:
    """The self-test's report text and exit status."""
    test = run(package_dir, **options)
    return test.text(), test.exit_status


def main(argv: list[str]) -> int:
    """``selftest.py [PACKAGE_DIR]``: print the report (stdout and the Output Log); returns the exit status."""
    if len(argv) > 1 or (argv and argv[0] in ("-h", "--help")):
        print(__doc__)
        return 2
    text, status = report(argv[0] if argv else None)
    print(text)
    for line in text.splitlines():
        unreal.log(line)
    return status


if __name__ == "__main__":
    if main(sys.argv[1:]):
        # an exception is what makes the pythonscript commandlet exit non-zero (sys.exit is no exit code there)
        raise RuntimeError("MachCreator self-test failed: see the report above")
