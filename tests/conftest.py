"""Shared fixtures: one real character package per test session (generation takes seconds)."""

from pathlib import Path

import pytest

from machcreator.attributes import Attributes, resolve
from machcreator.body.template import load_anny, shape_body
from machcreator.character import ShapedBody
from machcreator.export.package import write_package
from machcreator.pipeline import GenerateRequest, Pipeline

FISHERMAN = "an old fisherman with a grey beard and a wool cap"
#: the shared character: the real pipeline, with a draft groom (a fifth of the strands) so the
#: many tests that read its package stay fast; full-detail grooms are tested in tests/hair.
FISHERMAN_REQUEST = GenerateRequest(prompt=FISHERMAN, seed=7, hair_detail=0.2)


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="session")
def fisherman_result(pipeline):
    return pipeline(FISHERMAN_REQUEST)


@pytest.fixture(scope="session")
def fisherman_package(fisherman_result, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "fisherman"
    write_package(fisherman_result, out)
    return out


@pytest.fixture(scope="session")
def body() -> ShapedBody:
    """anny's body for seed 0's default attributes (rest pose, 52 ARKit facial-action deltas)."""
    return shape_body(load_anny(), resolve(Attributes(), seed=0))
