"""The in-memory character: what the geometry, texture and hair stages produce and exporters consume.

Axes and units everywhere in this object: **metres, Z-up, -Y forward** (anny's space: the
character faces -Y, +X is the character's left). Exporters convert (glTF is Y-up).
UV origin: **top-left** (glTF convention): ``v = 0`` is the first row of the texture image.
Images are ``(H, W, C)`` uint8 (or uint16 for 16-bit maps), row 0 at the top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: ARKit's 52 blendshape names, in Apple's documented order (ARFaceAnchor.BlendShapeLocation).
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)


@dataclass
class Skeleton:
    """A joint hierarchy in its rest pose.

    bone_names: (J,) unique names.
    parents: (J,) int, index of the parent joint, -1 for a root; parents come before children.
    rest_world: (J, 4, 4) float32 world transform of each joint at rest (metres, Z-up).
    """

    bone_names: list[str]
    parents: np.ndarray
    rest_world: np.ndarray

    @property
    def num_joints(self) -> int:
        return len(self.bone_names)


@dataclass
class Material:
    """A metallic-roughness PBR material. Texture fields hold keys into ``Character.textures``."""

    name: str
    base_color_texture: str | None = None
    normal_texture: str | None = None
    #: glTF packs occlusion (R), roughness (G), metallic (B) in one image.
    orm_texture: str | None = None
    base_color_factor: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    roughness_factor: float = 1.0
    metallic_factor: float = 0.0
    alpha_mode: str = "OPAQUE"  # "OPAQUE" | "BLEND" | "MASK"
    double_sided: bool = False


@dataclass
class MeshPart:
    """One primitive of the character mesh (body, head, eyes, teeth, tongue...).

    positions: (V, 3) float32, metres, Z-up.
    normals: (V, 3) float32 unit vectors (smooth, computed on the welded mesh).
    uvs: (V, 2) float32, UV origin top-left, in the UV space of ``material``'s textures.
    faces: (F, 3) int64 indices into this part's vertices, counter-clockwise seen from outside.
    joints: (V, K) int index into ``Skeleton.bone_names``; weights: (V, K) float32 summing to 1.
    morph_deltas: (M, V, 3) float32 position offsets, one per ``Character.morph_names``
        (zeros where a morph does not move this part).
    template_uvs: (V, 2) float32 or None: each vertex's UV in anny's original shared UV layout
        (top-left origin), so textures authored in that layout (anny's region masks) can be
        remapped into this part's own layout.
    """

    name: str
    material: str
    positions: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    morph_deltas: np.ndarray
    template_uvs: np.ndarray | None = None

    @property
    def num_vertices(self) -> int:
        return int(self.positions.shape[0])


#: Groom names in the order they are written; each is one Unreal groom group and one file.
GROOM_NAMES: tuple[str, ...] = ("scalp", "eyebrows", "eyelashes", "facial_hair")


@dataclass
class Groom:
    """One strand groom: scalp hair, eyebrows, eyelashes or facial hair (Mach's strand hair).

    Axes and units like the rest of this module: metres, Z-up, character faces -Y. Strands are
    stored concatenated, each running from its root (on the skin) to its tip.

    name: one of :data:`GROOM_NAMES`; the file stem and Unreal's ``groom_group_name``.
    points: (P, 3) float32 positions.
    counts: (S,) int32 points per strand, each >= 2; ``counts.sum() == P``.
    widths: (P,) float32 strand diameter at each point, metres (thinning towards the tip).
    colors: (P, 3) float32 linear RGB in 0..1 at each point (Unreal's ``groom_color`` is linear).
    root_uv: (S, 2) float32 UV of each root in the head part's texture layout (top-left origin,
        the glb's head UVs), Unreal's ``groom_root_uv``.
    guide: (S,) bool, True for guide strands (Unreal's ``groom_guide``: simulation and
        interpolation guides, not rendered); the others are the rendered strands.
    clump_id: (S,) int32 the clump each strand belongs to (hair cards follow clumps).
    group_id: Unreal's ``groom_group_id`` (the index of ``name`` in :data:`GROOM_NAMES`).
    labels: what made it (style name, length in cm, curl, colour...), recorded in the manifest.
    """

    name: str
    points: np.ndarray
    counts: np.ndarray
    widths: np.ndarray
    colors: np.ndarray
    root_uv: np.ndarray
    guide: np.ndarray
    clump_id: np.ndarray
    group_id: int
    labels: dict = field(default_factory=dict)

    @property
    def num_strands(self) -> int:
        return int(self.counts.shape[0])

    @property
    def offsets(self) -> np.ndarray:
        """(S + 1,) int64 index of each strand's first point in ``points``, then P."""
        return np.concatenate([[0], np.cumsum(self.counts, dtype=np.int64)])

    def strand(self, i: int) -> np.ndarray:
        """(counts[i], 3) points of strand ``i``, root first."""
        o = self.offsets
        return self.points[o[i]:o[i + 1]]


@dataclass
class Character:
    """A complete character: skinned, morphable mesh parts, materials and their textures."""

    skeleton: Skeleton
    parts: list[MeshPart]
    materials: dict[str, Material]
    #: texture key -> image (H, W, C) uint8/uint16, row 0 = UV v 0 (top).
    textures: dict[str, np.ndarray] = field(default_factory=dict)
    morph_names: tuple[str, ...] = ARKIT_BLENDSHAPES
    #: named rest-pose points (metres, Z-up), e.g. "eye_center_l", "mouth_corner_r", "nose_tip",
    #: "chin", "head_top": texture and preview code place details and cameras with them.
    landmarks: dict[str, np.ndarray] = field(default_factory=dict)
    #: strand grooms (scalp hair, eyebrows, eyelashes, facial hair), in :data:`GROOM_NAMES` order.
    grooms: list[Groom] = field(default_factory=list)

    def part(self, name: str) -> MeshPart:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"no mesh part named {name!r}; have {[p.name for p in self.parts]}")


@dataclass
class ShapedBody:
    """anny's welded template mesh shaped for one character, in its rest pose.

    The geometry stage builds it from the attributes; parts (head, body, eyes, teeth...) are cut
    from it or fitted to it. V = 13,718 anny vertices, F = 27,420 triangles.

    positions: (V, 3) float32, metres, Z-up, character faces -Y.
    faces: (F, 3) int64.
    face_labels: (F,) str, anny's segmentation label of each face ("body", "head", "hand.L",
        "hand.R", "foot.L", "foot.R", "eye_front.L", "eye_back.L", "eye_cavity.L" (and .R),
        "mouth_cavity", "tongue").
    corner_uvs: (F, 3, 2) float32, anny's shared-layout UV of each face corner, top-left origin.
    joints: (V, K) int64 bone indices; weights: (V, K) float32, rows sum to 1.
    morph_deltas: (52, V, 3) float32, rest-pose offsets of the ARKit facial actions
        (order of ``ARKIT_BLENDSHAPES``).
    """

    positions: np.ndarray
    faces: np.ndarray
    face_labels: np.ndarray
    corner_uvs: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    morph_deltas: np.ndarray
    skeleton: Skeleton
