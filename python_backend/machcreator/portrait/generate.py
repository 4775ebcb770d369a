"""Paint one portrait: Stable Diffusion guided by two ControlNets (Mach §2.1: OpenPose face
keypoints and canny edges of the attribute-shaped head), one seed, progress per denoising step.

The same call serves ``StableDiffusionControlNetPipeline`` (SD1.5) and
``StableDiffusionXLControlNetPipeline`` (SDXL): both take the control images and their scales as
lists in the order the pipeline's ControlNets were given (openpose, canny).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

if TYPE_CHECKING:
    from machcreator.core.models import PortraitSettings
    from machcreator.portrait.clues import ClueMaps
    from machcreator.portrait.models import PortraitPipeline

#: progress(step, total, message): step counts from 1 to total denoising steps
Progress = Callable[[int, int, str], None]


def paint(pipeline: PortraitPipeline, prompt: str, negative_prompt: str, clues: ClueMaps,
          settings: PortraitSettings, seed: int, progress: Progress | None = None, label: str = "portrait") -> np.ndarray:
    """One portrait, (S, S, 3) uint8 sRGB with S = ``settings.size_for(pipeline.arch)``.

    Args:
        clues: the control images; resized to S when drawn at another size.
        seed: seeds a torch generator on the pipeline's device: the same seed, settings and models
            give the same image.
        progress: called after each denoising step with (step, total, "<label>: step i/n").
        label: names the try in the progress message.
    """
    import torch
    from PIL import Image

    size = settings.size_for(pipeline.arch)
    controls = [Image.fromarray(_at_size(clues.openpose, size)), Image.fromarray(_at_size(clues.canny, size))]
    total = settings.steps

    def on_step_end(pipe: Any, step: int, timestep: Any, kwargs: dict) -> dict:
        if progress is not None:
            progress(step + 1, total, f"{label}: step {step + 1}/{total}")
        return kwargs

    out = pipeline.pipe(prompt=prompt, negative_prompt=negative_prompt, image=controls,
                        controlnet_conditioning_scale=[settings.openpose_scale, settings.canny_scale],
                        num_inference_steps=total, guidance_scale=settings.guidance,
                        generator=torch.Generator(pipeline.device).manual_seed(seed), height=size, width=size,
                        output_type="np", callback_on_step_end=on_step_end)
    return (np.clip(out.images[0], 0.0, 1.0) * 255).round().astype(np.uint8)


def token_counter(pipeline: PortraitPipeline) -> Callable[[str], int]:
    """Tokens of a text in the pipeline's own (first) tokenizer, begin and end markers excluded:
    what :func:`~machcreator.portrait.prompting.portrait_prompts` keeps prompts within."""
    tokenizer = pipeline.pipe.tokenizer
    return lambda text: len(tokenizer(text, truncation=False).input_ids) - 2


def _at_size(rgb: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3): area-averaged when shrinking, linear when growing."""
    if rgb.shape[:2] == (size, size):
        return np.ascontiguousarray(rgb)
    shrink = size < rgb.shape[0]
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
