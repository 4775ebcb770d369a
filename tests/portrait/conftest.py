"""Tiny random models for the portrait tests, written once per session (folder and single-file forms)."""

import pytest
import torch

from machcreator.core.models import ModelsConfig

from .tiny_models import tiny_models_config, tiny_sdxl_models_config


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on one thread: with two threads on a busy 2-core machine each tiny op waits for the
    other thread's spin (a 2-step 64-px paint takes 3-8 s instead of 0.15 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> ModelsConfig:
    """Diffusers folders: SD 1.5-shaped base, openpose + canny ControlNets, CLIP; cpu/float32, 2 steps, 64 px."""
    return tiny_models_config(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def tiny_models_single_file(tmp_path_factory) -> ModelsConfig:
    """The same tiny weights as ``tiny_models`` as LDM-layout single .safetensors files (+ ``base_config``)."""
    return tiny_models_config(tmp_path_factory.mktemp("tiny_models_single"), single_file=True)


@pytest.fixture(scope="session")
def tiny_sdxl_models(tmp_path_factory) -> ModelsConfig:
    """Diffusers folders: SDXL-shaped base (two text encoders), SDXL openpose + canny ControlNets; cpu/float32,
    2 steps, 64 px."""
    return tiny_sdxl_models_config(tmp_path_factory.mktemp("tiny_sdxl"))
