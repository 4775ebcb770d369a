"""Which local weights the portrait stage uses: one TOML file, overridden by env, overridden by CLI flags.

Artists already keep their checkpoints somewhere (a ComfyUI or A1111 ``models/`` folder); the config
names them where they are, as diffusers folders or single ``.safetensors``/``.ckpt`` files. Nothing here
imports torch or diffusers at import time: loading is :mod:`machcreator.portrait.models`' job.

File (``--models PATH``, else ``$MACH_MODELS``, else the user config file)::

    base = "sd15/realisticVision.safetensors"     # relative to this file
    controlnet_openpose = "controlnet/control_v11p_sd15_openpose"
    controlnet_canny = "controlnet/control_v11p_sd15_canny"
    device = "auto"
    [portrait]
    steps = 30
    scheduler = "dpmpp_2m"

Env ``MACH_MODEL_<FIELD>`` (``MACH_MODEL_BASE``, ``MACH_MODEL_LORA_SCALE``, ``MACH_MODEL_STEPS`` for a
``[portrait]`` field) overrides the file; keyword overrides (CLI flags; ``None`` = flag not given) override env.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from machcreator.core.errors import ModelConfigError

Arch = Literal["sd15", "sdxl"]
#: env var naming the config file
CONFIG_ENV = "MACH_MODELS"
#: prefix of the per-field env overrides
FIELD_ENV_PREFIX = "MACH_MODEL_"
#: image side (px) each architecture was trained at
NATIVE_SIZE: dict[str, int] = {"sd15": 512, "sdxl": 1024}


class PortraitSettings(BaseModel):
    """The ``[portrait]`` section: sampling and the QA thresholds of the reseed loop."""

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(30, ge=1, le=200)
    scheduler: Literal["dpmpp_2m", "euler_a", "ddim", "unipc"] = "dpmpp_2m"
    guidance: float = Field(7.0, ge=0.0, le=30.0)
    openpose_scale: float = Field(1.0, ge=0.0, le=2.0)
    canny_scale: float = Field(0.5, ge=0.0, le=2.0)
    #: image side in px (a multiple of 8); None: the base's native size (NATIVE_SIZE)
    size: int | None = Field(None, ge=64, le=2048, multiple_of=8)
    max_tries: int = Field(4, ge=1, le=16)
    #: lowest CLIP image-text cosine similarity a portrait may have
    clip_threshold: float = Field(0.2, ge=-1.0, le=1.0)
    #: largest |yaw|, |pitch|, |roll| in degrees
    max_angle_deg: float = Field(10.0, gt=0.0, le=90.0)
    #: lowest eyes-open score (0..1); the largest blink blendshape allowed is 1 - eyes_open_min
    eyes_open_min: float = Field(0.5, ge=0.0, le=1.0)
    #: largest mouth-open score (0..1, jawOpen)
    mouth_open_max: float = Field(0.3, ge=0.0, le=1.0)

    def size_for(self, arch: Arch) -> int:
        """The image side in px for ``arch``."""
        return self.size if self.size is not None else NATIVE_SIZE[arch]


class ModelsConfig(BaseModel):
    """Local weights for the portrait stage; every path absolute once loaded (see :func:`load_models_config`)."""

    model_config = ConfigDict(extra="forbid")

    #: SD 1.5-family or SDXL base: a diffusers folder or one .safetensors/.ckpt file
    base: Path | None = None
    #: for a single-file base: a diffusers folder giving its configs and tokenizer (weights not needed);
    #: None: the matching model in the local Hugging Face cache, if there is one
    base_config: Path | None = None
    controlnet_openpose: Path | None = None
    controlnet_canny: Path | None = None
    vae: Path | None = None
    lora: Path | None = None
    lora_scale: float = Field(0.8, ge=-4.0, le=4.0)
    #: a local chat model folder (transformers)
    llm: Path | None = None
    #: a Hugging Face CLIP folder, or an open_clip checkpoint file + clip_arch (e.g. "ViT-H-14")
    clip: Path | None = None
    clip_arch: str | None = None
    #: MediaPipe face_landmarker.task (blendshapes) for the portrait QA
    face_landmarker: Path | None = None
    device: Literal["auto", "cuda", "cpu"] = "auto"
    dtype: Literal["auto", "float16", "float32"] = "auto"
    portrait: PortraitSettings = Field(default_factory=PortraitSettings)

    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The TOML file this config was read from; None when only env/overrides/defaults gave it."""
        return self._source

    @property
    def portrait_configured(self) -> bool:
        """True when the portrait stage can run: a base and both ControlNets are named."""
        return None not in (self.base, self.controlnet_openpose, self.controlnet_canny)

    def model_paths(self) -> dict[str, Path]:
        """The named model paths, by field name, in field order (unset ones left out)."""
        return {name: value for name in PATH_FIELDS if (value := getattr(self, name)) is not None}

    def resolved_device(self) -> Literal["cuda", "cpu"]:
        """``auto``: cuda when torch sees a GPU, else cpu; an explicit choice is returned as given."""
        if self.device != "auto":
            return self.device
        import torch  # only here: this module stays importable without torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def resolved_dtype(self) -> Literal["float16", "float32"]:
        """``auto``: float16 on cuda (half the VRAM, tensor cores), float32 on cpu (fp16 CPU kernels are slow or missing)."""
        if self.dtype != "auto":
            return self.dtype
        return "float16" if self.resolved_device() == "cuda" else "float32"


#: the fields that name a file or folder (relative ones resolve against the config file)
PATH_FIELDS = ("base", "base_config", "controlnet_openpose", "controlnet_canny", "vae", "lora", "llm", "clip", "face_landmarker")


def user_config_file(env: Mapping[str, str] = os.environ) -> Path:
    """``%APPDATA%\\MachCreator\\models.toml`` on Windows, ``$XDG_CONFIG_HOME/machcreator/models.toml`` (``~/.config``) elsewhere."""
    if sys.platform == "win32" and env.get("APPDATA"):
        return Path(env["APPDATA"]) / "MachCreator" / "models.toml"
    return Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "machcreator" / "models.toml"


def load_models_config(path: Path | str | None = None, env: Mapping[str, str] = os.environ,
                       **overrides: Any) -> ModelsConfig:
    """The models config: the TOML file, then ``MACH_MODEL_*`` env, then ``overrides`` (None values skipped).

    Args:
        path: the config file (``--models``); None: ``$MACH_MODELS``, else :func:`user_config_file` if it exists.
        env: the environment to read (tests pass a dict).
        overrides: top-level fields (``base=...``) or ``[portrait]`` fields (``steps=...``) from CLI flags.

    Raises:
        ModelConfigError: a named file is missing or not TOML, an unknown key, or an invalid value; one line.
    """
    source = _config_file(path, env)
    values = _read_toml(source) if source is not None else {}
    base_dir = source.parent if source is not None else Path.cwd()
    _resolve_paths(values, base_dir)
    layers = [(f"env {FIELD_ENV_PREFIX}*", _from_env(env)), ("overrides", {k: v for k, v in overrides.items() if v is not None})]
    for origin, layer in layers:
        _resolve_paths(layer, Path.cwd())
        for key, value in layer.items():
            if key in PortraitSettings.model_fields and isinstance(values.setdefault("portrait", {}), dict):
                values["portrait"][key] = value
            elif key in ModelsConfig.model_fields and key != "portrait":
                values[key] = value
            else:
                raise ModelConfigError(f"{origin}: unknown models setting {key!r}")
    where = str(source) if source is not None else "models config"
    try:
        config = ModelsConfig.model_validate(values)
    except ValidationError as exc:
        raise ModelConfigError(f"{where}: {_first_error(exc)}") from None
    config._source = source
    return config


def _config_file(path: Path | str | None, env: Mapping[str, str]) -> Path | None:
    """The file to read: ``path``, else $MACH_MODELS (both must exist), else the user file when it exists."""
    for given, origin in ((path, "--models"), (env.get(CONFIG_ENV) or None, f"${CONFIG_ENV}")):
        if given is not None:
            file = Path(given).expanduser().absolute()
            if not file.is_file():
                raise ModelConfigError(f"models config {file} ({origin}) does not exist")
            return file
    user = user_config_file(env)
    return user if user.is_file() else None


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"{file}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ModelConfigError(f"{file}: cannot be read ({exc.strerror})") from None


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    """``MACH_MODEL_LORA_SCALE=0.6`` -> ``{"lora_scale": "0.6"}`` (pydantic converts the strings); empty ones skipped."""
    return {key[len(FIELD_ENV_PREFIX):].lower(): value for key, value in env.items()
            if key.startswith(FIELD_ENV_PREFIX) and value != ""}


def _resolve_paths(values: dict[str, Any], base_dir: Path) -> None:
    """Make the path fields of ``values`` absolute (``~`` expanded; relative ones against ``base_dir``), in place."""
    for name in PATH_FIELDS:
        if isinstance(values.get(name), (str, Path)):
            path = Path(values[name]).expanduser()
            values[name] = path if path.is_absolute() else base_dir / path


def _first_error(exc: ValidationError) -> str:
    """pydantic's first error as ``portrait.steps: Input should be ...`` (an unknown key named as such)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    return f"{where}: {error['msg']}" + (f" (got {error['input']!r})" if error["type"] != "missing" else "")
