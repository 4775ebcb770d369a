"""Portrait QA (issue 23, scope 4): is a generated portrait one the photo path can use?

Checks, each with its threshold in :class:`~machcreator.core.models.PortraitSettings`:

- one usable face (:func:`machcreator.photo.landmarks.find_face`, the photo path's own policy);
- the head's yaw, pitch and roll within ``max_angle_deg`` (:func:`head_angles`, from the face
  mesh's own 3D points);
- eyes open and mouth closed: MediaPipe's blendshape scores (``eyeBlinkLeft/Right``, ``jawOpen``)
  when a ``face_landmarker.task`` is configured, else the lids' and lips' opening measured on the
  face mesh (:func:`expression_from_landmarks`);
- agreement with the prompt: CLIP's cosine of image and text embeddings (:class:`ClipScorer`:
  a transformers CLIP folder, or an open_clip checkpoint) above ``clip_threshold``.

A check whose model is not configured scores None and does not fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from pydantic import BaseModel

from machcreator.core.errors import ModelConfigError, ModelLoadError
from machcreator.photo.image import PhotoError
from machcreator.photo.landmarks import LandmarkDetector, MediaPipeFaceMesh, find_face

if TYPE_CHECKING:
    from machcreator.core.models import ModelsConfig, PortraitSettings


class PortraitScores(BaseModel):
    """What QA measured on one portrait.

    face_found: the one usable face was found (None of the face's scores are set otherwise);
    yaw, pitch, roll: the head's rotation, degrees (0 frontal; yaw + to the person's left, pitch +
    chin up, roll + the head tilted towards the person's left shoulder in the image);
    eyes_open: 0 closed .. 1 open (the less open eye); mouth_open: 0 closed .. 1 wide open;
    expression_from: "blendshapes" or "landmarks", which measured the eyes and mouth;
    clip: cosine of CLIP's image and prompt embeddings (None without a CLIP model).
    """

    face_found: bool
    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None
    eyes_open: float | None = None
    mouth_open: float | None = None
    expression_from: str | None = None
    clip: float | None = None
    problem: str | None = None  # why no face was usable (find_face's line)


#: what find_face calls the image in its messages
FACE_LABEL = "the portrait"


def failed_checks(scores: PortraitScores, settings: PortraitSettings) -> list[str]:
    """One short line per failed check (empty: the portrait passes), e.g. ``"yaw 14.2° > 10°"``."""
    reasons = []
    if not scores.face_found:  # find_face's line, short: "no face found", "2 faces found; crop ..."
        reasons.append((scores.problem or "no face found").removeprefix(f"{FACE_LABEL}: ").split(" (")[0])
    limit = settings.max_angle_deg
    for name in ("yaw", "pitch", "roll"):
        angle = getattr(scores, name)
        if angle is not None and abs(angle) > limit:
            reasons.append(f"{name} {angle:+.1f}° > {limit:g}°")
    if scores.eyes_open is not None and scores.eyes_open < settings.eyes_open_min:
        reasons.append(f"eyes open {scores.eyes_open:.2f} < {settings.eyes_open_min:g}")
    if scores.mouth_open is not None and scores.mouth_open > settings.mouth_open_max:
        reasons.append(f"mouth open {scores.mouth_open:.2f} > {settings.mouth_open_max:g}")
    if scores.clip is not None and scores.clip < settings.clip_threshold:
        reasons.append(f"clip {scores.clip:.3f} < {settings.clip_threshold:g}")
    return reasons


# --- pose from the face mesh -----------------------------------------------------------------

#: MediaPipe face-mesh pairs mirrored across the face (person's right, person's left): the cheek
#: contour, the eyes' outer corners, the mouth's corners; their mean difference is the face's x axis
MIRRORED_PAIRS = ((234, 454), (33, 263), (61, 291))
#: the forehead's top and the chin on the face mesh: the face's down axis
FOREHEAD, CHIN = 10, 152
#: how far the forehead-to-chin line leans out of the image plane on a frontal face, degrees: in
#: the face mesh's z the chin lies farther from the camera than the forehead's top. Measured on
#: the template head's frontal render (photo.correspondence.front_camera, seeds 0-2: 9.0°, 10.4°,
#: 6.9°); the pitch is counted from it
FRONTAL_PITCH_DEG = 8.7


def head_angles(points: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the face whose face-mesh points (478, 3) are given
    (pixels, z smaller towards the camera; see :mod:`machcreator.photo.landmarks`).

    The face's own frame from its 3D points: x from the mean of mirrored pairs, y from forehead to
    chin made orthogonal to x. Roll is x's angle in the image plane, yaw how far x leaves the
    image plane (+: the person's left cheek farther away, the head turned to their left), pitch
    how far y does (+: the chin nearer the camera, the chin up) counted from :data:`FRONTAL_PITCH_DEG`.
    MediaPipe's z is orthographic and scaled like x, so no camera model is needed; no canonical
    3D face of MediaPipe's topology ships with the wheel for a PnP.
    """
    p = points.astype(np.float64)
    x = sum(p[left] - p[right] for right, left in MIRRORED_PAIRS)
    x /= np.linalg.norm(x)
    y = p[CHIN] - p[FOREHEAD]
    y -= x * (x @ y)
    y /= np.linalg.norm(y)
    roll = np.degrees(np.arctan2(x[1], x[0]))
    yaw = np.degrees(np.arcsin(np.clip(x[2], -1, 1)))
    pitch = FRONTAL_PITCH_DEG - np.degrees(np.arcsin(np.clip(y[2], -1, 1)))
    return float(yaw), float(pitch), float(roll)


# --- eyes and mouth from the face mesh --------------------------------------------------------

#: the six points of each eye for the eye aspect ratio (Soukupová & Čech 2016): corner, two upper
#: lid points, corner, two lower lid points (MediaPipe's topology; person's right eye, then left)
EYE_POINTS = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))
#: the inner lips' middle (upper, lower) and the mouth's corners on the face mesh
LIPS_MID, MOUTH_CORNERS = (13, 14), (61, 291)
#: eye aspect ratio of a closed eye: MediaPipe's lid contours stay a little apart when the lids meet
EAR_CLOSED = 0.08
#: eye aspect ratio from which an eye counts fully open: the narrowest open eye on the template
#: head's frontal renders measured 0.23 (seeds 0-2; the astronaut photo 0.30-0.34). Between the
#: two the score is linear: 0.5 at 0.15, near the EAR literature's 0.2 blink threshold
EAR_OPEN = 0.22
#: mouth aspect ratio (inner-lip gap / mouth width) of closed lips: 0.005-0.013 on the template's renders
MAR_CLOSED = 0.02
#: mouth aspect ratio of a wide open mouth (jaw dropped, ``jawOpen`` ≈ 1): the lips 40 % of the
#: mouth's width apart. A smile showing the teeth (the astronaut photo, 0.16) scores about 0.37
MAR_OPEN = 0.40


def eye_aspect_ratio(points: np.ndarray, eye: tuple[int, ...]) -> float:
    """(|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|) over the six points ``eye`` of ``points`` (P, 2+)."""
    p1, p2, p3, p4, p5, p6 = (points[i, :2].astype(np.float64) for i in eye)
    return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * np.linalg.norm(p1 - p4)))


def expression_from_landmarks(points: np.ndarray) -> tuple[float, float]:
    """(eyes_open, mouth_open), each 0..1, from the face mesh's points (478, 2+): the less open
    eye's aspect ratio and the lips' gap over the mouth's width, mapped linearly between the
    closed and open constants above."""
    ear = min(eye_aspect_ratio(points, eye) for eye in EYE_POINTS)
    gap = np.linalg.norm(points[LIPS_MID[0], :2] - points[LIPS_MID[1], :2])
    width = np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2])
    eyes = (ear - EAR_CLOSED) / (EAR_OPEN - EAR_CLOSED)
    mouth = (gap / width - MAR_CLOSED) / (MAR_OPEN - MAR_CLOSED)
    return float(np.clip(eyes, 0, 1)), float(np.clip(mouth, 0, 1))


class Blendshapes(Protocol):
    def read(self, rgb: np.ndarray) -> dict[str, float] | None:
        """MediaPipe's 52 blendshape scores (0..1) by name for the largest face, or None."""
        ...


def expression_from_blendshapes(scores: dict[str, float]) -> tuple[float, float]:
    """(eyes_open, mouth_open) from blendshape scores: 1 - the stronger blink, and ``jawOpen``."""
    return 1.0 - max(scores["eyeBlinkLeft"], scores["eyeBlinkRight"]), scores["jawOpen"]


class FaceLandmarkerBlendshapes:
    """MediaPipe Tasks' FaceLandmarker with ``output_face_blendshapes``, from a user's
    ``face_landmarker.task`` (not shipped with the wheel, so not exercised by the tests)."""

    def __init__(self, task: Path) -> None:
        if not Path(task).is_file():
            raise ModelConfigError(f"face_landmarker: {task} is not a file (MediaPipe's face_landmarker.task)")
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(task)),
                                               running_mode=vision.RunningMode.IMAGE, num_faces=1,
                                               output_face_blendshapes=True)
        try:
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as exc:
            raise ModelLoadError(f"face_landmarker: {task} could not be loaded ({exc})") from None

    def read(self, rgb: np.ndarray) -> dict[str, float] | None:
        import mediapipe as mp

        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
        if not result.face_blendshapes:
            return None
        return {c.category_name: float(c.score) for c in result.face_blendshapes[0]}


# --- agreement with the prompt (CLIP) ---------------------------------------------------------

class ClipScorer(Protocol):
    name: str

    def score(self, rgb: np.ndarray, text: str) -> float:
        """Cosine (-1..1) of the image's and the text's embeddings; rgb (H, W, 3) uint8."""
        ...


class TransformersClip:
    """A CLIP model folder in transformers' layout (``CLIPModel`` + ``CLIPProcessor``)."""

    def __init__(self, folder: Path, device: str = "cpu") -> None:
        from transformers import CLIPModel, CLIPProcessor

        try:
            self._model = CLIPModel.from_pretrained(folder, local_files_only=True).to(device).eval()
            self._processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"clip: {folder} is not a transformers CLIP folder ({_first_line(exc)})") from None
        self.name = f"transformers:{Path(folder).name}"
        self._device = device

    def score(self, rgb: np.ndarray, text: str) -> float:
        import torch

        inputs = self._processor(text=[text], images=[rgb], return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            out = self._model(**{k: v.to(self._device) for k, v in inputs.items()})
        return _cosine(out.image_embeds, out.text_embeds)


class OpenClip:
    """An open_clip checkpoint file and its architecture name (e.g. ``ViT-H-14``)."""

    def __init__(self, checkpoint: Path, arch: str, device: str = "cpu") -> None:
        try:
            import open_clip
        except ImportError:
            raise ModelLoadError("clip: open_clip is not installed; run: pip install open-clip-torch "
                                 "(or give a transformers CLIP folder)") from None
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(checkpoint), device=device)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelLoadError(f"clip: {checkpoint} did not load as open_clip {arch} ({_first_line(exc)})") from None
        self._model, self._preprocess = model.eval(), preprocess
        self._tokenizer = open_clip.get_tokenizer(arch)
        self.name = f"open_clip:{arch}"
        self._device = device

    def score(self, rgb: np.ndarray, text: str) -> float:
        import torch
        from PIL import Image

        image = self._preprocess(Image.fromarray(rgb)).unsqueeze(0).to(self._device)
        with torch.no_grad():
            return _cosine(self._model.encode_image(image), self._model.encode_text(self._tokenizer([text]).to(self._device)))


def _cosine(a, b) -> float:
    import torch

    return float(torch.nn.functional.cosine_similarity(a.float(), b.float()).item())


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def clip_scorer(config: ModelsConfig) -> ClipScorer | None:
    """The CLIP scorer the config names: a folder is transformers', a file with ``clip_arch``
    open_clip's; None when no CLIP model is configured."""
    if config.clip is None:
        return None
    device = config.resolved_device()
    if not Path(config.clip).exists():
        raise ModelConfigError(f"clip: {config.clip} does not exist")
    if Path(config.clip).is_dir():
        return TransformersClip(config.clip, device)
    if config.clip_arch is None:
        raise ModelConfigError(f"clip: {config.clip} is a file; an open_clip checkpoint needs clip_arch (e.g. ViT-H-14)")
    return OpenClip(config.clip, config.clip_arch, device)


# --- the QA ------------------------------------------------------------------------------------

class PortraitQA:
    """Scores portraits (see the module notes); every part is passed in, so each can be swapped.

    Args:
        detector: the face-mesh detector (478 points: the index tables above are its topology).
        scorer: CLIP scorer, or None to skip the prompt check.
        blendshapes: a blendshape reader, or None to read eyes and mouth from the landmarks.
    """

    def __init__(self, detector: LandmarkDetector | None = None, scorer: ClipScorer | None = None,
                 blendshapes: Blendshapes | None = None) -> None:
        self.detector = detector if detector is not None else MediaPipeFaceMesh()
        self.scorer = scorer
        self.blendshapes = blendshapes

    @classmethod
    def from_config(cls, config: ModelsConfig, detector: LandmarkDetector | None = None) -> PortraitQA:
        """The checks the models config names; ``detector``: one already loaded (the photo path's)."""
        reader = FaceLandmarkerBlendshapes(config.face_landmarker) if config.face_landmarker else None
        return cls(detector=detector, scorer=clip_scorer(config), blendshapes=reader)

    def score(self, rgb: np.ndarray, prompt: str) -> PortraitScores:
        """Every score of the portrait ``rgb`` (H, W, 3) uint8 against its ``prompt``."""
        clip = self.scorer.score(rgb, prompt) if self.scorer is not None else None
        try:
            face = find_face(rgb, self.detector, label=FACE_LABEL)
        except PhotoError as exc:
            return PortraitScores(face_found=False, clip=clip, problem=str(exc))
        yaw, pitch, roll = head_angles(face.points)
        shapes = self.blendshapes.read(rgb) if self.blendshapes is not None else None
        if shapes is not None:
            (eyes, mouth), source = expression_from_blendshapes(shapes), "blendshapes"
        else:
            (eyes, mouth), source = expression_from_landmarks(face.points), "landmarks"
        return PortraitScores(face_found=True, yaw=yaw, pitch=pitch, roll=roll, eyes_open=eyes, mouth_open=mouth,
                              expression_from=source, clip=clip)
