"""The photo's camera: fixed intrinsics, and the head's pose found from the landmarks (the fit's
starting point; the position-map fit refines rotation and translation with the shape).

Intrinsics are a pinhole with square pixels at the image centre and a nominal field of view (a
portrait lens, unknown in a user's photo); extrinsics map the head's world frame (metres, Z-up,
facing -Y) to OpenCV's camera frame (x right, y down, z forward).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: the vertical field of view assumed for a photo, degrees (a 50 mm-equivalent portrait)
PHOTO_FOV_DEG = 25.0


@dataclass(frozen=True)
class PhotoCamera:
    """rotation (3, 3) and translation (3,) take world points (metres) to the camera frame;
    focal_px, width, height the intrinsics."""

    rotation: np.ndarray
    translation: np.ndarray
    focal_px: float
    width: int
    height: int

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) OpenCV intrinsic matrix."""
        return np.array([[self.focal_px, 0, self.width / 2], [0, self.focal_px, self.height / 2], [0, 0, 1.0]])

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixels (x right, y down, pixel centres at +0.5)."""
        cam = points @ self.rotation.T + self.translation
        return cam[:, :2] / cam[:, 2:3] * self.focal_px + np.array([self.width / 2, self.height / 2])


def focal_for(height: int, fov_deg: float = PHOTO_FOV_DEG) -> float:
    return 0.5 * height / np.tan(np.radians(fov_deg) / 2)


def solve_pose(points_3d: np.ndarray, points_2d: np.ndarray, width: int, height: int,
               focal_px: float | None = None) -> tuple[PhotoCamera, float]:
    """The camera pose that best projects ``points_3d`` (N, 3) onto ``points_2d`` (N, 2) pixels
    (EPnP, then Levenberg-Marquardt), and the mean reprojection error in pixels."""
    ok = np.isfinite(points_3d).all(1) & np.isfinite(points_2d).all(1)
    if ok.sum() < 6:
        raise ValueError(f"{int(ok.sum())} usable landmarks; at least 6 are needed to place the camera")
    focal = focal_px if focal_px is not None else focal_for(height)
    k = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])
    obj = points_3d[ok].astype(np.float64)
    img = points_2d[ok].astype(np.float64)  # our continuous pixel frame, principal point at the centre
    found, rvec, tvec = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_EPNP)
    if not found:
        raise ValueError("the landmarks admit no camera pose")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, None, rvec, tvec)
    camera = PhotoCamera(cv2.Rodrigues(rvec)[0], tvec.reshape(3), focal, width, height)
    error = float(np.linalg.norm(camera.project(obj) - points_2d[ok], axis=1).mean())
    return camera, error
