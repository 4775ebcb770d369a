#!/usr/bin/env python3
"""A GPU check of the differentiable rasteriser's CUDA path (``machcreator.render.diffrast``).

``NvdiffrastRasterizer`` (CUDA, float32) is compared with ``TorchRasterizer`` (the reference, on
CPU tensors in float64) on a UV sphere, a rotated cube and both together (the cube partly behind
the sphere): coverage IoU, the share of pixels where both see the same triangle, and on those
pixels the largest NDC depth and barycentric differences. Then:

- orientation probes straight in clip space (a triangle in the upper right of NDC must land in
  the top rows and right columns; a triangle at NDC z = 0.25 must read depth 0.25) and input
  probes (float64 clip, int64 faces on the CPU, a non-contiguous clip);
- gradients of a textured render's loss with respect to the texture and the vertex positions,
  from both backends (cosine similarity and norm ratio);
- timing: nvdiffrast at 512² and 1024², batch 1 and 8, after warm-up and with
  ``torch.cuda.synchronize``; the torch rasteriser on the CPU for comparison;
- ``machcreator.photo.texture_fit.fit_texture`` on CUDA tensors (timed; an error is reported,
  not raised), and on the CPU for comparison;
- the tolerance the photo path relies on when it rasterises through nvdiffrast (``get_rasterizer
  ("auto")`` in ``photo/head_texture.py``): coverage IoU ≥ 0.999, the same triangle on ≥ 99.5 % of
  the pixels both cover, barycentrics within 1e-3 at the 99th percentile (PASS/FAIL rows);
- the portrait stage (issue 23): the tiny random SD 1.5 + two ControlNets of the tests (built here,
  nothing downloaded) through ``load_portrait_pipeline`` in float16 on CUDA and float32 on the CPU
  (the image must be finite, and fp16 close to fp32), timed per denoising step at 256²; and, when
  ``MACH_MODELS`` (or ``--models``) names real weights, a real portrait: load time, seconds per
  step and per try, peak VRAM, written to ``$OUT/portrait.png``.

Run where CUDA and nvdiffrast are (nvdiffrast compiles its CUDA plugin at first use, with
torch.utils.cpp_extension and ninja):

    PYTHONPATH=python_backend:/path/to/site python3 scripts/gpu_check.py

``--cpu-only`` runs the reference half alone (no CUDA, no nvdiffrast), to check the script.
The table is printed and written to ``$OUT/gpu_check.md`` (``./gpu_check.md`` without ``OUT``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
import traceback
from types import SimpleNamespace

import numpy as np
import torch

from machcreator.photo.texture_fit import TextureFitConfig, fit_texture
from machcreator.render.diffrast import (Fragments, TorchRasterizer, interpolate, perspective, sample_texture,
                                         to_clip)

SIZE = (240, 320)  # H, W: not square, so a swapped axis shows
FOV_Y, NEAR, FAR = 30.0, 0.1, 10.0

ROWS: list[tuple[str, str, str]] = []  # (check, value, note)
#: nvdiffrast against the torch rasteriser: what the photo path's texture fit tolerates
TOL_IOU, TOL_SAME_FACE, TOL_BARY_P99 = 0.999, 0.995, 1e-3
OUT_DIR = os.environ.get("OUT", ".")


def table() -> str:
    lines = ["| check | value | note |", "| --- | --- | --- |"] + [f"| {c} | {v} | {n} |" for c, v, n in ROWS]
    return "\n".join(lines) + "\n"


def row(check: str, value: str, note: str = "") -> None:
    """Record a result, print it and rewrite the table file (a run cut short keeps what it found)."""
    ROWS.append((check, value, note))
    print(f"  {check}: {value}" + (f"  ({note})" if note else ""), flush=True)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "gpu_check.md"), "w") as fh:
        fh.write(table())


def short_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("|", "/")
    return text[:300]


# --- meshes (view space: x right, y up, the camera looking down -z) ---------------------------------

def uv_sphere(centre, radius: float, n_lon: int = 96, n_lat: int = 48):
    """(V, 3) points, (F, 3) faces wound counter-clockwise seen from outside, (V, 2) UVs (u along
    the longitude, v from the north pole down: the texture's top row is the north pole), (V, 3)
    normals. The seam column is duplicated so UVs do not wrap."""
    theta = np.linspace(0, np.pi, n_lat + 1)
    phi = np.linspace(0, 2 * np.pi, n_lon + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")  # (n_lat+1, n_lon+1)
    normals = np.stack([np.sin(t) * np.cos(p), np.cos(t), -np.sin(t) * np.sin(p)], -1).reshape(-1, 3)
    uvs = np.stack([p / (2 * np.pi), t / np.pi], -1).reshape(-1, 2)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    faces = []
    for i in range(n_lat):
        for j in range(n_lon):
            a, b, c, d = idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]
            if i > 0:
                faces.append((a, b, d))
            if i < n_lat - 1:
                faces.append((b, c, d))
    return normals * radius + np.asarray(centre), np.array(faces, np.int64), uvs, normals


def cube(centre, half: float, yaw_deg: float = 30.0, pitch_deg: float = 20.0):
    """A rotated cube with its own UV square on each face: (24, 3), (12, 3), (24, 2), (24, 3)."""
    pts, faces, uvs, normals = [], [], [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u_axis, v_axis = np.eye(3)[(axis + 1) % 3], np.eye(3)[(axis + 2) % 3]
            if sign < 0:
                u_axis, v_axis = v_axis, u_axis
            base = len(pts)
            for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                pts.append(n + du * u_axis + dv * v_axis)
                uvs.append(((du + 1) / 2, (1 - dv) / 2))
                normals.append(n)
            faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    rot = rx @ ry
    pts = np.asarray(pts) * half @ rot.T + np.asarray(centre)
    return pts, np.array(faces, np.int64), np.asarray(uvs, float), np.asarray(normals) @ rot.T


def merge(*meshes):
    pts, faces, uvs, normals, offset = [], [], [], [], 0
    for p, f, uv, n in meshes:
        pts.append(p)
        faces.append(f + offset)
        uvs.append(uv)
        normals.append(n)
        offset += len(p)
    return np.concatenate(pts), np.concatenate(faces), np.concatenate(uvs), np.concatenate(normals)


SPHERE = uv_sphere((0.03, -0.02, -0.6), 0.1)
CUBE = cube((-0.08, 0.06, -0.7), 0.07)
SCENES = {"sphere": SPHERE, "cube": CUBE, "sphere + cube": merge(SPHERE, CUBE)}


def projection(size) -> torch.Tensor:
    return perspective(FOV_Y, size[1] / size[0], NEAR, FAR)


def clip_of(points: np.ndarray, size, dtype=torch.float64, device="cpu", batch: int = 1) -> torch.Tensor:
    p = torch.tensor(points, dtype=dtype, device=device)[None]
    if batch > 1:  # each image of the batch a little shifted, so they differ
        shift = torch.linspace(-0.02, 0.02, batch, dtype=dtype, device=device)
        p = p + torch.stack([shift, torch.zeros_like(shift), torch.zeros_like(shift)], -1)[:, None]
    return to_clip(p, projection(size).to(device))


# --- comparisons -----------------------------------------------------------------------------------

def compare(ref: Fragments, test: Fragments) -> dict:
    """Coverage and per-pixel agreement of two rasterisations (both moved to the CPU, float64)."""
    m_ref, m_test = ref.mask.cpu(), test.mask.cpu()
    inter, union = (m_ref & m_test).sum().item(), (m_ref | m_test).sum().item()
    same = m_ref & m_test & (ref.face_id.cpu() == test.face_id.cpu())
    both = (m_ref & m_test).sum().item()
    d_depth = (ref.depth.cpu().double() - test.depth.cpu().double()).abs()[same]
    d_bary = (ref.bary.detach().cpu().double() - test.bary.detach().cpu().double()).abs().amax(-1)[same]
    return {
        "iou": inter / max(union, 1),
        "covered": (int(m_ref.sum()), int(m_test.sum())),
        "same_face": same.sum().item() / max(both, 1),
        "depth_max": d_depth.max().item() if len(d_depth) else float("nan"),
        "bary_max": d_bary.max().item() if len(d_bary) else float("nan"),
        "bary_p99": torch.quantile(d_bary, 0.99).item() if len(d_bary) else float("nan"),
    }


def textured_loss(rast, points: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor, texture: torch.Tensor,
                  weights: torch.Tensor, size) -> torch.Tensor:
    frags = rast.rasterize(to_clip(points, projection(size).to(points)), faces, size)
    uv = interpolate(uvs, frags, faces)
    colour = sample_texture(texture, uv.to(texture.dtype))
    return (colour * weights * frags.mask[..., None]).sum()


def gradients(rast, device, dtype, mesh, size):
    pts, faces, uvs, _ = mesh
    g = torch.Generator().manual_seed(0)
    texture = torch.rand((3, 64, 64), generator=g, dtype=torch.float64)
    weights = torch.rand((1,) + tuple(size) + (3,), generator=g, dtype=torch.float64)
    p = torch.tensor(pts, dtype=dtype, device=device)[None].requires_grad_(True)
    tex = texture.to(device=device, dtype=dtype).requires_grad_(True)
    loss = textured_loss(rast, p, torch.tensor(faces, device=device), torch.tensor(uvs, dtype=dtype, device=device),
                         tex, weights.to(device=device, dtype=dtype), size)
    loss.backward()
    return loss.item(), tex.grad.detach().cpu().double(), p.grad.detach().cpu().double()


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()


def sync(device) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def time_it(fn, device, min_iters: int = 5, min_seconds: float = 0.5, max_iters: int = 200, warmup: int = 3):
    for _ in range(warmup):
        fn()
    sync(device)
    n, start = 0, time.perf_counter()
    while n < min_iters or (time.perf_counter() - start < min_seconds and n < max_iters):
        fn()
        n += 1
    sync(device)
    return (time.perf_counter() - start) / n


# --- the photo for fit_texture ---------------------------------------------------------------------

def photo_of_sphere(rast, device, size=(512, 512)):
    """A 'photo' of the textured sphere from rast and what fit_texture takes: image, frags, uv, facing
    and the true texture."""
    pts, faces, uvs, normals = SPHERE
    s = 256
    yy, xx = torch.meshgrid(torch.linspace(0, 1, s), torch.linspace(0, 1, s), indexing="ij")
    truth = torch.stack([0.5 + 0.4 * torch.sin(6 * math.pi * xx), 0.5 + 0.4 * torch.cos(4 * math.pi * yy),
                         0.3 + 0.4 * xx * yy], 0).to(device)  # (3, s, s)
    f = torch.tensor(faces, device=device)
    p = torch.tensor(pts, dtype=torch.float32, device=device)[None]
    frags = rast.rasterize(to_clip(p, projection(size).to(p)), f, size)
    uv = interpolate(torch.tensor(uvs, dtype=torch.float32, device=device), frags, f).float()
    pos = interpolate(p[0], frags, f).float()
    nrm = torch.nn.functional.normalize(interpolate(torch.tensor(normals, dtype=torch.float32, device=device),
                                                    frags, f).float(), dim=-1)
    facing = (nrm * torch.nn.functional.normalize(-pos, dim=-1)).sum(-1) * frags.mask
    image = sample_texture(truth, uv)[0] * frags.mask[0, ..., None]
    return image, frags, uv, facing, truth


def run_fit(image, frags, uv, facing, device) -> tuple[float, float]:
    sync(device)
    start = time.perf_counter()
    texture, visibility = fit_texture(image, frags, uv, facing, TextureFitConfig())
    sync(device)
    seconds = time.perf_counter() - start
    back = sample_texture(texture.permute(2, 0, 1).to(uv.device), uv)[0]
    mask = frags.mask[0] & (facing[0] > 0)
    err = (back - image).abs()[mask].mean().item()
    return seconds, err


# --- main ------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-only", action="store_true", help="skip everything that needs CUDA or nvdiffrast")
    parser.add_argument("--models", default=None, help="a models.toml naming real weights (default: $MACH_MODELS)")
    args = parser.parse_args()
    t_start = time.perf_counter()

    cuda = torch.cuda.is_available() and not args.cpu_only
    row("python / torch", f"{platform.python_version()} / {torch.__version__}", f"threads {torch.get_num_threads()}")
    if torch.cuda.is_available():
        row("GPU", torch.cuda.get_device_name(0), f"capability {torch.cuda.get_device_capability(0)}")
    torch_rast = TorchRasterizer()

    nv = None
    if cuda:
        major, minor = torch.cuda.get_device_capability(0)
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")  # build for this GPU only
        try:
            import nvdiffrast
            import nvdiffrast.torch.ops as nvdr_ops
            import torch.utils.cpp_extension as cpp_extension

            from machcreator.render.diffrast import NvdiffrastRasterizer, get_rasterizer
            # nvdiffrast 0.3.3 builds its plugin with cpp_extension.load and then imports it by
            # name, which needs the module registered; torch 2.x's loader no longer registers it
            # (No module named 'nvdiffrast_plugin_...'), so the build folder goes on sys.path
            plugin = nvdr_ops.sanitize_name(f"nvdiffrast_plugin_{nvdiffrast.__version__}_torch{torch.__version__}")
            sys.path.insert(0, cpp_extension._get_build_directory(plugin, False))
            start = time.perf_counter()
            nv = NvdiffrastRasterizer()  # the first context compiles and loads the plugin
            row("nvdiffrast", f"{nvdiffrast.__version__} from {os.path.dirname(nvdiffrast.__file__)}",
                f"plugin built/loaded in {time.perf_counter() - start:.1f} s")
            row("get_rasterizer('auto')", get_rasterizer("auto").name)
        except Exception as exc:  # report, and go on with the reference half
            traceback.print_exc()
            row("nvdiffrast", "FAILED", short_error(exc))
    elif args.cpu_only:
        row("nvdiffrast", "skipped", "--cpu-only")
    else:
        row("nvdiffrast", "skipped", "no CUDA")

    # 1. agreement with the reference, per scene
    for name, (pts, faces, _, _) in SCENES.items():
        ref = torch_rast.rasterize(clip_of(pts, SIZE), torch.tensor(faces), SIZE)
        if nv is None:
            row(f"{name}: reference coverage", f"{int(ref.mask.sum())} px", f"{len(faces)} triangles, {SIZE[0]}x{SIZE[1]}")
            continue
        try:
            test = nv.rasterize(clip_of(pts, SIZE, torch.float32, "cuda"), torch.tensor(faces, device="cuda"), SIZE)
            c = compare(ref, test)
            row(f"{name}: coverage IoU (nvdiffrast vs torch)", f"{c['iou']:.5f}",
                f"{c['covered'][0]} vs {c['covered'][1]} px, {len(faces)} triangles, {SIZE[0]}x{SIZE[1]}")
            row(f"{name}: same face_id where both cover", f"{c['same_face'] * 100:.3f} %")
            row(f"{name}: max abs NDC depth diff (same face)", f"{c['depth_max']:.3e}")
            row(f"{name}: max abs bary diff (same face)", f"{c['bary_max']:.3e}", f"99th percentile {c['bary_p99']:.3e}")
            within = c["iou"] >= TOL_IOU and c["same_face"] >= TOL_SAME_FACE and c["bary_p99"] <= TOL_BARY_P99
            row(f"{name}: within the photo path's tolerance", "PASS" if within else "FAIL",
                f"IoU ≥ {TOL_IOU}, same face ≥ {TOL_SAME_FACE:.1%}, bary p99 ≤ {TOL_BARY_P99:g}")
        except Exception as exc:
            traceback.print_exc()
            row(f"{name}: nvdiffrast vs torch", "FAILED", short_error(exc))

    # 2. orientation and input probes (nvdiffrast)
    if nv is not None:
        h, w = SIZE
        tri = torch.tensor([[0, 1, 2]], device="cuda")
        upper_right = torch.tensor([[[0.2, 0.2, 0.25, 1.0], [0.8, 0.2, 0.25, 1.0], [0.5, 0.8, 0.25, 1.0]]], device="cuda")
        try:
            fr = nv.rasterize(upper_right, tri, SIZE)
            ys, xs = torch.nonzero(fr.mask[0], as_tuple=True)
            ok = bool(ys.max() < h // 2 and xs.min() >= w // 2)
            row("probe: NDC upper-right triangle lands top-right", "yes" if ok else "NO",
                f"rows {ys.min().item()}-{ys.max().item()} of {h}, cols {xs.min().item()}-{xs.max().item()} of {w}")
            d = fr.depth[fr.mask]
            row("probe: NDC z = 0.25 triangle reads depth", f"{d.min().item():.6f} .. {d.max().item():.6f}")
            ref = torch_rast.rasterize(upper_right.cpu().double(), tri.cpu(), SIZE)
            row("probe: same triangle, IoU with torch", f"{compare(ref, fr)['iou']:.5f}")
        except Exception as exc:
            traceback.print_exc()
            row("probe: orientation", "FAILED", short_error(exc))
        pts, faces, _, _ = SPHERE
        c64 = clip_of(pts, SIZE, torch.float64, "cuda")
        ref = torch_rast.rasterize(clip_of(pts, SIZE), torch.tensor(faces), SIZE)
        probes = {
            "float64 clip, int64 faces on CUDA": lambda: nv.rasterize(c64, torch.tensor(faces, device="cuda"), SIZE),
            "float32 clip, int64 faces on the CPU": lambda: nv.rasterize(c64.float(), torch.tensor(faces), SIZE),
            "non-contiguous float32 clip": lambda: nv.rasterize(
                c64.float().transpose(1, 2).contiguous().transpose(1, 2), torch.tensor(faces, device="cuda"), SIZE),
        }
        for label, fn in probes.items():
            try:
                fr = fn()
                row(f"probe: {label}", f"ok, IoU {compare(ref, fr)['iou']:.5f}", f"bary dtype {fr.bary.dtype}")
            except Exception as exc:
                row(f"probe: {label}", "FAILED", short_error(exc))
        try:  # what NvdiffrastRasterizer hands nvdiffrast when it passes a float64 clip through unchanged
            nv._dr.rasterize(nv._ctx, c64.contiguous(), torch.tensor(faces, device="cuda").int(), resolution=list(SIZE))
            row("probe: raw nvdiffrast.rasterize with float64 pos", "accepted")
        except Exception as exc:
            row("probe: raw nvdiffrast.rasterize with float64 pos", "raises", short_error(exc))

    # 3. gradients of a textured render
    for name in ("sphere", "sphere + cube"):
        mesh = SCENES[name]
        loss_ref, gt_ref, gp_ref = gradients(torch_rast, "cpu", torch.float64, mesh, SIZE)
        if nv is None:
            row(f"{name}: torch textured loss; norms of grad wrt texture, positions",
                f"{loss_ref:.4f}, {gt_ref.norm():.4e}, {gp_ref.norm():.4e}")
            continue
        try:
            loss_nv, gt_nv, gp_nv = gradients(nv, "cuda", torch.float32, mesh, SIZE)
            row(f"{name}: textured loss nvdiffrast / torch", f"{loss_nv:.4f} / {loss_ref:.4f}")
            row(f"{name}: grad wrt texture, cosine", f"{cosine(gt_nv, gt_ref):.6f}",
                f"norm ratio {gt_nv.norm() / gt_ref.norm():.5f}")
            row(f"{name}: grad wrt vertex positions, cosine", f"{cosine(gp_nv, gp_ref):.6f}",
                f"norm ratio {gp_nv.norm() / gp_ref.norm():.5f}")
        except Exception as exc:
            traceback.print_exc()
            row(f"{name}: gradients", "FAILED", short_error(exc))

    # 4. timing (rasterisation of the sphere + cube scene)
    pts, faces, uvs, _ = SCENES["sphere + cube"]
    if nv is not None:
        f_cuda = torch.tensor(faces, device="cuda")
        for side in (512, 1024):
            for batch in (1, 8):
                size = (side, side)
                clip = clip_of(pts, size, torch.float32, "cuda", batch)
                try:
                    sec = time_it(lambda: nv.rasterize(clip, f_cuda, size), "cuda")
                    f_i32 = f_cuda.int()
                    raw = time_it(lambda: nv._dr.rasterize(nv._ctx, clip, f_i32, resolution=[side, side]), "cuda")
                    mpx = batch * side * side / 1e6
                    row(f"nvdiffrast {side}² batch {batch}", f"{mpx / sec:.0f} Mpx/s",
                        f"{sec * 1e3:.3f} ms per call through NvdiffrastRasterizer; raw dr.rasterize "
                        f"{raw * 1e3:.3f} ms ({mpx / raw:.0f} Mpx/s)")
                except Exception as exc:
                    row(f"nvdiffrast {side}² batch {batch}", "FAILED", short_error(exc))
        try:  # forward and backward of the textured loss
            size = (512, 512)
            p = torch.tensor(pts, dtype=torch.float32, device="cuda")[None].requires_grad_(True)
            tex = torch.rand((3, 256, 256), device="cuda", requires_grad=True)
            weights = torch.rand((1, 512, 512, 3), device="cuda")
            uv_c = torch.tensor(uvs, dtype=torch.float32, device="cuda")

            def step():
                textured_loss(nv, p, f_cuda, uv_c, tex, weights, size).backward()

            sec = time_it(step, "cuda")
            row("nvdiffrast 512² textured loss forward+backward", f"{sec * 1e3:.3f} ms")
        except Exception as exc:
            row("nvdiffrast 512² textured loss forward+backward", "FAILED", short_error(exc))
    f_cpu = torch.tensor(faces)
    for side, iters in ((512, 3), (1024, 1)):
        size = (side, side)
        clip = clip_of(pts, size, torch.float32, "cpu")
        sec = time_it(lambda: torch_rast.rasterize(clip, f_cpu, size), "cpu", min_iters=iters, min_seconds=0,
                      warmup=1)
        row(f"torch rasteriser (CPU) {side}² batch 1", f"{side * side / 1e6 / sec:.2f} Mpx/s",
            f"{sec * 1e3:.0f} ms per call, {torch.get_num_threads()} threads")
    if nv is not None:
        size = (512, 512)
        clip = clip_of(pts, size, torch.float32, "cuda")
        sec = time_it(lambda: torch_rast.rasterize(clip, f_cuda, size), "cuda", min_iters=3, min_seconds=0, warmup=1)
        row("torch rasteriser on CUDA tensors 512² batch 1", f"{0.262144 / sec:.2f} Mpx/s",
            f"{sec * 1e3:.0f} ms per call (visibility on the CPU)")

    # 5. fit_texture: CUDA tensors, then the CPU for comparison
    if nv is not None:
        image, frags, uv, facing, _ = photo_of_sphere(nv, "cuda")
        try:
            sec, err = run_fit(image, frags, uv, facing, "cuda")
            row("fit_texture on CUDA tensors (default config, 512² photo)", f"{sec:.2f} s",
                f"mean abs reprojection error {err:.4f}")
        except Exception as exc:
            traceback.print_exc()
            row("fit_texture on CUDA tensors (default config, 512² photo)", "FAILED", short_error(exc))
            try:  # again with CUDA as torch's default device, so buffers made without a device land there too
                with torch.device("cuda"):
                    sec, err = run_fit(image, frags, uv, facing, "cuda")
                row("fit_texture on CUDA, inside `with torch.device('cuda')`", f"{sec:.2f} s",
                    f"mean abs reprojection error {err:.4f}")
            except Exception as exc2:
                row("fit_texture on CUDA, inside `with torch.device('cuda')`", "FAILED", short_error(exc2))
        cpu_inputs = (image.cpu(), Fragments(frags.face_id.cpu(), frags.bary.cpu(), frags.depth.cpu()), uv.cpu(),
                      facing.cpu())
    else:
        image, frags, uv, facing, _ = photo_of_sphere(torch_rast, "cpu")
        cpu_inputs = (image, frags, uv, facing)
    try:
        sec, err = run_fit(*cpu_inputs, "cpu")
        row("fit_texture on the CPU (same photo)", f"{sec:.2f} s", f"mean abs reprojection error {err:.4f}")
    except Exception as exc:
        traceback.print_exc()
        row("fit_texture on the CPU (same photo)", "FAILED", short_error(exc))

    check_portrait(cuda, args.models)
    row("script wall time", f"{time.perf_counter() - t_start:.1f} s")
    print("\n" + table())
    return 0


def _paint_timed(loaded, settings, steps_done: list[float]):
    """One portrait through machcreator.portrait.generate.paint with blank clue maps; (image, seconds)."""
    from machcreator.portrait.generate import paint

    size = settings.size_for(loaded.arch)
    blank = np.zeros((size, size, 3), np.uint8)
    clues = SimpleNamespace(openpose=blank, canny=blank)  # what paint reads of the clue maps
    sync(loaded.device)
    start = time.perf_counter()
    image = paint(loaded, "a frontal studio portrait of a woman", "lowres", clues, settings, seed=0,
                  progress=lambda step, total, message: steps_done.append(time.perf_counter()))
    sync(loaded.device)
    return image, time.perf_counter() - start


def check_portrait(cuda: bool, models_path: str | None) -> None:
    """The portrait stage's pipelines: the tests' tiny models in fp16 (CUDA) and fp32 (CPU); real weights if configured."""
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' tiny model builders
    from machcreator.core.models import load_models_config
    from machcreator.portrait.models import check_models, load_portrait_pipeline
    from tests.portrait.tiny_models import tiny_models_config

    with tempfile.TemporaryDirectory() as tmp:
        tiny = tiny_models_config(tmp)
        images = {}
        for device, dtype in (("cpu", "float32"),) + ((("cuda", "float16"),) if cuda else ()):
            config = tiny.model_copy(update={"device": device, "dtype": dtype, "portrait": tiny.portrait.model_copy(
                update={"size": 256, "steps": 10})})
            try:
                loaded = load_portrait_pipeline(config)
                _paint_timed(loaded, config.portrait, [])  # warm-up
                steps: list[float] = []
                images[device], sec = _paint_timed(loaded, config.portrait, steps)
                row(f"tiny SD1.5 + 2 ControlNets, {device} {dtype}, 256², 10 steps", f"{sec:.2f} s",
                    f"{sec / 10 * 1e3:.0f} ms per step incl. CFG; finite: {bool(np.isfinite(images[device]).all())}")
            except Exception as exc:
                traceback.print_exc()
                row(f"tiny SD1.5 + 2 ControlNets, {device} {dtype}", "FAILED", short_error(exc))
        if "cuda" in images and "cpu" in images:
            diff = np.abs(images["cuda"].astype(int) - images["cpu"].astype(int))
            row("tiny portrait fp16 CUDA vs fp32 CPU", f"mean abs {diff.mean():.2f} / 255", f"max {diff.max()}")
    try:
        config = load_models_config(models_path)
    except Exception as exc:
        row("real weights", "config error", short_error(exc))
        return
    if not config.portrait_configured:
        row("real weights", "skipped", "no models config with a base and both ControlNets ($MACH_MODELS / --models)")
        return
    for check in check_models(config, load=False):
        row(f"models check: {check.name}", check.problem or "ok", f"{check.arch or '-'}, ~{check.vram_gb or 0:.1f} GB")
    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        loaded = load_portrait_pipeline(config)
        row("real weights: load", f"{time.perf_counter() - start:.1f} s", f"{loaded.arch} on {loaded.device} {loaded.dtype}")
        _paint_timed(loaded, config.portrait, [])  # warm-up (cuDNN autotuning, allocations)
        steps: list[float] = []
        image, sec = _paint_timed(loaded, config.portrait, steps)
        per_step = np.diff(steps).mean() if len(steps) > 1 else sec
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
        size = config.portrait.size_for(loaded.arch)
        row(f"real weights: one try, {size}², {config.portrait.steps} steps", f"{sec:.2f} s",
            f"{per_step * 1e3:.0f} ms per step; peak VRAM {peak:.1f} GB")
        from PIL import Image

        Image.fromarray(image).save(os.path.join(OUT_DIR, "portrait.png"))
    except Exception as exc:
        traceback.print_exc()
        row("real weights: portrait", "FAILED", short_error(exc))


if __name__ == "__main__":
    sys.exit(main())
