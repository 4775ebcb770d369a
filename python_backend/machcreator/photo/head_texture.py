"""A portrait → the head's albedo: the texture half of the photo path (Mach §2.3–2.4).

With the head and camera fitted (:mod:`machcreator.photo.head`), the head is rasterised in the
crop's camera through the differentiable rasteriser (the eyeballs drawn too, so they hide what
lies behind them), the UV texture is fitted coarse to fine (:func:`fit_texture`), the photo's
light is divided out (:class:`~machcreator.photo.delight.SHDelighter`, or a learned delighter),
and the result is completed with the procedural skin (:func:`complete_texture`): eyes, mouth and
nostrils cut out around their landmarks, ears, neck and the back of the head from the procedural
skin matched to the photo's tone. Above the fitted size (1024²) the texture is upsampled and the
procedural skin's fine detail (pores) is added back.

Images and textures are sRGB; the delighter works on linear values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from machcreator.character import Character, MeshPart
from machcreator.photo.completion import complete_texture, region_mask
from machcreator.photo.correspondence import Correspondence
from machcreator.photo.delight import Delighter, SHDelighter
from machcreator.photo.camera import PhotoCamera
from machcreator.photo.head import INNER_LIPS, HeadFit
from machcreator.photo.texture_fit import TextureFitConfig, fit_texture
from machcreator.render.diffrast import Fragments, Rasterizer, get_rasterizer, interpolate, sample_texture
from machcreator.core.color import srgb_decode, srgb_encode
from machcreator.skin.position_map import PositionMap, bake_position_map

#: the coarse-to-fine levels of the texture fit (Mach eq. 6-7), texels a side
FIT_SIZES = (32, 128, 512, 1024)
#: texels each error-prone region grows by, as a share of the texture side
EXCLUDE_DILATE = 1 / 96


@dataclass
class HeadTexture:
    """albedo: (S, S, 3) uint8 the completed head albedo (the package's "head_albedo");
    extracted: (s, s, 3) float32 the texture fitted to the photo (s ≤ S, the last fit level);
    delit: (s, s, 3) float32 the extracted texture with the light divided out; visibility
    (s, s); render: (C, C, 3) uint8 the textured head re-rendered over the crop; face_mask
    (C, C) bool the pixels compared; psnr_db: re-render vs photo inside the face mask;
    shading_std: low-frequency log-luminance spread over the seen skin, "extracted" and "delit"."""

    albedo: np.ndarray
    extracted: np.ndarray
    delit: np.ndarray
    visibility: np.ndarray
    render: np.ndarray
    face_mask: np.ndarray
    psnr_db: float
    shading_std: dict[str, float]


def landmark_uvs(correspondence: Correspondence, head_uvs: np.ndarray, head_faces: np.ndarray) -> np.ndarray:
    """(P, 2) each landmark's point in the head's UV layout (NaN where it has none)."""
    tri = head_uvs[head_faces[np.maximum(correspondence.faces, 0)]].astype(np.float64)
    out = np.einsum("pk,pkc->pc", correspondence.bary, tri)
    out[~correspondence.valid] = np.nan
    return out


#: MediaPipe landmarks a pair of glasses covers besides the eyes and brows: under the eyes (the
#: lower rims) and the temples (the hinges)
UNDER_EYES_AND_TEMPLES = (116, 117, 118, 119, 120, 121, 47, 345, 346, 347, 348, 349, 350, 277, 127, 356, 139, 368)


def error_prone_regions(points: np.ndarray, glasses: bool = False) -> list[np.ndarray]:
    """Polygons (each (K, 2)) around the eyes, the mouth and the nostrils, from MediaPipe's own
    landmark groups (``points`` (478, 2) in any 2D frame: pixels or UVs); with ``glasses`` one
    band over both eyes, the brows, the nose's bridge and the temples instead of the eyes (the
    frames would otherwise be painted onto the skin)."""
    from mediapipe.python.solutions import face_mesh_connections as mesh

    def hull(connections) -> np.ndarray:
        idx = sorted({i for pair in connections for i in pair})
        pts = points[idx]
        pts = pts[np.isfinite(pts).all(1)]
        return cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2) if len(pts) >= 3 else np.zeros((0, 2))

    nose = sorted({i for pair in mesh.FACEMESH_NOSE for i in pair})
    tip_y = points[1, 1]  # MediaPipe's nose tip
    nostrils = [(i, i) for i in nose if points[i, 1] >= tip_y]
    # the mouth's opening, not the lips: their colour is the photo's to carry over
    opening = [(i, i) for i in INNER_LIPS]
    if glasses:
        covered = (mesh.FACEMESH_LEFT_EYE | mesh.FACEMESH_RIGHT_EYE | mesh.FACEMESH_LEFT_EYEBROW
                   | mesh.FACEMESH_RIGHT_EYEBROW | {(i, i) for i in UNDER_EYES_AND_TEMPLES})
        eyes = [hull(covered)]
    else:
        eyes = [hull(mesh.FACEMESH_LEFT_EYE | mesh.FACEMESH_LEFT_IRIS),
                hull(mesh.FACEMESH_RIGHT_EYE | mesh.FACEMESH_RIGHT_IRIS)]
    polygons = [*eyes, hull(opening), hull(nostrils)]
    return [p for p in polygons if len(p) >= 3]


def face_oval_mask(points: np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: inside the convex hull of MediaPipe's face oval (``points`` in pixels)."""
    from mediapipe.python.solutions import face_mesh_connections as mesh

    idx = sorted({i for pair in mesh.FACEMESH_FACE_OVAL for i in pair})
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points[idx].astype(np.float32)).astype(np.int32), 1)
    return mask.astype(bool)


#: MediaPipe landmarks on the cheeks, where skin shows whatever the hair or beard
CHEEK_LANDMARKS = (50, 101, 118, 280, 330, 347)


def skin_mask(image: np.ndarray, points: np.ndarray, max_distance: float = 3.0) -> np.ndarray:
    """(H, W) bool: pixels whose colour is the cheeks' skin (hair, brows, glasses, a beard and the
    background are not). The chroma (CIELAB a, b) is compared by Mahalanobis distance to the
    cheeks' spread, lightness only loosely (light and shadow change it).

    Args:
        image: (H, W, 3) uint8 sRGB; points: (478, 2) MediaPipe landmarks in its pixels.
    """
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    h, w = image.shape[:2]
    samples = []
    for i in CHEEK_LANDMARKS:
        x, y = np.clip(np.round(points[i]).astype(int), 4, (w - 5, h - 5))
        samples.append(lab.reshape(h, w, 3)[y - 4:y + 5, x - 4:x + 5].reshape(-1, 3))
    ref = np.concatenate(samples)
    mean, cov = ref.mean(0), np.cov(ref[:, 1:].T) + np.eye(2) * 4.0  # a floor: a few units of chroma
    d = lab[:, 1:] - mean[1:]
    chroma = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d) < max_distance**2
    lightness = np.abs(lab[:, 0] - mean[0]) < 35.0
    mask = (chroma & lightness).reshape(h, w).astype(np.uint8)
    # single pixels are noise (a freckle is skin; a pore-sized gap is not hair)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return mask.astype(bool)


def shading_spread(texture: np.ndarray, mask: np.ndarray) -> float:
    """Std of the blurred log-luminance over ``mask``: how much smooth light (not freckles or
    pores) varies across the skin; texture (S, S, 3) float in [0, 1]."""
    lum = np.log(np.maximum(texture.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32), 1e-3))
    sigma = texture.shape[0] / 48
    weight = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)
    blurred = cv2.GaussianBlur(lum * mask, (0, 0), sigma) / np.maximum(weight, 1e-6)
    return float(blurred[mask].std())


def texel_visibility(pmap: PositionMap, camera: PhotoCamera, covered: np.ndarray, surface: np.ndarray,
                     tolerance_m: float = 0.008) -> np.ndarray:
    """(S, S) how squarely the photo saw each texel: the cosine between its normal and the view,
    where the surface the photo shows at its pixel is the texel's own (within ``tolerance_m``),
    else 0 (hidden, turned away, or off the UV islands).

    Args:
        pmap: the head's position map; covered: (H, W) pixels the head covers (and show what is
            wanted, e.g. skin); surface: (H, W, 3) the 3D point seen at each pixel (metres).
    """
    h, w = covered.shape
    points = pmap.position.reshape(-1, 3).astype(np.float64)
    xy = np.floor(camera.project(points)).astype(np.int64)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h) & pmap.covered.reshape(-1)
    col, row = np.clip(xy[:, 0], 0, w - 1), np.clip(xy[:, 1], 0, h - 1)
    same = inside & covered[row, col] & (np.linalg.norm(surface[row, col] - points, axis=1) < tolerance_m)
    view = points @ camera.rotation.T + camera.translation
    normal = pmap.normal.reshape(-1, 3) @ camera.rotation.T
    facing = -(normal * view).sum(1) / np.linalg.norm(view, axis=1)
    return np.where(same, np.clip(facing, 0.0, 1.0), 0.0).reshape(pmap.covered.shape).astype(np.float32)


def _posed(part: MeshPart, expression: np.ndarray) -> np.ndarray:
    return part.positions + np.einsum("e,evc->vc", expression, part.morph_deltas)


def head_texture(character: Character, fit: HeadFit, correspondence: Correspondence, procedural_albedo: np.ndarray,
                 delighter: Delighter | None = None, rasterizer: Rasterizer | None = None,
                 config: TextureFitConfig | None = None, glasses: bool = False) -> HeadTexture:
    """Extract, delight and complete the head's albedo from the fitted photo.

    Args:
        character: built with ``fit.shape`` (its "head" and "eyes" parts are drawn).
        procedural_albedo: (S, S, 3) uint8 the embedded head albedo at the package's size.
        glasses: the photo shows glasses: the skin they cover comes from the procedural skin.
        config: the texture fit's levels (default :data:`FIT_SIZES`, capped at S).
    """
    size = procedural_albedo.shape[0]
    if config is None:
        sizes = tuple(s for s in FIT_SIZES if s < size) + (min(size, FIT_SIZES[-1]),)
        steps = dict(zip(TextureFitConfig.sizes, TextureFitConfig.steps))
        config = TextureFitConfig(sizes=sizes, steps=tuple(steps.get(s, 20) for s in sizes))
    rasterizer = rasterizer or get_rasterizer("auto")  # nvdiffrast where it and CUDA are, else torch
    head, eyes = character.part("head"), character.part("eyes")
    camera, crop = fit.camera, fit.crop
    # the head as the photo showed it: the fitted expression on the neutral head
    positions = np.concatenate([_posed(head, fit.expression), _posed(eyes, fit.expression)]).astype(np.float32)
    faces = np.concatenate([head.faces, eyes.faces + head.num_vertices])
    faces_t = torch.from_numpy(faces)
    clip = camera.clip(torch.from_numpy(positions)[None])
    frags = rasterizer.rasterize(clip, faces_t, (crop.image.shape[0], crop.image.shape[1]))
    on_head = frags.face_id < len(head.faces)
    head_frags = Fragments(torch.where(on_head, frags.face_id, -1), frags.bary, frags.depth)
    uvs = np.concatenate([head.uvs, np.zeros((eyes.num_vertices, 2), np.float32)])
    uv = interpolate(torch.from_numpy(uvs), head_frags, faces_t)
    normals = np.concatenate([head.normals, eyes.normals]) @ camera.rotation.T
    view = positions @ camera.rotation.T + camera.translation
    facing_v = -(normals * view).sum(1) / np.linalg.norm(view, axis=1)
    facing = interpolate(torch.from_numpy(facing_v.astype(np.float32))[:, None], head_frags, faces_t)[..., 0]
    image = torch.from_numpy(crop.image.astype(np.float32) / 255.0)
    extracted_t, _ = fit_texture(image, head_frags, uv, facing, config)
    extracted = extracted_t.numpy()

    # the re-render: the fitted texture seen through the photo's camera, compared inside the face
    seen = sample_texture(extracted_t.permute(2, 0, 1), uv)[0].numpy()
    covered = head_frags.mask[0].numpy()
    render = np.where(covered[..., None], seen, crop.image / 255.0)
    face_mask = covered & face_oval_mask(crop.landmarks.points[:, :2], crop.image.shape[0])
    mse = float(((render - crop.image / 255.0)[face_mask] ** 2).mean())
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))

    # delight at the fitted size, on linear colours, over what the photo saw squarely
    fitted = extracted.shape[0]
    pmap = bake_position_map(dataclasses.replace(head, positions=_posed(head, fit.expression)), fitted)
    surface = interpolate(torch.from_numpy(positions), head_frags, faces_t)[0].numpy()
    skin = skin_mask(crop.image, crop.landmarks.points[:, :2])
    visibility = texel_visibility(pmap, camera, covered & skin, surface)
    lmk_uv = landmark_uvs(correspondence, head.uvs, head.faces)
    exclude = region_mask(error_prone_regions(lmk_uv, glasses), fitted, max(1, round(fitted * EXCLUDE_DILATE)))
    seen_mask = (visibility >= 0.3) & pmap.covered
    delit = (delighter or SHDelighter())(srgb_decode(extracted), pmap.normal, seen_mask)
    delit_srgb = srgb_encode(delit.albedo).astype(np.float32) / 255.0
    spread = {"extracted": shading_spread(extracted, seen_mask & ~exclude),
              "delit": shading_spread(delit_srgb, seen_mask & ~exclude)}

    # complete at the fitted size (Poisson blending at 2048² costs seconds for no more photo), then
    # up to the package's size with the procedural skin's finer detail (pores) put back: its own
    # where it shows, lent to the photo's skin
    procedural = procedural_albedo.astype(np.float32) / 255.0
    procedural_fit = cv2.resize(procedural, (fitted, fitted), interpolation=cv2.INTER_AREA) if fitted != size else procedural
    albedo = complete_texture(delit_srgb, visibility, procedural_fit, exclude)
    if size > fitted:
        albedo = cv2.resize(albedo, (size, size), interpolation=cv2.INTER_LINEAR)
        albedo = albedo + procedural - cv2.GaussianBlur(procedural, (0, 0), size / fitted)
    albedo_u8 = np.round(np.clip(albedo, 0, 1) * 255).astype(np.uint8)
    return HeadTexture(albedo=albedo_u8, extracted=extracted, delit=delit_srgb, visibility=visibility,
                       render=np.round(render * 255).astype(np.uint8), face_mask=face_mask, psnr_db=psnr,
                       shading_std=spread)
