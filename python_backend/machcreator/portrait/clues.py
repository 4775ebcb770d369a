"""Attribute clues for the portrait's ControlNets (Mach §2.1): the attribute-shaped template head,
seen frontally through the photo path's camera, as an OpenPose face-keypoint map and a canny
edge map of its features.

1. the camera: a :class:`~machcreator.photo.camera.PhotoCamera` with the photo path's lens
   (:data:`~machcreator.photo.camera.PHOTO_FOV_DEG` over the whole image, as the fit assumes of
   a portrait), straight in front of the head and far enough back that the head box fills
   :data:`HEAD_FILL` of the frame: the painted portrait then needs no other camera to be fitted;
2. the 70 keypoints (OpenPose's face layout: iBUG/300-W's 68, then the right and left pupils),
   taken on the head's own surface: each iBUG point is a blend of MediaPipe face-mesh landmarks
   (:data:`IBUG_FROM_MEDIAPIPE`) whose surface points the photo path's cached correspondence
   knows; the pupils are the eyeballs' iris centres; all projected through the camera;
3. the render: the bare face (head, eyes, teeth) in plain clue paint (:func:`clue_face`: even
   skin, darker lips and brows painted where the keypoints put them, a dark iris on a white
   sclera), so its edges are the features and not skin texture;
4. the maps: keypoints drawn as controlnet_aux draws a face (white discs on black), and
   ``cv2.Canny`` of the render inside the face (the hairline, ears and skull outline are left to
   the prompt: an edge there would shave the head the text gave hair).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np

from machcreator.body.eyes import IRIS_UV_RADIUS
from machcreator.character import Character, Material
from machcreator.photo.camera import PHOTO_FOV_DEG, PhotoCamera
from machcreator.photo.correspondence import (
    FACE_PARTS,
    Correspondence,
    cached_correspondence,
    default_cache_dir,
)
from machcreator.photo.landmarks import MediaPipeFaceMesh
from machcreator.render.preview import camera_for_part, head_box, render
from machcreator.render.raster import interpolate, rasterize

#: share of the frame's height the head box (crown to below the chin) fills: about the photo
#: path's face crop (CROP_MARGIN × the landmarks' box), so the portrait's face is fitted at the
#: scale it was painted at, with room for the hair the prompt asks for
HEAD_FILL = 0.75

#: iBUG/300-W's 68 points as blends of MediaPipe face-mesh landmarks: point k is
#: ``(1 - w) * P[i] + w * P[j]`` for entry k = ``(i, j, w)``. Order: jaw 0-16 from the subject's
#: right ear (image left) round the chin to the left ear; brows 17-26, image left to right; nose
#: bridge 27-30 down to the tip, base 31-35 image left to right; the eyes 36-41 and 42-47, each
#: from its image-left corner along the upper lid, then back along the lower lid; outer lips
#: 48-59 and inner lips 60-67 likewise from the image-left corner. The jaw's blends spread it
#: evenly along the face's outline (arc length on the template's render: MediaPipe's contour
#: crowds below the mouth); the others stand in for landmarks that fall exactly where the
#: surface is ambiguous (the inner mouth corners and lower lip of a closed mouth).
IBUG_FROM_MEDIAPIPE: tuple[tuple[int, int, float], ...] = (
    # jaw
    (127, 127, 0.0), (234, 93, 0.3), (93, 132, 0.55), (132, 136, 0.25), (132, 136, 0.65), (136, 150, 0.3),
    (150, 149, 0.9), (176, 148, 0.6), (152, 152, 0.0), (400, 377, 0.6), (379, 378, 0.9), (365, 379, 0.3),
    (361, 365, 0.65), (361, 365, 0.25), (323, 361, 0.55), (454, 323, 0.3), (356, 356, 0.0),
    # brows: right outer to inner, left inner to outer
    (70, 70, 0.0), (63, 63, 0.0), (105, 105, 0.0), (66, 66, 0.0), (107, 107, 0.0),
    (336, 336, 0.0), (296, 296, 0.0), (334, 334, 0.0), (293, 293, 0.0), (300, 300, 0.0),
    # nose
    (168, 168, 0.0), (197, 197, 0.0), (5, 5, 0.0), (4, 4, 0.0),
    (98, 98, 0.0), (97, 97, 0.0), (2, 2, 0.0), (326, 326, 0.0), (327, 327, 0.0),
    # right eye: outer corner, upper lid, inner corner, lower lid
    (33, 33, 0.0), (160, 160, 0.0), (158, 158, 0.0), (133, 133, 0.0), (145, 154, 0.5), (144, 144, 0.0),
    # left eye: inner corner, upper lid, outer corner, lower lid
    (362, 362, 0.0), (385, 385, 0.0), (387, 387, 0.0), (263, 263, 0.0), (373, 373, 0.0), (374, 381, 0.5),
    # outer lips
    (61, 61, 0.0), (40, 40, 0.0), (37, 37, 0.0), (0, 0, 0.0), (267, 267, 0.0), (270, 270, 0.0),
    (291, 291, 0.0), (321, 321, 0.0), (314, 314, 0.0), (17, 17, 0.0), (84, 84, 0.0), (91, 91, 0.0),
    # inner lips
    (61, 13, 0.1), (81, 81, 0.0), (13, 13, 0.0), (311, 311, 0.0), (291, 13, 0.1), (402, 402, 0.0),
    (87, 317, 0.5), (178, 178, 0.0),
)
#: MediaPipe's iris centres: the right eye's (image left), then the left's
MEDIAPIPE_PUPILS = (468, 473)
#: mirror partners (the face mesh is left-right symmetric) of the landmarks the photo path's
#: correspondence loses on the template (seen on the eyeball, not the lid); the template's face
#: is symmetric, so a lost landmark is its partner's surface point reflected across the midplane
MIRROR_PARTNERS = {362: 133, 385: 158, 374: 145, 381: 154}

#: the clue paint, sRGB: even skin, lips and brows darker (their outlines are what canny sees)
SKIN_RGB, LIPS_RGB, BROWS_RGB = (222, 178, 156), (168, 96, 92), (70, 52, 42)
SCLERA_RGB, IRIS_RGB, PUPIL_RGB = (236, 232, 226), (96, 64, 44), (18, 14, 12)
#: MediaPipe's outer lip contour and each brow's outline (upper edge out, lower edge back)
LIPS_OUTLINE = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
BROW_OUTLINES = ((70, 63, 105, 66, 107, 55, 65, 52, 53, 46), (300, 293, 334, 296, 336, 285, 295, 282, 283, 276))
#: the clue paint's head texture, texels a side
PAINT_PX = 1024
#: the pupil's radius on the iris texture, a share of the iris's
PUPIL_SHARE = 0.45

#: OpenPose's face disc: radius 3 px at 512² (controlnet_aux's draw_facepose), scaled with the image
DISC_RADIUS_512 = 3
#: canny's hysteresis thresholds at 512² (grey levels of the 3×3-Sobel gradient after a blur of
#: 1 px at 512²; both scale with the image, so the thresholds fall as 512 / size): the paint's
#: edges (lips, brows, iris, lids) and the nose's shading reach well above the high one, the
#: cheeks' soft shading stays below the low one
CANNY_LOW, CANNY_HIGH = 30, 75
#: the canny map is kept inside the keypoints' hull grown by this share of its size: the jaw
#: line shows, the hairline, ears and skull outline do not
FACE_MASK_GROW = 0.04


@dataclass(frozen=True)
class ClueMaps:
    """What the portrait's ControlNets are given, all (H, W) = (size, size).

    render: (H, W, 3) uint8 sRGB, the template's bare face in clue paint; openpose: (H, W, 3)
    uint8, the face keypoints drawn as OpenPose draws them; canny: (H, W, 3) uint8, white edges
    on black; keypoints: (70, 2) float64 pixels (x right, y down, pixel centres at +0.5) in
    OpenPose's face order; camera: the photo path's camera they were seen through.
    """

    render: np.ndarray
    openpose: np.ndarray
    canny: np.ndarray
    keypoints: np.ndarray
    camera: PhotoCamera


def attribute_clues(character: Character, size: int = 512, *,
                    correspondence: Correspondence | None = None) -> ClueMaps:
    """The clue maps of the attribute-shaped template ``character`` (the geometry stage's output)
    at ``size``² pixels (512 for SD1.5, 1024 for SDXL).

    ``correspondence``: the photo path's landmark correspondence for this head topology (the
    MediaPipe one, cached under :func:`~machcreator.photo.correspondence.default_cache_dir` when
    not given).
    """
    if correspondence is None:
        correspondence = cached_correspondence(character, MediaPipeFaceMesh(), default_cache_dir())
    camera = clue_camera(character, size)
    landmarks = landmark_points(character, correspondence)
    keypoints = camera.project(face_points(character, landmarks))
    image = render(clue_face(character, landmarks, camera), camera.view(), supersample=1)
    return ClueMaps(render=image, openpose=draw_face_keypoints(keypoints, size),
                    canny=feature_edges(image, keypoints), keypoints=keypoints, camera=camera)


def clue_camera(character: Character, size: int) -> PhotoCamera:
    """The photo path's camera (its lens over the whole ``size``² image) in front of the head."""
    margin = 1.0 - HEAD_FILL
    view = camera_for_part(head_box(character), "front", size, fov_deg=PHOTO_FOV_DEG, margin=margin)
    rotation = view.basis()  # rows: right, down, forward = OpenCV's camera axes in the world
    return PhotoCamera(rotation, -rotation @ np.asarray(view.eye), view.focal_px, size, size)


def landmark_points(character: Character, correspondence: Correspondence) -> np.ndarray:
    """(478, 3) MediaPipe's landmarks on the head's surface, metres (NaN where neither the
    correspondence nor a mirror partner places one)."""
    head = character.part("head")
    points = correspondence.points(head.positions.astype(np.float64), head.faces)
    midplane_x = head.positions[:, 0].astype(np.float64).mean()  # the template is mirror-symmetric
    for lost, partner in MIRROR_PARTNERS.items():
        if not correspondence.valid[lost]:
            points[lost] = points[partner] * (-1.0, 1.0, 1.0) + (2 * midplane_x, 0.0, 0.0)
    return points


def face_points(character: Character, landmarks: np.ndarray) -> np.ndarray:
    """(70, 3) OpenPose's face points on the head, metres: iBUG's 68 blended from ``landmarks``
    ((478, 3), :func:`landmark_points`), then the right and left pupils (:func:`pupils`)."""
    ibug = ibug_from_mediapipe(landmarks)
    if not np.isfinite(ibug).all():
        missing = np.flatnonzero(~np.isfinite(ibug).all(1))
        raise RuntimeError(f"the landmark correspondence cannot place iBUG face points {missing.tolist()}")
    return np.concatenate([ibug, pupils(character)])


def ibug_from_mediapipe(points: np.ndarray) -> np.ndarray:
    """(68, D) iBUG/300-W points from (478 or 468, D) MediaPipe face-mesh points (a detection)."""
    table = np.asarray(IBUG_FROM_MEDIAPIPE)
    i, j, w = table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2:3]
    return (1.0 - w) * points[i] + w * points[j]


def pupils(character: Character) -> np.ndarray:
    """(2, 3) the iris centres of the right eye (-X, image left) and the left, metres: where each
    eyeball's iris (the vertices inside its polar UVs' iris disc) faces out from its centre."""
    eyes = character.part("eyes")
    pos = eyes.positions.astype(np.float64)
    out = []
    for side in (pos[:, 0] < pos[:, 0].mean(), pos[:, 0] >= pos[:, 0].mean()):
        ball = pos[side]
        centre = ball.mean(0)  # a sphere's vertices average to its centre
        radius = np.linalg.norm(ball - centre, axis=1).mean()
        iris = np.linalg.norm(eyes.uvs[side] - 0.5, axis=1) < IRIS_UV_RADIUS
        axis = ball[iris].mean(0) - centre
        out.append(centre + radius * axis / np.linalg.norm(axis))
    return np.array(out)



def clue_face(character: Character, landmarks: np.ndarray, camera: PhotoCamera) -> Character:
    """The bare face (head, eyes, teeth) in clue paint: the head's texture even skin with the
    lips and brows painted where MediaPipe's ``landmarks`` ((478, 3) metres) outline them as
    ``camera`` sees them, the eyes a dark iris and pupil on a white sclera, the teeth white; no
    normal or ORM maps, so the only edges inside the face are the features' and the shading's."""
    head = character.part("head")
    px = camera.project(np.nan_to_num(landmarks))
    outlines = np.zeros((camera.height, camera.width), np.uint8)  # 1: lips, 2: brows
    cv2.fillPoly(outlines, [_polygon(px[list(LIPS_OUTLINE)])], 1)
    cv2.fillPoly(outlines, [_polygon(px[list(b)]) for b in BROW_OUTLINES], 2)
    # every texel's surface point seen by the camera: painted where it lands in an outline, on
    # the front of the head only (the back of the skull projects there too). Only the triangles
    # near an outline are baked: the rest of the texture is skin
    vertex_px = camera.project(head.positions.astype(np.float64))
    near = cv2.dilate(outlines, np.ones((5, 5), np.uint8))[_pixel(vertex_px[:, 1], camera.height),
                                                          _pixel(vertex_px[:, 0], camera.width)] > 0
    faces = head.faces[near[head.faces].any(1)]
    face_id, bary, _ = rasterize(head.uvs.astype(np.float64) * PAINT_PX, np.zeros(head.num_vertices), faces,
                                 PAINT_PX, PAINT_PX)
    baked = face_id >= 0
    texel = interpolate(np.concatenate([head.positions, head.normals], 1), faces, face_id, bary)[baked]
    texel_px = camera.project(texel[:, :3].astype(np.float64))
    front = texel[:, 3:] @ camera.rotation[2] < 0  # the normal faces the camera
    region = np.zeros((PAINT_PX, PAINT_PX), np.uint8)
    region[baked] = np.where(front, outlines[_pixel(texel_px[:, 1], camera.height),
                                             _pixel(texel_px[:, 0], camera.width)], 0)
    albedo = np.array([SKIN_RGB, LIPS_RGB, BROWS_RGB], np.uint8)[region]
    textures = {"clue_head": albedo, "clue_eye": _eye_paint()}
    materials = dict(character.materials)
    for part, key in (("head", "clue_head"), ("eyes", "clue_eye"), ("teeth", None)):
        name = character.part(part).material
        materials[name] = Material(name, base_color_texture=key, roughness_factor=materials[name].roughness_factor)
    parts = [p for p in character.parts if p.name in FACE_PARTS]
    return dataclasses.replace(character, parts=parts, grooms=[], textures=textures, materials=materials)


def _eye_paint(px: int = 256) -> np.ndarray:
    """(px, px, 3) uint8 the eyes' clue paint in their polar UVs (:mod:`machcreator.body.eyes`):
    pupil and iris discs round the front pole (0.5, 0.5) on the sclera."""
    r = np.hypot(*np.meshgrid((np.arange(px) + 0.5) / px - 0.5, (np.arange(px) + 0.5) / px - 0.5))
    zone = (r < IRIS_UV_RADIUS).astype(int) + (r < PUPIL_SHARE * IRIS_UV_RADIUS)
    return np.array([SCLERA_RGB, IRIS_RGB, PUPIL_RGB], np.uint8)[zone]


def _pixel(coordinate: np.ndarray, size: int) -> np.ndarray:
    """Continuous pixel coordinates -> the index of the pixel holding each, clipped to the image."""
    return np.clip(coordinate.astype(int), 0, size - 1)


def _polygon(px: np.ndarray) -> np.ndarray:
    """(N, 2) float pixels (centres at +0.5) -> OpenCV's (N, 1, 2) int32 polygon."""
    return np.round(px - 0.5).astype(np.int32).reshape(-1, 1, 2)


def draw_face_keypoints(keypoints: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) uint8: each of ``keypoints`` ((K, 2) pixels) a filled white disc on black,
    as controlnet_aux's ``draw_facepose`` draws OpenPose faces (radius 3 px at 512², scaled)."""
    canvas = np.zeros((size, size, 3), np.uint8)
    radius = max(1, round(DISC_RADIUS_512 * size / 512))
    shift = 4  # sub-pixel centres: the disc's centroid is the keypoint, not its pixel's corner
    for x, y in keypoints:
        centre = (round((x - 0.5) * (1 << shift)), round((y - 0.5) * (1 << shift)))
        cv2.circle(canvas, centre, radius << shift, (255, 255, 255), thickness=-1, shift=shift)
    return canvas


def face_mask(keypoints: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: the hull of the 68 iBUG ``keypoints`` ((>= 68, 2) pixels), grown by
    :data:`FACE_MASK_GROW` of its size, so the jaw line is inside and the hairline is not."""
    hull = cv2.convexHull(_polygon(keypoints[:68]))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [hull], 1)
    grow = max(1, round(FACE_MASK_GROW * np.ptp(keypoints[:68], axis=0).max()))
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))) > 0


def feature_edges(image: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 white-on-black canny edges of ``image`` ((H, W, 3) uint8) inside the face
    (:func:`face_mask` of ``keypoints``)."""
    scale = image.shape[0] / 512
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (0, 0), scale)
    edges = cv2.Canny(grey, CANNY_LOW / scale, CANNY_HIGH / scale)
    edges[~face_mask(keypoints, image.shape[0])] = 0
    return np.repeat(edges[..., None], 3, axis=2)
