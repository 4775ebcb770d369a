"""Text encoders for asset matching (Mach §2.5 matches assets by CLIP text similarity).

The embedded default is all-MiniLM-L6-v2, the same model (and the same loaded copy) the
embedded parser uses. A user with local CLIP weights can use CLIP's text tower instead: the
Hugging Face layout (``CLIPTextModelWithProjection`` + tokenizer files) always works; an
open_clip checkpoint (``open_clip_config.json`` + weights) works when open_clip is installed
(it is not by default: it needs torchvision). Nothing is ever downloaded.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from machcreator.core.errors import ModelLoadError

#: texts embedded per forward pass
BATCH = 64
ENCODERS = ("minilm", "clip")


@runtime_checkable
class TextEncoder(Protocol):
    """Texts -> (N, D) float32 rows of unit length; ``name`` identifies the weights (cache keys)."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _normalised(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (384-d), shared with :mod:`machcreator.parsing.embedded`."""

    name = "minilm"

    def encode(self, texts: list[str]) -> np.ndarray:
        from machcreator.parsing.embedded import embed

        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.concatenate([embed(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])


class ClipTextEncoder:
    """CLIP's text tower from a local folder: Hugging Face layout, or an open_clip checkpoint.

    Args:
        model_dir: a folder with ``config.json`` + weights + tokenizer files
            (``CLIPTextModelWithProjection.save_pretrained`` and the tokenizer's), or with
            ``open_clip_config.json`` + ``open_clip_pytorch_model.bin`` / ``.safetensors``.
    """

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir).expanduser()
        if not self.model_dir.is_dir():
            raise ModelLoadError(f"CLIP model folder {self.model_dir} does not exist")
        self.name = f"clip:{self.model_dir.resolve()}"
        self._lock = threading.Lock()
        if (self.model_dir / "open_clip_config.json").is_file():
            self._encode = _open_clip_tower(self.model_dir)
        elif (self.model_dir / "config.json").is_file():
            self._encode = _hf_tower(self.model_dir)
        else:
            raise ModelLoadError(f"{self.model_dir} holds neither a Hugging Face CLIP model (config.json) "
                                 "nor an open_clip checkpoint (open_clip_config.json)")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        with self._lock:
            return _normalised(np.concatenate([self._encode(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]))


def _hf_tower(model_dir: Path) -> Any:
    import torch
    from transformers import AutoTokenizer, CLIPTextModelWithProjection

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        model = CLIPTextModelWithProjection.from_pretrained(str(model_dir), local_files_only=True).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load a CLIP text model from {model_dir}: {str(exc).splitlines()[0]}") from None
    max_len = min(int(model.config.max_position_embeddings), 77)

    def encode(texts: list[str]) -> np.ndarray:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        with torch.inference_mode():
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.text_embeds.float().numpy()

    return encode


def _open_clip_tower(model_dir: Path) -> Any:
    try:
        import open_clip
        import torch
    except ImportError:
        raise ModelLoadError(f"{model_dir} is an open_clip checkpoint but open_clip is not installed "
                             "(pip install open_clip_torch), or convert it to the Hugging Face layout") from None
    config = json.loads((model_dir / "open_clip_config.json").read_text())
    weights = next((model_dir / n for n in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
                    if (model_dir / n).is_file()), None)
    if weights is None:
        raise ModelLoadError(f"{model_dir} has open_clip_config.json but no open_clip weights file")
    cfg = config.get("model_cfg", config)
    model = open_clip.CLIP(**cfg)
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=False)  # the vision tower may be absent: only the text tower is used
    model.eval()
    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=cfg.get("text_cfg", {}).get("context_length", 77))

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return model.encode_text(tokenizer(texts)).float().numpy()

    return encode


@lru_cache(maxsize=4)
def _cached(name: str, options_json: str) -> TextEncoder:
    options = json.loads(options_json)
    if name == "minilm":
        return MiniLMEncoder()
    model_dir = options.get("model_dir")
    if not model_dir:
        raise ModelLoadError("the clip encoder needs model_dir (a local CLIP folder; --asset-encoder-model-dir)")
    return ClipTextEncoder(model_dir)


def get_encoder(name: str = "minilm", options: dict[str, Any] | None = None) -> TextEncoder:
    """The encoder ``name`` ("minilm" | "clip" with ``{"model_dir": ...}``), loaded once per process."""
    if name not in ENCODERS:
        raise ModelLoadError(f"unknown asset encoder {name!r}; choose {' or '.join(ENCODERS)}")
    return _cached(name, json.dumps(options or {}, sort_keys=True))
