"""The photo camera's pose from landmarks: recovered exactly from a synthetic projection."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from machcreator.photo.camera import PhotoCamera, focal_for, solve_pose


def test_a_known_pose_is_recovered_from_its_projection():
    rng = np.random.default_rng(0)
    head = rng.normal(0, 0.06, (60, 3)) + (0.0, 0.0, 1.6)  # a head-sized cloud, metres
    # world Z-up, facing -Y -> camera x right, y down, z forward, turned a little, 0.7 m away
    base = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    rotation = Rotation.from_euler("xyz", [4, -9, 2], degrees=True).as_matrix() @ base
    truth = PhotoCamera(rotation, -rotation @ np.array([0.01, -0.7, 1.62]), focal_for(512), 512, 512)
    camera, error = solve_pose(head, truth.project(head), 512, 512)
    assert error < 1e-3
    assert np.degrees(Rotation.from_matrix(camera.rotation @ truth.rotation.T).magnitude()) < 0.01
    assert np.linalg.norm(camera.translation - truth.translation) < 1e-4


def test_too_few_landmarks_say_so():
    with pytest.raises(ValueError, match="at least 6"):
        solve_pose(np.zeros((4, 3)), np.zeros((4, 2)), 512, 512)
