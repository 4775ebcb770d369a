"""Loading and checking the user's local weights for the portrait stage (Mach §2.1's SD + ControlNet).

Every model is named by :class:`~machcreator.core.models.ModelsConfig` as a diffusers folder or as one
``.safetensors``/``.ckpt`` file in the original (LDM/CompVis) layout most artists have. Nothing is ever
downloaded: folders load with ``local_files_only=True``; a single-file base takes its configs and tokenizer
from ``base_config`` or the local Hugging Face cache (never the hub), and a single-file ControlNet or VAE
takes its config from the base it is used with. Each problem is one line a user can act on.
"""

from __future__ import annotations

import json
import math
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from machcreator.core.errors import ModelConfigError
from machcreator.core.models import Arch, ModelsConfig

Kind = Literal["base", "controlnet", "vae", "unknown"]
#: single-file checkpoint suffixes diffusers' from_single_file reads
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
ARCH_NAMES = {"sd15": "SD 1.5", "sdxl": "SDXL"}
#: the Hugging Face repo whose configs + tokenizer fit a single-file base of each arch (looked up in the local cache only)
CONFIG_REPOS = {"sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5", "sdxl": "stabilityai/stable-diffusion-xl-base-1.0"}
#: activation memory of one 2-image (CFG) denoising step with two ControlNets at the native size, GB in
#: float16: an estimate (not yet measured on a GPU here; scripts/gpu_check.py should confirm it); scales with pixels
ACTIVATION_GB = {"sd15": 1.5, "sdxl": 4.0}
BYTES_PER = {"float16": 2, "float32": 4}
LABELS = {"base": "base", "base_config": "base config", "controlnet_openpose": "openpose ControlNet",
          "controlnet_canny": "canny ControlNet", "vae": "VAE", "lora": "LoRA", "llm": "chat LLM", "clip": "CLIP",
          "face_landmarker": "face landmarker"}


@dataclass(frozen=True)
class ModelInfo:
    """What a path holds, from its configs or its tensor names/shapes (no weights loaded).

    ``text_dim``: the cross-attention (text embedding) width, 768 for SD 1.5, 1024 for SD 2.x, 2048 for SDXL.
    ``params``: number of weights, from safetensors headers (file size / 4 for pickles).
    """

    kind: Kind
    arch: Arch | None
    text_dim: int | None
    single_file: bool
    params: int


@dataclass
class PortraitPipeline:
    """A loaded diffusers ControlNet pipeline (``controlnet=[openpose, canny]``) and how it runs."""

    pipe: Any
    arch: Arch
    device: str
    dtype: str
    #: image side in px
    size: int


@dataclass
class ModelCheck:
    """One configured model as ``mach models check`` reports it; ``loadable`` is None when not tried."""

    name: str
    path: Path | None
    found: bool
    loadable: bool | None
    arch: Arch | None
    device: str
    dtype: str
    vram_gb: float | None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path) if self.path is not None else None
        return d


# --- what a path holds ------------------------------------------------------------------------------------------

def _read_json(file: Path) -> dict[str, Any]:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _tensor_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """name -> shape of every tensor in a checkpoint; safetensors from the header alone."""
    if file.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(file), "pt") as f:
                return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
        except Exception as exc:  # safetensors raises its own SafetensorError for any malformed header
            raise ModelConfigError(f"{file} is not a readable .safetensors file ({str(exc).splitlines()[0]})") from None
    import torch

    try:
        state = torch.load(str(file), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # pickle, zip and torch errors alike: the file is not a checkpoint
        raise ModelConfigError(f"{file} is not a readable checkpoint ({str(exc).splitlines()[0]})") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else {}
    return {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}


def _file_info(file: Path) -> ModelInfo:
    """Sniff a single-file checkpoint: LDM prefixes say the kind, SDXL's label_emb the arch, attn2.to_k the text width."""
    shapes = _tensor_shapes(file)
    keys = list(shapes)
    params = sum(math.prod(s) for s in shapes.values())
    if any(k.startswith("control_model.") or "input_hint_block." in k or k.startswith("controlnet_cond_embedding.")
           for k in keys):
        kind: Kind = "controlnet"
    elif any(k.startswith("model.diffusion_model.") for k in keys):
        kind = "base"
    elif any(k.startswith(("first_stage_model.", "encoder.conv_in.", "decoder.conv_in.")) for k in keys):
        kind = "vae"
    else:
        kind = "unknown"
    arch: Arch | None = None
    text_dim = next((shapes[k][1] for k in keys if k.endswith("attn2.to_k.weight") and len(shapes[k]) == 2), None)
    if kind in ("base", "controlnet"):
        sdxl = any(".label_emb." in k or k.startswith(("label_emb.", "add_embedding.")) for k in keys)
        arch = "sdxl" if sdxl else "sd15"
    return ModelInfo(kind, arch, text_dim, True, params)


def _folder_params(folder: Path) -> int:
    """Weights in a folder: safetensors headers, else pickled files at 4 bytes a weight."""
    total = 0
    for file in folder.rglob("*"):
        if file.suffix == ".safetensors":
            total += sum(math.prod(s) for s in _tensor_shapes(file).values())
        elif file.suffix in (".bin", ".ckpt", ".pt", ".pth"):
            total += file.stat().st_size // 4
    return total


def _unet_like_info(config: dict[str, Any]) -> tuple[Arch, int | None]:
    arch: Arch = "sdxl" if config.get("addition_embed_type") == "text_time" else "sd15"
    return arch, config.get("cross_attention_dim")


def _folder_info(folder: Path) -> ModelInfo:
    """A diffusers folder: a pipeline (model_index.json + unet/) or one model (config.json's _class_name)."""
    if (folder / "model_index.json").is_file():
        unet = _read_json(folder / "unet" / "config.json")
        arch, text_dim = _unet_like_info(unet) if unet else (None, None)
        if "XL" in str(_read_json(folder / "model_index.json").get("_class_name", "")):
            arch = "sdxl"
        return ModelInfo("base", arch, text_dim, False, _folder_params(folder))
    config = _read_json(folder / "config.json")
    class_name = str(config.get("_class_name", ""))
    if class_name.startswith("ControlNet"):
        arch, text_dim = _unet_like_info(config)
        return ModelInfo("controlnet", arch, text_dim, False, _folder_params(folder))
    if class_name == "AutoencoderKL":
        return ModelInfo("vae", None, None, False, _folder_params(folder))
    if class_name == "UNet2DConditionModel":  # a bare UNet folder: a base without its VAE and text encoder
        arch, text_dim = _unet_like_info(config)
        return ModelInfo("unknown", arch, text_dim, False, _folder_params(folder))
    return ModelInfo("unknown", None, None, False, 0)


def model_info(path: Path) -> ModelInfo:
    """What ``path`` holds. Raises ModelConfigError when it does not exist or cannot be read."""
    path = Path(path)
    if path.is_dir():
        return _folder_info(path)
    if path.is_file():
        if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
            raise ModelConfigError(f"{path} is neither a diffusers folder nor a checkpoint "
                                   f"({', '.join(SINGLE_FILE_SUFFIXES)})")
        return _file_info(path)
    raise ModelConfigError(f"{path} does not exist")


def detect_arch(path: Path | str, kind: Literal["base", "controlnet"]) -> Arch:
    """``"sd15"`` or ``"sdxl"`` for a base or ControlNet, folder or single file.

    Raises:
        ModelConfigError: missing, unreadable, or not a ``kind`` (e.g. a ControlNet given as the base).
    """
    info = model_info(Path(path))
    if info.kind != kind or info.arch is None:
        raise ModelConfigError(_wrong_kind(Path(path), kind, info))
    return info.arch


def _wrong_kind(path: Path, wanted: str, info: ModelInfo) -> str:
    held = {"base": "a Stable Diffusion base model", "controlnet": "a ControlNet", "vae": "a VAE"}.get(info.kind)
    want = {"base": "a Stable Diffusion 1.5 or SDXL base model", "controlnet": "a ControlNet", "vae": "a VAE"}[wanted]
    if held is None:
        form = "single-file checkpoint" if info.single_file else "folder"
        return f"{path} is not {want} (neither a diffusers {wanted} folder nor a {wanted} checkpoint; this {form} holds something else)"
    return f"{path} is {held}, not {want}"


# --- problems ---------------------------------------------------------------------------------------------------

def _mismatch(name: str, info: ModelInfo, base: ModelInfo) -> str | None:
    """One line when a ControlNet cannot drive this base (other arch, or other text width, e.g. SD 2.x on 1.5)."""
    label = LABELS[name]
    if info.arch != base.arch:
        return f"the {label} is {ARCH_NAMES[info.arch]} but the base is {ARCH_NAMES[base.arch]}"
    if info.text_dim and base.text_dim and info.text_dim != base.text_dim:
        return (f"the {label} expects {info.text_dim}-d text embeddings but the base gives {base.text_dim}-d "
                "(a ControlNet for another model family, e.g. SD 2.x on SD 1.5)")
    return None


def _clip_problem(config: ModelsConfig) -> str | None:
    path = config.clip
    if path.is_file():  # an open_clip checkpoint file
        if not config.clip_arch:
            return f"clip {path} is a file: an open_clip checkpoint needs clip_arch (e.g. \"ViT-H-14\")"
        try:
            import open_clip  # noqa: F401 - optional, GPU users install it
        except ImportError:
            return f"clip {path} is an open_clip checkpoint but open_clip is not importable (pip install open_clip_torch)"
        return None
    model_type = _read_json(path / "config.json").get("model_type")
    if model_type != "clip":
        found = f"config.json's model_type is {model_type!r}" if model_type else "no config.json"
        return f"clip {path} is not a CLIP model folder ({found}; expected a transformers CLIPModel)"
    return None


def _llm_problem(path: Path) -> str | None:
    if not (path / "config.json").is_file():
        return f"no chat model in {path} (expected config.json and weights there)"
    template_files = ("chat_template.jinja", "chat_template.json")
    has_template = any((path / f).is_file() for f in template_files) or \
        bool(_read_json(path / "tokenizer_config.json").get("chat_template"))
    if not has_template:
        return f"the tokenizer in {path} has no chat template"
    return None


def _device_problem(config: ModelsConfig) -> str | None:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        return f"device = \"cuda\" but CUDA is not available here (torch {torch.__version__}); use \"auto\" or \"cpu\""
    if config.resolved_device() == "cpu" and config.resolved_dtype() == "float16":
        return "dtype = \"float16\" on the CPU: diffusers' CPU kernels need float32; use \"auto\" or \"float32\""
    return None


# --- loading ----------------------------------------------------------------------------------------------------

def _torch_dtype(name: str) -> Any:
    import torch

    return {"float16": torch.float16, "float32": torch.float32}[name]


def _load_error(label: str, path: Path, exc: Exception) -> ModelConfigError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return ModelConfigError(f"cannot load the {label} from {path}: {first}")


#: what a failed diffusers/transformers load raises (missing files, bad configs, shape mismatches)
LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError)


def base_config_folder(config: ModelsConfig, info: ModelInfo) -> Path:
    """The diffusers folder giving a base's configs + tokenizer: the base itself when a folder, else
    ``base_config``, else the local Hugging Face cache of the matching repo (never the hub)."""
    if not info.single_file:
        return config.base
    if config.base_config is not None:
        if not (config.base_config / "model_index.json").is_file():
            raise ModelConfigError(f"base_config {config.base_config} is not a diffusers folder (no model_index.json)")
        return config.base_config
    repo = CONFIG_REPOS[info.arch]
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, local_files_only=True, allow_patterns=["*.json", "*.txt"]))
    except Exception:  # huggingface_hub raises LocalEntryNotFoundError (and others) when nothing is cached
        raise ModelConfigError(
            f"the single-file base {config.base} needs its configs and tokenizer: set base_config to a diffusers "
            f"folder of the same model family (e.g. {repo} without weights)") from None


#: SDXL's added (text-time) embedding in the LDM layout -> diffusers' names
LDM_LABEL_EMB = {"label_emb.0.0.": "add_embedding.linear_1.", "label_emb.0.2.": "add_embedding.linear_2."}


def _hint_widths(shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The conditioning embedding's widths from its convolutions, in the LDM layout (``input_hint_block.i``:
    conv(3->c0) at 0, then conv(c->c), conv(c->c', stride 2) pairs at 2, 4, ..., conv(->320) at 14) or
    diffusers' (``controlnet_cond_embedding.conv_in``, ``.blocks.i`` at 2(i+1), ``.conv_out``)."""
    layers = []
    for key, shape in shapes.items():
        if not key.endswith(".weight"):
            continue
        if "input_hint_block." in key:
            index = int(key.split("input_hint_block.")[1].split(".")[0])
            if index != 14:  # conv_out: the UNet's width, not the embedding's
                layers.append((index, shape[0]))
        elif key.startswith("controlnet_cond_embedding.conv_in."):
            layers.append((0, shape[0]))
        elif key.startswith("controlnet_cond_embedding.blocks."):
            layers.append((2 * (int(key.split(".")[2]) + 1), shape[0]))
    return tuple(dict.fromkeys(out for _, out in sorted(layers)))


def _ldm_sdxl_controlnet(path: Path, cn_config: dict[str, Any]) -> dict[str, Any]:
    """An LDM-layout SDXL ControlNet's weights under diffusers' names: diffusers' converter skips SDXL's
    ``label_emb`` (the added embedding would stay on the meta device and the load fail), so it is renamed here."""
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint, load_single_file_checkpoint

    checkpoint = load_single_file_checkpoint(str(path), local_files_only=True)
    state = convert_controlnet_checkpoint(checkpoint, cn_config)
    for key, value in checkpoint.items():
        rest = key.removeprefix("control_model.")
        for ldm, name in LDM_LABEL_EMB.items():
            if rest.startswith(ldm):
                state[name + rest[len(ldm):]] = value
    return state


def _controlnet(path: Path, info: ModelInfo, unet_config: dict[str, Any], dtype: Any, label: str) -> Any:
    """A ControlNetModel; a single file (LDM or diffusers key layout) takes the base UNet's config (what
    from_unet copies) and its conditioning-embedding widths from the file's own convolutions."""
    from diffusers import ControlNetModel

    try:
        if not info.single_file:
            return ControlNetModel.from_pretrained(path, local_files_only=True, dtype=dtype)
        shapes = _tensor_shapes(path)
        keep = set(ControlNetModel._get_init_keys(ControlNetModel)) - {"self"}
        cn_config = {k: v for k, v in unet_config.items() if k in keep}
        cn_config.update(_class_name="ControlNetModel", conditioning_embedding_out_channels=list(_hint_widths(shapes)))
        ldm = any("input_hint_block." in k for k in shapes)
        weights = _ldm_sdxl_controlnet(path, cn_config) if ldm and info.arch == "sdxl" else str(path)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.json").write_text(json.dumps(cn_config))
            return ControlNetModel.from_single_file(weights, config=tmp, local_files_only=True, dtype=dtype)
    except LOAD_ERRORS as exc:
        raise _load_error(label, path, exc) from None


def _vae(path: Path, vae_config: dict[str, Any], dtype: Any) -> Any:
    from diffusers import AutoencoderKL

    try:
        if path.is_dir():
            sub = "vae" if (path / "model_index.json").is_file() else None
            return AutoencoderKL.from_pretrained(path, subfolder=sub, local_files_only=True, dtype=dtype)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.json").write_text(json.dumps(vae_config))
            return AutoencoderKL.from_single_file(str(path), config=tmp, local_files_only=True, dtype=dtype)
    except LOAD_ERRORS as exc:
        raise _load_error("VAE", path, exc) from None


def _scheduler(pipe: Any, name: str) -> Any:
    """The configured sampler, built from the base's own scheduler config (its betas and timestep spacing)."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler, UniPCMultistepScheduler

    kinds = {"dpmpp_2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
             "euler_a": (EulerAncestralDiscreteScheduler, {}), "ddim": (DDIMScheduler, {}),
             "unipc": (UniPCMultistepScheduler, {})}
    cls, extra = kinds[name]
    return cls.from_config(pipe.scheduler.config, **extra)


def _problems(config: ModelsConfig) -> dict[str, str]:
    """field -> the one line that stops it from being used (cheap: configs and headers only)."""
    problems: dict[str, str] = {}
    infos: dict[str, ModelInfo] = {}
    wanted = {"base": "base", "controlnet_openpose": "controlnet", "controlnet_canny": "controlnet", "vae": "vae"}
    for name, path in config.model_paths().items():
        if not path.exists():
            problems[name] = f"{name}: {path} does not exist"
            continue
        if name in wanted:
            try:
                info = model_info(path)
            except ModelConfigError as exc:
                problems[name] = str(exc)
                continue
            if info.kind != wanted[name] or (wanted[name] != "vae" and info.arch is None):
                problems[name] = f"{name}: " + _wrong_kind(path, wanted[name], info)
            else:
                infos[name] = info
        elif name == "clip" and (line := _clip_problem(config)):
            problems[name] = line
        elif name == "llm" and (line := _llm_problem(path)):
            problems[name] = line
        elif name == "face_landmarker" and not (path.is_file() and zipfile.is_zipfile(path)):
            problems[name] = f"face_landmarker {path} is not a MediaPipe .task bundle"
        elif name == "lora" and not path.is_file():
            problems[name] = f"lora {path} is not a LoRA weights file (.safetensors)"
    if "base" in infos:
        for name in ("controlnet_openpose", "controlnet_canny"):
            if name in infos and (line := _mismatch(name, infos[name], infos["base"])):
                problems[name] = line
        if infos["base"].single_file and "base_config" not in problems:
            try:
                base_config_folder(config, infos["base"])
            except ModelConfigError as exc:
                problems["base_config" if config.base_config is not None else "base"] = str(exc)
    if any(getattr(config, n) is not None for n in ("base", "controlnet_openpose", "controlnet_canny")):
        for name in ("base", "controlnet_openpose", "controlnet_canny"):
            if getattr(config, name) is None:
                problems[name] = f"{name} is not set: the portrait stage needs base, controlnet_openpose and controlnet_canny"
    if line := _device_problem(config):
        problems["device"] = line
    return problems


def load_portrait_pipeline(config: ModelsConfig) -> PortraitPipeline:
    """The base + both ControlNets (+ VAE, + fused LoRA) as one diffusers pipeline on the configured device.

    Raises:
        ModelConfigError: the first problem found, one line (nothing configured, a missing or mismatched
            model, no CUDA, a load failure).
    """
    if not config.portrait_configured:
        raise ModelConfigError("the portrait stage needs base, controlnet_openpose and controlnet_canny in the models config")
    problems = _problems(config)
    if problems:
        raise ModelConfigError(next(iter(problems.values())))
    return _load(config)


def _load(config: ModelsConfig) -> PortraitPipeline:
    from diffusers import StableDiffusionControlNetPipeline, StableDiffusionXLControlNetPipeline

    device, dtype_name = config.resolved_device(), config.resolved_dtype()
    dtype = _torch_dtype(dtype_name)
    base = model_info(config.base)
    folder = base_config_folder(config, base)
    unet_config = _read_json(folder / "unet" / "config.json")
    controlnets = [_controlnet(getattr(config, name), model_info(getattr(config, name)), unet_config, dtype, LABELS[name])
                   for name in ("controlnet_openpose", "controlnet_canny")]
    parts: dict[str, Any] = {"controlnet": controlnets}
    if config.vae is not None:
        parts["vae"] = _vae(config.vae, _read_json(folder / "vae" / "config.json"), dtype)
    cls = StableDiffusionXLControlNetPipeline if base.arch == "sdxl" else StableDiffusionControlNetPipeline
    if base.arch == "sd15":  # SD 1.5 folders may carry a 1.2 GB safety checker: never load it
        parts.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    try:
        if base.single_file:
            pipe = cls.from_single_file(str(config.base), config=str(folder), local_files_only=True,
                                        dtype=dtype, **parts)
        else:
            pipe = cls.from_pretrained(config.base, local_files_only=True, dtype=dtype, **parts)
    except LOAD_ERRORS as exc:
        raise _load_error("base", config.base, exc) from None
    except Exception as exc:  # diffusers' SingleFileComponentError (not an OSError): a component missing from the file
        if type(exc).__name__ != "SingleFileComponentError":
            raise
        raise _load_error("base", config.base, exc) from None
    if config.lora is not None:
        _fuse_lora(pipe, config.lora, config.lora_scale)
    pipe.scheduler = _scheduler(pipe, config.portrait.scheduler)
    pipe.set_progress_bar_config(disable=True)  # progress goes through the stage's callback instead
    pipe.to(device)
    return PortraitPipeline(pipe, base.arch, device, dtype_name, config.portrait.size_for(base.arch))


def _fuse_lora(pipe: Any, path: Path, scale: float) -> None:
    """Load a LoRA file into the UNet/text encoder and fuse it at ``scale`` (no per-step LoRA overhead)."""
    try:
        import peft  # noqa: F401 - diffusers' LoRA loading needs it
    except ImportError:
        raise ModelConfigError(f"the LoRA {path} needs peft (pip install peft)") from None
    try:
        pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="user")
        pipe.fuse_lora(lora_scale=scale)
    except LOAD_ERRORS as exc:
        raise _load_error("LoRA", path, exc) from None


# --- mach models check ------------------------------------------------------------------------------------------

def _params(path: Path) -> int:
    """Number of weights in a folder or file (safetensors headers; pickles at 4 bytes a weight)."""
    if path.is_dir():
        return _folder_params(path)
    if path.suffix == ".safetensors":
        return sum(math.prod(s) for s in _tensor_shapes(path).values())
    return path.stat().st_size // 4


def _vram_gb(name: str, path: Path, arch: Arch | None, config: ModelsConfig, dtype: str) -> float | None:
    """Weights x bytes per weight at the run dtype, + the denoising activations on the base's row; GB."""
    params = _params(path)
    if not params:
        return None
    gb = params * BYTES_PER[dtype] / 1e9
    if name == "base" and arch is not None:
        pixels = (config.portrait.size_for(arch) / (512 if arch == "sd15" else 1024)) ** 2
        gb += ACTIVATION_GB[arch] * pixels * BYTES_PER[dtype] / 2
    return round(gb, 2)


def _try_load(name: str, config: ModelsConfig) -> str | None:
    """Load one model on the CPU the way the stage will (portrait models load together); a problem line or None."""
    try:
        if name == "clip":
            if config.clip.is_dir():
                from transformers import CLIPModel, CLIPProcessor

                CLIPModel.from_pretrained(config.clip, local_files_only=True)
                CLIPProcessor.from_pretrained(config.clip, local_files_only=True)
        elif name == "llm":
            from transformers import AutoConfig, AutoTokenizer

            AutoConfig.from_pretrained(config.llm, local_files_only=True)
            AutoTokenizer.from_pretrained(config.llm, local_files_only=True)
        elif name == "portrait":
            _load(config.model_copy(update={"device": "cpu", "dtype": "float32"}))
    except ModelConfigError as exc:
        return str(exc)
    except LOAD_ERRORS as exc:
        return str(_load_error(LABELS.get(name, name), getattr(config, name, config.base), exc))
    return None


def check_models(config: ModelsConfig, load: bool = True) -> list[ModelCheck]:
    """One :class:`ModelCheck` per configured model (plus a ``device`` row when the device is a problem).

    Args:
        load: also load each model on the CPU (the portrait models together, as the stage does); False:
            configs and checkpoint headers only (seconds, no RAM).
    """
    problems = _problems(config)
    device = "cuda" if config.device == "cuda" else config.resolved_device()
    dtype = config.resolved_dtype()
    portrait = ("base", "controlnet_openpose", "controlnet_canny", "vae", "lora")
    if load and config.portrait_configured and not any(n in problems for n in (*portrait, "base_config")):
        if line := _try_load("portrait", config):
            problems["base"] = line
    checks = []
    for name in dict.fromkeys([*config.model_paths(), *problems]):
        if name == "device":
            continue
        path = getattr(config, name)
        found = path is not None and path.exists()
        problem = problems.get(name)
        if load and problem is None and name in ("clip", "llm"):
            problem = _try_load(name, config)
        arch, vram = None, None
        if found and name in ("base", "controlnet_openpose", "controlnet_canny", "vae", "lora", "clip"):
            try:
                info = model_info(path)
                wanted = "base" if name == "base" else "controlnet"
                arch = info.arch if name in ("base", "controlnet_openpose", "controlnet_canny") and info.kind == wanted else None
                vram = _vram_gb(name, path, arch, config, dtype)
            except ModelConfigError:  # unreadable: already reported as this row's problem
                pass
        tried = load and name in (*portrait, "clip", "llm")
        loadable = False if problem is not None else (True if tried else None)
        checks.append(ModelCheck(name, path, found, loadable, arch, device, dtype, vram, problem))
    if "device" in problems:
        checks.append(ModelCheck("device", None, True, None, None, device, dtype, None, problems["device"]))
    return checks
