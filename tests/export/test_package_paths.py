"""Package folder safety: paths stay inside, output folders are never clobbered silently."""

import os
import subprocess
import sys

import pytest

from machcreator.core.errors import OutputError, PackageError
from machcreator.export.package import check_output_dir, read_manifest, safe_member


@pytest.mark.parametrize("rel", ["../evil.png", "textures/../../x", "/etc/passwd", "C:/x", "a\\..\\b", ""])
def test_paths_escaping_the_package_are_refused(tmp_path, rel):
    with pytest.raises(PackageError):
        safe_member(tmp_path, rel)


def test_symlink_leading_outside_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    os.symlink(outside, pkg / "link.png")
    with pytest.raises(PackageError, match="outside"):
        safe_member(pkg, "link.png")


def test_plain_member_resolves_inside(tmp_path):
    assert safe_member(tmp_path, "textures/head_albedo.png") == (tmp_path / "textures/head_albedo.png").resolve()


def test_non_empty_output_refused_without_force(tmp_path):
    (tmp_path / "keep.txt").write_text("user data")
    with pytest.raises(OutputError, match="not empty"):
        check_output_dir(tmp_path, force=False)
    assert check_output_dir(tmp_path, force=True) == tmp_path
    assert (tmp_path / "keep.txt").read_text() == "user data"


def test_empty_or_missing_output_accepted(tmp_path):
    assert check_output_dir(tmp_path / "new" / "pkg", force=False) == tmp_path / "new" / "pkg"
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty", force=False)


def test_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_output_dir(tmp_path / "f", force=True)


def test_unwritable_location_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(blocker / "pkg", force=False)
    # /proc refuses new entries even for root, unlike permission bits
    with pytest.raises(OutputError, match="cannot write"):
        check_output_dir("/proc/mach-test/pkg", force=False)


def test_missing_or_corrupt_manifest_is_a_package_error(tmp_path):
    with pytest.raises(PackageError, match="no manifest.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something-else"}')
    with pytest.raises(PackageError, match="invalid"):
        read_manifest(tmp_path)


def test_a_killed_writers_partial_folder_is_removed_and_a_live_ones_kept(tmp_path):
    from machcreator.export.package import remove_stale_partials

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".anna.{dead.pid}-x1.partial"
    live = tmp_path / f".anna.{os.getpid()}-x2.partial"
    other = tmp_path / f".bob.{dead.pid}-x3.partial"
    for folder in (stale, live, other):
        (folder / "textures").mkdir(parents=True)
    assert remove_stale_partials(tmp_path / "anna") == [stale]
    assert not stale.exists() and live.exists() and other.exists()
