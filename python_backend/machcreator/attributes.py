"""The attribute record: everything a prompt can control (Mach §2.1, "LLM attribute extraction").

One typed, validated pydantic model, grouped like a details panel (`body`, `skin`, `face`,
`eyes`, ...). Every field may be ``None``, meaning *unspecified*; :func:`resolve` fills the
unspecified fields with plausible values drawn from a seed, so one prompt + seed always gives the
same person and different seeds give different people.

Conventions:
- Continuous "level" fields are floats in ``[-1, 1]`` (``-1`` = least, ``0`` = average,
  ``+1`` = most), or ``[0, 1]`` for amounts that start at none (freckles, wrinkles...).
- Colours are names from :data:`COLORS` (sRGB 0..255), so they round-trip through JSON and
  ``--set hair.color=blonde``.
- Skin tone is the Individual Typology Angle (ITA, degrees; Chardon et al. 1991): high = light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

# the style library is data only (no imports back into the package): names validate hair.style,
# and its words are the hair fields' words
from machcreator.core.hair_styles import STYLES, Bangs, Hairline, Part, get_style

# --- vocabularies -------------------------------------------------------------------------

Gender = Literal["female", "male"]
Ancestry = Literal["african", "asian", "caucasian", "mixed"]
FaceShape = Literal["oval", "round", "square", "heart", "long", "diamond"]
EyeShape = Literal["almond", "round", "hooded", "monolid", "downturned", "upturned"]
EyebrowType = Literal["straight", "arched", "rounded", "bushy", "thick", "thin"]
FacialHairType = Literal[
    "none", "stubble", "mustache", "goatee", "short_beard", "full_beard", "long_beard"
]
Glasses = Literal["none", "reading", "round", "rectangular", "aviator", "cat_eye", "sunglasses"]
# wool_cap: the cuffed fisherman's watch cap; beanie: a close-fitting knit cap with no cuff
Headwear = Literal["none", "wool_cap", "beanie", "baseball_cap", "fedora", "beret", "headscarf", "hood"]
Top = Literal["t_shirt", "shirt", "blouse", "tank_top", "sweater", "hoodie", "dress"]
#: The layer worn over the top; "none" = the top shows.
Outerwear = Literal["none", "jacket", "suit_jacket", "coat"]
#: The look of a garment's fabric.
Pattern = Literal["solid", "stripes", "plaid", "denim", "knit", "leather"]
Bottom = Literal["jeans", "trousers", "shorts", "skirt", "none"]
Shoes = Literal["sneakers", "boots", "dress_shoes", "sandals", "heels", "barefoot"]
Accessory = Literal["earrings", "necklace", "scarf", "watch", "bracelet", "tie", "backpack"]

#: Named colours, sRGB 0..255. Hair, iris, eyebrow, make-up and garment colours all use it.
COLORS: dict[str, tuple[int, int, int]] = {
    # hair / eyebrows
    "black": (20, 18, 17),
    "dark_brown": (52, 36, 26),
    "brown": (86, 58, 38),
    "light_brown": (138, 100, 68),
    "auburn": (120, 50, 28),
    "red": (160, 48, 30),
    "ginger": (184, 86, 38),
    "strawberry_blonde": (196, 140, 96),
    "blonde": (210, 176, 118),
    "platinum": (232, 224, 204),
    "grey": (150, 150, 150),
    "salt_and_pepper": (110, 108, 104),
    "white": (235, 235, 230),
    # irises
    "hazel": (120, 92, 48),
    "amber": (150, 104, 46),
    "green": (70, 120, 60),
    "blue": (60, 110, 170),
    "light_blue": (120, 170, 215),
    # garments, make-up, dyed hair
    "navy": (28, 36, 70),
    "pink": (222, 120, 150),
    "purple": (110, 60, 140),
    "orange": (220, 120, 40),
    "yellow": (230, 200, 60),
    "beige": (214, 196, 160),
    "khaki": (160, 145, 100),
    "olive": (100, 104, 50),
    "teal": (40, 120, 120),
    "burgundy": (110, 24, 40),
    "nude": (196, 136, 120),
    "charcoal": (54, 56, 60),
    "denim": (70, 92, 130),
    "gold": (200, 160, 60),
    "silver": (190, 190, 196),
}
ColorName = str  # validated against COLORS

HAIR_COLORS = (
    "black", "dark_brown", "brown", "light_brown", "auburn", "red", "ginger", "strawberry_blonde",
    "blonde", "platinum", "grey", "salt_and_pepper", "white", "blue", "pink", "purple", "green",
)
IRIS_COLORS = ("dark_brown", "brown", "hazel", "amber", "green", "blue", "light_blue", "grey")

AGE_RANGE_YEARS = (1.0, 95.0)
PROMPT_MAX_CHARS = 2000


def _check_color(value: str | None, allowed: tuple[str, ...] | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"colour must be a name, got {value!r}")
    name = value.strip().lower().replace(" ", "_").replace("-", "_")
    if name == "gray":
        name = "grey"
    pool = allowed if allowed is not None else tuple(COLORS)
    if name not in pool:
        raise ValueError(f"unknown colour {value!r}; choose one of: {', '.join(pool)}")
    return name


Level = float  # [-1, 1]
Amount = float  # [0, 1]


class _Group(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _level(desc: str) -> Any:
    return Field(None, ge=-1.0, le=1.0, description=desc)


def _amount(desc: str) -> Any:
    return Field(None, ge=0.0, le=1.0, description=desc)


class Body(_Group):
    gender: Gender | None = None
    age_years: float | None = Field(None, ge=AGE_RANGE_YEARS[0], le=AGE_RANGE_YEARS[1])
    height: Level | None = _level("-1 very short .. +1 very tall, relative to gender and age")
    weight: Level | None = _level("-1 very thin .. +1 heavy")
    muscle: Level | None = _level("-1 slight .. +1 very muscular")
    ancestry: Ancestry | None = Field(None, description="drives anny's face-shape mix, not skin tone")


class Skin(_Group):
    tone_ita_deg: float | None = Field(None, ge=-70.0, le=75.0, description="ITA angle, high = light")
    freckles: Amount | None = _amount("0 none .. 1 dense")
    moles: Amount | None = _amount("0 none .. 1 many")
    wrinkles: Amount | None = _amount("0 smooth .. 1 deep; defaults follow age")
    blemishes: Amount | None = _amount("0 clear .. 1 uneven")
    rosacea: Amount | None = _amount("0 none .. 1 strong redness of cheeks and nose")
    scars: Amount | None = _amount("0 none .. 1 several visible scars")


class Face(_Group):
    shape: FaceShape | None = None
    jaw_width: Level | None = _level("-1 narrow .. +1 wide/strong jaw")
    chin: Level | None = _level("-1 receding/small .. +1 prominent")
    cheekbones: Level | None = _level("-1 flat .. +1 high, prominent")
    forehead: Level | None = _level("-1 low/small .. +1 high/large")
    ear_size: Level | None = _level("-1 small .. +1 large")
    ear_protrusion: Level | None = _level("-1 flat .. +1 sticking out")
    masculinity: Level | None = _level("-1 very feminine .. +1 very masculine face; defaults follow gender")
    dimples: Amount | None = _amount("0 none .. 1 deep cheek dimples")
    cleft_chin: Amount | None = _amount("0 none .. 1 deep cleft")
    double_chin: Amount | None = _amount("0 none .. 1 pronounced")


class Eyes(_Group):
    shape: EyeShape | None = None
    size: Level | None = _level("-1 small .. +1 large")
    spacing: Level | None = _level("-1 close-set .. +1 wide-set")
    iris_color: ColorName | None = None

    _v = field_validator("iris_color")(lambda v: _check_color(v, IRIS_COLORS))


class Eyebrows(_Group):
    type: EyebrowType | None = None
    thickness: Level | None = _level("-1 thin .. +1 thick")
    color: ColorName | None = None

    _v = field_validator("color")(lambda v: _check_color(v, HAIR_COLORS))


class Nose(_Group):
    size: Level | None = _level("-1 small .. +1 large")
    width: Level | None = _level("-1 narrow .. +1 wide")
    bridge: Level | None = _level("-1 flat/low .. +1 high/aquiline")


class Lips(_Group):
    fullness: Level | None = _level("-1 thin .. +1 full")
    width: Level | None = _level("-1 narrow mouth .. +1 wide mouth")


class Makeup(_Group):
    lipstick_color: ColorName | None = Field(None, description="'none' = bare lips")
    eyeshadow_color: ColorName | None = None
    blush: Amount | None = _amount("0 none .. 1 strong")
    eyeliner: bool | None = None

    @field_validator("lipstick_color", "eyeshadow_color")
    @classmethod
    def _colors(cls, v: str | None) -> str | None:
        return v if v == "none" else _check_color(v)


class Hair(_Group):
    style: str | None = Field(None, description="a style of the library (`mach hair list`)")
    length_cm: float | None = Field(None, ge=0.0, le=120.0, description="scalp hair length, cm")
    curl: Amount | None = _amount("0 straight .. 0.5 wavy .. 0.8 curly .. 1 tightly coiled")
    color: ColorName | None = None
    highlights: ColorName | None = Field(None, description="streaks of another colour; 'none' = none")
    part: Part | None = None
    bangs: Bangs | None = None
    hairline: Hairline | None = None
    density: Amount | None = _amount("0 sparse .. 1 very thick")
    volume: Amount | None = _amount("0 flat against the head .. 1 full")

    _v = field_validator("color")(lambda v: _check_color(v, HAIR_COLORS))

    @field_validator("style")
    @classmethod
    def _style(cls, v: str | None) -> str | None:
        return None if v is None else get_style(v).name

    @field_validator("highlights")
    @classmethod
    def _highlights(cls, v: str | None) -> str | None:
        return v if v == "none" else _check_color(v, HAIR_COLORS)


class FacialHair(_Group):
    type: FacialHairType | None = None
    color: ColorName | None = None
    length_cm: float | None = Field(None, ge=0.0, le=60.0, description="beard length, cm")
    density: Amount | None = _amount("0 thin, patchy .. 1 dense")

    _v = field_validator("color")(lambda v: _check_color(v, HAIR_COLORS))


class Garments(_Group):
    top: Top | None = None
    top_color: ColorName | None = None
    top_pattern: Pattern | None = None
    bottom: Bottom | None = None
    bottom_color: ColorName | None = None
    bottom_pattern: Pattern | None = None
    outerwear: Outerwear | None = Field(None, description="a jacket, suit jacket or coat over the top; 'none' = no layer")
    outerwear_color: ColorName | None = None
    outerwear_pattern: Pattern | None = None
    shoes: Shoes | None = None
    shoes_color: ColorName | None = None

    @field_validator("top_color", "bottom_color", "outerwear_color", "shoes_color")
    @classmethod
    def _colors(cls, v: str | None) -> str | None:
        return _check_color(v)


class Attributes(_Group):
    """Everything a prompt can control. ``None`` anywhere means "unspecified"."""

    body: Body = Field(default_factory=Body)
    skin: Skin = Field(default_factory=Skin)
    face: Face = Field(default_factory=Face)
    eyes: Eyes = Field(default_factory=Eyes)
    eyebrows: Eyebrows = Field(default_factory=Eyebrows)
    nose: Nose = Field(default_factory=Nose)
    lips: Lips = Field(default_factory=Lips)
    makeup: Makeup = Field(default_factory=Makeup)
    hair: Hair = Field(default_factory=Hair)
    facial_hair: FacialHair = Field(default_factory=FacialHair)
    glasses: Glasses | None = None
    headwear: Headwear | None = Field(
        None, description="wool_cap = the cuffed fisherman's watch cap; beanie = a close-fitting knit cap, no cuff")
    headwear_color: ColorName | None = None
    garments: Garments = Field(default_factory=Garments)
    accessories: list[Accessory] | None = None

    _v = field_validator("headwear_color")(lambda v: _check_color(v))

    # -- dotted access, used by `--set` and by the parsers ------------------------------------
    def get_path(self, path: str) -> Any:
        obj: Any = self
        for part in path.split("."):
            if not isinstance(obj, BaseModel) or part not in type(obj).model_fields:
                raise KeyError(f"unknown attribute {path!r}")
            obj = getattr(obj, part)
        return obj

    def with_value(self, path: str, value: Any) -> "Attributes":
        """A copy with ``path`` (e.g. ``"hair.color"``) set to ``value``, validated.

        Raises ``KeyError`` for an unknown path and ``ValueError`` for an invalid value.
        """
        data = self.model_dump()
        *groups, leaf = path.split(".")
        node: Any = data
        model: type[BaseModel] = Attributes
        for g in groups:
            if g not in model.model_fields or not isinstance(node.get(g), dict):
                raise KeyError(f"unknown attribute {path!r}")
            model = model.model_fields[g].annotation  # type: ignore[assignment]
            node = node[g]
        if leaf not in model.model_fields or isinstance(node.get(leaf), dict):
            raise KeyError(f"unknown attribute {path!r}")
        node[leaf] = value
        try:
            return Attributes.model_validate(data)
        except Exception as exc:  # pydantic.ValidationError -> one readable line
            raise ValueError(f"invalid value {value!r} for {path}: {_first_error(exc)}") from None

    def specified(self) -> dict[str, Any]:
        """Flat ``{"hair.color": "red", ...}`` of the fields that are not None."""
        return {k: v for k, v in _flatten(self.model_dump()).items() if v is not None}

    @classmethod
    def field_paths(cls) -> list[str]:
        """Every leaf path, e.g. ``["body.gender", "body.age_years", ...]``."""
        return list(_flatten(cls().model_dump()).keys())


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        e = errors()[0]
        return str(e.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def literal_values(path: str) -> tuple[str, ...]:
    """The allowed words of a Literal field (and of ``"hair.style"``: the style library), else ()."""
    if path == "hair.style":
        return tuple(STYLES)
    ann = _field_info(path)[2].annotation
    for arg in get_args(ann) or (ann,):
        inner = get_args(arg)
        if inner and all(isinstance(a, str) for a in inner):
            return inner
        if getattr(arg, "__origin__", None) is list:
            return get_args(get_args(arg)[0])
    return ()


def _field_info(path: str) -> tuple[type[BaseModel], str, Any]:
    """The group model, leaf name and pydantic field info of a dotted path."""
    *groups, leaf = path.split(".")
    model: type[BaseModel] = Attributes
    for g in groups:
        model = model.model_fields[g].annotation  # type: ignore[assignment]
    return model, leaf, model.model_fields[leaf]


def _accepts(model: type[BaseModel], leaf: str, value: Any) -> bool:
    try:
        model.model_validate({leaf: value})
        return True
    except ValueError:
        return False


def editor_fields() -> list[dict[str, Any]]:
    """Every attribute as an editor widget: what the Unreal details panel shows.

    Each entry: ``path``, ``kind`` (``enum`` | ``color`` | ``float`` | ``bool`` | ``list``),
    ``description``, and per kind ``values`` (enum and list words; colour names), ``srgb`` (colour
    name -> sRGB 0..255) or ``min``/``max`` (float). The plugin ships this as JSON
    (``mach attributes --editor-fields``); a test keeps the two equal.
    """
    out = []
    for path in Attributes.field_paths():
        model, leaf, info = _field_info(path)
        entry: dict[str, Any] = {"path": path, "description": info.description or ""}
        kinds = {getattr(a, "__origin__", a) for a in (get_args(info.annotation) or (info.annotation,))}
        words = literal_values(path)
        if list in kinds:
            entry.update(kind="list", values=list(words))
        elif words:
            entry.update(kind="enum", values=list(words))
        elif bool in kinds:
            entry.update(kind="bool")
        elif float in kinds:
            bounds = {type(m).__name__: m for m in info.metadata}
            entry.update(kind="float", min=float(bounds["Ge"].ge), max=float(bounds["Le"].le))
        else:  # a colour name, validated against its pool
            names = [c for c in COLORS if _accepts(model, leaf, c)]
            entry.update(kind="color", values=names + (["none"] if _accepts(model, leaf, "none") else []),
                         srgb={c: list(COLORS[c]) for c in names})
        out.append(entry)
    return out


# --- seeded completion of unspecified fields ----------------------------------------------------
#
# The tables below hold every number :func:`resolve` draws with; the functions after them are the
# logic. Weights are relative (any positive scale), listed in the order of the words they weigh;
# that order is part of the draw, so reordering a table changes which person a seed gives.

#: A field's draw: its own random stream -> a value.
Draw = Callable[[np.random.Generator], Any]


@dataclass(frozen=True)
class AgeRamp:
    """0 at ``start_years``, 1 ``span_years`` later (a negative span ramps down with age), clipped
    to ``[lo, 1]``."""

    start_years: float
    span_years: float
    lo: float = 0.0

    def linear(self, age_years: float) -> float:
        """The ramp before clipping."""
        return (age_years - self.start_years) / self.span_years

    def __call__(self, age_years: float) -> float:
        return float(np.clip(self.linear(age_years), self.lo, 1.0))


AgeRampName = Literal["puberty", "wrinkles", "greying", "white_hair", "child_brows", "old_brows",
                      "beard_growth", "beard_density", "layer_over_top"]
AGE_RAMPS: dict[AgeRampName, AgeRamp] = {
    # gender shows in the face from puberty on; children's faces are much alike (0.2 of an adult's)
    "puberty": AgeRamp(9.0, 8.0, lo=0.2),
    "wrinkles": AgeRamp(25.0, 45.0),  # the default wrinkle amount (plus a little noise)
    "greying": AgeRamp(42.0, 20.0),  # the chance of grey hair: from the forties on, most are grey by 62
    "white_hair": AgeRamp(62.0, 20.0),  # grey hair turns mostly white in the seventies
    "child_brows": AgeRamp(14.0, -8.0),  # children's brows are thinner ...
    "old_brows": AgeRamp(60.0, 30.0),  # ... and so are old people's
    "beard_growth": AgeRamp(16.0, 8.0),  # a teenager's beard is rare and thin: styles grow in over 16-24
    "beard_density": AgeRamp(16.0, 14.0),  # a beard thickens until about 30
    "layer_over_top": AgeRamp(25.0, 40.0),  # a jacket, suit jacket or coat is likelier with age
}

@dataclass(frozen=True)
class NormalDraw:
    """normal(mean, sd) clipped to ``[lo, hi]``."""

    mean: float
    sd: float
    lo: float
    hi: float


#: An adult's age when the prompt gives none, years.
ADULT_AGE_YEARS = NormalDraw(35.0, 13.0, 18.0, 80.0)
#: Mean skin tone (ITA°) by ancestry; each person is drawn around it with this sd.
TONE_ITA_DEG: dict[Ancestry, float] = {"african": -25.0, "asian": 40.0, "caucasian": 50.0, "mixed": 25.0}
TONE_SD_DEG = 10.0
#: Skin light enough (ITA°) for freckles, rosacea, light eyes and light hair.
FAIR_ITA_DEG, ROSACEA_ITA_DEG, MEDIUM_ITA_DEG = 40.0, 35.0, 10.0

#: Levels drawn around 0 with this standard deviation (a level spans -1..1).
LEVEL_SD: dict[str, float] = {
    "body.height": 0.35, "body.weight": 0.3, "body.muscle": 0.3,
    "face.chin": 0.3, "face.cheekbones": 0.3, "face.forehead": 0.3, "face.ear_size": 0.3,
    "face.ear_protrusion": 0.3, "eyes.size": 0.3, "eyes.spacing": 0.3,
    "nose.size": 0.3, "nose.width": 0.3, "nose.bridge": 0.3, "lips.fullness": 0.3, "lips.width": 0.3,
}
#: Levels whose mean depends on gender: (mean by gender, sd).
GENDERED_LEVELS: dict[str, tuple[dict[Gender, float], float]] = {
    "face.jaw_width": ({"male": 0.2, "female": -0.25}, 0.25),
    "face.masculinity": ({"male": 0.6, "female": -0.6}, 0.15),  # times AGE_RAMPS["puberty"]
    "eyebrows.thickness": ({"male": 0.25, "female": -0.3}, 0.25),  # less AGE_RAMPS' thinning
}
#: Brows thin by this much at full "child_brows" and "old_brows".
BROW_THINNING = {"child_brows": 0.35, "old_brows": 0.3}


@dataclass(frozen=True)
class AmountDraw:
    """An amount drawn uniformly in ``[lo, hi]`` (to 0.001); with a ``chance``, a coin comes first
    and a lost toss gives 0."""

    lo: float
    hi: float
    chance: float | None = None


AMOUNT_DRAWS: dict[str, AmountDraw] = {
    "skin.freckles": AmountDraw(0.0, 0.35, chance=0.3),  # on fair skin only
    "skin.moles": AmountDraw(0.0, 0.3),
    "skin.blemishes": AmountDraw(0.0, 0.25),
    "skin.rosacea": AmountDraw(0.15, 0.45, chance=0.12),  # on fairer skin past 35
    "skin.scars": AmountDraw(0.1, 0.4, chance=0.04),
    "face.dimples": AmountDraw(0.3, 0.8, chance=0.12),
    "makeup.blush": AmountDraw(0, 0.3),  # women only
}
CLEFT_CHIN: dict[Gender, AmountDraw] = {"male": AmountDraw(0.3, 0.7, chance=0.15),
                                        "female": AmountDraw(0.3, 0.7, chance=0.04)}
ROSACEA_FROM_YEARS = 35.0
#: Wrinkles: AGE_RAMPS["wrinkles"] plus normal noise of this sd.
WRINKLE_NOISE_SD = 0.05
#: Double chin = WEIGHT_GAIN · (body.weight - WEIGHT_FROM) + (age - FROM_YEARS) / OVER_YEARS + noise.
DOUBLE_CHIN: dict[str, float] = {"weight_gain": 0.8, "weight_from": 0.2, "from_years": 45.0, "over_years": 80.0, "noise_sd": 0.08}

#: Face shapes by gender: square jaws are likelier on men.
FACE_SHAPE_WEIGHTS: dict[Gender, dict[FaceShape, float]] = {
    "male": {"oval": 3, "round": 1.5, "square": 3, "heart": 0.5, "long": 1.5, "diamond": 1},
    "female": {"oval": 4, "round": 2, "square": 0.5, "heart": 2, "long": 1, "diamond": 1},
}
#: Iris colours on fair skin of caucasian or mixed ancestry ("light"), and on everyone else.
IRIS_WEIGHTS: dict[Literal["light", "dark"], dict[str, float]] = {
    "light": {"dark_brown": 3, "brown": 3, "hazel": 2, "amber": 1, "green": 2, "blue": 3, "light_blue": 1, "grey": 1},
    "dark": {"dark_brown": 8, "brown": 6, "hazel": 2, "amber": 1, "green": 0.3, "blue": 0.3, "light_blue": 0.1, "grey": 0.3},
}
#: Natural hair colours by skin: light (as IRIS_WEIGHTS), medium (ITA above MEDIUM_ITA_DEG), dark.
HAIR_COLOR_WEIGHTS: dict[Literal["light", "medium", "dark"], dict[str, float]] = {
    "light": {"black": 1, "dark_brown": 3, "brown": 3, "light_brown": 2, "auburn": 1, "blonde": 2, "red": 0.5},
    "medium": {"black": 6, "dark_brown": 4, "brown": 1, "light_brown": 0.2, "auburn": 0.1, "blonde": 0.1, "red": 0.05},
    "dark": {"black": 12, "dark_brown": 3, "brown": 0.3, "light_brown": 0.05, "auburn": 0.05, "blonde": 0.02, "red": 0.01},
}
#: Everyone past this age is grey; younger people turn grey by chance AGE_RAMPS["greying"].
ALL_GREY_FROM_YEARS = 60.0
#: Grey hair: weight = base + gain · ramp (white grows with "white_hair", salt and pepper fades with "greying").
GREY_WEIGHTS: dict[str, tuple[float, float, AgeRampName | None]] = {
    "grey": (3, 0.0, None), "white": (0.3, 2.7, "white_hair"), "salt_and_pepper": (4, -3, "greying"),
}
#: Blonde highlights on brown hair: the chance, and the age past which there are none.
HIGHLIGHTS_CHANCE, HIGHLIGHTS_UNTIL_YEARS = 0.12, 60.0
#: A style's length varies by this factor; a beard's by BEARD_LENGTH_SCALE.
HAIR_LENGTH_SCALE, BEARD_LENGTH_SCALE = (0.85, 1.15), (0.8, 1.25)
#: Curl when the style leaves it open: uniform on african hair, else uniform(0, 0.45)² · 2.
AFRICAN_CURL, OTHER_CURL_ROOT = (0.6, 1.0), (0.0, 0.45)
#: Men past RECEDING_FROM_YEARS: a short style's hairline recedes with chance (age - from) / over.
RECEDING_FROM_YEARS, RECEDING_OVER_YEARS = 40, 40
#: Scalp hair density; HAIR_THINNING less on men past THINNING_FROM_YEARS (before the clip).
HAIR_DENSITY = NormalDraw(0.75, 0.08, 0.2, 1.0)
HAIR_THINNING, THINNING_FROM_YEARS = 0.25, 50

#: Brows are a shade darker than bright scalp hair (a redhead's brows are auburn, not red); dyed
#: hair keeps natural brows. Other colours: the hair's own.
BROW_COLOR_OF_HAIR: dict[str, str] = {
    "white": "grey", "salt_and_pepper": "grey", "red": "auburn", "ginger": "auburn",
    "blonde": "light_brown", "strawberry_blonde": "light_brown",
    "blue": "light_brown", "pink": "light_brown", "purple": "light_brown", "green": "light_brown",
    "platinum": "light_brown",
}
EYEBROW_WEIGHTS: dict[Gender, dict[EyebrowType, float]] = {
    "male": {"straight": 3, "arched": 1, "rounded": 1, "bushy": 1.5, "thick": 2, "thin": 0.3},
    "female": {"straight": 1.5, "arched": 3, "rounded": 2, "bushy": 0.2, "thick": 0.5, "thin": 2},
}

#: Facial hair of grown men (from BEARD_FROM_YEARS); younger men's styles scale with
#: AGE_RAMPS["beard_growth"] (stubble from half its weight), "none" keeps its weight.
BEARD_FROM_YEARS = 16
FACIAL_HAIR_WEIGHTS: dict[FacialHairType, float] = {
    "none": 5, "stubble": 2, "mustache": 0.5, "goatee": 0.7, "short_beard": 1, "full_beard": 0.8, "long_beard": 0.2,
}
#: Typical length of each facial hair style, cm.
BEARD_LENGTH_CM: dict[FacialHairType, float] = {
    "none": 0.0, "stubble": 0.15, "mustache": 1.2, "goatee": 2.0, "short_beard": 1.2, "full_beard": 3.5,
    "long_beard": 14.0,
}
#: Beard density; its mean grows by BEARD_DENSITY_GAIN with AGE_RAMPS["beard_density"].
BEARD_DENSITY = NormalDraw(0.55, 0.1, 0.1, 1.0)
BEARD_DENSITY_GAIN = 0.25

#: Women's make-up ("none" = bare); men's is none.
LIPSTICK_WEIGHTS = {"none": 5, "nude": 2, "pink": 1, "red": 1, "burgundy": 0.5}
EYESHADOW_WEIGHTS = {"none": 6, "brown": 1, "beige": 1, "charcoal": 0.5}
EYELINER_CHANCE = 0.3

#: Glasses below GLASSES_OLDER_FROM_YEARS and from then on (reading glasses come with age).
GLASSES_OLDER_FROM_YEARS = 50
GLASSES_WEIGHTS: dict[Literal["younger", "older"], dict[Glasses, float]] = {
    "younger": {"none": 8, "reading": 1, "round": 0.5, "rectangular": 0.5, "aviator": 0.3, "cat_eye": 0.2, "sunglasses": 0.3},
    "older": {"none": 4, "reading": 3, "round": 1, "rectangular": 1, "aviator": 0.3, "cat_eye": 0.2, "sunglasses": 0.3},
}
HEADWEAR_WEIGHTS: dict[Headwear, float] = {
    "none": 12, "wool_cap": 1, "beanie": 0.7, "baseball_cap": 1, "fedora": 0.3, "beret": 0.3, "headscarf": 0.3, "hood": 0.3,
}
#: Colours a garment or hat is drawn in (evenly) unless its fabric or kind has its own.
GARMENT_COLORS = ("black", "white", "grey", "navy", "denim", "beige", "khaki", "olive", "burgundy", "charcoal",
                  "blue", "red", "green")
#: The layer over the top: weight = young adult's + change · AGE_RAMPS["layer_over_top"]; no suit
#: jackets below SUIT_FROM_YEARS.
OUTERWEAR_WEIGHTS: dict[Outerwear, tuple[float, float]] = {
    "none": (8, -4), "jacket": (2, 0.5), "suit_jacket": (0.5, 0.7), "coat": (0.5, 2.5),
}
SUIT_FROM_YEARS = 16
#: A suit jacket goes with a shirt, trousers and dress shoes; the shirt in one of these colours.
SUIT: dict[str, str] = {"garments.top": "shirt", "garments.bottom": "trousers", "garments.shoes": "dress_shoes"}
SUIT_SHIRT_COLOR_WEIGHTS = {"white": 6, "light_blue": 2, "pink": 0.5, "black": 1}
#: Tops and bottoms drawn (evenly) by gender; a dress has no bottom.
TOPS: dict[Gender, tuple[Top, ...]] = {"female": ("t_shirt", "shirt", "sweater", "hoodie", "blouse", "dress"),
                                       "male": ("t_shirt", "shirt", "sweater", "hoodie")}
BOTTOMS: dict[Gender, tuple[Bottom, ...]] = {"female": ("jeans", "trousers", "shorts", "skirt"),
                                             "male": ("jeans", "trousers", "shorts")}
#: Garment (or outerwear) -> the patterns it comes in; anything else is solid.
PATTERN_WEIGHTS: dict[str, dict[Pattern, float]] = {
    "jeans": {"denim": 1},
    "sweater": {"knit": 1},
    "shirt": {"solid": 6, "stripes": 1.5, "plaid": 1.5},
    "t_shirt": {"solid": 8, "stripes": 1},
    "blouse": {"solid": 8, "stripes": 1},
    "dress": {"solid": 8, "stripes": 1},
    "jacket": {"solid": 5, "leather": 2, "denim": 1.5},
    "suit_jacket": {"solid": 8, "stripes": 1, "plaid": 0.5},
    "coat": {"solid": 8, "plaid": 1},
}
SOLID: dict[Pattern, float] = {"solid": 1.0}
#: Fabrics (looked up first) and garments that come in their own colours; others draw any
#: garment colour.
OWN_COLOR_WEIGHTS: dict[str, dict[str, float]] = {
    "denim": {"denim": 6, "navy": 1, "black": 1.5, "light_blue": 1, "grey": 0.5},
    "leather": {"black": 5, "brown": 2, "dark_brown": 2, "burgundy": 0.5},
    "suit_jacket": {"navy": 4, "charcoal": 3, "black": 2, "grey": 2, "beige": 1},
}
SHOES_DRAWN: tuple[Shoes, ...] = ("sneakers", "boots", "dress_shoes", "sandals")
SHOE_COLORS = ("black", "brown", "white", "grey")
#: The chance of each accessory, by gender.
ACCESSORY_CHANCE: dict[Gender, dict[Accessory, float]] = {
    "female": {"earrings": 0.3, "necklace": 0.3, "watch": 0.3},
    "male": {"earrings": 0.05, "necklace": 0.05, "watch": 0.3},
}

#: Styles by who: (style, weight) for women and men, plus extra weights on curly and coily
#: (african) hair, AFRICAN_STYLE_SHARE of them on men.
STYLE_WEIGHTS: dict[Literal["female", "male", "african"], dict[str, float]] = {
    "female": {"bob": 2, "lob": 2, "shoulder_straight": 2, "shoulder_wavy": 2, "long_straight": 3, "long_wavy": 3,
               "ponytail_high": 1, "ponytail_low": 1.5, "bun": 1, "braid": 0.7, "pixie": 0.7, "curtain_bangs": 1.2,
               "side_swept": 1, "shag": 0.5, "long_curly": 0.6},
    "male": {"short": 5, "side_part": 3, "crew_cut": 2, "buzz": 1.5, "fade": 1.5, "undercut": 1, "slicked_back": 1,
             "messy_short": 1, "quiff": 0.5, "top_knot": 0.3, "long_straight": 0.2},
    "african": {"afro": 3, "cornrows": 1.5, "dreadlocks": 1.5, "two_braids": 1, "shoulder_curly": 1},
}
AFRICAN_STYLE_SHARE: dict[Gender, float] = {"male": 0.4, "female": 1.0}
#: Men past BALDING_FROM_YEARS: receding and bald styles gain weight (base + years past / per).
BALDING_FROM_YEARS, BALDING_YEARS_PER_WEIGHT = 45, 10
BALDING_BASE_WEIGHT = {"receding": 2.0, "bald": 1.0}
#: family variants by curl: (straight, wavy, curly) names of one length class, and the curl
#: each variant starts at.
CURL_FAMILIES = (("shoulder_straight", "shoulder_wavy", "shoulder_curly"), ("long_straight", "long_wavy", "long_curly"))
WAVY_FROM_CURL, CURLY_FROM_CURL = 0.3, 0.65


class _Filler:
    """The record being completed (a ``model_dump``) and its random streams, one per field path,
    so that specifying one field never changes the draws of the others."""

    def __init__(self, attrs: Attributes, seed: int) -> None:
        self.record = attrs.model_dump()
        self.seed = seed

    def rng(self, path: str) -> np.random.Generator:
        return np.random.default_rng([self.seed & 0xFFFFFFFF, _stable_hash(path)])

    def __call__(self, path: str, draw: Draw | Any) -> Any:
        """``path``'s value: the specified one, else ``draw`` (a value, or a :data:`Draw` on the field's stream)."""
        *groups, leaf = path.split(".")
        node = self.record
        for g in groups:
            node = node[g]
        if node[leaf] is None:
            node[leaf] = draw(self.rng(path)) if callable(draw) else draw
        return node[leaf]


def _choice(options: tuple[str, ...] | list[str], p: list[float] | None = None) -> Draw:
    """One of ``options``: evenly, or by relative weights ``p``."""
    def draw(r: np.random.Generator) -> str:
        probs = None if p is None else np.asarray(p, float) / np.sum(p)
        return str(options[int(r.choice(len(options), p=probs))])
    return draw


def _weighted(weights: Mapping[str, float]) -> Draw:
    """One of the table's words by its relative weight."""
    return _choice(tuple(weights), list(weights.values()))


def _normal(mu: float, sd: float, lo: float = -1.0, hi: float = 1.0) -> Draw:
    """normal(mu, sd) to 0.001, clipped to [lo, hi]."""
    return lambda r: float(np.clip(round(float(r.normal(mu, sd)), 3), lo, hi))


def _amount(row: AmountDraw, possible: bool = True) -> Draw:
    """:class:`AmountDraw`'s amount; 0 without a coin toss where it is not ``possible``."""
    def draw(r: np.random.Generator) -> float:
        if row.chance is not None and not (possible and r.random() < row.chance):
            return 0.0
        return float(round(r.uniform(row.lo, row.hi), 3))
    return draw


@dataclass(frozen=True)
class _Person:
    """Who is being completed: what the later draws are conditioned on."""

    gender: Gender
    age: float
    ancestry: Ancestry
    ita: float

    @property
    def male(self) -> bool:
        return self.gender == "male"

    @property
    def skin(self) -> Literal["light", "medium", "dark"]:
        """Fair skin of caucasian or mixed ancestry is "light" (light eyes and hair are likely)."""
        if self.ita > FAIR_ITA_DEG and self.ancestry in ("caucasian", "mixed"):
            return "light"
        return "medium" if self.ita > MEDIUM_ITA_DEG else "dark"


def resolve(attrs: Attributes, seed: int) -> Attributes:
    """Fill every unspecified field with a plausible value drawn from ``seed``.

    Draws are conditioned on what is specified (a beard is likelier on a man, grey hair on the
    old, freckles on light skin), and each field uses its own sub-stream so that specifying one
    field never changes the draws of the others.
    """
    fill = _Filler(attrs, seed)
    person = _resolve_body_and_skin(fill)
    _resolve_face(fill, person)
    hair_color = _resolve_hair(fill, attrs, person)
    _resolve_brows_and_beard(fill, person, hair_color)
    _resolve_makeup(fill, person)
    _resolve_wear(fill, attrs, person)
    return Attributes.model_validate(fill.record)


def _resolve_body_and_skin(fill: _Filler) -> _Person:
    gender = fill("body.gender", _choice(get_args(Gender)))
    a = ADULT_AGE_YEARS
    age = fill("body.age_years", lambda r: float(round(float(np.clip(r.normal(a.mean, a.sd), a.lo, a.hi)), 1)))
    for path, sd in LEVEL_SD.items():
        fill(path, _normal(0.0, sd))
    ancestry = fill("body.ancestry", _choice(get_args(Ancestry)))
    ita = fill("skin.tone_ita_deg", _normal(TONE_ITA_DEG[ancestry], TONE_SD_DEG, -70.0, 75.0))
    person = _Person(gender, age, ancestry, ita)

    fill("skin.freckles", _amount(AMOUNT_DRAWS["skin.freckles"], possible=ita > FAIR_ITA_DEG))
    fill("skin.moles", _amount(AMOUNT_DRAWS["skin.moles"]))
    wrinkles = AGE_RAMPS["wrinkles"]
    fill("skin.wrinkles", lambda r: float(round(np.clip(wrinkles.linear(age) + r.normal(0, WRINKLE_NOISE_SD), 0, 1), 3)))
    fill("skin.blemishes", _amount(AMOUNT_DRAWS["skin.blemishes"]))
    fill("skin.rosacea", _amount(AMOUNT_DRAWS["skin.rosacea"], possible=ita > ROSACEA_ITA_DEG and age > ROSACEA_FROM_YEARS))
    fill("skin.scars", _amount(AMOUNT_DRAWS["skin.scars"]))
    return person


def _resolve_face(fill: _Filler, person: _Person) -> None:
    gender, age = person.gender, person.age
    fill("face.shape", _weighted(FACE_SHAPE_WEIGHTS[gender]))
    means, sd = GENDERED_LEVELS["face.jaw_width"]
    fill("face.jaw_width", _normal(means[gender], sd))
    means, sd = GENDERED_LEVELS["face.masculinity"]
    fill("face.masculinity", _normal(means[gender] * AGE_RAMPS["puberty"](age), sd))
    fill("face.dimples", _amount(AMOUNT_DRAWS["face.dimples"]))
    fill("face.cleft_chin", _amount(CLEFT_CHIN[gender]))
    weight, dc = float(fill.record["body"]["weight"]), DOUBLE_CHIN
    fill("face.double_chin", lambda r: float(round(np.clip(
        dc["weight_gain"] * (weight - dc["weight_from"]) + (age - dc["from_years"]) / dc["over_years"]
        + r.normal(0, dc["noise_sd"]), 0.0, 1.0), 3)))
    fill("eyes.shape", _choice(get_args(EyeShape)))
    fill("eyes.iris_color", _weighted(IRIS_WEIGHTS["light" if person.skin == "light" else "dark"]))


def _resolve_hair(fill: _Filler, attrs: Attributes, person: _Person) -> str:
    """Colour, style (refined by curl), length, part, bangs, hairline, density, volume, highlights;
    returns the hair colour."""
    male, age, ancestry = person.male, person.age, person.ancestry
    greying = AGE_RAMPS["greying"](age)
    if age > ALL_GREY_FROM_YEARS or (greying > 0 and fill.rng("hair.greying").random() < greying):
        ramps = {"white_hair": AGE_RAMPS["white_hair"](age), "greying": greying}
        hair_color = fill("hair.color", _weighted({
            name: base if ramp is None else base + gain * ramps[ramp] for name, (base, gain, ramp) in GREY_WEIGHTS.items()}))
    else:
        hair_color = fill("hair.color", _weighted(HAIR_COLOR_WEIGHTS[person.skin]))
    style = fill("hair.style", lambda r: _draw_style(r, male, age, ancestry))
    spec = get_style(style)
    curl = fill("hair.curl", lambda r: float(round(
        spec.curl if spec.curl > 0 else (r.uniform(*AFRICAN_CURL) if ancestry == "african" else r.uniform(*OTHER_CURL_ROOT) ** 2 * 2), 3)))
    # a specified curl moves a family style to its matching variant (long + curly -> long_curly)
    by_curl = attrs.hair.style is None or attrs.hair.curl is not None
    style = fill.record["hair"]["style"] = refine_style(style, curl, person.gender, by_curl=by_curl)
    spec = get_style(style)
    fill("hair.length_cm", lambda r: float(round(spec.length_cm * float(r.uniform(*HAIR_LENGTH_SCALE)), 1)))
    fill("hair.part", spec.part)
    fill("hair.bangs", spec.bangs)
    receding = male and age > RECEDING_FROM_YEARS and spec.hairline == "normal" and spec.type == "short"
    fill("hair.hairline", lambda r: "receding" if receding and r.random() < (age - RECEDING_FROM_YEARS) / RECEDING_OVER_YEARS
         else spec.hairline)
    d = HAIR_DENSITY
    thinning = HAIR_THINNING if male and age > THINNING_FROM_YEARS else 0.0
    fill("hair.density", lambda r: float(round(np.clip(r.normal(d.mean, d.sd) - thinning, d.lo, d.hi), 3)))
    fill("hair.volume", spec.volume)
    fill("hair.highlights", lambda r: "none" if age > HIGHLIGHTS_UNTIL_YEARS or r.random() > HIGHLIGHTS_CHANCE else
         ("blonde" if hair_color in ("brown", "light_brown", "dark_brown") else "none"))
    return hair_color


def _resolve_brows_and_beard(fill: _Filler, person: _Person, hair_color: str) -> None:
    gender, age = person.gender, person.age
    brow_color = BROW_COLOR_OF_HAIR.get(hair_color, hair_color)
    fill("eyebrows.color", brow_color)
    fill("eyebrows.type", _weighted(EYEBROW_WEIGHTS[gender]))
    thinning = (-BROW_THINNING["child_brows"] * AGE_RAMPS["child_brows"](age)
                - BROW_THINNING["old_brows"] * AGE_RAMPS["old_brows"](age))
    means, sd = GENDERED_LEVELS["eyebrows.thickness"]
    fill("eyebrows.thickness", _normal(means[gender] + thinning, sd))
    if person.male and age >= BEARD_FROM_YEARS:
        grown = AGE_RAMPS["beard_growth"](age)
        growing = {"stubble": 0.5 + 0.5 * grown}  # the other styles: ``grown``
        fill("facial_hair.type", _weighted({kind: w if kind == "none" else w * growing.get(kind, grown)
                                            for kind, w in FACIAL_HAIR_WEIGHTS.items()}))
    else:
        fill("facial_hair.type", "none")
    fill("facial_hair.color", brow_color)
    beard_cm = BEARD_LENGTH_CM[fill.record["facial_hair"]["type"]]
    fill("facial_hair.length_cm", lambda r: float(round(beard_cm * float(r.uniform(*BEARD_LENGTH_SCALE)), 2)))
    d = BEARD_DENSITY
    fill("facial_hair.density", _normal(d.mean + BEARD_DENSITY_GAIN * AGE_RAMPS["beard_density"](age), d.sd, d.lo, d.hi))


def _resolve_makeup(fill: _Filler, person: _Person) -> None:
    if person.male:
        fill("makeup.lipstick_color", "none")
        fill("makeup.eyeshadow_color", "none")
        fill("makeup.blush", 0.0)
        fill("makeup.eyeliner", False)
    else:
        fill("makeup.lipstick_color", _weighted(LIPSTICK_WEIGHTS))
        fill("makeup.eyeshadow_color", _weighted(EYESHADOW_WEIGHTS))
        fill("makeup.blush", _amount(AMOUNT_DRAWS["makeup.blush"]))
        fill("makeup.eyeliner", lambda r: bool(r.random() < EYELINER_CHANCE))


def _resolve_wear(fill: _Filler, attrs: Attributes, person: _Person) -> None:
    """Glasses, headwear, garments (a suit goes together; patterns and colours by garment) and accessories."""
    gender, age = person.gender, person.age
    fill("glasses", _weighted(GLASSES_WEIGHTS["younger" if age < GLASSES_OLDER_FROM_YEARS else "older"]))
    fill("headwear", _weighted(HEADWEAR_WEIGHTS))
    fill("headwear_color", _choice(GARMENT_COLORS))
    older = AGE_RAMPS["layer_over_top"](age)
    layer_weights = {kind: base + change * older for kind, (base, change) in OUTERWEAR_WEIGHTS.items()}
    if age < SUIT_FROM_YEARS:
        layer_weights["suit_jacket"] = 0.0
    # a top the prompt names stays in sight: no layer is drawn over it
    outerwear = fill("garments.outerwear", "none" if attrs.garments.top is not None else _weighted(layer_weights))
    if outerwear == "suit_jacket":
        for path, value in SUIT.items():
            fill(path, value)
    top = fill("garments.top", _choice(TOPS[gender]))
    suit_shirt = outerwear == "suit_jacket" and top == "shirt"
    fill("garments.top_color", _weighted(SUIT_SHIRT_COLOR_WEIGHTS) if suit_shirt else _choice(GARMENT_COLORS))
    fill("garments.top_pattern", _weighted(PATTERN_WEIGHTS.get(top, SOLID)))
    bottom = fill("garments.bottom", "none" if top == "dress" else _choice(BOTTOMS[gender]))
    bottom_pattern = fill("garments.bottom_pattern", _weighted(PATTERN_WEIGHTS.get(bottom, SOLID)))
    outerwear_pattern = fill("garments.outerwear_pattern", _weighted(PATTERN_WEIGHTS.get(outerwear, SOLID)))
    any_color = dict.fromkeys(GARMENT_COLORS, 1.0)
    outerwear_color = fill("garments.outerwear_color",
                           _weighted(OWN_COLOR_WEIGHTS.get(outerwear_pattern, OWN_COLOR_WEIGHTS.get(outerwear, any_color))))
    # a suit's trousers match its jacket
    suit_trousers = outerwear == "suit_jacket" and bottom == "trousers"
    fill("garments.bottom_color", outerwear_color if suit_trousers else _weighted(OWN_COLOR_WEIGHTS.get(bottom_pattern, any_color)))
    fill("garments.shoes", _choice(SHOES_DRAWN))
    fill("garments.shoes_color", _choice(SHOE_COLORS))
    if fill.record["accessories"] is None:
        r = fill.rng("accessories")
        fill.record["accessories"] = [x for x, chance in ACCESSORY_CHANCE[gender].items() if r.random() < chance]


def _draw_style(r: np.random.Generator, male: bool, age: float, ancestry: str) -> str:
    table = dict(STYLE_WEIGHTS["male" if male else "female"])
    if ancestry == "african":
        for k, w in STYLE_WEIGHTS["african"].items():
            table[k] = table.get(k, 0.0) + w * AFRICAN_STYLE_SHARE["male" if male else "female"]
    if male and age > BALDING_FROM_YEARS:
        for k, base in BALDING_BASE_WEIGHT.items():
            table[k] = base + (age - BALDING_FROM_YEARS) / BALDING_YEARS_PER_WEIGHT
    names = sorted(table)
    p = np.array([table[n] for n in names], float)
    return names[int(r.choice(len(names), p=p / p.sum()))]


def refine_style(style: str, curl: float, gender: str, by_curl: bool = True) -> str:
    """A woman's "short" cut is a pixie; with ``by_curl``, the variant of ``style``'s family that
    matches ``curl`` (shoulder_straight + 0.8 -> shoulder_curly)."""
    if style == "short" and gender == "female":
        return "pixie"
    for family in CURL_FAMILIES if by_curl else ():
        if style in family:
            return family[0 if curl < WAVY_FROM_CURL else 1 if curl < CURLY_FROM_CURL else 2]
    return style


def _stable_hash(text: str) -> int:
    """A process-independent 32-bit hash (Python's ``hash`` is salted per process)."""
    h = 2166136261
    for byte in text.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


# --- `--set path=value` overrides ------------------------------------------------------------

_UNSET_WORDS = ("unspecified", "null", "random")


def _coerce(path: str, text: str) -> Any:
    """Turn the text of ``--set path=text`` into a value of the field's type."""
    raw = text.strip()
    if raw.lower() in _UNSET_WORDS:
        return None
    ann = _field_info(path)[2].annotation
    kinds = {getattr(a, "__origin__", a) for a in (get_args(ann) or (ann,))}
    if list in kinds:
        return [w.strip().lower() for w in raw.split(",") if w.strip()]
    if bool in kinds:
        low = raw.lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"invalid value {raw!r} for {path}: expected true or false")
    if float in kinds:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"invalid value {raw!r} for {path}: expected a number") from None
    return raw.lower().replace(" ", "_").replace("-", "_")


def apply_overrides(attrs: Attributes, assignments: list[str]) -> Attributes:
    """Apply ``["hair.color=blonde", "body.age_years=40", ...]`` in order.

    ``unspecified`` (or ``null``/``random``) clears a field so the seed picks it.
    Raises :class:`machcreator.core.errors.AttributeOverrideError` with one readable line.
    """
    from machcreator.core.errors import AttributeOverrideError

    for item in assignments:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise AttributeOverrideError(f"--set expects PATH=VALUE (e.g. hair.color=blonde), got {item!r}")
        try:
            if isinstance(attrs.get_path(path), BaseModel):
                raise KeyError(path)
            attrs = attrs.with_value(path, _coerce(path, text))
        except KeyError:
            close = [p for p in Attributes.field_paths() if p.split(".")[-1] == path.split(".")[-1]]
            hint = f"; did you mean {', '.join(close)}?" if close else "; see `mach attributes --fields`"
            raise AttributeOverrideError(f"unknown attribute {path!r}{hint}") from None
        except ValueError as exc:
            raise AttributeOverrideError(str(exc)) from None
    return attrs
