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
import torch

#: the vertical field of view assumed for a photo, degrees (a 50 mm-equivalent portrait)
PHOTO_FOV_DEG = 25.0


@dataclass(frozen=True)
class PhotoCamera:
    """rotation (3, 3) and translation (3,) take world points (metres) to the camera frame;
    focal_px, width, height the intrinsics; principal_px the principal point in pixels (the
    image centre when None; a crop of a photo moves it)."""

    rotation: np.ndarray
    translation: np.ndarray
    focal_px: float
    width: int
    height: int
    principal_px: tuple[float, float] | None = None

    @property
    def centre(self) -> np.ndarray:
        """(2,) the principal point, pixels."""
        return np.array(self.principal_px if self.principal_px is not None else (self.width / 2, self.height / 2))

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) OpenCV intrinsic matrix."""
        cx, cy = self.centre
        return np.array([[self.focal_px, 0, cx], [0, self.focal_px, cy], [0, 0, 1.0]])

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) pixels (x right, y down, pixel centres at +0.5)."""
        cam = points @ self.rotation.T + self.translation
        return cam[:, :2] / cam[:, 2:3] * self.focal_px + self.centre

    def crop(self, x0: float, y0: float, side: float, size: int) -> "PhotoCamera":
        """The same camera seen through the square crop [x0, x0 + side) × [y0, y0 + side) of its
        image, resampled to ``size``² pixels."""
        s = size / side
        cx, cy = self.centre
        return PhotoCamera(self.rotation, self.translation, self.focal_px * s, size, size,
                           ((cx - x0) * s, (cy - y0) * s))

    def view(self):
        """The same camera as the preview renderer's :class:`~machcreator.render.preview.Camera`."""
        from machcreator.render.preview import Camera

        _, down, forward = np.asarray(self.rotation, np.float64)  # rows: right, down, forward
        eye = -np.asarray(self.rotation, np.float64).T @ np.asarray(self.translation, np.float64)
        fov = float(np.degrees(2 * np.arctan(0.5 * self.height / self.focal_px)))
        return Camera(eye=tuple(eye), target=tuple(eye + forward), up=tuple(-down), fov_deg=fov, width=self.width,
                      height=self.height, principal_px=tuple(float(c) for c in self.centre))

    def clip(self, points: torch.Tensor, near: float = 0.05, far: float = 10.0) -> torch.Tensor:
        """(B, V, 3) world points -> (B, V, 4) clip space for :mod:`machcreator.render.diffrast`
        (OpenGL NDC: x right, y up, depth -1 at ``near`` metres); differentiable in ``points``."""
        rot = torch.as_tensor(self.rotation, dtype=points.dtype, device=points.device)
        cam = points @ rot.T + torch.as_tensor(self.translation, dtype=points.dtype, device=points.device)
        x, y, z = cam.unbind(-1)
        (cx, cy), f, w, h = self.centre, self.focal_px, self.width, self.height
        return torch.stack([2 * f / w * x + (2 * cx / w - 1) * z, -2 * f / h * y - (2 * cy / h - 1) * z,
                            (far + near) / (far - near) * z - 2 * far * near / (far - near), z], -1)


def focal_for(height: int, fov_deg: float = PHOTO_FOV_DEG) -> float:
    return 0.5 * height / np.tan(np.radians(fov_deg) / 2)


def solve_pose(points_3d: np.ndarray, points_2d: np.ndarray, width: int, height: int,
               focal_px: float | None = None,
               principal_px: tuple[float, float] | None = None) -> tuple[PhotoCamera, float]:
    """The camera pose that best projects ``points_3d`` (N, 3) onto ``points_2d`` (N, 2) pixels
    (EPnP, then Levenberg-Marquardt), and the mean reprojection error in pixels."""
    ok = np.isfinite(points_3d).all(1) & np.isfinite(points_2d).all(1)
    if ok.sum() < 6:
        raise ValueError(f"{int(ok.sum())} usable landmarks; at least 6 are needed to place the camera")
    focal = focal_px if focal_px is not None else focal_for(height)
    k = PhotoCamera(np.eye(3), np.zeros(3), focal, width, height, principal_px).matrix
    obj = points_3d[ok].astype(np.float64)
    img = points_2d[ok].astype(np.float64)  # our continuous pixel frame, principal point at the centre
    found, rvec, tvec = cv2.solvePnP(obj, img, k, None, flags=cv2.SOLVEPNP_EPNP)
    if not found:
        raise ValueError("the landmarks admit no camera pose")
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, None, rvec, tvec)
    camera = PhotoCamera(cv2.Rodrigues(rvec)[0], tvec.reshape(3), focal, width, height, principal_px)
    error = float(np.linalg.norm(camera.project(obj) - points_2d[ok], axis=1).mean())
    return camera, error
