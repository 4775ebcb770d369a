"""Bind the face to a rig: a MetaHuman driven by RigLogic where the editor allows, ARKit morphs otherwise.

MetaHuman is best effort. Each precondition is checked up front with a message saying how to fix
it (:func:`metahuman_missing`); in rig mode ``auto`` any later failure (Epic's cloud refusing an
unsigned-in user, a service error, MetaHuman Creator refusing to open the character) falls back to
the glb's 52 ARKit morph targets, deletes whatever the attempt had made, and the character is still
placed. Mode ``metahuman`` raises instead; mode ``arkit`` never tries.

What the engine offers (UE 5.7; sources in ``unreal_api_extras.json`` and API_RESEARCH.md):

- ``MetaHumanCharacterEditorSubsystem`` has Python functions from 5.7 on (5.6's has none), on
  Windows only (the plugin's editor module is Win64-only).
- Our head is not in MetaHuman topology, so ``import_from_template`` / ``fit_state_to_target_vertices``
  (which need MetaHuman's vertex order) do not apply: the conform moves MetaHuman's face landmarks
  (``get_face_landmarks`` / ``translate_face_landmarks`` / ``commit_face_state``, the sculpting
  API) onto the generated head, aligned by a similarity fit (rotation, one scale, translation).
- Auto-rigging (``request_auto_rigging``) and the texture sources the assembly needs
  (``request_texture_sources``) run on Epic's cloud and need the user signed in with an Epic
  account. No Python function tells whether the user is signed in, nor whether a request is still
  running (``GetRiggingState``/``IsAutoRiggingFace`` are C++ only): the result is read from the
  character (``has_face_dna_blendshapes``, ``has_high_resolution_textures``) and
  ``can_build_meta_human``; a request that has not delivered within ``cloud_timeout_s`` failed.
- Requests are sent non-blocking and polled once per Slate tick (:func:`rig_steps` yields between
  polls). A blocking request is only right for a script that owns the game thread
  (:func:`bind_rig`): the engine then pumps HTTP itself until the request ends. A Python loop that
  sleeps while a non-blocking request runs would never let it progress.
- ``build_meta_human`` writes ``BP_<Name>`` (an actor Blueprint with Body and Face skeletal mesh
  components) under ``<absolute_build_path>/<Name>``; :func:`spawn_metahuman` places it.
- Grooms bind to the MetaHuman face without a binding transfer: a transfer maps source to target
  through matching UV layouts, which our mesh and MetaHuman's do not share; without one the roots
  are projected onto the face surface.

Without MetaHuman the glb's 52 ARKit morph targets animate the face: Live Link Face's curves
(PascalCase) drive morph targets of the same name, case-insensitively.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import struct
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import unreal

from ue_scripts import assets
from ue_scripts.environment import EngineInfo, MissingFeature
from ue_scripts.import_package import ImportedCharacter
from ue_scripts.package import PackageError, glb_json, live_link_curve_map

METAHUMAN_MIN_VERSION = (5, 7)
PLUGIN = "MetaHumanCharacter"
RIG_MODES = ("auto", "metahuman", "arkit")
#: how long Epic's cloud may take to deliver the rig, then the texture sources (each), before the
#: request counts as failed (auto-rigging usually takes a few minutes)
CLOUD_TIMEOUT_S = 600.0
#: what bind_rig sleeps between polls of a request
POLL_INTERVAL_S = 0.2

Vec3 = tuple[float, float, float]
#: the similarity fit: landmarks in its search, orientations refined, relative scales each starts from
FIT_SUBSET = 48
FIT_STARTS = 3
SCALE_STARTS = (0.85, 1.0, 1.2)


class Waiting(str):
    """A progress message yielded while a cloud request runs: hand the frame back to the editor."""


class MetaHumanFailed(RuntimeError):
    """The MetaHuman attempt stopped; the message says what failed and how to fix it."""


@dataclass
class RigBinding:
    kind: str  # "metahuman" | "arkit" | "none" (auto mode when even the ARKit morphs are missing)
    curve_map: dict[str, str] = field(default_factory=dict)  # Live Link curve -> morph target
    metahuman: object = None  # the MetaHumanCharacter asset
    face_mesh: object = None  # the built MetaHuman's face skeletal mesh (the grooms' binding target)
    blueprint: object = None  # the built BP_<Name> actor Blueprint: spawn_metahuman places it
    blueprint_path: str = ""  # its package path
    bindings: dict[str, object] = field(default_factory=dict)  # groom -> binding to the MetaHuman face
    notes: list[str] = field(default_factory=list)


# --- what the editor has ----------------------------------------------------------------------
def _core_data_problem() -> str | None:
    """Why the MetaHuman Creator Core Data looks missing (None: installed).

    The same test the plugin makes at startup (``FMetaHumanCharacterEditorModule::
    IsOptionalMetaHumanContentInstalled``): the plugin's ``Content/Optional`` folder with
    ``BodyTextures/*.uasset`` and a texture synthesis model (``*.ar``) somewhere under it.
    """
    try:
        content = unreal.PluginBlueprintLibrary.get_plugin_content_dir(PLUGIN)
    except AttributeError:
        return "this editor cannot report the plugin's content folder"
    if not content:
        return f"the {PLUGIN} plugin's content folder was not found"
    # FPaths may give it relative to the editor's binaries folder
    optional = os.path.join(unreal.Paths.convert_relative_path_to_full(str(content)), "Optional")
    body_textures = os.path.join(optional, "BodyTextures")
    if not os.path.isdir(optional) or not os.path.isdir(body_textures):
        return f"{optional} is missing"
    if not any(name.endswith(".uasset") for name in os.listdir(body_textures)):
        return f"{body_textures} holds no body textures"
    if not any(name.endswith(".ar") for _, _, names in os.walk(optional) for name in names):
        return f"{optional} holds no texture synthesis model (*.ar)"
    return None


def metahuman_missing(info: EngineInfo) -> list[str]:
    """Why MetaHuman conform cannot run here (empty: it can), one line each saying how to fix it.

    Signing in to Epic's cloud cannot be checked up front (no Python function reports it): a
    missing sign-in shows as an auto-rig that delivers nothing, and the fallback note says so.
    """
    out = []
    if info.major_minor < METAHUMAN_MIN_VERSION:
        out.append(f"Unreal Engine 5.7 or later: MetaHuman Creator has no Python API in "
                   f"{info.version[0]}.{info.version[1]}")
    if PLUGIN not in info.plugins:
        out.append(f"the {PLUGIN} plugin (MetaHuman Creator: Edit > Plugins, enable it, restart the editor)")
        return out
    if info.major_minor >= METAHUMAN_MIN_VERSION and _subsystem() is None:
        out.append("the MetaHumanCharacterEditorSubsystem (the plugin is enabled but its editor module did not load; "
                   "MetaHuman Creator's editor runs on Windows only)")
    problem = _core_data_problem()
    if problem:
        out.append("the MetaHuman Creator Core Data (Epic Games Launcher > Library > your engine's Options: tick "
                   f"'MetaHuman Creator Core Data', apply, restart the editor; {problem})")
    return out


def _subsystem():
    cls = getattr(unreal, "MetaHumanCharacterEditorSubsystem", None)
    return None if cls is None else unreal.get_editor_subsystem(cls)


# --- ARKit ---------------------------------------------------------------------------------------
def arkit_binding(character: ImportedCharacter) -> RigBinding:
    """Check the 52 ARKit morphs are on the imported mesh and map Live Link Face's curves to them."""
    on_mesh = list(character.skeletal_mesh.get_all_morph_target_names())
    try:
        curve_map = live_link_curve_map(on_mesh)
    except PackageError as exc:
        raise RuntimeError(f"{character.skeletal_mesh.get_path_name()}: {exc}") from None
    return RigBinding("arkit", curve_map, notes=[
        "Live Link Face curves drive the morph targets of the same name; use a Live Link Pose node "
        "(subject: your phone) in the character's Animation Blueprint."])


def _fallback(character: ImportedCharacter, note: str) -> RigBinding:
    """The ARKit binding with ``note`` first; never raises (the character is placed either way)."""
    try:
        binding = arkit_binding(character)
    except Exception as exc:  # noqa: BLE001 - auto mode places the character whatever the rig
        binding = RigBinding("none", notes=[f"no face rig: {exc}"])
    binding.notes.insert(0, note)
    unreal.log_warning(f"MachCreator: {note}")
    return binding


# --- the generated head ------------------------------------------------------------------------
def head_vertices_cm(character: ImportedCharacter) -> list[Vec3]:
    """The generated head's vertices in Unreal space (cm, Z up), read from the package's glb.

    glTF (metres, +Y up, facing +Z) maps to Unreal as (x, z, y) * 100: the same conversion the
    manifest gives for the grooms (rotation 90° about X, scale (1, -1, 1)).
    """
    doc = glb_json(character.package.glb)
    head_material = next(i for i, m in enumerate(doc["materials"]) if m["name"] == "head_skin")
    primitive = next(p for mesh in doc["meshes"] for p in mesh["primitives"] if p.get("material") == head_material)
    accessor = doc["accessors"][primitive["attributes"]["POSITION"]]
    view = doc["bufferViews"][accessor["bufferView"]]
    stride = view.get("byteStride", 12)
    with open(character.package.glb, "rb") as f:
        json_len = struct.unpack("<I", f.read(20)[12:16])[0]
        f.seek(20 + json_len + 8 + view.get("byteOffset", 0) + accessor.get("byteOffset", 0))
        raw = f.read(stride * (accessor["count"] - 1) + 12)
    out = []
    for i in range(accessor["count"]):
        x, y, z = struct.unpack_from("<3f", raw, i * stride)
        out.append((100.0 * x, 100.0 * z, 100.0 * y))
    return out


# --- similarity fit (pure Python: the editor's Python has no numpy) ---------------------------
@dataclass(frozen=True)
class Similarity:
    """p -> scale * rotation @ p + translation (rotation row-major, proper)."""
    scale: float
    rotation: tuple[Vec3, Vec3, Vec3]
    translation: Vec3
    rms: float = 0.0  # of the fitted correspondences, in the target's units

    def apply(self, p: Sequence[float]) -> Vec3:
        r, s, t = self.rotation, self.scale, self.translation
        return tuple(s * (r[k][0] * p[0] + r[k][1] * p[1] + r[k][2] * p[2]) + t[k] for k in range(3))

    def invert(self, q: Sequence[float]) -> Vec3:
        r, s, t = self.rotation, self.scale, self.translation
        d = [q[k] - t[k] for k in range(3)]
        return tuple((r[0][k] * d[0] + r[1][k] * d[1] + r[2][k] * d[2]) / s for k in range(3))


class _KdTree:
    """Nearest point queries over a fixed point set (a few thousand points, a few hundred queries
    per round): split on the widest axis, leaves of a dozen points, pruned by the split distance."""

    LEAF = 12

    def __init__(self, points: Sequence[Vec3]):
        self.root = self._build([(p[0], p[1], p[2], i) for i, p in enumerate(points)])

    def _build(self, items: list):
        if len(items) <= self.LEAF:
            return (None, items)
        axis = max(range(3), key=lambda a: max(it[a] for it in items) - min(it[a] for it in items))
        items.sort(key=lambda it: it[axis])
        mid = len(items) // 2
        return (axis, items[mid][axis], self._build(items[:mid]), self._build(items[mid:]))

    def nearest(self, q: Sequence[float]) -> tuple[int, float]:
        """(index, squared distance) of the point nearest ``q``."""
        qx, qy, qz = q
        best_i, best_d = -1, math.inf
        stack = [(self.root, 0.0)]
        pop, push = stack.pop, stack.append
        while stack:
            node, bound = pop()
            if bound >= best_d:
                continue
            axis = node[0]
            if axis is None:
                for x, y, z, i in node[1]:
                    d = (x - qx) * (x - qx) + (y - qy) * (y - qy) + (z - qz) * (z - qz)
                    if d < best_d:
                        best_i, best_d = i, d
                continue
            gap = q[axis] - node[1]
            if gap < 0:
                push((node[3], gap * gap))
                push((node[2], bound))
            else:
                push((node[2], gap * gap))
                push((node[3], bound))
        return best_i, best_d


def _jacobi_top_eigenvector(m: list[list[float]]) -> list[float]:
    """Eigenvector of the largest eigenvalue of a small symmetric matrix (cyclic Jacobi)."""
    n = len(m)
    a = [row[:] for row in m]
    v = [[float(i == j) for j in range(n)] for i in range(n)]
    for _ in range(50):
        off = sum(a[i][j] ** 2 for i in range(n) for j in range(n) if i != j)
        if off < 1e-22 * max(1.0, sum(a[i][i] ** 2 for i in range(n))):
            break
        for p, q in itertools.combinations(range(n), 2):
            if abs(a[p][q]) < 1e-300:
                continue
            theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q])
            t = math.copysign(1.0, theta) / (abs(theta) + math.sqrt(theta * theta + 1.0))
            c = 1.0 / math.sqrt(t * t + 1.0)
            s = t * c
            for k in range(n):
                akp, akq = a[k][p], a[k][q]
                a[k][p], a[k][q] = c * akp - s * akq, s * akp + c * akq
            for k in range(n):
                apk, aqk = a[p][k], a[q][k]
                a[p][k], a[q][k] = c * apk - s * aqk, s * apk + c * aqk
            for k in range(n):
                vkp, vkq = v[k][p], v[k][q]
                v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
    top = max(range(n), key=lambda i: a[i][i])
    return [v[k][top] for k in range(n)]


def umeyama(src: Sequence[Vec3], dst: Sequence[Vec3]) -> Similarity:
    """The similarity (rotation, one scale, translation) taking ``src`` closest to ``dst`` in least
    squares (Umeyama 1991; the rotation by Horn's quaternion method, so it is always proper)."""
    n = len(src)
    cs = [sum(p[k] for p in src) / n for k in range(3)]
    cd = [sum(p[k] for p in dst) / n for k in range(3)]
    s = [[0.0] * 3 for _ in range(3)]
    var = 0.0
    for p, q in zip(src, dst):
        a = (p[0] - cs[0], p[1] - cs[1], p[2] - cs[2])
        b = (q[0] - cd[0], q[1] - cd[1], q[2] - cd[2])
        var += a[0] * a[0] + a[1] * a[1] + a[2] * a[2]
        for i in range(3):
            for j in range(3):
                s[i][j] += a[i] * b[j]
    (xx, xy, xz), (yx, yy, yz), (zx, zy, zz) = s
    n4 = [[xx + yy + zz, yz - zy, zx - xz, xy - yx],
          [yz - zy, xx - yy - zz, xy + yx, zx + xz],
          [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
          [xy - yx, zx + xz, yz + zy, -xx - yy + zz]]
    w, x, y, z = _jacobi_top_eigenvector(n4)
    rot = ((w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)),
           (2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)),
           (2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z))
    dot = sum(s[i][j] * rot[j][i] for i in range(3) for j in range(3))  # sum b . (R a)
    scale = dot / var if var > 0 else 1.0
    rc = [sum(rot[k][j] * cs[j] for j in range(3)) for k in range(3)]
    trans = tuple(cd[k] - scale * rc[k] for k in range(3))
    return Similarity(scale, rot, trans)


def _axis_rotations() -> list[tuple[Vec3, Vec3, Vec3]]:
    """The 24 proper rotations that map axes onto axes (the landmarks' frame is not documented)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = tuple(tuple(signs[r] if c == perm[r] else 0.0 for c in range(3)) for r in range(3))
            det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                   + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
            if det > 0:
                out.append(m)
    return out


def _spread(points: Sequence[Vec3]) -> tuple[list[float], float]:
    c = [sum(p[k] for p in points) / len(points) for k in range(3)]
    rms = math.sqrt(sum((p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2 for p in points) / len(points))
    return c, rms


def _farthest_points(points: Sequence[Vec3], count: int) -> list[Vec3]:
    """``count`` of ``points`` spread over the whole set (greedy farthest-point sampling)."""
    if len(points) <= count:
        return list(points)
    c, _ = _spread(points)
    chosen = [max(points, key=lambda p: (p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 + (p[2] - c[2]) ** 2)]
    gap = [math.dist(p, chosen[0]) for p in points]
    while len(chosen) < count:
        i = max(range(len(points)), key=gap.__getitem__)
        chosen.append(points[i])
        gap = [min(g, math.dist(p, points[i])) for g, p in zip(gap, points)]
    return chosen


def _icp_round(tree: _KdTree, head: Sequence[Vec3], landmarks: Sequence[Vec3], fit: Similarity,
               keep: float = 0.9) -> Similarity:
    """One ICP round: each landmark's nearest head vertex under ``fit``, then the Umeyama fit of
    those pairs (trimmed: the worst ``1 - keep``, landmarks the head has nothing near, are left out)."""
    pairs = []
    for lm in landmarks:
        i, d2 = tree.nearest(fit.invert(lm))
        pairs.append((d2, head[i], lm))
    pairs.sort(key=lambda p: p[0])
    used = pairs[:max(3, int(len(pairs) * keep))]
    new = umeyama([p[1] for p in used], [p[2] for p in used])
    rms = math.sqrt(sum(sum((a - b) ** 2 for a, b in zip(new.apply(h), lm)) for _, h, lm in used) / len(used))
    return Similarity(new.scale, new.rotation, new.translation, rms)


def _icp(tree: _KdTree, head: Sequence[Vec3], landmarks: Sequence[Vec3], fit: Similarity,
         iterations: int) -> Generator[None, None, Similarity]:
    """ICP rounds until the error stops changing; yields after each round."""
    previous = math.inf
    for _ in range(iterations):
        fit = _icp_round(tree, head, landmarks, fit)
        yield
        if previous < math.inf and abs(previous - fit.rms) <= 1e-7 * max(1.0, previous):
            break
        previous = fit.rms
    return fit


def _seed(rotation, scale: float, source_centre: Sequence[float], target_centre: Sequence[float]) -> Similarity:
    """The similarity with ``rotation`` and ``scale`` taking ``source_centre`` onto ``target_centre``."""
    rc = [sum(rotation[k][j] * source_centre[j] for j in range(3)) for k in range(3)]
    return Similarity(scale, rotation, tuple(target_centre[k] - scale * rc[k] for k in range(3)))


def similarity_fit_steps(landmarks: Sequence[Vec3], head: Sequence[Vec3], *, iterations: int = 40,
                         slice_s: float = 0.03) -> Generator[str, None, tuple[Similarity, list[Vec3]]]:
    """Fit the head onto the landmarks with a similarity (rotation, one scale, translation: ICP on
    nearest head vertices, Umeyama each round) and return it with, per landmark, the nearest vertex
    of the fitted head (where that landmark should move). The landmarks' frame is not documented,
    so every axis-aligned orientation is tried on a spread-out subset of the landmarks, the best
    few are refined from three scales, and the winner on all of them. Yields about every
    ``slice_s`` seconds, so a Slate tick never waits long."""
    if len(landmarks) < 3 or len(head) < 3:
        raise ValueError("a similarity fit needs at least 3 landmarks and 3 head vertices")
    tree = _KdTree(head)
    subset = _farthest_points(landmarks, FIT_SUBSET)
    # the front of our head (Unreal: it faces +Y) is what the face landmarks cover
    ys = sorted(p[1] for p in head)
    (cf, rf), (cl, rl) = _spread([p for p in head if p[1] >= ys[len(ys) // 2]]), _spread(landmarks)
    scale0 = rl / rf if rf > 0 else 1.0
    clock = [time.monotonic()]

    def slices(rounds: Generator[None, None, Similarity], what: str) -> Generator[str, None, Similarity]:
        while True:
            try:
                next(rounds)
            except StopIteration as stop:
                return stop.value
            if time.monotonic() - clock[0] > slice_s:
                clock[0] = time.monotonic()
                yield f"similarity fit: {what}"

    found = []
    for n, rot in enumerate(_axis_rotations()):
        found.append((yield from slices(_icp(tree, head, subset, _seed(rot, scale0, cf, cl), 3),
                                        f"orientation {n + 1}/24")))
    found.sort(key=lambda f: f.rms)
    best = None
    for rank, start in enumerate(found[:FIT_STARTS]):
        for factor in SCALE_STARTS:
            fit = yield from slices(_icp(tree, head, subset, _seed(start.rotation, start.scale * factor, cf, cl),
                                         iterations), f"refining start {rank + 1}/{FIT_STARTS}")
            if best is None or fit.rms < best.rms:
                best = fit
    best = yield from slices(_icp(tree, head, landmarks, best, iterations), "all landmarks")
    yield f"similarity fit: scale {best.scale:.3f}, rms {best.rms:.3f}"
    targets = [best.apply(head[tree.nearest(best.invert(lm))[0]]) for lm in landmarks]
    return best, targets


def fit_similarity(landmarks: Sequence[Vec3], head: Sequence[Vec3]) -> tuple[Similarity, list[Vec3]]:
    """:func:`similarity_fit_steps` run to the end."""
    steps = similarity_fit_steps(landmarks, head)
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def wrap_landmarks(landmarks: Sequence[Vec3], head: Sequence[Vec3]) -> list[Vec3]:
    """Where each MetaHuman landmark should move: the nearest point of the generated head once it is
    rotated, uniformly scaled and moved onto the landmarks (no stretching)."""
    return fit_similarity(landmarks, head)[1]


# --- MetaHuman ------------------------------------------------------------------------------------
def _wait(done, what: str, *, blocking: bool, timeout_s: float, failure: str) -> Generator[str, None, None]:
    """Poll ``done()`` once per step until it holds; a blocking request has already ended."""
    if done():
        return
    if blocking:
        raise MetaHumanFailed(failure)
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        if elapsed > timeout_s:
            raise MetaHumanFailed(f"{failure} (nothing after {timeout_s:.0f} s)")
        yield Waiting(f"MetaHuman: waiting for Epic's {what} service ({elapsed:.0f} s)")
        if done():
            return


def _sign_in_help(mhc_name: str) -> str:
    return (f"it runs on Epic's cloud and needs you signed in with your Epic Games account: open {mhc_name} "
            "(MetaHuman Creator) and press Auto-Rig once to sign in, then generate again; if you are signed "
            "in, the Output Log (LogMetaHumanCharacterEditor) has the service's error code")


def _find_built(folder: str, asset_class, name: str | None = None, contains: str | None = None):
    """The first asset of ``asset_class`` under ``folder`` named ``name`` (or containing ``contains``)."""
    if not unreal.EditorAssetLibrary.does_directory_exist(folder):
        return None
    for path in unreal.EditorAssetLibrary.list_assets(folder, recursive=True, include_folder=False):
        short = assets.package_path(path).rsplit("/", 1)[-1]
        if (name is not None and short != name) or (contains is not None and contains not in short.lower()):
            continue
        asset = unreal.EditorAssetLibrary.load_asset(assets.package_path(path))
        if isinstance(asset, asset_class):
            return asset
    return None


def _metahuman_steps(character: ImportedCharacter, *, blocking: bool,
                     cloud_timeout_s: float) -> Generator[str, None, RigBinding]:
    subsystem = _subsystem()
    name = character.name
    folder = f"{character.folder}/MetaHuman"
    mhc_name = f"MHC_{name}"
    # derived from the package each time: a fresh character, so the rig and textures polled below
    # are this run's (a character left by an earlier run is already rigged)
    if unreal.EditorAssetLibrary.does_asset_exist(f"{folder}/{mhc_name}"):
        unreal.EditorAssetLibrary.delete_asset(f"{folder}/{mhc_name}")
    with assets.rollback_on_failure(folder):
        mhc = assets.create_or_load(mhc_name, folder, unreal.MetaHumanCharacter, unreal.MetaHumanCharacterFactoryNew())
        yield f"MetaHuman: created {folder}/{mhc_name}"
        if not subsystem.try_add_object_to_edit(mhc):
            raise MetaHumanFailed(
                f"MetaHuman Creator refused to open {mhc_name} for editing (try_add_object_to_edit returned False): "
                "close its MetaHuman Creator editor if it is open, check the MetaHuman Creator Core Data is "
                "installed, and see the Output Log (LogMetaHumanCharacterEditor)")
        try:
            yield f"MetaHuman: {mhc_name} open for editing"
            landmarks = [(float(v.x), float(v.y), float(v.z)) for v in subsystem.get_face_landmarks(mhc)]
            if len(landmarks) < 3:
                raise MetaHumanFailed(f"MetaHuman Creator returned {len(landmarks)} face landmarks for {mhc_name}")
            head = head_vertices_cm(character)
            yield f"MetaHuman: {len(landmarks)} face landmarks, {len(head)} head vertices"
            fit, targets = yield from similarity_fit_steps(landmarks, head)
            deltas = [unreal.Vector(t[0] - l[0], t[1] - l[1], t[2] - l[2]) for t, l in zip(targets, landmarks)]
            subsystem.translate_face_landmarks(mhc, list(range(len(landmarks))), deltas)
            subsystem.commit_face_state(mhc)
            yield f"MetaHuman: face conformed (scale {fit.scale:.3f}, rms {fit.rms:.2f} cm)"

            rig = unreal.MetaHumanCharacterAutoRiggingRequestParams()
            rig.rig_type = unreal.MetaHumanRigType.JOINTS_AND_BLEND_SHAPES
            rig.report_progress = True
            rig.blocking = blocking
            subsystem.request_auto_rigging(mhc, rig)
            yield from _wait(lambda: bool(mhc.get_editor_property("has_face_dna_blendshapes")), "auto-rigging",
                             blocking=blocking, timeout_s=cloud_timeout_s,
                             failure=f"MetaHuman auto-rigging delivered no rig for {mhc_name}: "
                                     f"{_sign_in_help(mhc_name)}")
            yield "MetaHuman: auto-rigged (RigLogic joints and blend shapes)"

            textures = unreal.MetaHumanCharacterTextureRequestParams()
            textures.report_progress = True
            textures.blocking = blocking
            subsystem.request_texture_sources(mhc, textures)
            yield from _wait(lambda: bool(subsystem.can_build_meta_human(mhc)), "texture",
                             blocking=blocking, timeout_s=cloud_timeout_s,
                             failure=f"MetaHuman Creator did not get the texture sources {mhc_name}'s assembly needs: "
                                     f"{_sign_in_help(mhc_name)}")
            yield "MetaHuman: texture sources downloaded"

            build = unreal.MetaHumanCharacterEditorBuildParameters()
            build.pipeline_type = unreal.MetaHumanDefaultPipelineType.CINEMATIC
            build.absolute_build_path = folder
            build.name_override = name
            subsystem.build_meta_human(mhc, build)
            yield f"MetaHuman: assembled into {folder}/{name}"
        finally:
            subsystem.remove_object_to_edit(mhc)

        built = f"{folder}/{name}"
        blueprint = _find_built(built, unreal.Blueprint, name=f"BP_{name}")
        face = _find_built(built, unreal.SkeletalMesh, contains="face")
        if blueprint is None or face is None:
            missing = f"BP_{name}" if blueprint is None else "face mesh"
            raise MetaHumanFailed(f"the MetaHuman assembly wrote no {missing} under {built} "
                                  "(see the Message Log, MetaHuman)")
        bindings = {}
        for groom_name, groom in character.grooms.items():
            path = f"{folder}/Grooms/GB_{groom_name}"
            if unreal.EditorAssetLibrary.does_asset_exist(path):
                unreal.EditorAssetLibrary.delete_asset(path)
            # no source mesh: a binding transfer needs the two meshes' UVs to match; the roots are
            # projected onto the MetaHuman face instead
            binding = unreal.GroomLibrary.create_new_groom_binding_asset_with_path(path, groom, face,
                                                                                  num_interpolation_points=100)
            if binding is None:
                raise MetaHumanFailed(f"groom {groom_name} cannot bind to the MetaHuman face {face.get_name()} (its "
                                      "roots are too far from the face surface; see the Output Log, LogHairStrands)")
            bindings[groom_name] = binding
            yield f"MetaHuman: groom {groom_name} bound to the MetaHuman face"
    return RigBinding("metahuman", metahuman=mhc, face_mesh=face, blueprint=blueprint,
                      blueprint_path=assets.package_path(blueprint.get_path_name()), bindings=bindings, notes=[
                          f"MetaHuman {name} built ({assets.package_path(blueprint.get_path_name())}); RigLogic drives "
                          f"its face; conform scale {fit.scale:.3f}, rms {fit.rms:.2f} cm"])


def rig_steps(character: ImportedCharacter, info: EngineInfo, *, mode: str = "auto",
              content_root: str = assets.DEFAULT_CONTENT_ROOT, blocking: bool = False,
              cloud_timeout_s: float = CLOUD_TIMEOUT_S) -> Generator[str, None, RigBinding]:
    """The face rig, one short step at a time: yields a progress message after each step (a
    :class:`Waiting` one while Epic's cloud works; drive it from a Slate tick, one step per tick)
    and returns the :class:`RigBinding`.

    ``mode``: ``arkit`` (the glb's morphs), ``metahuman`` (raise :class:`MissingFeature` with what is
    missing before doing anything; a later failure raises after cleaning up) or ``auto`` (MetaHuman
    where it works, otherwise the ARKit binding with a note saying what failed and how to fix it;
    never raises). ``blocking``: send blocking cloud requests (only for a caller that owns the game
    thread, see :func:`bind_rig`). Closing the generator mid-way deletes what it had created.
    ``content_root`` is accepted for symmetry with the import (the MetaHuman lives in the
    character's folder).
    """
    if mode not in RIG_MODES:
        raise ValueError(f"rig mode must be auto, metahuman or arkit, not {mode!r}")
    if mode == "arkit":
        return arkit_binding(character)
    missing = metahuman_missing(info)
    if missing:
        if mode == "metahuman":
            raise MissingFeature("MetaHuman conform needs: " + "; ".join(missing))
        return _fallback(character, "MetaHuman conform skipped; it needs " + "; ".join(missing))
    yield "MetaHuman: engine, plugin, editor subsystem and Core Data present"
    try:
        return (yield from _metahuman_steps(character, blocking=blocking, cloud_timeout_s=cloud_timeout_s))
    except Exception as exc:  # noqa: BLE001 - auto mode is best effort
        if mode == "metahuman":
            raise
        reason = str(exc) if isinstance(exc, MetaHumanFailed) else f"{type(exc).__name__}: {exc}"
        return _fallback(character, f"MetaHuman conform failed, ARKit morphs used instead: {reason}")


def bind_rig(character: ImportedCharacter, info: EngineInfo, *, mode: str = "auto",
             content_root: str = assets.DEFAULT_CONTENT_ROOT, poll_interval_s: float = POLL_INTERVAL_S,
             cloud_timeout_s: float = CLOUD_TIMEOUT_S) -> RigBinding:
    """:func:`rig_steps` run to the end, for scripts. The cloud requests are blocking: a script
    holds the game thread, so the engine must pump the requests itself."""
    steps = rig_steps(character, info, mode=mode, content_root=content_root, blocking=True,
                      cloud_timeout_s=cloud_timeout_s)
    while True:
        try:
            message = next(steps)
        except StopIteration as stop:
            return stop.value
        if isinstance(message, Waiting):
            time.sleep(poll_interval_s)


def spawn_metahuman(binding: RigBinding, location, rotation):
    """Place the built MetaHuman (its ``BP_<Name>`` actor Blueprint) at ``location`` (Vector, cm)
    turned by ``rotation`` (Rotator); returns the actor. Grooms bound with ``binding.bindings``
    attach to its face component (:func:`face_component`)."""
    if binding.kind != "metahuman" or binding.blueprint is None:
        raise ValueError(f"a {binding.kind} rig has no MetaHuman to place")
    actor = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).spawn_actor_from_object(
        binding.blueprint, location, rotation)
    if actor is None:
        raise RuntimeError(f"cannot place {binding.blueprint_path} in the level")
    return actor


def face_component(actor, binding: RigBinding):
    """The placed MetaHuman's face SkeletalMeshComponent (the one showing ``binding.face_mesh``, else
    the one named Face): the parent a groom bound to the face must be attached to."""
    components = list(actor.get_components_by_class(unreal.SkeletalMeshComponent))
    for component in components:
        if component.get_skeletal_mesh_asset() == binding.face_mesh:
            return component
    return next((c for c in components if c.get_name() == "Face"), None)


def write_curve_map(binding: RigBinding, path) -> None:
    """The Live Link curve -> morph target table as JSON (for a Live Link remap asset or a DCC)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"kind": binding.kind, "curves": binding.curve_map}, f, indent=1)
