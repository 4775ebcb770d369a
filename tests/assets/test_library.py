"""Asset libraries: the manifest format, merging user libraries with the built-ins, and `mach assets add`
refusing broken, huge, hostile or non-garment files without touching the library."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import trimesh

from machcreator.assets.authoring import add_asset, entry_from_options
from machcreator.assets.library import (
    CATEGORY_ATTRIBUTE, ENV_VAR, AssetError, builtin_assets, library_paths, load_libraries,
)
from machcreator.assets.user_mesh import _Z_UP_TO_Y_UP, reference_surface
from machcreator.attributes import literal_values

BUILTIN_VALUES = {
    "garments.top": {"t_shirt", "shirt", "blouse", "tank_top", "sweater", "hoodie", "dress"},
    "garments.bottom": {"jeans", "trousers", "shorts", "skirt"},
    "garments.outerwear": {"jacket", "suit_jacket", "coat"},
    "garments.shoes": {"sneakers", "boots", "dress_shoes", "sandals", "heels"},
    "glasses": {"reading", "round", "rectangular", "aviator", "cat_eye", "sunglasses"},
    "headwear": {"wool_cap", "beanie", "baseball_cap", "fedora", "beret", "headscarf", "hood"},
    "accessories": {"earrings", "necklace", "scarf", "watch", "bracelet", "tie", "backpack"},
}


@pytest.fixture(scope="module")
def reference():
    return reference_surface()


def torso_glb(reference, path: Path, shift=(0.0, 0.0, 0.0)) -> Path:
    """A snug top: the reference body's chest and belly pushed 1.5 cm out, as a glb (Y-up)."""
    z = reference.positions[:, 2]
    height = z.max()
    keep = (reference.part == "body") & (z > 0.6 * height) & (z < 0.75 * height)
    faces = reference.faces[keep[reference.faces].all(1)]
    used = np.unique(faces)
    remap = np.full(len(reference.positions), -1)
    remap[used] = np.arange(len(used))
    points = reference.positions[used] + 0.015 * reference.normals[used] + np.asarray(shift)
    mesh = trimesh.Trimesh(points @ _Z_UP_TO_Y_UP.T, remap[faces], process=False)
    path.write_bytes(mesh.export(file_type="glb"))
    return path


def write_library(folder: Path, assets: list[dict], name: str = "studio", files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in (files or {}).items():
        (folder / rel).write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps({"format": "machcreator-asset-library", "format_version": 1,
                                                      "name": name, "assets": assets}))
    return folder


def entry(id="flannel", path="flannel.glb", data=b"glb bytes", **extra) -> dict:
    return {"id": id, "category": "top", "tags": ["flannel", "plaid"], "description": "a red flannel shirt",
            "licence": "CC-BY-4.0", "files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest()}],
            "attribute": {"garments.top": "shirt"}} | extra


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.exists() else {}


def test_builtins_cover_every_attribute_value_by_one_builder():
    realised: dict[str, list[str]] = {}
    builders: dict[tuple[str, str], set[str]] = {}
    for a in builtin_assets():
        (path, value), = a.entry.attribute.items()
        assert path == CATEGORY_ATTRIBUTE[a.entry.category] and a.entry.generator and a.entry.licence == "CC0-1.0"
        realised.setdefault(path, []).append(value)
        builders.setdefault((path, value), set()).add(":".join(a.entry.generator.split(":")[:2]))
    assert {p: set(v) for p, v in realised.items()} == BUILTIN_VALUES
    # a value has several assets only as styles of one builder (stud and hoop earrings)
    assert all(len(b) == 1 for b in builders.values())
    for path, values in BUILTIN_VALUES.items():
        assert values <= set(literal_values(path))


def test_good_library_merges_with_builtins_under_its_name(tmp_path):
    folder = write_library(tmp_path / "lib", [entry()], files={"flannel.glb": b"glb bytes"})
    library, problems = load_libraries([folder])
    assert problems == []
    asset = library.by_id["studio/flannel"]
    assert asset.library == "studio" and asset.root == folder.resolve() and not asset.builtin
    assert "shirt" in library.by_id and len(library.assets) == len(builtin_assets()) + 1


def test_unreal_only_asset_needs_no_file(tmp_path):
    unreal = {"id": "hoodie_ue", "category": "top", "tags": ["hoodie"], "licence": "proprietary",
              "unreal_asset": "/Game/MetaHumans/Outfits/Hoodie.Hoodie"}
    library, problems = load_libraries([write_library(tmp_path / "lib", [unreal])])
    assert problems == [] and library.by_id["studio/hoodie_ue"].entry.unreal_asset.startswith("/Game/")


@pytest.mark.parametrize("case, expected", [
    ("invalid_json", "not valid JSON"),
    ("wrong_format", "is not a machcreator-asset-library manifest"),
    ("unknown_field", "colour: Extra inputs are not permitted"),
    ("dotdot", "must not contain '..'"),
    ("absolute", "must be relative"),
    ("symlink_out", "points outside the library"),
    ("missing_file", "missing file"),
    ("checksum", "does not match its sha256"),
    ("duplicate_ids", "duplicate asset ids"),
    ("wrong_attribute", "realises garments.top"),
    ("deep_json", "not valid JSON"),
    ("no_manifest", "has no manifest.json"),
])
def test_bad_library_is_reported_and_skipped_never_fatal(tmp_path, case, expected):
    bad = tmp_path / "bad"
    data = b"glb bytes"
    if case == "invalid_json":
        bad.mkdir()
        (bad / "manifest.json").write_text("{not json")
    elif case == "wrong_format":
        bad.mkdir()
        (bad / "manifest.json").write_text(json.dumps({"format": "something-else", "assets": []}))
    elif case == "unknown_field":
        write_library(bad, [entry(colour="red")], files={"flannel.glb": data})
    elif case == "dotdot":
        write_library(bad, [entry(path="../secret.glb")])
    elif case == "absolute":
        write_library(bad, [entry(path="/etc/passwd")])
    elif case == "symlink_out":
        (tmp_path / "outside.glb").write_bytes(data)
        write_library(bad, [entry()])
        (bad / "flannel.glb").symlink_to(tmp_path / "outside.glb")
    elif case == "missing_file":
        write_library(bad, [entry()])
    elif case == "checksum":
        write_library(bad, [entry()], files={"flannel.glb": b"other bytes"})
    elif case == "duplicate_ids":
        write_library(bad, [entry(), entry()], files={"flannel.glb": data})
    elif case == "wrong_attribute":
        write_library(bad, [entry(attribute={"glasses": "round"})], files={"flannel.glb": data})
    elif case == "deep_json":
        bad.mkdir()
        (bad / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    else:
        bad.mkdir()
    good = write_library(tmp_path / "good", [entry()], name="good", files={"flannel.glb": data})
    library, problems = load_libraries([bad, good])
    assert len(problems) == 1 and problems[0].path == str(bad)
    assert expected in problems[0].message
    assert "good/flannel" in library.by_id and not any(a.library == "studio" for a in library.assets)


def test_libraries_come_from_the_environment_then_the_command_line():
    env = {ENV_VAR: os.pathsep.join(["/a", "/b"])}
    assert library_paths(["/c", "/a"], env) == ["/a", "/b", "/c"]


def test_add_copies_the_glb_and_writes_the_manifest(tmp_path, reference):
    glb = torso_glb(reference, tmp_path / "Snug Top.glb")
    library = tmp_path / "studio"
    entry_ = entry_from_options("top", "snug, fitted top", None, glb, "a snug fitted top", "CC0-1.0", None)
    add_asset(library, entry_, glb)
    manifest = json.loads((library / "manifest.json").read_text())
    assert manifest["name"] == "studio" and [a["id"] for a in manifest["assets"]] == ["snug_top"]
    assert (library / "snug_top.glb").read_bytes() == glb.read_bytes()
    loaded, problems = load_libraries([library])
    assert problems == [] and loaded.by_id["studio/snug_top"].entry.tags == ["snug", "fitted top"]
    assert not list(library.glob(".*.tmp"))  # the temp files were renamed into place


def test_add_an_unreal_reference_without_a_file(tmp_path):
    entry_ = entry_from_options("outerwear", "parka", "ue_parka", None, "", "proprietary", "/Game/Outfits/Parka.Parka")
    add_asset(tmp_path / "lib", entry_)
    library, problems = load_libraries([tmp_path / "lib"])
    assert problems == [] and library.by_id["lib/ue_parka"].entry.files == []


def _glb_with_json(doc: dict | str, binary: bytes = b"") -> bytes:
    text = (doc if isinstance(doc, str) else json.dumps(doc)).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    chunks = len(text).to_bytes(4, "little") + b"JSON" + text
    if binary:
        chunks += len(binary).to_bytes(4, "little") + b"BIN\0" + binary
    return b"glTF" + (2).to_bytes(4, "little") + (12 + len(chunks)).to_bytes(4, "little") + chunks


def _triangle_doc(count: int, uri: str | None = None) -> dict:
    buffer = {"byteLength": 36} | ({"uri": uri} if uri else {})
    return {"asset": {"version": "2.0"}, "buffers": [buffer], "bufferViews": [{"buffer": 0, "byteLength": 36}],
            "accessors": [{"bufferView": 0, "componentType": 5126, "count": count, "type": "VEC3"}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}], "nodes": [{"mesh": 0}],
            "scenes": [{"nodes": [0]}]}


def bad_file(kind: str, folder: Path, reference) -> tuple[Path, str]:
    path = folder / f"{kind}.glb"
    if kind == "not_a_glb":
        path.write_text("solid cube\nfacet normal 0 0 1\n")
    elif kind == "truncated":
        path.write_bytes(torso_glb(reference, folder / "whole.glb").read_bytes()[:500])
    elif kind == "json_bomb":
        path.write_bytes(_glb_with_json("[" * 200_000 + "]" * 200_000))
    elif kind == "external_uri":
        path.write_bytes(_glb_with_json(_triangle_doc(3, uri="../../../../etc/passwd")))
    elif kind == "too_many_triangles":
        path.write_bytes(_glb_with_json(_triangle_doc(3_000_000), np.zeros(9, np.float32).tobytes()))
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate(65 * 1024 * 1024)
    elif kind == "nan":
        mesh = trimesh.Trimesh([[0, 1, 0], [0.1, 1, 0], [0, 1.1, np.nan]], [[0, 1, 2]], process=False)
        path.write_bytes(mesh.export(file_type="glb"))
    elif kind == "no_triangles":
        path.write_bytes(trimesh.PointCloud(reference.positions[:100] @ _Z_UP_TO_Y_UP.T).export(file_type="glb"))
    elif kind == "far_from_body":
        torso_glb(reference, path, shift=(0.0, 3.0, 0.0))
    elif kind == "wrong_region":  # a top added as shoes: nowhere near the feet
        torso_glb(reference, path)
        return path, "shoes"
    return path, "top"


BAD = {
    "not_a_glb": "not a glb", "truncated": "malformed glb header", "json_bomb": "JSON is invalid",
    "external_uri": "external file", "too_many_triangles": "1,000,000 triangles", "huge": "at most 64 MB",
    "nan": "NaN", "no_triangles": "no triangle mesh", "far_from_body": "not where a top sits",
    "wrong_region": "not where a shoes sits",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_add_is_one_error_and_leaves_the_library_byte_identical(tmp_path, reference, kind):
    library = write_library(tmp_path / "studio", [entry()], files={"flannel.glb": b"glb bytes"})
    before = snapshot(library)
    path, category = bad_file(kind, tmp_path, reference)
    with pytest.raises(AssetError, match=BAD[kind]):
        add_asset(library, entry_from_options(category, "x", None, path, "", "CC0-1.0", None), path)
    assert snapshot(library) == before


@pytest.mark.parametrize("args, message", [
    (dict(category="hat"), "unknown category"),
    (dict(asset_id="../evil"), "must be a slug"),
    (dict(unreal_asset="C:/Game/x"), "Unreal object path"),
    (dict(asset_id="flannel"), "already has an asset 'flannel'"),
])
def test_bad_options_leave_the_library_byte_identical(tmp_path, args, message):
    library = write_library(tmp_path / "studio", [entry()], files={"flannel.glb": b"glb bytes"})
    before = snapshot(library)
    options = dict(category="top", tags="a,b", asset_id="new", file=None, description="", licence="CC0-1.0",
                   unreal_asset="/Game/Outfits/New.New") | args
    with pytest.raises(AssetError, match=message):
        add_asset(library, entry_from_options(**options))
    assert snapshot(library) == before


def test_cli_bad_add_prints_one_error_line_exits_2_and_creates_nothing(tmp_path):
    path = tmp_path / "cube.glb"
    path.write_text("not a glb at all")
    library = tmp_path / "new_library"
    run = subprocess.run([sys.executable, "-m", "machcreator.cli", "assets", "add", str(path), "--library", str(library),
                          "--category", "top", "--tags", "cube"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "not a glb" in lines[0]
    assert not library.exists()


def test_cli_list_json_includes_user_assets_and_warns_about_bad_libraries(tmp_path):
    good = write_library(tmp_path / "good", [entry()], files={"flannel.glb": b"glb bytes"})
    run = subprocess.run([sys.executable, "-m", "machcreator.cli", "assets", "list", "--category", "top", "--json",
                          "--asset-library", str(good), "--asset-library", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=120, env=os.environ | {ENV_VAR: ""})
    assert run.returncode == 0, run.stderr
    ids = [a["id"] for a in json.loads(run.stdout)]
    assert "studio/flannel" in ids and "shirt" in ids and "jeans" not in ids
    assert "warning: skipped library" in run.stderr and "missing" in run.stderr
