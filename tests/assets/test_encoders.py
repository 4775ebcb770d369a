"""Text encoders for asset matching: the shipped MiniLM, and CLIP text towers loaded from local folders
(a tiny random one built here, the way diffusers' tests build theirs)."""

import json

import numpy as np
import pytest

from machcreator.assets.encoders import ClipTextEncoder, MiniLMEncoder, get_encoder
from machcreator.core.errors import ModelLoadError

WORDS = ["a", "red", "shirt", "blue", "jeans", "hat", "coat", "boots", "knit", "wool", "cap", "sun", "glasses"]


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A random CLIPTextModelWithProjection (hidden 32, 2 layers, projection 16) and a BPE tokenizer
    from a vocab.json + merges.txt written here, saved as a Hugging Face folder."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    folder = tmp_path_factory.mktemp("tiny_clip")
    letters = sorted({c for w in WORDS for c in w})
    tokens = ["<|startoftext|>", "<|endoftext|>"] + letters + [c + "</w>" for c in letters] + [w + "</w>" for w in WORDS]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    merges = ["#version: 0.2"]
    for w in WORDS:  # merge each word left to right into one token
        for k in range(1, len(w)):
            left, right = w[:k], w[k] + ("</w>" if k == len(w) - 1 else "")
            merges.append(f"{left} {right}")
            vocab.setdefault(left + right, len(vocab))
    (folder / "merges.txt").write_text("\n".join(dict.fromkeys(merges)) + "\n")
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = CLIPTokenizer.from_pretrained(folder)  # reads vocab.json + merges.txt
    config = CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=2, projection_dim=16, max_position_embeddings=32,
                            bos_token_id=0, eos_token_id=1, pad_token_id=1)
    import torch

    torch.manual_seed(0)
    CLIPTextModelWithProjection(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_minilm_rows_are_unit_length_and_synonyms_are_near():
    vectors = MiniLMEncoder().encode(["trainers", "sneakers", "a wool hat"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_clip_hf_folder_loads_offline_and_encodes(tiny_clip):
    encoder = ClipTextEncoder(tiny_clip)
    vectors = encoder.encode(["a red shirt", "blue jeans", "sun glasses"])
    assert vectors.shape == (3, 16) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])
    np.testing.assert_allclose(encoder.encode(["a red shirt"])[0], vectors[0], atol=1e-5)  # padding does not leak


def test_get_encoder_picks_clip_by_name(tiny_clip):
    encoder = get_encoder("clip", {"model_dir": str(tiny_clip)})
    assert isinstance(encoder, ClipTextEncoder) and encoder.name.startswith("clip:")
    assert get_encoder("clip", {"model_dir": str(tiny_clip)}) is encoder  # loaded once per process
    assert isinstance(get_encoder(), MiniLMEncoder)


@pytest.mark.parametrize("name, options, message", [
    ("clip", {}, "needs model_dir"),
    ("clip", {"model_dir": "/nonexistent/clip"}, "does not exist"),
    ("bert", {}, "unknown asset encoder"),
])
def test_bad_encoder_choice_is_one_clear_error(name, options, message):
    with pytest.raises(ModelLoadError, match=message):
        get_encoder(name, options)


def test_folder_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="neither a Hugging Face CLIP model"):
        ClipTextEncoder(tmp_path)


def test_open_clip_checkpoint_loads_when_open_clip_is_installed(tmp_path):
    open_clip = pytest.importorskip("open_clip")
    import torch

    cfg = {"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2}}
    model = open_clip.CLIP(**cfg)
    torch.save(model.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
    vectors = ClipTextEncoder(tmp_path).encode(["a red shirt", "blue jeans"])
    assert vectors.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
