"""Project settings MachCreator needs that only an editor restart applies, written into the
project's ``Config/DefaultEngine.ini`` the way the Project Settings panel would.

Unreal's ini files are not what :mod:`configparser` reads: keys repeat (``+Key=`` array entries,
``-Key=`` removals, plain duplicates), order matters, comments and blank lines are kept by people
and source control diffs. So the file is edited as text, minimally: one ``Key=Value`` line set or
added in its section, every other byte kept (encoding, BOM, line endings), written atomically, and
nothing changed when the value is already there.

The settings (engine sources cited beside each):

* ``[/Script/Engine.RendererSettings] r.SkinCache.CompileShaders=True``: Project Settings >
  Engine > Rendering > Optimizations > "Support Compute Skin Cache" (``URendererSettings::
  bSupportSkinCacheShaders``, ``ConsoleVariable="r.SkinCache.CompileShaders"``,
  ``ConfigRestartRequired=true``, RendererSettings.h). The console variable is read-only: the
  running editor keeps the value it started with.
* ``[/Script/AppleARKit.AppleARKitSettings] bEnableLiveLinkForFaceTracking=True``: the Apple ARKit
  Face Support plugin creates its Live Link source (which listens for the Live Link Face app) only
  when this is set (or the editor runs with ``-EnableLiveLinkFaceTracking``), when the Live Link
  client registers at start (``FAppleARKitFaceSupportModule::OnModularFeatureAvailable``,
  AppleARKitFaceSupportModule.cpp; izzy2lost/UnrealEngineUWP, 5.4).
"""
from __future__ import annotations

import codecs
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

RENDERER_SECTION = "/Script/Engine.RendererSettings"
SKIN_CACHE_KEY = "r.SkinCache.CompileShaders"
ARKIT_SECTION = "/Script/AppleARKit.AppleARKitSettings"
LIVE_LINK_FACE_KEY = "bEnableLiveLinkForFaceTracking"


class SettingsError(RuntimeError):
    """The project's ini cannot be changed (read-only under source control, not a project...)."""


@dataclass(frozen=True)
class IniText:
    text: str
    encoding: str  # a codec name
    bom: bytes
    newline: str


def read_ini(path: Path) -> IniText:
    """The ini's text with what it takes to write it back byte-for-byte alike."""
    raw = path.read_bytes() if path.is_file() else b""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom):
            text = raw[len(bom):].decode(encoding)
            break
    else:
        bom, encoding = b"", "utf-8"
        text = raw.decode(encoding)
    newline = "\r\n" if "\r\n" in text else ("\n" if "\n" in text else os.linesep)
    return IniText(text, encoding, bom, newline)


def _key_of(line: str) -> str | None:
    """The key a plain ``Key=Value`` line sets (None for comments, array ops, section headers)."""
    stripped = line.strip()
    if not stripped or stripped[0] in ";#[+-.!" or "=" not in stripped:
        return None
    return stripped.split("=", 1)[0].strip()


def ini_value(path: Path, section: str, key: str) -> str | None:
    """The value a plain ``key=`` line gives in ``[section]`` (the last one), or None."""
    value, current = None, None
    for line in read_ini(Path(path)).text.splitlines():
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            continue
        if current is not None and current.lower() == section.lower() and (_key_of(line) or "").lower() == key.lower():
            value = stripped.split("=", 1)[1].strip()
    return value


def set_ini_value(path: Path, section: str, key: str, value: str) -> bool:
    """Make ``[section] key=value`` true in the ini at ``path`` (created if missing); True if the
    file changed. Plain lines for ``key`` in the section get the value; if there is none a line is
    added at the end of the section (or a new section at the end of the file)."""
    path = Path(path)
    ini = read_ini(path)
    lines = ini.text.splitlines(keepends=True)
    header = re.compile(r"^\s*\[(.*)\]\s*$")
    start = end = None  # the section's header line and the line after its last non-blank line
    for i, line in enumerate(lines):
        m = header.match(line)
        if m:
            if start is not None and end is None:
                end = i
            if m.group(1).strip().lower() == section.lower() and start is None:
                start = i
    if start is not None and end is None:
        end = len(lines)
    changed = False
    if start is None:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += ini.newline
        if lines and lines[-1].strip():
            lines.append(ini.newline)
        lines += [f"[{section}]{ini.newline}", f"{key}={value}{ini.newline}"]
        changed = True
    else:
        found = False
        for i in range(start + 1, end):
            if (_key_of(lines[i]) or "").lower() != key.lower():
                continue
            found = True
            current = lines[i].split("=", 1)[1]
            ending = current[len(current.rstrip("\r\n")):]
            if current.strip() != value:
                indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
                lines[i] = f"{indent}{lines[i].strip().split('=', 1)[0]}={value}{ending or ini.newline}"
                changed = True
        if not found:
            last = end
            while last > start + 1 and not lines[last - 1].strip():
                last -= 1
            if not lines[last - 1].endswith(("\n", "\r")):
                lines[last - 1] += ini.newline
            lines.insert(last, f"{key}={value}{ini.newline}")
            changed = True
    if changed:
        _write_atomically(path, ini, "".join(lines))
    return changed


def _write_atomically(path: Path, ini: IniText, text: str) -> None:
    if path.exists() and not os.access(path, os.W_OK):
        raise SettingsError(f"{path} is read-only (check it out of source control, or make it writable) and was "
                            "not changed")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(ini.bom + text.encode(ini.encoding))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def default_engine_ini(project_dir: str | Path | None = None) -> Path:
    """``<project>/Config/DefaultEngine.ini`` of the running editor (or of ``project_dir``)."""
    if project_dir is None:
        import unreal
        project_dir = unreal.Paths.convert_relative_path_to_full(unreal.Paths.project_dir())
    project = Path(project_dir)
    if not any(project.glob("*.uproject")) and not (project / "Config").is_dir():
        raise SettingsError(f"{project} is not an Unreal project folder (no .uproject, no Config)")
    return project / "Config" / "DefaultEngine.ini"


def enable_skin_cache(project_dir: str | Path | None = None) -> bool:
    """Turn on "Support Compute Skin Cache" for the project; True if the ini changed. The editor
    must be restarted for it to apply (the shaders are compiled at start)."""
    return set_ini_value(default_engine_ini(project_dir), RENDERER_SECTION, SKIN_CACHE_KEY, "True")


def enable_live_link_face(project_dir: str | Path | None = None) -> bool:
    """Let the Apple ARKit Face Support plugin listen for the Live Link Face app; True if the ini
    changed. Applies at the next editor start."""
    return set_ini_value(default_engine_ini(project_dir), ARKIT_SECTION, LIVE_LINK_FACE_KEY, "True")


def skin_cache_in_ini(project_dir: str | Path | None = None) -> bool:
    """Whether the project's DefaultEngine.ini turns the skin cache shaders on (the running editor
    may have started before it did)."""
    value = ini_value(default_engine_ini(project_dir), RENDERER_SECTION, SKIN_CACHE_KEY)
    return (value or "").strip().lower() in ("true", "1")


def live_link_face_in_ini(project_dir: str | Path | None = None) -> bool:
    value = ini_value(default_engine_ini(project_dir), ARKIT_SECTION, LIVE_LINK_FACE_KEY)
    return (value or "").strip().lower() in ("true", "1")
