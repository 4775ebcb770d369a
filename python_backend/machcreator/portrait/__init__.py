"""Text → portrait (Mach §2.1): Stable Diffusion + ControlNet painted from the attributes' clues,
checked by a portrait QA and reseeded until one passes; the chosen portrait is the photo path's photo.

``models.py`` loads the user's weights (base, ControlNets) into one pipeline; ``clues.py`` draws
the control images from the attribute-shaped head; ``prompting.py`` words the attributes into a
prompt and negative prompt; ``generate.py`` paints one seed; ``qa.py`` scores a portrait (face,
pose, eyes, mouth, CLIP); :func:`paint_portrait` (here) runs the reseed loop and keeps every try
for the manifest and ``preview_portrait.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from machcreator.attributes import Attributes
from machcreator.core.errors import PortraitError
from machcreator.portrait.generate import Progress, paint, token_counter
from machcreator.portrait.prompting import portrait_prompts
from machcreator.portrait.qa import PortraitQA, PortraitScores, failed_checks

if TYPE_CHECKING:
    from machcreator.core.models import PortraitSettings
    from machcreator.portrait.clues import ClueMaps
    from machcreator.portrait.models import PortraitPipeline


@dataclass
class PortraitTry:
    """One seed's portrait: image (S, S, 3) uint8, its scores, and one line per failed check."""

    seed: int
    scores: PortraitScores
    reasons: list[str]
    image: np.ndarray

    @property
    def passed(self) -> bool:
        return not self.reasons

    def summary(self) -> dict[str, Any]:
        """The try as the manifest records it (no pixels)."""
        return {"seed": self.seed, "passed": self.passed, "scores": self.scores.model_dump(), "reasons": self.reasons}


@dataclass
class PortraitResult:
    """Every try of the reseed loop and the one chosen (index into ``tries``); ``warning`` says
    when no try passed and the best was taken."""

    tries: list[PortraitTry]
    chosen: int
    prompt: str
    negative_prompt: str
    clues: ClueMaps
    settings: PortraitSettings
    warning: str | None = None

    @property
    def image(self) -> np.ndarray:
        """The chosen portrait, (S, S, 3) uint8: the photo path's photo."""
        return self.tries[self.chosen].image

    def manifest(self) -> dict[str, Any]:
        """JSON-ready record: prompts, settings, every try with its seed, scores and reasons, the choice."""
        return {"prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "settings": self.settings.model_dump(mode="json"), "chosen": self.chosen,
                "chosen_seed": self.tries[self.chosen].seed, "passed": self.tries[self.chosen].passed,
                "warning": self.warning, "tries": [t.summary() for t in self.tries]}

    def contact_sheet(self, tile: int = 256) -> np.ndarray:
        """``preview_portrait.png``: the clue maps (render, openpose, canny) in the first row, the
        tries below (:data:`SHEET_COLUMNS` a row), each with its scores written under it, the
        chosen one framed in green. (H, W, 3) uint8."""
        clues = [(self.clues.render, ["clue: render"]), (self.clues.openpose, ["clue: openpose"]),
                 (self.clues.canny, ["clue: canny"])]
        rows = [[_tile(image, lines, tile) for image, lines in clues]]
        tries = [_tile(t.image, _score_lines(i, t), tile, FRAME_CHOSEN if i == self.chosen else None)
                 for i, t in enumerate(self.tries)]
        rows += [tries[i:i + SHEET_COLUMNS] for i in range(0, len(tries), SHEET_COLUMNS)]
        width = max(len(r) for r in rows) * tile
        return np.concatenate([_pad_row(np.concatenate(r, 1), width) for r in rows], 0)


def paint_portrait(resolved: Attributes, prompt: str, clues: ClueMaps, pipeline: PortraitPipeline,
                   qa: PortraitQA, settings: PortraitSettings, seed: int,
                   progress: Progress | None = None) -> PortraitResult:
    """Paint, score, reseed (issue 23, scope 4): seeds ``seed``, ``seed + 1``, ... up to
    ``settings.max_tries``; the first try that passes every check is chosen. When none passes, the
    best try (:func:`rank`) is chosen and the result carries a warning.

    Args:
        resolved: the resolved attributes (the prompt's words for the person).
        prompt: the user's text.
        clues: the control images (openpose and canny), drawn from the attribute-shaped head.
        progress: (step, total, message) per denoising step of each try.
    """
    positive, negative = portrait_prompts(resolved, prompt, pipeline.arch, token_counter(pipeline))
    tries: list[PortraitTry] = []
    for n in range(settings.max_tries):
        image = paint(pipeline, positive, negative, clues, settings, seed + n, progress,
                      label=f"portrait try {n + 1}/{settings.max_tries}")
        scores = qa.score(image, positive)
        tries.append(PortraitTry(seed + n, scores, failed_checks(scores, settings), image))
        if tries[-1].passed:
            return PortraitResult(tries, n, positive, negative, clues, settings)
    best = max(range(len(tries)), key=lambda i: rank(tries[i].scores, len(tries[i].reasons)))
    if not tries[best].scores.face_found:  # the photo path has nothing to fit
        raise PortraitError(f"none of the {len(tries)} portraits painted shows a face (seeds {seed}-{seed + len(tries) - 1}); "
                            "try more steps, another seed or other weights (`mach models check`)")
    warning = (f"no portrait passed QA in {len(tries)} tries; using seed {tries[best].seed} "
               f"({'; '.join(tries[best].reasons)})")
    return PortraitResult(tries, best, positive, negative, clues, settings, warning)


def rank(scores: PortraitScores, failures: int) -> tuple[bool, int, float, float]:
    """Sort key of a try, higher is better: a face found, then fewer failed checks, then the
    higher CLIP score, then the smaller largest head angle (degrees)."""
    angles = [abs(a) for a in (scores.yaw, scores.pitch, scores.roll) if a is not None]
    clip = scores.clip if scores.clip is not None else -1.0
    return scores.face_found, -failures, clip, -max(angles, default=180.0)


#: tries a row of the contact sheet
SHEET_COLUMNS = 4
#: the chosen try's frame (RGB) and its width in pixels
FRAME_CHOSEN, FRAME_PX = (40, 200, 60), 6
#: the caption band under each tile: lines of text, pixels a line
CAPTION_LINES, LINE_PX = 5, 16


def _score_lines(index: int, t: PortraitTry) -> list[str]:
    s = t.scores
    lines = [f"#{index + 1} seed {t.seed} {'PASS' if t.passed else 'FAIL'}"]
    if s.face_found:
        lines.append(f"yaw {s.yaw:+.1f} pitch {s.pitch:+.1f} roll {s.roll:+.1f}")
        lines.append(f"eyes {s.eyes_open:.2f} mouth {s.mouth_open:.2f}")
    if s.clip is not None:
        lines.append(f"clip {s.clip:.3f}")
    return lines + t.reasons[:1]


def _tile(image: np.ndarray, lines: list[str], tile: int, frame: tuple[int, int, int] | None = None) -> np.ndarray:
    """``image`` at tile² with a caption band of ``lines`` under it (at most CAPTION_LINES, each
    cut to the tile's width), framed in ``frame``'s colour when given."""
    out = np.full((tile + CAPTION_LINES * LINE_PX + 4, tile, 3), 255, np.uint8)
    out[:tile] = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
    scale = tile / 640  # text a tenth of the tile's width per ~16 characters
    chars = int(tile / (scale * 20))  # Hershey simplex is about 20 px a character at scale 1
    for k, line in enumerate(lines[:CAPTION_LINES]):
        cv2.putText(out, line[:chars], (4, tile + (k + 1) * LINE_PX - 3), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (20, 20, 20), 1, cv2.LINE_AA)
    if frame is not None:
        cv2.rectangle(out, (0, 0), (tile - 1, out.shape[0] - 1), frame, FRAME_PX)
    return out


def _pad_row(row: np.ndarray, width: int) -> np.ndarray:
    return np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255)
