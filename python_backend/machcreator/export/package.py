"""The character package: one folder, the contract between the backend and every consumer.

Layout (all paths relative to the package folder, never outside it)::

    manifest.json            Manifest below
    character.glb            glTF 2.0 binary, Y-up metres, skinned, 52 ARKit morph targets
    textures/<key>.png       albedo (sRGB), normal, ORM (linear) maps referenced by the glb
    grooms/<name>.abc        one strand groom per file (scalp, eyebrows, eyelashes, facial_hair):
                             Alembic curves after Epic's groom spec, centimetres, Y-up, facing +Z
    grooms/<name>.usdc       the same groom as USD BasisCurves (Blender, USD tools)
    preview.png              body front, head front, three-quarter and back, strands drawn
    preview_photo.png        with a photo: its face crop, the fitted head over it, the head as
                             packaged and bare (the manifest's ``photo`` says how well it fit)
    clues/<name>.png         with a painted portrait (Mach §2.1): the template head rendered from
                             the attributes, its OpenPose face keypoints and canny edges
    portrait/try_<n>.png     every portrait painted, the chosen one the photo of preview_photo.png
    preview_portrait.png     the clues and every try with its scores, the chosen one framed
                             (the manifest's ``portrait``: prompts, models, settings, tries, scores)

The writer is the only code that touches the output folder. It writes into a temporary sibling
folder and renames it into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import glob
import math
import os
import platform
import secrets
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from machcreator import __version__
from machcreator.character import Groom
from machcreator.core.errors import OutputError, PackageError
from machcreator.core.files import relative_member, replace_dir, sha256_file

FORMAT_NAME = "machcreator.character-package"
#: 1.1: grooms (grooms/*.abc and *.usdc, the manifest's ``grooms`` list); 1.2: a head fitted
#: to a photo (preview_photo.png, the manifest's ``photo``); 1.3: a portrait painted from the text
#: (clues/, portrait/, preview_portrait.png, the manifest's ``portrait``). A package without a
#: portrait is still written as 1.2, byte for byte as before.
FORMAT_VERSION = "1.3"
FORMAT_VERSION_WITHOUT_PORTRAIT = "1.2"
MANIFEST = "manifest.json"
GLB = "character.glb"
PREVIEW = "preview.png"
PHOTO_PREVIEW = "preview_photo.png"
PORTRAIT_PREVIEW = "preview_portrait.png"
GROOMS = "grooms"
#: IANA registers neither Alembic nor binary USD (only model/vnd.usda and model/vnd.usdz+zip)
GROOM_MEDIA_TYPE = "application/octet-stream"
#: zlib level for PNGs: 2048² maps compress ~5x slower at level 6 for a few % of size.
PNG_COMPRESS_LEVEL = 3

FileRole = Literal["mesh", "albedo", "normal", "orm", "texture", "preview", "groom", "groom_usd", "clue", "portrait"]


class PackageFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="POSIX path relative to the package folder")
    role: FileRole
    media_type: str
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class GroomFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abc: str = Field(description="Alembic groom (Unreal), path relative to the package folder")
    usd: str = Field(description="the same groom as USD BasisCurves")


class GroomConversion(BaseModel):
    """Unreal's ``GroomConversionSettings`` that put the groom on the glb as Unreal imports it."""

    model_config = ConfigDict(extra="forbid")

    rotation: tuple[float, float, float] = Field(description="Euler angles in degrees (X roll, Y pitch, Z yaw)")
    scale: tuple[float, float, float]


class GroomEntry(BaseModel):
    """One strand groom of ``Manifest.grooms``: where its files are and how to import them."""

    model_config = ConfigDict(extra="forbid")

    name: str
    group_id: int = Field(ge=0)
    files: GroomFiles
    num_strands: int = Field(ge=0, description="rendered strands")
    num_guides: int = Field(ge=0, description="guide strands (groom_guide = 1), also in the files")
    num_points: int = Field(ge=0, description="points of all strands, guides included")
    units: Literal["centimetre"] = "centimetre"
    axes: str = "+Y up, the character faces +Z, like the glb"
    labels: dict[str, Any] = Field(default_factory=dict, description="what made the groom (style, length, colour...)")
    unreal_import: GroomConversion


class Manifest(BaseModel):
    """``manifest.json``: everything needed to use, trust and reproduce the package."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["machcreator.character-package"] = FORMAT_NAME
    format_version: str = FORMAT_VERSION
    generator: str = f"MachCreator {__version__}"
    request: dict[str, Any]
    attributes: dict[str, Any] = Field(description="what the prompt and overrides specified")
    attributes_resolved: dict[str, Any] = Field(description="every attribute, unspecified ones drawn from the seed")
    seed: int
    unknown_words: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    template: dict[str, Any]
    versions: dict[str, str]
    timings_s: dict[str, float]
    units: dict[str, str]
    files: list[PackageFile]
    grooms: list[GroomEntry] = Field(default_factory=list)
    #: matched garments, glasses, headwear, shoes and accessories: what, from which library, why;
    #: entries with ``unreal_asset`` are studio Unreal assets for the editor scripts to reference
    assets: list[dict[str, Any]] = Field(default_factory=list)
    #: with a photo: the face crop, the landmark reprojection error (pixels at 512²), the
    #: re-render's PSNR inside the face, the shading spread before and after delighting
    photo: dict[str, Any] | None = None
    #: with a painted portrait: the prompts, models and sampler settings, every try with its seed,
    #: scores and the checks it failed, and the chosen one
    portrait: dict[str, Any] | None = None


def _versions() -> dict[str, str]:
    out = {"machcreator": __version__, "python": platform.python_version()}
    for dist in ("anny", "torch", "numpy", "pygltflib", "pillow", "alembic3d", "usd-core"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def texture_role(key: str) -> FileRole:
    for suffix, role in (("_albedo", "albedo"), ("_normal", "normal"), ("_orm", "orm")):
        if key.endswith(suffix):
            return role  # type: ignore[return-value]
    return "texture"


def check_output_dir(out_dir: Path, force: bool) -> Path:
    """Refuse before any work: a non-empty folder without ``force``, or an unwritable parent."""
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise OutputError(f"output folder {out_dir} is not empty (use --force to replace it)")
    existing = out_dir.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot create {out_dir}: {existing} is a file")
    try:  # a real probe: permission bits say nothing for root or read-only mounts
        tempfile.TemporaryDirectory(prefix=".mach-probe-", dir=existing).cleanup()
    except OSError as exc:
        raise OutputError(f"cannot write to {existing}: {exc.strerror or exc}") from None
    return out_dir


def _write_png(path: Path, image: np.ndarray) -> None:
    img = np.ascontiguousarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.dtype == np.uint16:
        if img.ndim != 2:
            raise ValueError("16-bit PNG textures must be single-channel")
        Image.fromarray(img, mode="I;16").save(path, compress_level=PNG_COMPRESS_LEVEL)
        return
    Image.fromarray(img.astype(np.uint8)).save(path, compress_level=PNG_COMPRESS_LEVEL)


def groom_entry(groom: Groom) -> GroomEntry:
    """The manifest entry of one groom; its files are ``grooms/<name>.abc`` and ``.usdc``."""
    # imported here: alembic.py pulls in gltf.py and scipy, which reading a manifest does not need
    from machcreator.export.alembic import UNREAL_CONVERSION

    num_guides = int(np.count_nonzero(groom.guide))
    return GroomEntry(
        name=groom.name, group_id=groom.group_id,
        files=GroomFiles(abc=f"{GROOMS}/{groom.name}.abc", usd=f"{GROOMS}/{groom.name}.usdc"),
        num_strands=groom.num_strands - num_guides, num_guides=num_guides, num_points=int(len(groom.points)),
        labels=dict(groom.labels), unreal_import=GroomConversion(**UNREAL_CONVERSION))


def write_package(result: Any, out_dir: Path, *, force: bool = False) -> Manifest:
    """Write a :class:`machcreator.pipeline.GenerationResult` as a package folder, atomically."""
    from machcreator.export.alembic import write_groom_abc
    from machcreator.export.gltf import write_glb
    from machcreator.export.usd import write_groom_usd

    out_dir = check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    # the writer's pid in the name tells a later run whether the folder's writer is still alive
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.{os.getpid()}-", suffix=".partial", dir=out_dir.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the package is an ordinary folder
    try:
        files: list[PackageFile] = []

        def add(rel: str, role: FileRole, media: str) -> None:
            p = tmp / rel
            files.append(PackageFile(path=rel, role=role, media_type=media, bytes=p.stat().st_size, sha256=sha256_file(p)))

        (tmp / "textures").mkdir()
        uris = {key: f"textures/{key}.png" for key in sorted(result.character.textures)}
        images = {rel: result.character.textures[key] for key, rel in uris.items()} | {PREVIEW: result.preview}
        photo_preview = result.photo_preview
        if photo_preview is not None:
            images[PHOTO_PREVIEW] = photo_preview
        portrait_images = portrait_files(result.portrait)
        images |= {rel: image for rel, (_, image) in portrait_images.items()}
        for folder in {Path(rel).parent for rel in portrait_images} - {Path(".")}:
            (tmp / folder).mkdir()
        grooms = [(g, groom_entry(g)) for g in result.character.grooms]
        names = [entry.name for _, entry in grooms]
        if len(set(names)) != len(names):
            raise ValueError(f"groom names must be unique (one file each): {names}")
        if grooms:
            (tmp / GROOMS).mkdir()
        # PNG compression releases the GIL: encode the images on every core while the glb and the
        # grooms are written (the groom writers take turns: see native_lock.py)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            pending = [pool.submit(_write_png, tmp / rel, img) for rel, img in images.items()]
            for groom, entry in grooms:
                pending.append(pool.submit(write_groom_abc, groom, tmp / entry.files.abc))
                pending.append(pool.submit(write_groom_usd, groom, tmp / entry.files.usd))
            write_glb(result.character, tmp / GLB, uris)
            for job in pending:
                job.result()
        add(GLB, "mesh", "model/gltf-binary")
        for key, rel in uris.items():
            add(rel, texture_role(key), "image/png")
        for _, entry in grooms:
            add(entry.files.abc, "groom", GROOM_MEDIA_TYPE)
            add(entry.files.usd, "groom_usd", GROOM_MEDIA_TYPE)
        add(PREVIEW, "preview", "image/png")
        if photo_preview is not None:
            add(PHOTO_PREVIEW, "preview", "image/png")
        for rel, (role, _) in portrait_images.items():
            add(rel, role, "image/png")

        ch = result.character
        request = result.request.model_dump(mode="json")
        if request["portrait"] is None:
            del request["portrait"]  # left to the backend: as a 1.2 package says it
        manifest = Manifest(
            format_version=FORMAT_VERSION if result.portrait is not None else FORMAT_VERSION_WITHOUT_PORTRAIT,
            request=request,
            attributes=result.attributes.model_dump(mode="json", exclude_none=True),
            attributes_resolved=result.resolved.model_dump(mode="json"),
            seed=result.request.seed,
            unknown_words=result.unknown_words,
            warnings=result.warnings,
            template={
                "name": "anny", "rig": "anny", "bones": ch.skeleton.num_joints,
                "parts": {p.name: {"vertices": p.num_vertices, "triangles": int(len(p.faces)), "material": p.material}
                          for p in ch.parts},
                "morph_targets": list(ch.morph_names),
            },
            versions=_versions(),
            timings_s=result.timings_s,
            units={"length": "metre", "up_axis": "+Y (glTF)", "forward": "+Z (glTF, the character faces +Z)",
                   "uv_origin": "top-left", "albedo_color_space": "sRGB", "normal_map": "tangent space, OpenGL (+Y up)"},
            files=files,
            grooms=[entry for _, entry in grooms],
            assets=list(result.assets),
            photo=result.photo_report,
            portrait=result.portrait.manifest() if result.portrait is not None else None,
        )
        # UTF-8 whatever the locale: Windows would write its code page, which read_manifest refuses
        text = manifest.model_dump_json(indent=2, exclude={"portrait"} if manifest.portrait is None else None)
        (tmp / MANIFEST).write_text(text + "\n", encoding="utf-8")
        _swap_into_place(tmp, out_dir)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def portrait_files(portrait: Any) -> dict[str, tuple[FileRole, np.ndarray]]:
    """A painted portrait's images by package path: the clue maps, every try and the contact sheet."""
    if portrait is None:
        return {}
    clues = portrait.clues
    out: dict[str, tuple[FileRole, np.ndarray]] = {
        f"clues/{name}.png": ("clue", image)
        for name, image in (("render", clues.render), ("openpose", clues.openpose), ("canny", clues.canny))}
    out |= {f"portrait/try_{i}.png": ("portrait", t.image) for i, t in enumerate(portrait.tries)}
    out[PORTRAIT_PREVIEW] = ("preview", portrait.contact_sheet())
    return out


def remove_stale_partials(out_dir: Path) -> list[Path]:
    """Remove what writers of ``out_dir`` killed mid-write left behind (``.NAME.PID-*.partial``).

    A folder whose writer process is still alive is left alone; returns the folders removed.
    """
    out_dir = Path(out_dir)
    removed = []
    if not out_dir.parent.is_dir():
        return removed
    for tmp in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*.partial"):
        pid = tmp.name[len(out_dir.name) + 2:].split("-", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _process_alive(pid: int) -> bool:
    # psutil, not os.kill(pid, 0): on Windows that sends CTRL_C_EVENT to a process group (or fails
    # with WinError 87) instead of asking whether the process exists
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # someone else's process
        return True


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished folder into place; an old one (``--force``) is removed only after.

    The old folder is renamed aside first and nothing is renamed onto an existing path, so this is
    the same on Windows, where renames are also retried while a file is held open (an antivirus
    scanning the new files, a viewer holding an old one). An old folder that cannot be deleted yet
    stays as ``.NAME.PID-old-*.partial``, swept by a later write once this process has ended.
    """
    aside = out_dir.with_name(f".{out_dir.name}.{os.getpid()}-old-{secrets.token_hex(4)}.partial")
    replace_dir(tmp, out_dir, aside)


# --- reading and validating ----------------------------------------------------------------------

def safe_member(root: Path, rel: str) -> Path:
    """Resolve ``rel`` inside ``root``; refuse absolute paths, ``..`` and links leading outside."""
    p = relative_member(rel)
    if p is None:
        raise PackageError(f"file path {rel!r} escapes the package folder")
    full = (root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise PackageError(f"file path {rel!r} resolves outside the package folder")
    return full


def read_manifest(pkg_dir: Path) -> Manifest:
    path = Path(pkg_dir) / MANIFEST
    if not path.is_file():
        raise PackageError(f"{pkg_dir} is not a character package: no {MANIFEST}")
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        e = exc.errors()[0]
        raise PackageError(f"{MANIFEST} is invalid at {'.'.join(map(str, e['loc']))}: {e['msg']}") from None


class ValidationIssue(BaseModel):
    severity: Literal["error", "warning"]
    path: str
    message: str


def validate_package(pkg_dir: Path, *, gltf_validator: bool = True) -> list[ValidationIssue]:
    """Check a package: manifest schema, paths, checksums, images, the glb with Khronos' validator,
    and each groom (its .abc against Epic's groom spec, its .usdc, both against the manifest).

    Returns the issues found (empty = valid). Raises PackageError only when there is no
    readable manifest at all.
    """
    root = Path(pkg_dir)
    manifest = read_manifest(root)
    issues: list[ValidationIssue] = []

    def err(path: str, msg: str, severity: Literal["error", "warning"] = "error") -> None:
        issues.append(ValidationIssue(severity=severity, path=path, message=msg))

    if manifest.format_version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
        err(MANIFEST, f"unsupported format_version {manifest.format_version} (this reader: {FORMAT_VERSION})")
    listed: set[str] = set()
    roles = {f.role for f in manifest.files}
    for need in ("mesh", "preview", "albedo"):
        if need not in roles:
            err(MANIFEST, f"no file with role {need!r}")
    for f in manifest.files:
        try:
            full = safe_member(root, f.path)
        except PackageError as exc:
            err(f.path, str(exc))
            continue
        listed.add(f.path)
        if not full.is_file():
            err(f.path, "listed in the manifest but missing")
            continue
        if full.stat().st_size != f.bytes or sha256_file(full) != f.sha256:
            err(f.path, "checksum mismatch: the file changed after the package was written")
            continue
        if f.media_type == "image/png":
            try:
                with Image.open(full) as im:
                    im.verify()
            except Exception as exc:  # PIL raises many types for corrupt data
                err(f.path, f"unreadable PNG: {exc}")
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel != MANIFEST and rel not in listed:
            err(rel, "file not listed in the manifest", "warning")
    glbs = [f for f in manifest.files if f.role == "mesh" and f.path in listed]
    if gltf_validator and glbs and not any(i.path == glbs[0].path for i in issues):
        from machcreator.export.gltf_validator import validate_gltf

        report = validate_gltf(root / glbs[0].path)
        for m in report.messages:
            if m.get("severity") == 0:
                err(glbs[0].path, f"glTF validator: {m.get('code')}: {m.get('message')} ({m.get('pointer', '')})")
    roles_by_path = {f.path: f.role for f in manifest.files if f.path in listed}
    damaged = {i.path for i in issues}
    for entry in manifest.grooms:
        issues += _groom_issues(root, entry, roles_by_path, damaged)
    return issues


def _groom_issues(root: Path, entry: GroomEntry, roles_by_path: dict[str, str], damaged: set[str]) -> list[ValidationIssue]:
    """Check one manifest groom: its .abc against Epic's groom spec and the manifest's counts, its
    .usdc opens with pxr with the same counts. ``roles_by_path``: the manifest's readable files;
    ``damaged``: paths already reported (missing, changed), not read again."""
    from pxr import Tf

    from machcreator.export.alembic import groom_file_problems, read_groom_abc
    from machcreator.export.usd import METERS_PER_UNIT, read_groom_usd

    out: list[ValidationIssue] = []

    def err(path: str, msg: str) -> None:
        out.append(ValidationIssue(severity="error", path=path, message=f"groom {entry.name}: {msg}"))

    strands = entry.num_strands + entry.num_guides
    for rel, role, read in ((entry.files.abc, "groom", read_groom_abc), (entry.files.usd, "groom_usd", read_groom_usd)):
        if roles_by_path.get(rel) != role:
            err(rel, f"not in the manifest's files with role {role!r}")
            continue
        if rel in damaged:
            continue
        try:
            gf = read(root / rel)
        except (RuntimeError, Tf.ErrorException) as exc:  # how Alembic and USD report unreadable files
            err(rel, f"unreadable: {exc}")
            continue
        problems = groom_file_problems(gf, alembic=role == "groom")
        if role == "groom_usd":
            axis, mpu = gf.properties["upAxis"][0], gf.properties["metersPerUnit"][0]
            if axis != "Y" or not math.isclose(mpu, METERS_PER_UNIT):
                problems.append(f"stage is {axis}-up with {mpu} m per unit; expected Y-up, {METERS_PER_UNIT}")
        if (gf.num_strands, len(gf.points)) != (strands, entry.num_points):
            problems.append(f"{gf.num_strands} strands and {len(gf.points)} points; the manifest says {strands} and {entry.num_points}")
        guides = gf.attributes.get("groom_guide", (np.zeros(0),))[0]
        if len(guides) == gf.num_strands and int(np.count_nonzero(guides)) != entry.num_guides:
            problems.append(f"{int(np.count_nonzero(guides))} guide strands; the manifest says {entry.num_guides}")
        for msg in problems:
            err(rel, msg)
    return out


def _umask() -> int:
    """The process umask (read by setting and restoring it: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
