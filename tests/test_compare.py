"""`mach compare`: contact sheets of real characters across a sweep."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from machcreator.compare import LABEL_PX, Axis, contact_sheet
from machcreator.pipeline import GenerateRequest, Pipeline


@pytest.fixture(scope="module")
def own_pipeline() -> Pipeline:
    """Not the session's pipeline: these runs would push its cached fisherman out (it keeps two runs)."""
    return Pipeline()


def test_a_sweep_is_parsed_and_applied():
    axis = Axis.parse("body.age_years=20, 60")
    assert axis == Axis("body.age_years", ("20", "60"))
    request = axis.apply("60", GenerateRequest(prompt="a man", overrides=["hair.color=red"]))
    assert request.overrides == ["hair.color=red", "body.age_years=60"]
    assert Axis.parse("seed=3,4").apply("4", GenerateRequest()).seed == 4
    for bad in ("body.age_years", "=1,2", "seed=a,b", "hair.color="):
        with pytest.raises(ValueError):
            Axis.parse(bad)


def test_a_bad_sweep_value_is_refused_before_any_cell_renders():
    rendered = []
    with pytest.raises(ValidationError, match="expected a number"):
        contact_sheet(rendered.append, GenerateRequest(prompt="a man"), Axis("body.age_years", ("30", "old")))
    assert rendered == []


def test_the_sheet_has_one_labelled_cell_per_character_and_they_differ(own_pipeline):
    base = GenerateRequest(prompt="a bald person", seed=2, texture_size=64, preview_size=96, hair_detail=0.05)
    sheet = contact_sheet(own_pipeline, base, Axis("body.age_years", ("25", "85")), Axis("body.gender", ("female",)))
    assert sheet.shape == (LABEL_PX + 96, 5 * LABEL_PX + 2 * 96, 3)
    young, old = (sheet[LABEL_PX:, 5 * LABEL_PX + c * 96:5 * LABEL_PX + (c + 1) * 96] for c in range(2))
    assert np.abs(young.astype(int) - old.astype(int)).mean() > 2.0
    assert (sheet[:LABEL_PX] < 100).any() and (sheet[LABEL_PX:, :5 * LABEL_PX] < 100).any()  # labels drawn


def test_the_command_refuses_a_bad_sweep_and_an_existing_file(tmp_path):
    out = tmp_path / "sheet.png"
    Image.new("RGB", (4, 4)).save(out)
    done = subprocess.run([sys.executable, "-m", "machcreator.cli", "compare", "a man", "-o", str(out),
                           "--columns", "body.age_years=20,40"], capture_output=True, text=True)
    assert done.returncode == 2 and "pass --force" in done.stderr
    done = subprocess.run([sys.executable, "-m", "machcreator.cli", "compare", "a man", "-o", str(tmp_path / "x.png"),
                           "--columns", "body.age_years"], capture_output=True, text=True)
    assert done.returncode == 2 and "PATH=V1,V2" in done.stderr
