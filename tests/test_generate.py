"""End to end: prompt -> character package, through the library and the `mach` command."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pygltflib import GLTF2

from machcreator.character import ARKIT_BLENDSHAPES
from machcreator.export.gltf_validator import validate_gltf
from machcreator.export.package import read_manifest, validate_package, write_package
from machcreator.pipeline import GenerateRequest, Pipeline

from conftest import FISHERMAN_REQUEST


def _checksums(pkg: Path) -> dict[str, str]:
    return {f.path: f.sha256 for f in read_manifest(pkg).files}


def test_package_has_manifest_mesh_textures_and_preview(fisherman_package):
    m = read_manifest(fisherman_package)
    roles = {f.role for f in m.files}
    assert {"mesh", "albedo", "normal", "orm", "preview", "groom", "groom_usd"} <= roles
    assert m.seed == 7 and m.request["prompt"] == FISHERMAN_REQUEST.prompt
    assert m.attributes["body"]["gender"] == "male"
    assert set(m.timings_s) >= {"parse", "geometry", "hair", "textures", "preview"}
    # a grey full beard was asked for: the facial hair groom is there, grey
    beard = [g for g in m.model_dump()["grooms"] if g["name"] == "facial_hair"]
    assert beard and beard[0]["labels"]["color"] == "grey" and beard[0]["num_strands"] > 1000
    assert m.units["length"] == "metre"
    for f in m.files:
        assert (fisherman_package / f.path).is_file()


def test_package_folder_gets_ordinary_permissions(fisherman_package):
    umask = os.umask(0o022)
    os.umask(umask)
    assert fisherman_package.stat().st_mode & 0o777 == 0o777 & ~umask  # not mkdtemp's private 0o700


def test_package_passes_khronos_gltf_validator_with_zero_errors(fisherman_package):
    report = validate_gltf(fisherman_package / "character.glb")
    assert report.num_errors == 0, report.messages[:5]


def test_glb_has_52_arkit_morphs_on_every_primitive(fisherman_package):
    g = GLTF2().load(str(fisherman_package / "character.glb"))
    (mesh,) = g.meshes
    assert tuple(mesh.extras["targetNames"]) == ARKIT_BLENDSHAPES
    assert all(len(p.targets) == 52 for p in mesh.primitives)


def test_glb_skin_uses_the_full_skeleton(fisherman_package, fisherman_result):
    g = GLTF2().load(str(fisherman_package / "character.glb"))
    (skin,) = g.skins
    assert len(skin.joints) == fisherman_result.character.skeleton.num_joints == 104
    names = {g.nodes[j].name for j in skin.joints}
    assert {"root", "head", "neck01"} <= names


def test_mesh_has_head_body_eyes_teeth_tongue(fisherman_result):
    names = {p.name for p in fisherman_result.character.parts}
    assert {"head", "body", "eyes", "teeth", "tongue"} <= names


def test_skin_textures_are_2048(fisherman_package):
    for key in ("head_albedo", "head_normal", "head_orm", "body_albedo", "body_normal", "body_orm"):
        with Image.open(fisherman_package / "textures" / f"{key}.png") as im:
            assert im.size == (2048, 2048), key


def test_package_size_is_mesh_textures_plus_strands(fisherman_package):
    files = [p for p in fisherman_package.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files if p.parent.name != "grooms") < 60e6
    # groom files cost what their strands need: per point a position, width and colour (+ headers)
    points = sum(g["num_points"] for g in read_manifest(fisherman_package).model_dump()["grooms"])
    abc = sum(p.stat().st_size for p in files if p.suffix == ".abc")
    assert abc < 40 * points + 1e6


def test_validate_accepts_a_fresh_package(fisherman_package):
    assert [i for i in validate_package(fisherman_package) if i.severity == "error"] == []


def test_validate_detects_tampering(fisherman_package, tmp_path):
    import shutil

    copy = tmp_path / "pkg"
    shutil.copytree(fisherman_package, copy)
    with open(copy / "textures" / "head_albedo.png", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"].append(dict(manifest["files"][0], path="../outside.glb"))
    (copy / "manifest.json").write_text(json.dumps(manifest))
    issues = validate_package(copy, gltf_validator=False)
    messages = " | ".join(f"{i.path}: {i.message}" for i in issues)
    assert "head_albedo.png: checksum mismatch" in messages
    assert "escapes the package folder" in messages


#: a fisherman small enough to generate twice in a test
DRAFT = FISHERMAN_REQUEST.model_copy(update={"texture_size": 128, "preview_size": 96, "hair_detail": 0.05})


def test_same_prompt_and_seed_give_identical_files(pipeline, tmp_path):
    write_package(pipeline(DRAFT), tmp_path / "first")
    again = Pipeline(hair_cache_dir=str(tmp_path / "hair"))(DRAFT)  # fresh pipeline and hair cache
    write_package(again, tmp_path / "again")
    assert _checksums(tmp_path / "again") == _checksums(tmp_path / "first")


def test_other_seed_gives_another_character(pipeline, fisherman_result):
    other = pipeline(DRAFT.model_copy(update={"seed": 8}))
    assert other.resolved != fisherman_result.resolved
    assert other.resolved.body.gender == "male" and other.resolved.headwear == "wool_cap"


def test_editing_hair_colour_reuses_the_geometry(pipeline):
    first = pipeline(DRAFT)
    hits = pipeline.cache.hits
    edited = pipeline(DRAFT.model_copy(update={"overrides": ["hair.color=black"]}))
    assert pipeline.cache.hits == hits + 3  # parse, geometry and its body field from the cache; hair, textures re-made
    assert edited.character.grooms[0].colors.mean() < first.character.grooms[0].colors.mean()
    assert edited.character.parts[0] is first.character.parts[0]


def test_failure_while_writing_leaves_nothing(fisherman_result, tmp_path, monkeypatch):
    import machcreator.export.gltf as export

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "write_glb", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_package(fisherman_result, tmp_path / "pkg")
    assert list(tmp_path.iterdir()) == []


def test_preview_shows_a_character(fisherman_result):
    img = fisherman_result.preview
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
    # the character is not the background: plenty of pixels differ from the corner colour
    diff = np.abs(img.astype(int) - img[0, 0].astype(int)).sum(-1)
    assert (diff > 40).mean() > 0.1


# --- the command line ------------------------------------------------------------------------

def _mach(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a pipe: rich assumes 80 columns
    return subprocess.run([sys.executable, "-m", "machcreator.cli", *args], capture_output=True,
                          input=stdin, env=env, timeout=600, check=False)


@pytest.mark.parametrize(
    "args, words",
    [
        (["", "-o", "{out}"], "empty"),
        (["   ", "-o", "{out}"], "empty"),
        (["x" * 2001, "-o", "{out}"], "2001"),
        (["a woman", "-o", "{out}", "--set", "hair.colour=red"], "unknown attribute 'hair.colour'"),
        (["a woman", "-o", "{out}", "--set", "hair.style=pigtail"], "did you mean pigtails"),
        (["a woman", "-o", "{out}", "--set", "body.age_years=old"], "expected a number"),
        (["a woman", "-o", "/proc/mach/out"], "cannot write"),
        (["a woman", "-o", "{out}", "--texture-size", "9000"], "--texture-size"),
        (["a woman"], "--output"),
        (["a woman", "-o", "{out}", "--parser", "transformers", "--llm-model-dir", "/nonexistent"], "not a folder"),
    ],
)
def test_cli_bad_input_is_one_clear_line_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    proc = _mach("generate", *[a.replace("{out}", str(out)) for a in args])
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert words in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err
    assert not out.exists()


def test_cli_refuses_non_text_prompt_file(tmp_path):
    bad = tmp_path / "prompt.bin"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    proc = _mach("generate", "--prompt-file", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "error:" in proc.stderr.decode()
    assert not (tmp_path / "out").exists()


def test_cli_refuses_non_empty_output_without_force(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    proc = _mach("generate", "a woman", "-o", str(tmp_path))
    assert proc.returncode == 2 and "--force" in proc.stderr.decode()
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_cli_attributes_prints_json_with_overrides():
    proc = _mach("attributes", "a young woman with green eyes", "--set", "hair.color=blonde")
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert out["attributes"]["hair"]["color"] == "blonde"
    assert out["attributes"]["eyes"]["iris_color"] == "green"
    assert out["attributes"]["body"]["gender"] == "female"


@pytest.mark.parametrize("size", [
    # draft maps and groom: the same stages, writer and validator (the defaults' 2048 px package is
    # validated above, on the session's fisherman; the command takes its defaults from GenerateRequest)
    pytest.param(["--texture-size", "256", "--hair-detail", "0.1"], id="draft"),
    pytest.param([], marks=pytest.mark.slow, id="defaults"),  # the command's own: 2048 px maps, every strand
])
def test_cli_generate_then_validate(tmp_path, size):
    out = tmp_path / "anna"
    proc = _mach("generate", "a young woman with long curly red hair, green eyes and freckles", "-o", str(out), *size)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "Painting skin" in proc.stderr.decode()  # per-stage progress
    proc = _mach("validate", str(out))
    assert proc.returncode == 0, proc.stdout.decode()


def test_first_run_cache_build_is_announced_and_kept_out_of_stage_timings(tmp_path, monkeypatch):
    import machcreator.body.template as template

    real_build = template._build_anny
    default_cache = str(template._import_anny().paths.get_anny_cache_path())
    events: list[tuple[str, str]] = []

    def build(cache_dir: str):  # an empty cache folder: pretend to build, hand back the cached model
        events.append(("build", cache_dir))
        return real_build(default_cache)

    monkeypatch.setattr(template, "_build_anny", build)
    pipe = Pipeline(progress=lambda stage, fraction, message: events.append((stage, message)),
                    anny_cache_dir=str(tmp_path / "anny"))
    pipe(GenerateRequest(prompt="a man", texture_size=64, preview_size=64))
    stages = [stage for stage, _ in events]
    assert events[:2] == [("setup", template.FIRST_RUN_MESSAGE), ("build", str(tmp_path / "anny"))]
    assert stages.index("build") < stages.index("parse")  # stage timers start with their event
