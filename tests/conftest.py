"""Shared fixtures: one real character package per test session (generation takes seconds)."""

from pathlib import Path

import pytest

from machcreator.package import write_package
from machcreator.pipeline import GenerateRequest, Pipeline

FISHERMAN = "an old fisherman with a grey beard and a wool cap"


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="session")
def fisherman_result(pipeline):
    return pipeline(GenerateRequest(prompt=FISHERMAN, seed=7))


@pytest.fixture(scope="session")
def fisherman_package(fisherman_result, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pkg") / "fisherman"
    write_package(fisherman_result, out)
    return out
