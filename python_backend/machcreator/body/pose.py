"""Linear blend skinning of the character's skeleton, and the test poses assets are checked in.

A pose is a world-space rotation per bone, about that bone's rest-pose joint, given in the rest
frame (metres, Z-up, the character faces -Y, +X is its left). A bone's skinning matrix is its
parent's times its own rotation, so rotating ``upperarm01.L`` carries the forearm and hand.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from machcreator.character import Skeleton

#: bone -> (world axis, degrees). Raising the left arm (+X) towards +Z is a rotation about -Y;
#: a leg swinging forward (-Y) rotates about -X; a knee bends the shin backwards (about +X).
TEST_POSES: dict[str, dict[str, tuple[tuple[float, float, float], float]]] = {
    "arms_raised": {"upperarm01.L": ((0, -1, 0), 80.0), "upperarm01.R": ((0, 1, 0), 80.0),
                    "lowerarm01.L": ((0, -1, 0), 20.0), "lowerarm01.R": ((0, 1, 0), 20.0)},
    "knees_bent": {"upperleg01.L": ((-1, 0, 0), 45.0), "upperleg01.R": ((-1, 0, 0), 45.0),
                   "lowerleg01.L": ((1, 0, 0), 70.0), "lowerleg01.R": ((1, 0, 0), 70.0)},
    "walk": {"upperleg01.L": ((-1, 0, 0), 25.0), "lowerleg01.L": ((1, 0, 0), 15.0),
             "upperleg01.R": ((1, 0, 0), 15.0), "lowerleg01.R": ((1, 0, 0), 35.0),
             "upperarm01.L": ((1, 0, 0), 20.0), "upperarm01.R": ((-1, 0, 0), 20.0),
             "lowerarm01.L": ((-1, 0, 0), 15.0), "lowerarm01.R": ((-1, 0, 0), 25.0),
             "spine03": ((0, 0, 1), 8.0)},
}


def skinning_matrices(skeleton: Skeleton, pose: dict[str, tuple[tuple[float, float, float], float]]) -> np.ndarray:
    """(J, 4, 4) float64 matrices taking rest-pose points bound to each joint to the posed pose.

    Args:
        pose: bone name -> (world axis, degrees) rotation about the bone's rest joint.
    """
    unknown = set(pose) - set(skeleton.bone_names)
    if unknown:
        raise KeyError(f"pose names bones the skeleton lacks: {sorted(unknown)}")
    J = skeleton.num_joints
    mats = np.tile(np.eye(4), (J, 1, 1))
    for j, name in enumerate(skeleton.bone_names):  # parents come before children
        local = np.eye(4)
        if name in pose:
            axis, degrees = pose[name]
            axis = np.asarray(axis, dtype=np.float64)
            r = Rotation.from_rotvec(np.radians(degrees) * axis / np.linalg.norm(axis)).as_matrix()
            p = skeleton.rest_world[j, :3, 3].astype(np.float64)
            local[:3, :3] = r
            local[:3, 3] = p - r @ p
        parent = int(skeleton.parents[j])
        mats[j] = (mats[parent] if parent >= 0 else np.eye(4)) @ local
    return mats


def skin_points(points: np.ndarray, joints: np.ndarray, weights: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """(N, 3) rest points moved by linear blend skinning.

    Args:
        joints, weights: (N, K) bone indices and weights (rows sum to 1).
        mats: (J, 4, 4) from :func:`skinning_matrices`.
    """
    p = np.asarray(points, dtype=np.float64)
    blended = np.einsum("nk,nkij->nij", weights.astype(np.float64), mats[joints])
    return np.einsum("nij,nj->ni", blended[:, :3, :3], p) + blended[:, :3, 3]
