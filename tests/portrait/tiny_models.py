"""Tiny, randomly initialised models for the portrait tests, built the way diffusers tests its own pipelines.

Every builder seeds torch itself, so two calls write identical weights. Nothing is downloaded: the CLIP
tokenizer is built from a byte-level vocab.json written here (every byte's unicode stand-in, alone and with
the end-of-word marker ``</w>``, and no merges), so any text tokenises, one token per character.
"""

from __future__ import annotations

import json
from pathlib import Path

#: latent channels and widths shared by the UNet and the ControlNets (they must agree to be combined)
BLOCKS = (4, 8)
#: text embedding width: the CLIP text encoder's hidden size = the UNet's cross-attention width
TEXT_DIM = 32
#: image side the tests paint at (px); the 2-level VAE halves it for the 32-px latent
IMAGE_SIZE = 64
#: SDXL's cross-attention width: its two text encoders' hidden states side by side
SDXL_TEXT_DIM = 2 * TEXT_DIM
#: SDXL's added conditioning: 6 size/crop numbers embedded at this width each, + the pooled text (TEXT_DIM)
SDXL_TIME_DIM = 8
SDXL_ADDED = {"addition_embed_type": "text_time", "addition_time_embed_dim": SDXL_TIME_DIM,
              "projection_class_embeddings_input_dim": 6 * SDXL_TIME_DIM + TEXT_DIM,
              "transformer_layers_per_block": (1, 2), "cross_attention_dim": SDXL_TEXT_DIM}


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table: printable bytes stand for themselves, the rest map to code points from 256 up."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _byte_vocab() -> dict[str, int]:
    """GPT-2/CLIP's byte -> printable unicode table (256 chars), each with a ``</w>`` variant, + specials."""
    chars = list(_bytes_to_unicode().values())
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}


def save_tiny_tokenizer(folder: str | Path) -> Path:
    """A CLIPTokenizer (vocab.json + merges.txt with no merges) saved to ``folder``."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(_byte_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(folder)
    return folder


def _text_config():
    from transformers import CLIPTextConfig

    vocab = _byte_vocab()
    return CLIPTextConfig(vocab_size=len(vocab), hidden_size=TEXT_DIM, intermediate_size=37, num_hidden_layers=2,
                          num_attention_heads=4, projection_dim=TEXT_DIM, max_position_embeddings=77,
                          bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
                          pad_token_id=vocab["<|endoftext|>"], layer_norm_eps=1e-5, hidden_act="quick_gelu")


def _tiny_unet(**arch):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        block_out_channels=BLOCKS, layers_per_block=2, sample_size=IMAGE_SIZE // 2, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=1, attention_head_dim=2, **arch)


def _tiny_vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(block_out_channels=BLOCKS, in_channels=3, out_channels=3, latent_channels=4,
                         down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                         up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=2,
                         sample_size=IMAGE_SIZE)


def _tiny_tokenizer():
    import tempfile

    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        return CLIPTokenizer.from_pretrained(save_tiny_tokenizer(tmp))


def _tiny_scheduler():
    from diffusers import DPMSolverMultistepScheduler

    return DPMSolverMultistepScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       num_train_timesteps=1000, prediction_type="epsilon", steps_offset=1)


def tiny_sd15_components(seed: int = 0) -> dict:
    """unet, vae, text_encoder, tokenizer, scheduler of a random SD 1.5-shaped model (not saved)."""
    import torch
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = _tiny_unet(cross_attention_dim=TEXT_DIM)
    torch.manual_seed(seed + 1)
    vae = _tiny_vae()
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(_text_config())
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": _tiny_tokenizer(),
            "scheduler": _tiny_scheduler()}


def save_tiny_sd15(folder: str | Path) -> Path:
    """A diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)."""
    from diffusers import StableDiffusionPipeline

    folder = Path(folder)
    pipe = StableDiffusionPipeline(**tiny_sd15_components(), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_sdxl_components(seed: int = 0) -> dict:
    """The parts of a random SDXL-shaped model (not saved), as diffusers' SDXL ControlNet tests build them:
    a UNet with the text-time embedding over both text encoders' states (2 x 32-d), CLIPTextModel +
    CLIPTextModelWithProjection (whose pooled 32-d output joins the time embedding), two tokenizers."""
    import torch
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = _tiny_unet(**SDXL_ADDED)
    torch.manual_seed(seed + 1)
    vae = _tiny_vae()
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(_text_config())
    torch.manual_seed(seed + 3)
    text_encoder_2 = CLIPTextModelWithProjection(_text_config())
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "text_encoder_2": text_encoder_2,
            "tokenizer": _tiny_tokenizer(), "tokenizer_2": _tiny_tokenizer(), "scheduler": _tiny_scheduler()}


def save_tiny_sdxl(folder: str | Path) -> Path:
    """A diffusers StableDiffusionXLPipeline folder (what SDXL bases on the hub are), text_encoder_2/ and
    tokenizer_2/ included."""
    from diffusers import StableDiffusionXLPipeline

    folder = Path(folder)
    StableDiffusionXLPipeline(**tiny_sdxl_components()).save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_controlnet(arch: str = "sd15", seed: int = 10):
    """A random ControlNetModel matching the tiny UNet of ``arch`` (SDXL: its text-time embedding and 64-d text)."""
    import torch
    from diffusers import ControlNetModel

    if arch not in ("sd15", "sdxl"):
        raise ValueError(f"arch must be sd15 or sdxl, not {arch!r}")
    widths = {"cross_attention_dim": TEXT_DIM} if arch == "sd15" else SDXL_ADDED
    torch.manual_seed(seed)
    return ControlNetModel(
        block_out_channels=BLOCKS, layers_per_block=2, in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), conditioning_embedding_out_channels=(16, 32),
        norm_num_groups=1, attention_head_dim=2, **widths)


def save_tiny_lora(file: str | Path, seed: int = 30, strength: float = 8.0) -> Path:
    """A random LoRA (rank 2) on the tiny SD 1.5 UNet's attention projections, saved by the pipeline class's
    own save_lora_weights as one .safetensors (what a LoRA file from a trainer holds).

    Both matrices of each pair are random (peft's default leaves lora_B zero, a LoRA that changes nothing);
    lora_B is multiplied by ``strength`` so that the change shows after 2 denoising steps (save_lora_weights
    writes no alpha, so a LoRA's strength lives in its weights here).
    """
    import torch
    from diffusers import StableDiffusionControlNetPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    file = Path(file)
    unet = _tiny_unet(cross_attention_dim=TEXT_DIM)
    torch.manual_seed(seed)
    unet.add_adapter(LoraConfig(r=2, lora_alpha=2, target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                                init_lora_weights=False))
    layers = {k: v * strength if ".lora_B." in k else v for k, v in get_peft_model_state_dict(unet).items()}
    StableDiffusionControlNetPipeline.save_lora_weights(file.parent, unet_lora_layers=layers, weight_name=file.name,
                                                        safe_serialization=True)
    return file


def save_tiny_controlnet(folder: str | Path, arch: str = "sd15", seed: int = 10) -> Path:
    """A diffusers ControlNet folder (config.json + diffusion_pytorch_model.safetensors)."""
    folder = Path(folder)
    tiny_controlnet(arch, seed).save_pretrained(folder, safe_serialization=True)
    return folder


def save_tiny_clip(folder: str | Path, seed: int = 20) -> Path:
    """A random transformers CLIPModel (text 32-d, vision 32-d on 32-px images) + CLIPProcessor, saved."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPVisionConfig

    folder = Path(folder)
    vision = CLIPVisionConfig(hidden_size=TEXT_DIM, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8, projection_dim=TEXT_DIM, hidden_act="quick_gelu")
    config = CLIPConfig(text_config=_text_config().to_dict(), vision_config=vision.to_dict(), projection_dim=TEXT_DIM)
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    tokenizer = _tiny_tokenizer()
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def write_models_toml(file: str | Path, fields: dict, portrait: dict | None = None) -> Path:
    """A models.toml with ``fields`` at the top and ``portrait`` as its [portrait] section (strings quoted)."""
    def line(key, value):
        return f"{key} = {json.dumps(str(value)) if isinstance(value, (str, Path)) else json.dumps(value)}"

    lines = [line(k, v) for k, v in fields.items()]
    if portrait:
        lines += ["", "[portrait]"] + [line(k, v) for k, v in portrait.items()]
    file = Path(file)
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


#: the [portrait] section of the tiny configs: two steps at 64 px (a second on a CPU)
TINY_PORTRAIT = {"steps": 2, "size": IMAGE_SIZE, "max_tries": 2}


def tiny_models_config(tmp_path: str | Path, single_file: bool = False):
    """Everything configured (base, both ControlNets, CLIP), cpu/float32, 2 steps at 64 px, written as
    ``tmp_path/models.toml`` with paths relative to it, and loaded back through the config loader.

    ``single_file``: the base and ControlNets as LDM-layout .safetensors files instead of diffusers folders
    (same weights), the base's configs and tokenizer in a weightless folder named as ``base_config``.
    """
    from machcreator.core.models import load_models_config

    tmp_path = Path(tmp_path)
    if single_file:
        save_tiny_sd15_single_file(tmp_path / "tiny_sd15.safetensors")
        save_tiny_controlnet_single_file(tmp_path / "tiny_openpose.safetensors", seed=10)
        save_tiny_controlnet_single_file(tmp_path / "tiny_canny.safetensors", seed=11)
        save_tiny_sd15_config(tmp_path / "tiny_sd15_config")
        names = {"base": "tiny_sd15.safetensors", "base_config": "tiny_sd15_config",
                 "controlnet_openpose": "tiny_openpose.safetensors",
                 "controlnet_canny": "tiny_canny.safetensors"}
    else:
        save_tiny_sd15(tmp_path / "tiny_sd15")
        save_tiny_controlnet(tmp_path / "tiny_openpose", seed=10)
        save_tiny_controlnet(tmp_path / "tiny_canny", seed=11)
        names = {"base": "tiny_sd15", "controlnet_openpose": "tiny_openpose", "controlnet_canny": "tiny_canny"}
    save_tiny_clip(tmp_path / "tiny_clip")
    fields = {**names, "clip": "tiny_clip", "device": "cpu", "dtype": "float32"}
    return load_models_config(write_models_toml(tmp_path / "models.toml", fields, TINY_PORTRAIT), env={})


def tiny_sdxl_models_config(tmp_path: str | Path):
    """An SDXL base and SDXL openpose + canny ControlNets as diffusers folders, cpu/float32, 2 steps at 64 px,
    written as ``tmp_path/models.toml`` and loaded back through the config loader."""
    from machcreator.core.models import load_models_config

    tmp_path = Path(tmp_path)
    save_tiny_sdxl(tmp_path / "tiny_sdxl")
    save_tiny_controlnet(tmp_path / "tiny_openpose_xl", arch="sdxl", seed=10)
    save_tiny_controlnet(tmp_path / "tiny_canny_xl", arch="sdxl", seed=11)
    fields = {"base": "tiny_sdxl", "controlnet_openpose": "tiny_openpose_xl", "controlnet_canny": "tiny_canny_xl",
              "device": "cpu", "dtype": "float32"}
    return load_models_config(write_models_toml(tmp_path / "models.toml", fields, TINY_PORTRAIT), env={})


# --- single-file checkpoints in the original (LDM / CompVis) key layout -------------------------------------
# The inverse of diffusers.loaders.single_file_utils' convert_ldm_unet_checkpoint, convert_controlnet_checkpoint,
# convert_ldm_vae_checkpoint and convert_ldm_clip_checkpoint: what an artist's realisticVision.safetensors or
# control_v11p_sd15_openpose.safetensors holds.

_RESNET_TO_LDM = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
                  ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
_UNET_FIXED = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
               "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
               "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
               "controlnet_cond_embedding.conv_in": "input_hint_block.0",
               "controlnet_cond_embedding.conv_out": "input_hint_block.14", "controlnet_mid_block": "middle_block_out.0"}


def _resnet_to_ldm(rest: str) -> str:
    for new, old in _RESNET_TO_LDM:
        if rest.startswith(new + "."):
            return old + rest[len(new):]
    raise KeyError(rest)


def unet_key_to_ldm(key: str, layers_per_block: int, up_blocks_with_attention: set[int] = frozenset()) -> str:
    """A diffusers UNet2DConditionModel / ControlNetModel key -> its LDM name (without the model prefix).

    ``up_blocks_with_attention``: the up blocks whose upsampler sits after an attention (LDM index 2, else 1).
    """
    import re

    stem, _, leaf = key.rpartition(".")
    if stem in _UNET_FIXED:
        return f"{_UNET_FIXED[stem]}.{leaf}"
    per = layers_per_block + 1
    if m := re.fullmatch(r"down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = 1 + block * per + layer
        return f"input_blocks.{index}.0.{_resnet_to_ldm(rest)}" if kind == "resnets" else f"input_blocks.{index}.1.{rest}"
    if m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"input_blocks.{(int(m[1]) + 1) * per}.0.op.{m[2]}"
    if m := re.fullmatch(r"mid_block\.(resnets|attentions)\.(\d+)\.(.+)", key):
        if m[1] == "resnets":
            return f"middle_block.{2 * int(m[2])}.{_resnet_to_ldm(m[3])}"
        return f"middle_block.1.{m[3]}"
    if m := re.fullmatch(r"up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)", key):
        block, kind, layer, rest = int(m[1]), m[2], int(m[3]), m[4]
        index = block * per + layer
        return f"output_blocks.{index}.0.{_resnet_to_ldm(rest)}" if kind == "resnets" else f"output_blocks.{index}.1.{rest}"
    if m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        block = int(m[1])
        return f"output_blocks.{block * per + layers_per_block}.{2 if block in up_blocks_with_attention else 1}.conv.{m[2]}"
    if m := re.fullmatch(r"controlnet_down_blocks\.(\d+)\.(.+)", key):
        return f"zero_convs.{m[1]}.0.{m[2]}"
    if m := re.fullmatch(r"controlnet_cond_embedding\.blocks\.(\d+)\.(.+)", key):
        return f"input_hint_block.{2 * (int(m[1]) + 1)}.{m[2]}"
    raise KeyError(f"no LDM name for UNet key {key}")


_VAE_ATTN_TO_LDM = (("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"))


def vae_key_to_ldm(key: str, num_up_blocks: int) -> str:
    """A diffusers AutoencoderKL key -> its LDM name (without ``first_stage_model.``)."""
    import re

    for new, old in (("conv_norm_out", "norm_out"),):
        key = key.replace(f"coder.{new}.", f"coder.{old}.")
    if m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
        return f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
    if m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
        return f"decoder.up.{num_up_blocks - 1 - int(m[1])}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
        return f"decoder.up.{num_up_blocks - 1 - int(m[1])}.upsample.conv.{m[2]}"
    if m := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
        return f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}"
    if m := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)", key):
        rest = m[2]
        for new, old in _VAE_ATTN_TO_LDM:
            if rest.startswith(new + "."):
                rest = old + rest[len(new):]
        return f"{m[1]}.mid.attn_1.{rest}"
    return key  # conv_in, conv_out, norm_out, quant_conv, post_quant_conv keep their names


def _unet_to_ldm_state(model, prefix: str) -> dict:
    config = model.config
    up_types = getattr(config, "up_block_types", ())
    with_attention = {i for i, name in enumerate(up_types) if "CrossAttn" in name}
    return {prefix + unet_key_to_ldm(k, config.layers_per_block, with_attention): v.contiguous()
            for k, v in model.state_dict().items()}


def _vae_to_ldm_state(vae, prefix: str = "first_stage_model.") -> dict:
    out = {}
    for key, value in vae.state_dict().items():
        ldm = vae_key_to_ldm(key, len(vae.config.up_block_types))
        if ".mid.attn_1." in ldm and ldm.endswith(".weight") and value.ndim == 2:
            value = value[:, :, None, None]  # LDM's attention projections are 1x1 convs
        out[prefix + ldm] = value.contiguous()
    return out


def save_tiny_sd15_single_file(path: str | Path, seed: int = 0) -> Path:
    """The tiny SD 1.5 model (same weights as :func:`save_tiny_sd15` for the same seed) as one .safetensors in
    the LDM layout: ``model.diffusion_model.*``, ``first_stage_model.*``, ``cond_stage_model.transformer.*``."""
    from safetensors.torch import save_file

    parts = tiny_sd15_components(seed)
    state = _unet_to_ldm_state(parts["unet"], "model.diffusion_model.")
    state.update(_vae_to_ldm_state(parts["vae"]))
    # transformers >= 5.6 flattened CLIPTextModel (no ``text_model.`` level); checkpoints keep the old names
    state.update({"cond_stage_model.transformer.text_model." + k.removeprefix("text_model."): v.contiguous()
                  for k, v in parts["text_encoder"].state_dict().items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


def save_tiny_sd15_config(folder: str | Path) -> Path:
    """The tiny SD 1.5 model's diffusers folder without weights (model_index.json, configs, tokenizer): what
    a single-file base needs beside it to be loaded offline (``base_config``)."""
    folder = save_tiny_sd15(folder)
    for weights in folder.rglob("*.safetensors"):
        weights.unlink()
    return folder


def save_tiny_controlnet_single_file(path: str | Path, arch: str = "sd15", seed: int = 10) -> Path:
    """The tiny ControlNet (same weights as :func:`save_tiny_controlnet`) as one LDM-layout ``control_model.*`` file."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(_unet_to_ldm_state(tiny_controlnet(arch, seed), "control_model."), str(path))
    return path
