"""`mach export`: a package's glb as one self-contained file, textures embedded as bufferViews."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pygltflib import GLTF2

from machcreator.core.errors import OutputError, PackageError
from machcreator.export.embed import PNG_SIGNATURE, read_glb, write_embedded_glb
from machcreator.export.gltf import _glb_bytes
from machcreator.export.gltf_validator import validate_gltf
from machcreator.export.package import GLB

#: the smallest file that passes the PNG check: signature, then an IHDR chunk header
TINY_PNG = PNG_SIGNATURE + b"\0\0\0\x0dIHDR" + bytes(17)


@pytest.fixture(scope="module")
def embedded(fisherman_package, tmp_path_factory):
    out = tmp_path_factory.mktemp("embedded") / "fisherman.glb"
    return out, write_embedded_glb(fisherman_package, out)


@pytest.fixture(scope="module")
def original(fisherman_package) -> tuple[dict, bytes]:
    return read_glb((fisherman_package / GLB).read_bytes())


def _package(folder: Path, uris: list[str]) -> Path:
    """A minimal package folder: a glb whose only content is images at ``uris``."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"asset": {"version": "2.0"}, "images": [{"uri": u, "mimeType": "image/png"} for u in uris]}
    (folder / GLB).write_bytes(_glb_bytes(doc, b""))
    return folder


def test_khronos_validator_reports_no_errors_or_warnings_and_reads_every_image(embedded, original):
    report = validate_gltf(embedded[0])
    assert report.num_errors == 0, report.errors
    assert report.num_warnings == 0, report.warnings  # the package's glb has none either
    images = [r for r in report.raw["info"]["resources"] if r["pointer"].startswith("/images/")]
    assert len(images) == len(original[0]["images"]) > 0
    assert all(r["storage"] == "buffer-view" and r["mimeType"] == "image/png" and r["image"]["width"] > 0 for r in images)


def test_no_external_uris_and_the_png_bytes_are_the_packages(embedded, original, fisherman_package):
    path, stats = embedded
    g = GLTF2().load(str(path))
    assert all(im.uri is None for im in g.images) and all(b.uri is None for b in g.buffers)
    assert len(g.images) == stats.images == len(original[0]["images"])
    blob = g.binary_blob()
    for image, source in zip(g.images, original[0]["images"]):
        view = g.bufferViews[image.bufferView]
        assert view.byteOffset % 4 == 0 and image.mimeType == "image/png"
        assert blob[view.byteOffset:view.byteOffset + view.byteLength] == (fisherman_package / source["uri"]).read_bytes()
    assert stats.bytes == path.stat().st_size


def test_everything_but_the_images_is_unchanged(embedded, original):
    doc, binary = read_glb(embedded[0].read_bytes())
    src_doc, src_bin = original
    for key in set(src_doc) | set(doc):
        if key not in ("images", "bufferViews", "buffers"):
            assert doc[key] == src_doc[key], key
    n = len(src_doc["bufferViews"])
    assert doc["bufferViews"][:n] == src_doc["bufferViews"] and binary[:len(src_bin)] == src_bin
    assert len(doc["meshes"]) == len(src_doc["meshes"])
    assert [len(p["targets"]) for p in doc["meshes"][0]["primitives"]] == \
        [len(p["targets"]) for p in src_doc["meshes"][0]["primitives"]]
    assert doc["buffers"] == [{"byteLength": len(binary)}]


def _mach(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "machcreator.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_cli_exports_refuses_to_overwrite_then_forces(fisherman_package, embedded, tmp_path):
    out = tmp_path / "lone" / "fisherman.glb"
    proc = _mach("export", str(fisherman_package), "--glb", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"{embedded[1].images} images embedded" in proc.stdout
    assert out.read_bytes() == embedded[0].read_bytes()  # deterministic
    out.write_bytes(b"user data")
    proc = _mach("export", str(fisherman_package), "--glb", str(out))
    assert proc.returncode == 2 and "exists (use --force" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert out.read_bytes() == b"user data"
    proc = _mach("export", str(fisherman_package), "--glb", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == embedded[0].read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == ["fisherman.glb"]  # no temporary file left


@pytest.mark.parametrize("uri, words", [
    ("../outside.png", "escapes the package folder"),
    ("textures/../../outside.png", "escapes the package folder"),
    ("/etc/passwd", "escapes the package folder"),
    ("link.png", "resolves outside the package folder"),
    ("textures/missing.png", "missing from the package folder"),
    ("textures/fake.png", "not a PNG"),
    ("data:image/png;base64,@@@", "unreadable base64"),
])
def test_bad_image_uris_are_package_errors_and_write_nothing(tmp_path, uri, words):
    (tmp_path / "outside.png").write_bytes(TINY_PNG)
    pkg = _package(tmp_path / "pkg", ["textures/ok.png", uri])
    (pkg / "textures").mkdir()
    (pkg / "textures" / "ok.png").write_bytes(TINY_PNG)
    (pkg / "textures" / "fake.png").write_bytes(b"GIF89a" + bytes(40))
    os.symlink(tmp_path / "outside.png", pkg / "link.png")
    out = tmp_path / "out" / "c.glb"
    with pytest.raises(PackageError, match=words):
        write_embedded_glb(pkg, out)
    assert not out.parent.exists()


def test_minimal_package_embeds_and_percent_encoded_uris_resolve(tmp_path):
    pkg = _package(tmp_path / "pkg", ["textures/my%20skin.png"])
    (pkg / "textures").mkdir()
    (pkg / "textures" / "my skin.png").write_bytes(TINY_PNG)
    stats = write_embedded_glb(pkg, tmp_path / "c.glb")
    doc, binary = read_glb((tmp_path / "c.glb").read_bytes())
    assert stats.images == 1 and doc["images"] == [{"mimeType": "image/png", "bufferView": 0}]
    assert doc["bufferViews"] == [{"buffer": 0, "byteOffset": 0, "byteLength": len(TINY_PNG)}]
    assert binary[:len(TINY_PNG)] == TINY_PNG and len(binary) % 4 == 0


def test_a_folder_without_a_glb_or_with_a_broken_one_is_a_package_error(tmp_path):
    with pytest.raises(PackageError, match="no character.glb"):
        write_embedded_glb(tmp_path, tmp_path / "c.glb")
    (tmp_path / GLB).write_bytes(b"not a glb at all, just text")
    with pytest.raises(PackageError, match="not a glTF 2.0 binary"):
        write_embedded_glb(tmp_path, tmp_path / "c.glb")
    (tmp_path / GLB).write_bytes(_glb_bytes({"asset": {"version": "2.0"}}, b"")[:-4])
    with pytest.raises(PackageError, match="header says"):
        write_embedded_glb(tmp_path, tmp_path / "c.glb")


def test_output_checks_come_before_any_work(tmp_path):
    pkg = _package(tmp_path / "pkg", ["textures/missing.png"])
    (tmp_path / "existing.glb").write_bytes(b"user data")
    with pytest.raises(OutputError, match="use --force"):
        write_embedded_glb(pkg, tmp_path / "existing.glb")
    with pytest.raises(OutputError, match="is a folder"):
        write_embedded_glb(pkg, tmp_path)
    with pytest.raises(OutputError, match="own character.glb"):
        write_embedded_glb(pkg, pkg / GLB, force=True)
    assert (tmp_path / "existing.glb").read_bytes() == b"user data"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    pkg = _package(tmp_path / "pkg", [])
    out = tmp_path / "out" / "c.glb"
    out.parent.mkdir()
    out.write_bytes(b"old")

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        write_embedded_glb(pkg, out, force=True)
    assert out.read_bytes() == b"old" and sorted(p.name for p in out.parent.iterdir()) == ["c.glb"]
