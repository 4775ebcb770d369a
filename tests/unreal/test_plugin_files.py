"""The plugin as files: its descriptor, its copies of the attribute fields and the request schema, `mach unreal install`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field

from machcreator import plugin_install
from machcreator.attributes import editor_fields
from machcreator.pipeline.request import GenerateRequest
from machcreator.plugin_install import CLIENT_MODULES, REQUEST_SCHEMA, InstallError, install, pyzmq_requirement

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "Plugin" / "MachCreator"


def test_descriptor_declares_an_editor_plugin_with_its_dependencies():
    descriptor = json.loads((PLUGIN / "MachCreator.uplugin").read_text())
    assert descriptor["CanContainContent"] is True and descriptor["FileVersion"] == 3
    plugins = {p["Name"]: p for p in descriptor["Plugins"]}
    for name in ("PythonScriptPlugin", "EditorScriptingUtilities", "Interchange", "HairStrands",
                 "AlembicHairImporter", "RigLogic"):
        assert plugins[name]["Enabled"] and not plugins[name].get("Optional"), name
    assert plugins["MetaHumanCharacter"]["Optional"]  # conform where present, ARKit morphs otherwise
    requirements = {e["Platform"]: e["Requirements"] for e in descriptor["PythonRequirements"]}
    assert set(requirements) == {"Win64", "Mac", "Linux"}
    for pins in requirements.values():  # the editor's pip checks hashes by default
        [pin] = pins
        name, hash_option = pin.split(" ")
        assert name == pyzmq_requirement() and len(hash_option.removeprefix("--hash=sha256:")) == 64


def test_the_descriptor_names_no_engine_version():
    """A content-only plugin with an ``EngineVersion`` makes every other engine version ask "designed
    for build 5.4.0, load anyway?" at each start (IPluginManager's compatibility check, which reads
    EngineVersion only when it is set); without it the plugin loads silently on 5.4-5.7."""
    descriptor = json.loads((PLUGIN / "MachCreator.uplugin").read_text())
    assert "EngineVersion" not in descriptor
    assert not descriptor.get("Modules")  # no binaries: nothing ties it to one engine build


def test_the_plugins_attribute_fields_match_the_backend():
    shipped = json.loads((PLUGIN / "Content/Python/machcreator_editor/attribute_fields.json").read_text())
    assert shipped == editor_fields(), "run: mach attributes --editor-fields > " \
        "Plugin/MachCreator/Content/Python/machcreator_editor/attribute_fields.json"


def test_the_plugins_request_schema_is_the_models():
    assert json.loads((PLUGIN / REQUEST_SCHEMA).read_text()) == GenerateRequest.model_json_schema(), \
        "run: python -m machcreator.plugin_install"


@pytest.fixture
def project(tmp_path) -> Path:
    uproject = tmp_path / "Game" / "Game.uproject"
    uproject.parent.mkdir()
    uproject.write_text('{"FileVersion": 3, "EngineAssociation": "5.6"}')
    return uproject


def test_install_writes_the_request_schema_from_the_model_that_installs(project, monkeypatch):
    class Changed(GenerateRequest):
        texture_size: int = Field(1024, ge=64, le=8192)

    monkeypatch.setattr(plugin_install, "GenerateRequest", Changed)
    result = install(project)
    assert json.loads((result.plugin_dir / REQUEST_SCHEMA).read_text()) == Changed.model_json_schema()


def test_install_copies_the_plugin_scripts_and_a_self_contained_client(project):
    result = install(project)
    python = result.plugin_dir / "Content" / "Python"
    assert result.plugin_dir == project.parent / "Plugins" / "MachCreator"
    assert (result.plugin_dir / "MachCreator.uplugin").is_file() and (python / "init_unreal.py").is_file()
    assert {p.name for p in (python / "ue_scripts").glob("*.py")} >= {"import_package.py", "population.py"}
    assert sorted(str(p.relative_to(python / "machcreator")) for p in (python / "machcreator").rglob("*.py")) == \
        sorted(CLIENT_MODULES)
    # the editor's Python: no site-packages but pyzmq's, no pydantic or numpy
    zmq_dir = Path(__import__("zmq").__file__).parents[1]
    code = ("import machcreator.client, ue_scripts.package, sys; "
            "assert 'pydantic' not in sys.modules and 'numpy' not in sys.modules; "
            "print(machcreator.client.__file__)")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(python), str(zmq_dir)])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(python))


def test_install_refuses_to_overwrite_without_force_and_replaces_with_it(project):
    install(project)
    marker = project.parent / "Plugins" / "MachCreator" / "stale.txt"
    marker.write_text("old")
    with pytest.raises(InstallError, match="exists; pass --force"):
        install(project)
    install(project.parent, force=True)  # the project folder works too
    assert not marker.exists()
    assert not [p for p in (project.parent / "Plugins").iterdir() if p.name.startswith(".MachCreator-")]


def test_install_needs_a_project(tmp_path):
    with pytest.raises(InstallError, match="not an Unreal project file"):
        install(tmp_path / "missing.uproject")
    with pytest.raises(InstallError, match="0 .uproject files"):
        install(tmp_path)


def test_the_cli_installs(project):
    done = subprocess.run([sys.executable, "-m", "machcreator.cli", "unreal", "install", str(project)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Installed MachCreator into" in done.stdout
    again = subprocess.run([sys.executable, "-m", "machcreator.cli", "unreal", "install", str(project)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "pass --force" in again.stderr
