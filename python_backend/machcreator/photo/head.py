"""A portrait → the character's head: the geometry half of the photo path (Mach §2.2).

1. find the face (:func:`machcreator.photo.landmarks.find_face`) and cut a square crop of
   :data:`CROP_PX`² around it (every pixel error is reported at that size, as Mach does at 512²);
   the landmarks are detected again on the crop, where the face fills the frame as it does on
   the template render the correspondence was found on;
2. place the camera (EPnP on the prompt's face, fixed intrinsics: a
   :data:`~machcreator.photo.camera.PHOTO_FOV_DEG` lens on the whole photo, re-centred by the crop);
3. fit anny's face shape space and the camera (:mod:`machcreator.photo.parametric`), then take
   the detector's own error out (:data:`DETECTOR_ROUNDS` times): render the fitted face through
   the fitted camera and expression, run the detector on the render, and move each landmark of
   the photo by how far the detector misses the render's known landmark; fit again. MediaPipe
   regresses towards its mean face and shifts with pose (some 2-5 px at 512², as much as a
   face's difference from the prior); the same detector on a look-alike render errs alike, so
   the difference cancels what the landmarks alone cannot tell from shape;
4. refine with the UV position map and the camera (:mod:`machcreator.photo.geometry_fit`);
5. turn the refined head into per-vertex offsets of anny's mesh that fade out over
   :data:`NECK_BLEND_M` towards the neck seam, with the eyeballs and tongue carried along
   rigidly (the teeth and grooms are built on the shaped head afterwards, so they follow).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from machcreator.attributes import Attributes, apply_overrides
from machcreator.body.geometry import HeadShape, character_from_body
from machcreator.body.shape_table import AnnyParameters
from machcreator.character import Character, ShapedBody
from machcreator.photo.camera import PhotoCamera, focal_for, solve_pose
from machcreator.photo.correspondence import Correspondence, bare_face
from machcreator.photo.geometry_fit import GeometryFitConfig, fit_geometry
from machcreator.photo.image import Photo
from machcreator.photo.landmarks import FaceLandmarks, LandmarkDetector, find_face
from machcreator.photo.parametric import ParametricConfig, fit_parametric
from machcreator.render.preview import render

#: the face crop every fit runs in, pixels a side
CROP_PX = 512
#: crop side / the landmarks' bounding box's larger side (the face plus some hair and neck)
CROP_MARGIN = 1.7
#: rounds of taking the detector's own error out of the landmarks (see :func:`fit_head`)
DETECTOR_ROUNDS = 2
#: the head's offsets fade to zero over this distance from the neck seam, metres
NECK_BLEND_M = 0.05
#: MediaPipe's inner lip contour (its own topology; its lips group holds outer and inner lines)
INNER_LIPS = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)
#: MediaPipe landmarks the position map does not fit: the mouth's opening and the irises
MOVING_LANDMARKS = (*INNER_LIPS, *range(468, 478))
#: the position map's change fades to zero over this distance from the lips' inner edge, metres
MOUTH_BLEND_M = 0.012
#: the face the fit starts from where the prompt said nothing: the photo shows the face, so the
#: seed's random nose, lips, eyes and face shape would only be a bias to fit away
NEUTRAL_FACE = ("face.shape=oval", "face.jaw_width=0", "face.chin=0", "face.cheekbones=0", "face.forehead=0",
                "face.dimples=0", "face.cleft_chin=0", "face.double_chin=0", "eyes.shape=almond", "eyes.size=0",
                "eyes.spacing=0", "nose.size=0", "nose.width=0", "nose.bridge=0", "lips.fullness=0", "lips.width=0")


def neutral_face(resolved: Attributes, specified: Attributes) -> Attributes:
    """``resolved`` with the face features the prompt left open set to neutral (see :data:`NEUTRAL_FACE`)."""
    open_paths = [line for line in NEUTRAL_FACE if specified.get_path(line.split("=")[0]) is None]
    return apply_overrides(resolved, open_paths)


@dataclass
class FaceCrop:
    """image (CROP_PX, CROP_PX, 3) uint8 sRGB; landmarks (P, 3) in its pixels; (x0, y0, side)
    the square it was cut from in the photo (pixels); camera the photo's intrinsics seen through it."""

    image: np.ndarray
    landmarks: FaceLandmarks
    x0: float
    y0: float
    side: float
    camera: PhotoCamera


@dataclass
class HeadFit:
    """What the geometry half of the photo path found.

    crop: the face crop; camera: the fitted pose in the crop's pixels; expression: (52,) the
    ARKit facial actions' weights the photo showed (order of ``ARKIT_BLENDSHAPES``; the head is
    built neutral, the texture is read through them); shape: what the geometry stage applies;
    character: the parts built with that shape (what ``build_geometry(..., head=shape)`` makes);
    errors_px: mean landmark reprojection error at CROP_PX² — "pnp": the prompt's face placed by
    PnP, against the detected landmarks; "parametric" after the anny fit and "final" for the
    head as built, against the landmarks with the detector's own error taken out (what the fit
    fits); "detected": the detector run on a render of the result against the detector on the
    photo (same detector both sides, so its own error cancels; NaN without a detector).
    """

    crop: FaceCrop
    camera: PhotoCamera
    expression: np.ndarray
    shape: HeadShape
    character: Character
    errors_px: dict[str, float]


def face_crop(photo: Photo, detector: LandmarkDetector, largest: bool = False) -> FaceCrop:
    """Find the face and cut the square crop the fit runs in (see the module notes)."""
    face = find_face(photo.rgb, detector, largest=largest)
    lo, hi = face.points[:, :2].min(0), face.points[:, :2].max(0)
    side = float(CROP_MARGIN * (hi - lo).max())
    x0, y0 = (lo + hi) / 2 - side / 2
    scale = CROP_PX / side
    source = photo.rgb
    if scale < 0.5:  # shrinking a lot: blur first so the resample does not alias
        source = cv2.GaussianBlur(source, (0, 0), 0.5 / scale)
    warp = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    # pixel centres: a crop pixel's centre (i + 0.5) maps to the photo's (x0 + (i + 0.5) / scale)
    warp[:, 2] += 0.5 * scale - 0.5
    image = cv2.warpAffine(source, warp, (CROP_PX, CROP_PX), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    height = photo.rgb.shape[0]
    camera = PhotoCamera(np.eye(3), np.zeros(3), focal_for(height), photo.rgb.shape[1], height).crop(x0, y0, side, CROP_PX)
    faces = detector.detect(image)
    if faces:
        landmarks = max(faces, key=lambda f: f.height_px)
    else:  # the crop lost the detector (rare): the photo's landmarks, moved into the crop
        pts = face.points.copy()
        pts[:, :2] = (pts[:, :2] - (x0, y0)) * scale
        pts[:, 2] *= scale
        landmarks = FaceLandmarks(points=pts, box=tuple(np.r_[(lo - (x0, y0)) * scale, (hi - (x0, y0)) * scale]),
                                  yaw_deg=face.yaw_deg)
    return FaceCrop(image=image, landmarks=landmarks, x0=float(x0), y0=float(y0), side=side, camera=camera)


def head_vertex_sources(body: ShapedBody, head_positions: np.ndarray) -> np.ndarray:
    """(V_head,) the anny vertex each head-part vertex was cut from (parts copy positions exactly)."""
    distance, index = cKDTree(body.positions).query(head_positions)
    if distance.max() > 1e-6:
        raise RuntimeError("the head part's vertices are not anny's (was the head built from this body?)")
    return index


def anny_triangles(correspondence: Correspondence, head_faces: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """(P, 3) anny vertex indices of each landmark's triangle (-1 rows where it has none)."""
    tri = sources[head_faces[np.maximum(correspondence.faces, 0)]]
    tri[~correspondence.valid] = -1
    return tri


def head_offsets(body: ShapedBody, head_positions: np.ndarray, fitted: np.ndarray,
                 blend_m: float = NECK_BLEND_M) -> np.ndarray:
    """(V, 3) float32 offsets of anny's vertices that take the head part from ``head_positions``
    to ``fitted``: the skin as fitted, fading to 0 within ``blend_m`` of the neck seam; the mouth
    and eye cavities following the skin around them smoothly (the map's texels over their UV
    islands see no landmark); eyeballs and tongue moved rigidly with their cavities."""
    from machcreator.body.geometry import BODY_LABELS, HEAD_LABELS, TONGUE_LABELS

    sources = head_vertex_sources(body, head_positions)
    offsets = np.zeros_like(body.positions, dtype=np.float64)
    offsets[sources] = fitted - head_positions
    skin = np.unique(body.faces[body.face_labels == "head"])
    cavities = np.setdiff1d(np.unique(body.faces[np.isin(body.face_labels, HEAD_LABELS)]), skin)
    # the lips' inner edge keeps the parametric fit's closed mouth: a smile the expressions did
    # not quite explain would otherwise part the neutral lips
    opening = np.intersect1d(skin, np.unique(body.faces[body.face_labels == "mouth_cavity"]))
    t = np.clip(cKDTree(body.positions[opening]).query(body.positions[skin])[0] / MOUTH_BLEND_M, 0.0, 1.0)
    offsets[skin] *= (t * t * (3 - 2 * t))[:, None]
    distance, nearest = cKDTree(body.positions[skin]).query(body.positions[cavities], k=8)
    weight = 1.0 / np.maximum(distance, 1e-4)
    offsets[cavities] = (offsets[skin][nearest] * weight[..., None]).sum(1) / weight.sum(1, keepdims=True)
    head_v = np.concatenate([skin, cavities])
    seam = np.intersect1d(skin, np.unique(body.faces[np.isin(body.face_labels, BODY_LABELS)]))
    t = np.clip(cKDTree(body.positions[seam]).query(body.positions[head_v])[0] / blend_m, 0.0, 1.0)
    offsets[head_v] *= (t * t * (3 - 2 * t))[:, None]
    for cavity, moved in (("eye_cavity.L", ("eye_front.L", "eye_back.L")), ("eye_cavity.R", ("eye_front.R", "eye_back.R")),
                          ("mouth_cavity", TONGUE_LABELS)):
        shift = offsets[np.unique(body.faces[body.face_labels == cavity])].mean(0)
        offsets[np.unique(body.faces[np.isin(body.face_labels, moved)])] = shift
    return offsets.astype(np.float32)


#: builds (shaped body, character) from anny parameters, as the geometry stage would
HeadBuilder = Callable[[AnnyParameters], tuple[ShapedBody, Character]]


def detector_view(character: Character, camera: PhotoCamera, expression: np.ndarray, detector: LandmarkDetector,
                  correspondence: Correspondence) -> tuple[np.ndarray, np.ndarray]:
    """The detector run on a render of the character's bare face (:func:`bare_face`) through
    ``camera`` with ``expression``: (P, 2) where it finds each landmark and (P, 2) where the
    landmark's template point projects (crop pixels; NaN rows where it found no face or the
    landmark has no point). Their difference is the detector's own error on this face, pose and
    expression."""
    bare = bare_face(character, expression)
    head = bare.part("head")
    predicted = camera.project(correspondence.points(head.positions.astype(np.float64), head.faces))
    faces = detector.detect(render(bare, camera.view()))
    if not faces:
        return np.full_like(predicted, np.nan), predicted
    return max(faces, key=lambda f: f.height_px).points[:, :2].astype(np.float64), predicted


def fit_head(crop: FaceCrop, model, parameters: AnnyParameters, build: HeadBuilder,
             correspondence: Correspondence, parametric: ParametricConfig = ParametricConfig(),
             geometry: GeometryFitConfig = GeometryFitConfig(), detector: LandmarkDetector | None = None,
             detector_rounds: int = DETECTOR_ROUNDS) -> HeadFit:
    """Fit the head to the crop's landmarks (steps 2-5 of the module notes).

    Args:
        model: anny (:func:`machcreator.body.template.load_anny`).
        parameters: the prompt's anny parameters.
        build: makes (shaped body, character) from anny parameters with the prompt's ageing
            (:func:`machcreator.body.geometry.shaped_body` and ``character_from_body``), so the
            fit sees the head exactly as the package will.
    """
    landmarks = crop.landmarks.points[:, :2].astype(np.float64)
    body, character = build(parameters)
    head = character.part("head")
    sources = head_vertex_sources(body, head.positions)
    triangles = anny_triangles(correspondence, head.faces, sources)
    points = correspondence.points(head.positions.astype(np.float64), head.faces)
    camera, pnp_error = solve_pose(points, landmarks, CROP_PX, CROP_PX, crop.camera.focal_px,
                                   crop.camera.principal_px)
    expressions = np.stack([correspondence.points(head.positions + d, head.faces) - points for d in head.morph_deltas])
    fit = fit_parametric(model, parameters, triangles, correspondence.bary, landmarks, camera,
                         rest_points=points, expressions=np.nan_to_num(expressions), config=parametric)
    target = landmarks
    for _ in range(detector_rounds if detector is not None else 0):
        _, character = build(fit.parameters)
        seen, predicted = detector_view(character, fit.camera, fit.expression, detector, correspondence)
        target = np.where(np.isfinite(seen), landmarks - (seen - predicted), landmarks)
        fit = fit_parametric(model, parameters, triangles, correspondence.bary, target, fit.camera,
                             rest_points=points, expressions=np.nan_to_num(expressions), config=parametric)
    body, character = build(fit.parameters)
    head = character.part("head")
    # the map refines the neutral head seen through the photo's expression; only its own
    # displacement is kept
    expressive = head.positions + np.einsum("e,evc->vc", fit.expression, head.morph_deltas)
    # the mouth's opening and the irises move with the expression and the gaze, not the head's
    # shape: the map left to chase them would part the neutral lips
    shape_landmarks = target.copy()
    shape_landmarks[list(MOVING_LANDMARKS)] = np.nan
    refined = fit_geometry(expressive.astype(np.float64), head.faces, head.uvs, correspondence, shape_landmarks,
                           fit.camera, geometry)
    offsets = head_offsets(body, head.positions.astype(np.float64), refined.positions - expressive + head.positions)
    built = character_from_body(dataclasses.replace(body, positions=body.positions + offsets))
    # reported over every landmark (the ones the map left out too) on the head as built: the
    # offsets faded at the neck and lips, seen through the photo's expression
    head = built.part("head")
    posed = head.positions + np.einsum("e,evc->vc", fit.expression, head.morph_deltas)
    errors = {"pnp": pnp_error, "parametric": fit.error_px,
              "final": _mean_distance(refined.camera.project(correspondence.points(posed, head.faces)), target),
              "detected": float("nan")}
    if detector is not None:  # what the detector itself finds on the result against the photo
        errors["detected"] = _mean_distance(detector_view(built, refined.camera, fit.expression, detector,
                                                          correspondence)[0], landmarks)
    return HeadFit(crop=crop, camera=refined.camera, expression=fit.expression, shape=HeadShape(fit.parameters, offsets),
                   character=built, errors_px=errors)


def _mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance between the rows of two (P, 2) point sets where both are finite (NaN if none)."""
    d = np.linalg.norm(a - b, axis=1)
    return float(d[np.isfinite(d)].mean()) if np.isfinite(d).any() else float("nan")
