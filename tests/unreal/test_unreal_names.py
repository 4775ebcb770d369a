"""Every ``unreal.`` name in Plugin/ and ue_scripts/ exists in each supported version's stub or the
documented extras; every extra cites Epic's docs or Epic's engine source."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from unreal_api import EXTRAS_PATH, REPO, VERSIONS, load_api

SOURCES = sorted([*(REPO / "Plugin").rglob("*.py"), *(REPO / "ue_scripts").rglob("*.py")])


def unreal_names(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, Name, member or None) for each ``unreal.Name[.member]`` and ``getattr(unreal, "Name")``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "unreal":
            out.append((node.lineno, node.attr, None))
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
              and isinstance(node.value.value, ast.Name) and node.value.value.id == "unreal"):
            out.append((node.lineno, node.value.attr, node.attr))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
              and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == "unreal"
              and isinstance(node.args[1], ast.Constant)):
            out.append((node.lineno, node.args[1].value, None))
    return out


def test_the_scripts_are_found():
    names = {p.name for p in SOURCES}
    assert {"init_unreal.py", "commands.py", "import_package.py", "grooms.py", "population.py"} <= names


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_unreal_name_is_in_the_api(path, version):
    api = load_api(version)
    bad = []
    for line, name, member in unreal_names(path):
        if name not in api.classes and name not in api.functions:
            bad.append(f"{path.name}:{line}: unreal.{name}")
        elif member is not None and name in api.classes and not api.has_member(name, member):
            bad.append(f"{path.name}:{line}: unreal.{name}.{member}")
    assert not bad, f"names {api.label} and ue_scripts/unreal_api_extras.json lack:\n" + "\n".join(bad)


def test_a_misspelt_name_is_caught(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("import unreal\nunreal.GroomLibrary.create_binding()\nunreal.EditorAssetLibary.load_asset('x')\n")
    api = load_api()
    found = [(n, m) for _, n, m in unreal_names(script)
             if n not in api.classes or (m is not None and not api.has_member(n, m))]
    assert sorted(found, key=str) == [("EditorAssetLibary", "load_asset"), ("EditorAssetLibary", None),
                                      ("GroomLibrary", "create_binding")]


#: where a citation may point: Epic's documentation, or Epic's engine source in a public mirror
CITABLE = ("https://dev.epicgames.com/documentation/", "https://github.com/")


def test_every_extra_names_its_source_plugin_and_version():
    extras = json.loads(EXTRAS_PATH.read_text(encoding="utf-8"))
    assert extras["classes"]
    for name, entry in extras["classes"].items():
        assert entry["source"].startswith(CITABLE), name
        assert entry["plugin"] and entry["since"], name
        for method, spec in entry.get("methods", {}).items():
            assert isinstance(spec["params"], list), f"{name}.{method}"


def test_every_extra_cites_epics_docs_or_engine_source():
    """Each class, and each of its methods and functions, has a citation: its own ``source`` or, for
    a member without one, the class's (whose page documents the member); a GitHub citation is a
    file of the engine's source, pinned to a commit."""
    extras = json.loads(EXTRAS_PATH.read_text(encoding="utf-8"))
    entries = []
    for name, entry in extras["classes"].items():
        entries.append((name, entry["source"]))
        for member, spec in entry.get("methods", {}).items():
            entries.append((f"{name}.{member}", spec.get("source", entry["source"])))
    for name, spec in extras.get("functions", {}).items():
        entries.append((name, spec.get("source", "")))
    bad = [f"{name}: {source!r}" for name, source in entries if not source.startswith(CITABLE)
           or (source.startswith("https://github.com/") and "/blob/" not in source)]
    assert not bad, "extras without a citation of Epic's docs or engine source:\n" + "\n".join(bad)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_extra_a_stub_has_is_left_to_the_stub(version):
    """The 5.5 stub (0.2.1) has the Live Link classes 0.1 and 0.3 lack: there the stub's
    definitions are used, elsewhere the extras'."""
    api = load_api(version)
    extras = json.loads(EXTRAS_PATH.read_text(encoding="utf-8"))
    for name in extras["classes"]:
        spec = api.classes[name]
        assert (spec.source == "stub") == (name in api.shadowed), name
    assert ("LiveLinkRemapAsset" in api.shadowed) == (version == "5.5")
