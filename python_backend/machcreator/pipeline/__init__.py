"""The generation pipeline: Mach's figure 2, one method per stage.

``Pipeline.__call__`` reads top to bottom: check the request, parse the prompt into attributes
(§2.1), paint a reference portrait from them with the user's Stable Diffusion + ControlNet
weights (§2.1, when configured: it then is the photo), find the face in the photo (if any),
complete the attributes (overrides, then the photo, then the seed), shape the template body and
face (§2.2 geometry, embedded: anny; with a photo the head fitted to it), grow the strand grooms
(Mach's strand hair: scalp, eyebrows, eyelashes, facial hair), match and fit garments, glasses,
headwear, shoes and accessories in layers (§2.5; the hair tucked under hats), make hair cards from
the tucked grooms, paint textures (§2.3-2.4, embedded: procedural; with a photo its albedo on the
head), assemble the character and render the preview;
``Pipeline.write`` is the last stage, the package.
Stages report their start through ``progress`` and their end through ``stage_finished`` (with
whether the stage cache answered it) and never print.

Every cached stage takes one frozen input record (:mod:`machcreator.pipeline.stages`) that is its
cache key, so editing one attribute re-runs only the stages that read it and those downstream
(hair colour → hair, assets, cards and textures; nose width → geometry too).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from machcreator.attributes import Attributes, apply_overrides, resolve
from machcreator.character import Character, Groom, Material, MeshPart, Skeleton
from machcreator.pipeline.request import GenerateRequest
from machcreator.pipeline.stages import (
    DressInput,
    GeometryInput,
    HairInput,
    HeadTextureInput,
    ParseInput,
    PhotoInput,
    PortraitInput,
    TextureInput,
    stage_key,
)

if TYPE_CHECKING:
    from machcreator.assets.dressing import Dressing
    from machcreator.assets.matching import AssetSelection
    from machcreator.core.models import ModelsConfig
    from machcreator.parsing.base import ParseResult
    from machcreator.photo.correspondence import Correspondence
    from machcreator.photo.head import FaceCrop, HeadFit
    from machcreator.photo.head_texture import HeadTexture
    from machcreator.photo.image import Photo
    from machcreator.portrait import PortraitResult
    from machcreator.portrait.models import PortraitPipeline
    from machcreator.portrait.qa import PortraitQA

#: one groom's cards: the mesh part, its material and its atlas textures (``hair.cards.groom_cards``)
HairCards = tuple[MeshPart, Material, dict[str, np.ndarray]]
#: progress(stage, fraction 0..1 of the whole job, message), told as each stage starts
ProgressFn = Callable[[str, float, str], None]
#: stage_finished(stage, seconds, reused): ``reused`` when the stage cache answered the whole stage
StageFinishedFn = Callable[[str, float, bool], None]

#: (stage name, share of a warm run's time, package write included) — the overall progress
#: fraction every front end shows (CLI, service events, editor).
STAGES: tuple[tuple[str, float], ...] = (
    ("parse", 0.05),
    # a painted portrait (GPU) takes about as long as the rest; skipped, the bar jumps past it
    ("portrait", 0.25),
    ("photo", 0.01),
    ("attributes", 0.01),
    ("geometry", 0.19),
    ("hair", 0.15),
    ("assets", 0.06),
    ("cards", 0.04),
    ("textures", 0.26),
    ("character", 0.02),
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
    #: with a painted portrait: its clue maps, every try and the one chosen (the package's portrait/)
    portrait: PortraitResult | None = None


@dataclass
class PhotoFace:
    """The photo stage's output: the face crop and the colours it shows."""

    inputs: PhotoInput
    crop: FaceCrop
    appearance: dict[str, float | str]


@dataclass
class Geometry:
    """The geometry stage's output: the untextured character; with a photo, the head fit and the
    template's landmark correspondence the texture fit reads."""

    character: Character
    head_fit: HeadFit | None = None
    correspondence: Correspondence | None = None


@dataclass
class _Run:
    """One call's request and what it gathers on the way."""

    request: GenerateRequest
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class StageCache:
    """A small in-memory LRU of stage outputs keyed by their input records (:func:`stage_key`)."""

    # a run caches seven stage outputs (a photo adds two): 24 hold the last three runs
    def __init__(self, max_entries: int = 24) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get_or_run(self, stage: str, inputs: Any, run: Callable[[], Any]) -> Any:
        k = stage_key(stage, inputs)
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
        models: the user's local weights (:mod:`machcreator.core.models`); None or nothing
            configured: the embedded CPU path.
    """

    def __init__(self, progress: ProgressFn | None = None, anny_cache_dir: str | None = None,
                 hair_cache_dir: str | None = None, stage_finished: StageFinishedFn | None = None,
                 photo_cache_dir: str | None = None, models: ModelsConfig | None = None) -> None:
        self.progress: ProgressFn = progress or (lambda stage, frac, msg: None)
        self.stage_finished: StageFinishedFn = stage_finished or (lambda stage, seconds, reused: None)
        self.anny_cache_dir = anny_cache_dir
        self.hair_cache_dir = hair_cache_dir
        self.photo_cache_dir = photo_cache_dir
        self.models = models
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

    def correspondence(self, character: Character) -> Correspondence:
        """Each landmark's point on the template head of ``character``'s topology (cached on disk)."""
        from machcreator.photo.correspondence import cached_correspondence, default_cache_dir

        return cached_correspondence(character, self.landmark_detector(), self.photo_cache_dir or default_cache_dir())

    def portrait_pipeline(self) -> PortraitPipeline:
        """The Stable Diffusion + ControlNet pipeline from the models config (loaded once)."""
        from machcreator.portrait.models import load_portrait_pipeline

        return self._component("portrait", lambda: load_portrait_pipeline(self.models))

    def portrait_qa(self) -> PortraitQA:
        """The portrait's checks: the face detector, and the CLIP model when one is configured."""
        from machcreator.portrait.qa import PortraitQA

        return self._component("portrait_qa", lambda: PortraitQA.from_config(self.models, self.landmark_detector()))

    def wants_portrait(self, request: GenerateRequest) -> bool:
        """Whether ``request`` is painted a portrait: asked for, or left to a backend that has the weights.

        Raises:
            ModelConfigError: the request requires a portrait and the weights are not configured.
        """
        configured = self.models is not None and self.models.portrait_configured
        if request.portrait and not configured:
            from machcreator.core.errors import ModelConfigError

            raise ModelConfigError("a painted portrait needs a Stable Diffusion base and the openpose and canny "
                                   "ControlNets in the models config (see `mach models check`)")
        return request.photo is None and request.portrait is not False and configured

    def warm_up(self) -> None:
        """Load the template and the embedded parser's encoder (slow once per process)."""
        self.template()
        self.parser("embedded", {}).warm_up()

    # -- the run ----------------------------------------------------------------------------
    def __call__(self, request: GenerateRequest) -> GenerationResult:
        run, photo = self._checked(request)
        # models load once per process, outside the timed stages (the very first run also builds
        # anny's template cache, ~100 s, and says so through the progress callback)
        model = self.template()

        parsed = self.parse_prompt(run, ParseInput.of(request))
        portrait = self.paint_portrait(run, parsed.attributes, model)
        if portrait is not None:
            from machcreator.photo.image import Photo

            photo = Photo(portrait.image, "PNG", "RGB")  # the chosen portrait is the photo
        face = self.find_face(run, photo)
        specified, resolved = self.complete_attributes(run, parsed.attributes, face)
        geometry_in = self.geometry_input(resolved, specified, face)
        geometry = self.shape_geometry(run, geometry_in, face, model)
        hair_in = HairInput.of(geometry_in, resolved, request)
        grooms = self.grow_hair(run, hair_in, geometry.character)
        selection, dress_in, dressing = self.dress(run, hair_in, geometry.character, grooms, specified, resolved)
        cards = self.make_cards(run, dress_in, dressing, geometry.character.skeleton)
        resolved = selection.attributes  # what similarity chose is recorded like the rest
        textures, head_texture = self.paint_textures(run, TextureInput.of(geometry_in, resolved, request),
                                                     geometry, face)
        character = self.assemble(run, geometry.character, cards, textures, dressing)
        preview, photo_preview, photo_report = self.render_previews(run, character, geometry, head_texture)

        return GenerationResult(
            request=request, attributes=specified, resolved=resolved, character=character,
            preview=preview, unknown_words=list(parsed.unknown_words), warnings=run.warnings,
            timings_s=run.timings, assets=selection.manifest(), photo_preview=photo_preview,
            photo_report=photo_report, portrait=portrait,
        )

    def _checked(self, request: GenerateRequest) -> tuple[_Run, Photo | None]:
        """The run and the decoded photo: a clear error before any work (the request checked itself)."""
        photo = None
        if request.photo is not None:
            from machcreator.photo.image import load_photo

            photo = load_photo(request.photo)
        if request.photo is not None or self.wants_portrait(request):
            self.delighter(request.delighter_dir)  # a bad checkpoint is refused before any work
        return _Run(request), photo

    # -- the stages, in order ---------------------------------------------------------------
    def parse_prompt(self, run: _Run, inputs: ParseInput) -> ParseResult:
        """Mach §2.1: the prompt's attributes, the words not understood, the parser's warnings."""
        from machcreator.parsing.base import ParseResult

        with self._stage("parse", run.timings, "Reading the prompt"):
            if not inputs.prompt:
                return ParseResult(attributes=Attributes())
            parsed = self.cache.get_or_run("parse", inputs, lambda: self.parser(
                inputs.parser, json.loads(inputs.parser_options)).parse(inputs.prompt))
            run.warnings += list(parsed.warnings)
            return parsed

    def paint_portrait(self, run: _Run, parsed: Attributes, model: Any) -> PortraitResult | None:
        """Mach §2.1: the text's attributes as clue maps of the template head (OpenPose face keypoints,
        canny edges), painted into a frontal portrait by Stable Diffusion + ControlNet, checked and
        repainted with the next seed until it passes (or the tries run out). None unless wanted."""
        with self._stage("portrait", run.timings, "Painting the reference portrait"):
            if not self.wants_portrait(run.request):
                return None
            from machcreator.body.geometry import aged_body, character_from_body
            from machcreator.portrait import paint_portrait
            from machcreator.portrait.clues import attribute_clues

            resolved = resolve(apply_overrides(parsed, run.request.overrides), run.request.seed)
            inputs = PortraitInput.of(resolved, run.request, self.models)
            start, end = stage_span("portrait")

            def step(done: int, total: int, message: str) -> None:
                self.progress("portrait", round(start + (end - start) * done / max(total, 1), 4), message)

            def paint() -> PortraitResult:
                template = self.cache.get_or_run("geometry", inputs.geometry, lambda: Geometry(character_from_body(
                    aged_body(model, inputs.geometry.parameters, inputs.geometry.ageing))))
                pipe = self.portrait_pipeline()
                clues = attribute_clues(template.character, size=pipe.size,
                                        correspondence=self.correspondence(template.character))
                return paint_portrait(inputs.attributes, inputs.prompt, clues, pipe, self.portrait_qa(),
                                      self.models.portrait, inputs.seed, progress=step)

            result = self.cache.get_or_run("portrait", inputs, paint)
            if result.warning:
                run.warnings.append(result.warning)
            return result

    def find_face(self, run: _Run, photo: Photo | None) -> PhotoFace | None:
        """The face found and cropped in the photo, and the colours it shows (skin, hair, brows)."""
        with self._stage("photo", run.timings, "Finding the face in the photo"):
            if photo is None:
                return None
            from machcreator.photo.appearance import photo_appearance
            from machcreator.photo.head import face_crop

            inputs = PhotoInput.of(photo.rgb, run.request.photo_largest_face)

            def find() -> PhotoFace:
                crop = face_crop(photo, self.landmark_detector(), largest=inputs.largest_face)
                return PhotoFace(inputs, crop, photo_appearance(crop))

            return self.cache.get_or_run("photo", inputs, find)

    def complete_attributes(self, run: _Run, parsed: Attributes,
                            face: PhotoFace | None) -> tuple[Attributes, Attributes]:
        """Overrides win over the prompt, the prompt over the photo; the seed fills the rest."""
        with self._stage("attributes", run.timings, "Completing attributes from the seed"):
            specified = apply_overrides(parsed, run.request.overrides)
            if face is not None:
                from machcreator.photo.appearance import photo_overrides

                specified = apply_overrides(specified, photo_overrides(specified, face.appearance))
            return specified, resolve(specified, run.request.seed)

    @staticmethod
    def geometry_input(resolved: Attributes, specified: Attributes, face: PhotoFace | None) -> GeometryInput:
        """The geometry's record; with a photo the fit starts from the prompt's face, its open features neutral."""
        if face is None:
            return GeometryInput.of(resolved)
        from machcreator.photo.head import neutral_face

        return GeometryInput.of(neutral_face(resolved, specified), face.inputs)

    def shape_geometry(self, run: _Run, inputs: GeometryInput, face: PhotoFace | None, model: Any) -> Geometry:
        """Mach §2.2: the template body and face shaped by anny's parameters; with a photo, the head fitted to it."""
        from machcreator.body.geometry import aged_body, character_from_body

        message = "Shaping body and face" if face is None else "Fitting the head to the photo"
        with self._stage("geometry", run.timings, message):
            if face is None:
                return self.cache.get_or_run("geometry", inputs, lambda: Geometry(
                    character_from_body(aged_body(model, inputs.parameters, inputs.ageing))))
            return self.cache.get_or_run("geometry", inputs, lambda: self._fit_head(inputs, face, model))

    def _fit_head(self, inputs: GeometryInput, face: PhotoFace, model: Any) -> Geometry:
        """The head fitted to the photo's face crop, from the prior ``inputs.parameters``."""
        from machcreator.body.geometry import aged_body, character_from_body
        from machcreator.photo.head import fit_head

        built: dict[str, tuple[Any, Character]] = {}

        def build(parameters: Any) -> tuple[Any, Character]:
            key = repr(parameters)  # the template below is the fit's first build too
            if key not in built:
                body = aged_body(model, parameters, inputs.ageing)
                built[key] = body, character_from_body(body)
            return built[key]

        correspondence = self.correspondence(build(inputs.parameters)[1])
        fit = fit_head(face.crop, model, inputs.parameters, build, correspondence, detector=self.landmark_detector())
        return Geometry(fit.character, fit, correspondence)  # the fit built the head as the package has it

    def grow_hair(self, run: _Run, inputs: HairInput, body: Character) -> list[Groom]:
        """Mach's strand hair: scalp, eyebrows, eyelashes and facial hair grown on the head."""
        from machcreator.hair.grooms import character_field, make_grooms

        with self._stage("hair", run.timings, "Growing hair, brows, lashes and beard"):
            # the body's distance field depends on the geometry alone: an edit of the hair reuses it
            body_field = self.cache.get_or_run("body_field", inputs.geometry, lambda: character_field(body))
            return self.cache.get_or_run("hair", inputs, lambda: make_grooms(
                body, inputs.attributes, inputs.seed, field=body_field, cache_dir=self.hair_cache_dir,
                detail=inputs.detail))

    def dress(self, run: _Run, hair: HairInput, body: Character, grooms: list[Groom], specified: Attributes,
              resolved: Attributes) -> tuple[AssetSelection, DressInput, Dressing]:
        """Mach §2.5: garments, glasses, headwear, shoes and accessories matched and fitted in layers."""
        from machcreator.assets.dressing import dress
        from machcreator.assets.matching import match_assets

        with self._stage("assets", run.timings, "Dressing: garments, glasses, headwear, shoes"):
            library, problems = self.asset_library(run.request.asset_libraries)
            run.warnings += [f"skipped asset library {p.path}: {p.message}" for p in problems]
            encoder = self.asset_encoder(run.request.asset_encoder, run.request.asset_encoder_options)
            selection = match_assets(run.request.prompt, specified, resolved, library, encoder)
            # a studio glb's checksum is in its entry: an edited file with the same id is refitted
            inputs = DressInput(hair, tuple(selection.chosen()), run.request.seed)
            dressing = self.cache.get_or_run("assets", inputs, lambda: dress(
                dataclasses.replace(body, grooms=list(grooms)), list(inputs.choices), inputs.seed))
            return selection, inputs, dressing

    def make_cards(self, run: _Run, inputs: DressInput, dressing: Dressing,
                   skeleton: Skeleton) -> list[HairCards]:
        """The game-ready hair cards, made from the grooms as the headwear tucked them."""
        from machcreator.hair.cards import groom_cards

        with self._stage("cards", run.timings, "Making hair cards"):
            return self.cache.get_or_run("cards", inputs, lambda: [groom_cards(g, skeleton) for g in dressing.grooms])

    def paint_textures(self, run: _Run, inputs: TextureInput, geometry: Geometry,
                       face: PhotoFace | None) -> tuple[dict[str, np.ndarray], HeadTexture | None]:
        """Mach §2.3-2.4 (embedded: procedural skin, eyes, teeth); with a photo, its albedo on the head."""
        from machcreator.skin.textures import make_textures

        with self._stage("textures", run.timings, "Painting skin, eyes and teeth"):
            textures = self.cache.get_or_run("textures", inputs, lambda: make_textures(
                geometry.character, inputs.attributes, inputs.seed, size=inputs.size))
            if geometry.head_fit is None:
                return textures, None
            from machcreator.photo.head_texture import head_texture

            # the photo's albedo, delit and completed with the procedural skin; glasses worn in the
            # photo are masked out whatever the prompt says
            glasses = face.appearance.get("glasses", "none") != "none"
            head_in = HeadTextureInput(inputs, run.request.delighter_dir, glasses)
            fitted = self.cache.get_or_run("head_texture", head_in, lambda: head_texture(
                geometry.character, geometry.head_fit, geometry.correspondence, textures["head_albedo"],
                delighter=self.delighter(head_in.delighter_dir), glasses=head_in.glasses))
            return dict(textures) | {"head_albedo": fitted.albedo}, fitted

    def assemble(self, run: _Run, body: Character, cards: list[HairCards], textures: dict[str, np.ndarray],
                 dressing: Dressing) -> Character:
        """The whole character: body parts and hair cards with their materials and textures, dressed."""
        from machcreator.assets.dressing import dressed_character

        with self._stage("character", run.timings, "Assembling the character"):
            character = Character(
                skeleton=body.skeleton, parts=body.parts + [part for part, _, _ in cards],
                materials=body.materials | {m.name: m for _, m, _ in cards},
                textures=dict(textures) | {k: v for _, _, tex in cards for k, v in tex.items()},
                morph_names=body.morph_names, landmarks=body.landmarks,
            )
            return dressed_character(character, dressing)

    def render_previews(self, run: _Run, character: Character, geometry: Geometry, head_texture: HeadTexture | None
                        ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any] | None]:
        """Body, head front, three-quarter and back, strands drawn over the skin; with a photo, the
        photo beside the fitted head and what the fit measured."""
        from machcreator.render.preview import render_preview

        with self._stage("preview", run.timings, "Rendering the preview"):
            preview = render_preview(character, size=run.request.preview_size)
            if geometry.head_fit is None:
                return preview, None, None
            from machcreator.photo.report import photo_comparison, photo_report

            return (preview, photo_comparison(character, geometry.head_fit, head_texture, run.request.preview_size),
                    photo_report(geometry.head_fit, head_texture))

    def write(self, result: GenerationResult, out_dir: Any, *, force: bool = False) -> Any:
        """The last stage: write ``result`` as a package folder (atomically); returns its manifest."""
        from machcreator.export.package import write_package

        with self._stage("write", result.timings_s, "Writing the package"):
            manifest = write_package(result, out_dir, force=force)
        self.progress("done", 1.0, "Character ready")
        return manifest

    # -- progress ---------------------------------------------------------------------------
    def _stage(self, name: str, timings: dict[str, float], message: str) -> _StageTimer:
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
