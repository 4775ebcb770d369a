"""The generation pipeline: Mach's figure 2, one step per stage.

``Pipeline.__call__`` reads top to bottom: 1. check the request, 2. parse the prompt into
attributes (§2.1), 3. apply overrides and fill unspecified fields from the seed, 4. shape the
template body and face (§2.2 geometry, embedded: anny), 5. grow the strand grooms (Mach's strand
hair: scalp, eyebrows, eyelashes, facial hair), 6. match garments, glasses, headwear, shoes and
accessories from the asset library and fit them in layers (the hair tucked under hats; hair cards
made from the tucked grooms), 7. make textures (§2.3–2.4, embedded: procedural), 8. render the
preview; ``Pipeline.write`` is the last stage, the package.
Stages report their start through ``progress`` and their end through ``stage_finished`` (with
whether the stage cache answered it) and never print.

Stage outputs are cached in memory by a hash of their inputs, so editing one attribute re-runs
only the stages downstream of it (hair colour → hair and textures; nose width → geometry too).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.pipeline.request import GenerateRequest
from machcreator.character import Character
from machcreator.body.shape_table import anny_parameters, derived_levels

#: progress(stage, fraction 0..1 of the whole job, message), told as each stage starts
ProgressFn = Callable[[str, float, str], None]
#: stage_finished(stage, seconds, reused): ``reused`` when the stage cache answered the whole stage
StageFinishedFn = Callable[[str, float, bool], None]

#: (stage name, share of a warm run's time, package write included) — the overall progress
#: fraction every front end shows (CLI, service events, editor).
STAGES: tuple[tuple[str, float], ...] = (
    ("parse", 0.05),
    ("photo", 0.01),
    ("attributes", 0.01),
    ("geometry", 0.19),
    ("hair", 0.15),
    ("assets", 0.06),
    ("cards", 0.04),
    ("textures", 0.28),
    ("preview", 0.17),
    ("write", 0.05),
)
STAGE_NAMES: tuple[str, ...] = tuple(name for name, _ in STAGES)

def stage_span(stage: str) -> tuple[float, float]:
    """The shares of the whole job done when ``stage`` starts and when it ends (0..1)."""
    total = sum(share for _, share in STAGES)
    done = 0.0
    for name, share in STAGES:
        if name == stage:
            return round(done / total, 4), round((done + share) / total, 4)
        done += share
    raise KeyError(stage)


@dataclass
class GenerationResult:
    """Everything the package writer needs."""

    request: GenerateRequest
    attributes: Attributes  # what the prompt + overrides specified (None elsewhere)
    resolved: Attributes  # every field filled from the seed
    character: Character
    preview: np.ndarray  # (H, W, 3) uint8
    unknown_words: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    #: the matched assets, one manifest entry each (see machcreator.assets.matching)
    assets: list[dict] = field(default_factory=list)
    #: with a photo: the photo beside the fitted head (H, W, 3) uint8, and what the fit measured
    photo_preview: np.ndarray | None = None
    photo_report: dict[str, Any] | None = None


class StageCache:
    """A small in-memory LRU of stage outputs keyed by a hash of their inputs."""

    def __init__(self, max_entries: int = 24) -> None:  # two runs of twelve stage outputs (a photo adds four)
        self.max_entries = max_entries
        self._items: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(stage: str, inputs: Any) -> str:
        text = json.dumps(inputs, sort_keys=True, default=str)
        return hashlib.sha256(f"{stage}:{text}".encode()).hexdigest()

    def get_or_run(self, stage: str, inputs: Any, run: Callable[[], Any]) -> Any:
        k = self.key(stage, inputs)
        if k in self._items:
            self.hits += 1
            self._items.move_to_end(k)
            return self._items[k]
        self.misses += 1
        value = run()
        self._items[k] = value
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)
        return value


class Pipeline:
    """Prompt → complete character, with swappable stages.

    Args:
        progress: called as ``progress(stage, fraction, message)`` when a stage starts.
        stage_finished: called as ``stage_finished(stage, seconds, reused)`` when it ends.
        anny_cache_dir: where anny's one-off template cache lives (default: env
            ``MACH_ANNY_CACHE`` or ``~/.cache/anny``).
    """

    def __init__(self, progress: ProgressFn | None = None, anny_cache_dir: str | None = None,
                 hair_cache_dir: str | None = None, stage_finished: StageFinishedFn | None = None,
                 photo_cache_dir: str | None = None) -> None:
        self.progress: ProgressFn = progress or (lambda stage, frac, msg: None)
        self.stage_finished: StageFinishedFn = stage_finished or (lambda stage, seconds, reused: None)
        self.anny_cache_dir = anny_cache_dir
        self.hair_cache_dir = hair_cache_dir
        self.photo_cache_dir = photo_cache_dir
        self.cache = StageCache()
        self._parsers: dict[str, Any] = {}
        self._components: dict[str, Any] = {}  # loaded models (encoders, detector, delighters), by key

    # -- components -------------------------------------------------------------------------
    def parser(self, name: str, options: dict[str, Any]) -> Any:
        from machcreator.parsing import get_parser

        key = json.dumps([name, options], sort_keys=True, default=str)
        if key not in self._parsers:
            self._parsers[key] = get_parser(name, **options)
        return self._parsers[key]

    def template(self) -> Any:
        from machcreator.body.template import load_anny

        return load_anny(self.anny_cache_dir, progress=lambda msg: self.progress("setup", 0.0, msg))

    def asset_library(self, paths: list[str]) -> tuple[Any, list[Any]]:
        """The built-in assets plus the studio libraries at ``paths`` (and MACH_ASSET_LIBRARIES)."""
        from machcreator.assets.library import library_paths, load_libraries

        return load_libraries(library_paths(paths))

    def _component(self, key: str, load: Callable[[], Any]) -> Any:
        """A model loaded once per process under ``key``."""
        if key not in self._components:
            self._components[key] = load()
        return self._components[key]

    def asset_encoder(self, name: str, options: dict[str, Any]) -> Any:
        from machcreator.assets.encoders import get_encoder

        return self._component(json.dumps(["encoder", name, options], sort_keys=True, default=str),
                               lambda: get_encoder(name, options))

    def landmark_detector(self) -> Any:
        """The face landmark detector of the photo path (MediaPipe's face mesh, loaded once)."""
        from machcreator.photo.landmarks import MediaPipeFaceMesh

        return self._component("landmarks", MediaPipeFaceMesh)

    def delighter(self, folder: str | None) -> Any:
        """The photo's delighter: the embedded SH one, or a learned one from ``folder`` (loaded once)."""
        from machcreator.photo.delight import LearnedDelighter, SHDelighter

        if folder is None:
            return SHDelighter()
        return self._component(f"delighter:{folder}", lambda: LearnedDelighter(folder))

    def warm_up(self) -> None:
        """Load the template and the embedded parser's encoder (slow once per process)."""
        self.template()
        self.parser("embedded", {}).warm_up()

    # -- the run ----------------------------------------------------------------------------
    def __call__(self, request: GenerateRequest) -> GenerationResult:
        from machcreator.assets.dressing import dress, dressed_character
        from machcreator.assets.matching import match_assets
        from machcreator.body.geometry import build_geometry
        from machcreator.hair.cards import groom_cards
        from machcreator.hair.grooms import character_field, make_grooms
        from machcreator.parsing import check_prompt
        from machcreator.render.preview import render_preview
        from machcreator.skin.textures import make_textures

        timings: dict[str, float] = {}

        # 1. check inputs: a clear error before any work
        # an empty prompt is a random character: the seed draws every attribute (front ends
        # decide whether a user may ask for that; the CLI asks for a prompt or --set)
        prompt = check_prompt(request.prompt) if request.prompt else ""
        apply_overrides(Attributes(), request.overrides)
        photo = None
        if request.photo is not None:
            from machcreator.photo.image import load_photo

            photo = load_photo(request.photo)
            self.delighter(request.delighter_dir)  # a bad checkpoint is refused before any work

        # models load once per process, outside the timed stages (the very first run also builds
        # anny's template cache, ~100 s, and says so through the progress callback)
        model = self.template()

        # 2. parse the prompt into attributes (Mach §2.1)
        with self._stage("parse", timings, "Reading the prompt"):
            if prompt:
                parse_inputs = {"parser": request.parser, "options": request.parser_options, "prompt": prompt}
                parsed = self.cache.get_or_run("parse", parse_inputs, lambda: self.parser(
                    request.parser, request.parser_options).parse(prompt))
                specified, unknown, warnings = parsed.attributes, list(parsed.unknown_words), list(parsed.warnings)
            else:
                specified, unknown, warnings = Attributes(), [], []

        # 3. the photo: the face found and cropped, the colours it shows (skin, hair, brows)
        with self._stage("photo", timings, "Finding the face in the photo"):
            crop, photo_inputs = None, None
            if photo is not None:
                from machcreator.photo.appearance import photo_appearance
                from machcreator.photo.head import face_crop

                photo_inputs = {"photo": hashlib.sha256(photo.rgb.tobytes()).hexdigest(),
                                "shape": photo.rgb.shape, "largest": request.photo_largest_face}
                crop = self.cache.get_or_run("photo", photo_inputs, lambda: face_crop(
                    photo, self.landmark_detector(), largest=request.photo_largest_face))
                appearance = self.cache.get_or_run("appearance", photo_inputs, lambda: photo_appearance(crop))

        # 4. overrides win over the prompt, the prompt over the photo; the seed fills the rest
        with self._stage("attributes", timings, "Completing attributes from the seed"):
            specified = apply_overrides(specified, request.overrides)
            if crop is not None:
                from machcreator.photo.appearance import photo_overrides

                specified = apply_overrides(specified, photo_overrides(specified, appearance))
            resolved = resolve(specified, request.seed)
            attrs_json = resolved.model_dump(mode="json")

        # 5. geometry: template body and face shaped by the attributes (§2.2, embedded: anny);
        # with a photo, the head fitted to it (landmarks, anny's face space, the UV position map)
        with self._stage("geometry", timings, "Shaping body and face" if crop is None else "Fitting the head to the photo"):
            # the geometry reads only anny's parameters: an edit that leaves them alone reuses it
            geometry_inputs = dataclasses.asdict(anny_parameters(resolved))
            head_fit = None
            if crop is not None:
                geometry_inputs |= {"photo": photo_inputs, "ageing": derived_levels(resolved)["ageing"]}
                head_fit, correspondence = self.cache.get_or_run("head_fit", geometry_inputs, lambda: self._fit_head(
                    crop, resolved, specified, model))
            # a photo's fit already built the head as the package has it
            base = self.cache.get_or_run("geometry", geometry_inputs, lambda: build_geometry(resolved, model=model)
                                         if head_fit is None else head_fit.character)

        # 5. hair: strand grooms grown on the head (Mach's strand hair)
        with self._stage("hair", timings, "Growing hair, brows, lashes and beard"):
            geometry_key = self.cache.key("geometry", geometry_inputs)
            field = self.cache.get_or_run("body_field", geometry_inputs, lambda: character_field(base))
            hair_inputs = {"hair": {k: attrs_json[k] for k in ("hair", "eyebrows", "facial_hair")},
                           "gender": attrs_json["body"]["gender"], "seed": request.seed, "geometry": geometry_key,
                           "detail": request.hair_detail}
            grooms = self.cache.get_or_run("hair", hair_inputs, lambda: make_grooms(
                base, resolved, request.seed, field=field, cache_dir=self.hair_cache_dir, detail=request.hair_detail))

        # 6. assets: garments, glasses, headwear, shoes, accessories matched and fitted in layers
        with self._stage("assets", timings, "Dressing: garments, glasses, headwear, shoes"):
            library, problems = self.asset_library(request.asset_libraries)
            warnings += [f"skipped asset library {p.path}: {p.message}" for p in problems]
            encoder = self.asset_encoder(request.asset_encoder, request.asset_encoder_options)
            selection = match_assets(prompt, specified, resolved, library, encoder)
            resolved = selection.attributes  # what similarity chose is recorded like the rest
            choices = selection.chosen()
            asset_report = selection.manifest()
            # a studio glb's checksum keys it too: an edited file with the same id is refitted
            asset_inputs = {"choices": asset_report, "seed": request.seed,
                            "files": [f.sha256 for c in choices for f in c.asset.entry.files],
                            "hair": self.cache.key("hair", hair_inputs)}
            dressing = self.cache.get_or_run("assets", asset_inputs, lambda: dress(
                dataclasses.replace(base, grooms=list(grooms)), choices, request.seed))

        # 7. cards: the game-ready hair cards, made from the grooms as the headwear tucked them
        with self._stage("cards", timings, "Making hair cards"):
            cards = self.cache.get_or_run("cards", asset_inputs, lambda: [
                groom_cards(g, base.skeleton) for g in dressing.grooms])

        # 8. textures: procedural skin, eyes, teeth (§2.3–2.4, embedded: procedural)
        with self._stage("textures", timings, "Painting skin, eyes and teeth"):
            texture_inputs = {"attributes": attrs_json, "seed": request.seed, "size": request.texture_size,
                              "geometry": geometry_key}
            textures = self.cache.get_or_run(
                "textures", texture_inputs,
                lambda: make_textures(base, resolved, request.seed, size=request.texture_size),
            )
            head_texture = None
            if head_fit is not None:  # the photo's albedo, delit and completed with the procedural skin
                from machcreator.photo.head_texture import head_texture as fit_head_texture

                glasses = appearance.get("glasses", "none") != "none"  # worn in the photo, whatever the prompt says
                head_texture = self.cache.get_or_run(
                    "head_texture", texture_inputs | {"delighter": request.delighter_dir, "glasses": glasses},
                    lambda: fit_head_texture(base, head_fit, correspondence, textures["head_albedo"],
                                             delighter=self.delighter(request.delighter_dir), glasses=glasses))
                textures = dict(textures) | {"head_albedo": head_texture.albedo}
            character = Character(
                skeleton=base.skeleton, parts=base.parts + [part for part, _, _ in cards],
                materials=base.materials | {m.name: m for _, m, _ in cards},
                textures=dict(textures) | {k: v for _, _, tex in cards for k, v in tex.items()},
                morph_names=base.morph_names, landmarks=base.landmarks,
            )
            character = dressed_character(character, dressing)

        # 9. preview: body, head front, three-quarter and back, strands drawn over the skin
        with self._stage("preview", timings, "Rendering the preview"):
            preview = render_preview(character, size=request.preview_size)
            photo_preview = photo_report = None
            if head_fit is not None:
                from machcreator.photo.report import photo_comparison, photo_report as report

                photo_preview = photo_comparison(character, head_fit, head_texture, request.preview_size)
                photo_report = report(head_fit, head_texture)

        return GenerationResult(
            request=request, attributes=specified, resolved=resolved, character=character,
            preview=preview, unknown_words=unknown, warnings=warnings, timings_s=timings, assets=asset_report,
            photo_preview=photo_preview, photo_report=photo_report,
        )

    def _fit_head(self, crop: Any, resolved: Attributes, specified: Attributes, model: Any) -> tuple[Any, Any]:
        """The head fitted to the photo's face crop, and the template's landmark correspondence."""
        from machcreator.body.geometry import character_from_body, shaped_body
        from machcreator.photo.correspondence import cached_correspondence, default_cache_dir
        from machcreator.photo.head import fit_head, neutral_face

        built: dict[str, tuple[Any, Character]] = {}

        def build(parameters: Any) -> tuple[Any, Character]:
            key = repr(parameters)  # the template below is the fit's first build too
            if key not in built:
                body = shaped_body(model, resolved, parameters)
                built[key] = body, character_from_body(body)
            return built[key]

        prior = anny_parameters(neutral_face(resolved, specified))
        detector = self.landmark_detector()
        correspondence = cached_correspondence(build(prior)[1], detector, self.photo_cache_dir or default_cache_dir())
        return fit_head(crop, model, prior, build, correspondence, detector=detector), correspondence

    def write(self, result: GenerationResult, out_dir: Any, *, force: bool = False) -> Any:
        """The last stage: write ``result`` as a package folder (atomically); returns its manifest."""
        from machcreator.export.package import write_package

        with self._stage("write", result.timings_s, "Writing the package"):
            manifest = write_package(result, out_dir, force=force)
        self.progress("done", 1.0, "Character ready")
        return manifest

    # -- progress ---------------------------------------------------------------------------
    def _stage(self, name: str, timings: dict[str, float], message: str) -> "_StageTimer":
        return _StageTimer(self, name, timings, message)


class _StageTimer:
    def __init__(self, pipe: Pipeline, name: str, timings: dict[str, float], message: str) -> None:
        self.pipe, self.name, self.timings, self.message = pipe, name, timings, message

    def __enter__(self) -> None:
        self.pipe.progress(self.name, stage_span(self.name)[0], self.message)
        self.start = time.perf_counter()
        self.hits, self.misses = self.pipe.cache.hits, self.pipe.cache.misses

    def __exit__(self, exc_type: object, *exc: object) -> None:
        seconds = round(time.perf_counter() - self.start, 4)
        self.timings[self.name] = seconds
        if exc_type is None:
            reused = self.pipe.cache.hits > self.hits and self.pipe.cache.misses == self.misses
            self.pipe.stage_finished(self.name, seconds, reused)
