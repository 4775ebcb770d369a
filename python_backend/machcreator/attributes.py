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

from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

# the style library is data only (no imports back into the package): names validate hair.style
from machcreator.core.hair_styles import STYLES, Bangs, Hairline, get_style

# --- vocabularies -------------------------------------------------------------------------

Gender = Literal["female", "male"]
Ancestry = Literal["african", "asian", "caucasian", "mixed"]
FaceShape = Literal["oval", "round", "square", "heart", "long", "diamond"]
EyeShape = Literal["almond", "round", "hooded", "monolid", "downturned", "upturned"]
EyebrowType = Literal["straight", "arched", "rounded", "bushy", "thick", "thin"]
HairPart = Literal["none", "left", "right", "center"]
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
    part: HairPart | None = None
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


def _set_in(d: dict[str, Any], path: str, value: Any) -> None:
    *groups, leaf = path.split(".")
    for g in groups:
        d = d[g]
    d[leaf] = value


def literal_values(path: str) -> tuple[str, ...]:
    """The allowed words of a Literal field (and of ``"hair.style"``: the style library), else ()."""
    if path == "hair.style":
        return tuple(STYLES)
    *groups, leaf = path.split(".")
    model: type[BaseModel] = Attributes
    for g in groups:
        model = model.model_fields[g].annotation  # type: ignore[assignment]
    ann = model.model_fields[leaf].annotation
    for arg in get_args(ann) or (ann,):
        inner = get_args(arg)
        if inner and all(isinstance(a, str) for a in inner):
            return inner
        if getattr(arg, "__origin__", None) is list:
            return get_args(get_args(arg)[0])
    return ()


def _field_info(path: str) -> tuple[type[BaseModel], str, Any]:
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

def resolve(attrs: Attributes, seed: int) -> Attributes:
    """Fill every unspecified field with a plausible value drawn from ``seed``.

    Draws are conditioned on what is specified (a beard is likelier on a man, grey hair on the
    old, freckles on light skin), and each field uses its own sub-stream so that specifying one
    field never changes the draws of the others.
    """
    a = attrs.model_dump()

    def rng(path: str) -> np.random.Generator:
        return np.random.default_rng([seed & 0xFFFFFFFF, _stable_hash(path)])

    def fill(path: str, draw: Any) -> Any:
        *groups, leaf = path.split(".")
        node = a
        for g in groups:
            node = node[g]
        if node[leaf] is None:
            node[leaf] = draw(rng(path)) if callable(draw) else draw
        return node[leaf]

    def choice(options: tuple[str, ...] | list[str], p: list[float] | None = None) -> Any:
        def draw(r: np.random.Generator) -> str:
            probs = None if p is None else np.asarray(p, float) / np.sum(p)
            return str(options[int(r.choice(len(options), p=probs))])
        return draw

    def normal(mu: float, sd: float, lo: float = -1.0, hi: float = 1.0) -> Any:
        return lambda r: float(np.clip(round(float(r.normal(mu, sd)), 3), lo, hi))

    gender = fill("body.gender", choice(("female", "male")))
    male = gender == "male"
    age = fill("body.age_years", lambda r: float(round(float(np.clip(r.normal(35, 13), 18, 80)), 1)))
    fill("body.height", normal(0.0, 0.35))
    fill("body.weight", normal(0.0, 0.3))
    fill("body.muscle", normal(0.0, 0.3))
    fill("body.ancestry", choice(("african", "asian", "caucasian", "mixed")))
    ancestry = a["body"]["ancestry"]
    tone_mu = {"african": -25.0, "asian": 40.0, "caucasian": 50.0, "mixed": 25.0}[ancestry]
    ita = fill("skin.tone_ita_deg", normal(tone_mu, 10.0, -70.0, 75.0))
    fill("skin.freckles", lambda r: float(round(r.uniform(0.0, 0.35), 3)) if ita > 40 and r.random() < 0.3 else 0.0)
    fill("skin.moles", lambda r: float(round(r.uniform(0.0, 0.3), 3)))
    fill("skin.wrinkles", lambda r: float(round(np.clip((age - 25.0) / 45.0 + r.normal(0, 0.05), 0, 1), 3)))
    fill("skin.blemishes", lambda r: float(round(r.uniform(0.0, 0.25), 3)))
    fill("skin.rosacea", lambda r: float(round(r.uniform(0.15, 0.45), 3)) if ita > 35 and age > 35 and r.random() < 0.12 else 0.0)
    fill("skin.scars", lambda r: float(round(r.uniform(0.1, 0.4), 3)) if r.random() < 0.04 else 0.0)

    # oval, round, square, heart, long, diamond: square jaws are likelier on men
    fill("face.shape", choice(tuple(get_args(FaceShape)), [3, 1.5, 3, 0.5, 1.5, 1] if male else [4, 2, 0.5, 2, 1, 1]))
    fill("face.jaw_width", normal(0.2 if male else -0.25, 0.25))
    for leaf in ("chin", "cheekbones", "forehead", "ear_size", "ear_protrusion"):
        fill(f"face.{leaf}", normal(0.0, 0.3))
    # gender shows in the face from puberty on; children's faces are much alike
    puberty = float(np.clip((age - 9.0) / 8.0, 0.2, 1.0))
    fill("face.masculinity", normal((0.6 if male else -0.6) * puberty, 0.15))
    fill("face.dimples", lambda r: float(round(r.uniform(0.3, 0.8), 3)) if r.random() < 0.12 else 0.0)
    fill("face.cleft_chin", lambda r: float(round(r.uniform(0.3, 0.7), 3)) if r.random() < (0.15 if male else 0.04) else 0.0)
    fill("face.double_chin", lambda r: float(round(np.clip(
        0.8 * (float(a["body"]["weight"]) - 0.2) + (age - 45.0) / 80.0 + r.normal(0, 0.08), 0.0, 1.0), 3)))
    fill("eyes.shape", choice(tuple(get_args(EyeShape))))
    fill("eyes.size", normal(0.0, 0.3))
    fill("eyes.spacing", normal(0.0, 0.3))
    light_eyes = ita > 40 and ancestry in ("caucasian", "mixed")
    fill("eyes.iris_color", choice(IRIS_COLORS, [3, 3, 2, 1, 2, 3, 1, 1] if light_eyes else [8, 6, 2, 1, 0.3, 0.3, 0.1, 0.3]))
    for leaf in ("size", "width", "bridge"):
        fill(f"nose.{leaf}", normal(0.0, 0.3))
    fill("lips.fullness", normal(0.0, 0.3))
    fill("lips.width", normal(0.0, 0.3))

    natural = ("black", "dark_brown", "brown", "light_brown", "auburn", "blonde", "red")
    greying = float(np.clip((age - 42.0) / 20.0, 0.0, 1.0))  # from the forties on, most are grey by 62
    if age > 60 or (greying > 0 and rng("hair.greying").random() < greying):
        white = float(np.clip((age - 62.0) / 20.0, 0.0, 1.0))  # white hair mostly from the seventies
        hair_color = fill("hair.color", choice(("grey", "white", "salt_and_pepper"), [3, 0.3 + 2.7 * white, 4 - 3 * greying]))
    elif ita > 40 and ancestry in ("caucasian", "mixed"):
        hair_color = fill("hair.color", choice(natural, [1, 3, 3, 2, 1, 2, 0.5]))
    elif ita > 10:
        hair_color = fill("hair.color", choice(natural, [6, 4, 1, 0.2, 0.1, 0.1, 0.05]))
    else:
        hair_color = fill("hair.color", choice(natural, [12, 3, 0.3, 0.05, 0.05, 0.02, 0.01]))
    style = fill("hair.style", lambda r: _draw_style(r, male, age, ancestry))
    spec = get_style(style)
    curl = fill("hair.curl", lambda r: float(round(
        spec.curl if spec.curl > 0 else (r.uniform(0.6, 1.0) if ancestry == "african" else r.uniform(0.0, 0.45) ** 2 * 2), 3)))
    # a specified curl moves a family style to its matching variant (long + curly -> long_curly)
    style = a["hair"]["style"] = refine_style(style, curl, gender, by_curl=attrs.hair.style is None or attrs.hair.curl is not None)
    spec = get_style(style)
    fill("hair.length_cm", lambda r: float(round(spec.length_cm * float(r.uniform(0.85, 1.15)), 1)))
    fill("hair.part", spec.part)
    fill("hair.bangs", spec.bangs)
    receding = male and age > 40 and spec.hairline == "normal" and spec.type == "short"
    fill("hair.hairline", lambda r: "receding" if receding and r.random() < (age - 40) / 40 else spec.hairline)
    fill("hair.density", lambda r: float(round(np.clip(r.normal(0.75, 0.08) - (0.25 if male and age > 50 else 0.0), 0.2, 1.0), 3)))
    fill("hair.volume", spec.volume)
    fill("hair.highlights", lambda r: "none" if age > 60 or r.random() > 0.12 else
         ("blonde" if hair_color in ("brown", "light_brown", "dark_brown") else "none"))
    # brows are a shade darker than bright scalp hair (a redhead's brows are auburn, not red)
    brow_default = {"white": "grey", "salt_and_pepper": "grey", "red": "auburn", "ginger": "auburn",
                    "blonde": "light_brown", "strawberry_blonde": "light_brown"}.get(hair_color, hair_color)
    if brow_default in ("blue", "pink", "purple", "green", "platinum"):
        brow_default = "light_brown"
    fill("eyebrows.color", brow_default)
    # straight, arched, rounded, bushy, thick, thin
    fill("eyebrows.type", choice(tuple(get_args(EyebrowType)), [3, 1, 1, 1.5, 2, 0.3] if male else [1.5, 3, 2, 0.2, 0.5, 2]))
    # children's and old people's brows are thinner
    brow_age = -0.35 * float(np.clip((14.0 - age) / 8.0, 0.0, 1.0)) - 0.3 * float(np.clip((age - 60.0) / 30.0, 0.0, 1.0))
    fill("eyebrows.thickness", normal((0.25 if male else -0.3) + brow_age, 0.25))
    if male and age >= 16:
        # a teenager's beard is rare and thin: the styles grow in over 16-24
        grown = float(np.clip((age - 16.0) / 8.0, 0.0, 1.0))
        fill("facial_hair.type", choice(tuple(get_args(FacialHairType)),
                                        [5, 2 * (0.5 + 0.5 * grown)] + [w * grown for w in (0.5, 0.7, 1, 0.8, 0.2)]))
    else:
        fill("facial_hair.type", "none")
    fill("facial_hair.color", brow_default)
    beard_cm = {"none": 0.0, "stubble": 0.15, "mustache": 1.2, "goatee": 2.0, "short_beard": 1.2,
                "full_beard": 3.5, "long_beard": 14.0}[a["facial_hair"]["type"]]
    fill("facial_hair.length_cm", lambda r: float(round(beard_cm * float(r.uniform(0.8, 1.25)), 2)))
    fill("facial_hair.density", normal(0.55 + 0.25 * float(np.clip((age - 16.0) / 14.0, 0.0, 1.0)), 0.1, 0.1, 1.0))

    if male:
        fill("makeup.lipstick_color", "none")
        fill("makeup.eyeshadow_color", "none")
        fill("makeup.blush", 0.0)
        fill("makeup.eyeliner", False)
    else:
        fill("makeup.lipstick_color", choice(("none", "nude", "pink", "red", "burgundy"), [5, 2, 1, 1, 0.5]))
        fill("makeup.eyeshadow_color", choice(("none", "brown", "beige", "charcoal"), [6, 1, 1, 0.5]))
        fill("makeup.blush", lambda r: float(round(r.uniform(0, 0.3), 3)))
        fill("makeup.eyeliner", lambda r: bool(r.random() < 0.3))
    fill("glasses", choice(tuple(get_args(Glasses)), [8, 1, 0.5, 0.5, 0.3, 0.2, 0.3] if age < 50 else [4, 3, 1, 1, 0.3, 0.2, 0.3]))
    fill("headwear", choice(tuple(get_args(Headwear)), [12, 1, 0.7, 1, 0.3, 0.3, 0.3, 0.3]))
    garment_colors = ("black", "white", "grey", "navy", "denim", "beige", "khaki", "olive", "burgundy", "charcoal", "blue", "red", "green")
    fill("headwear_color", choice(garment_colors))
    # a layer over the top is likelier with age
    older = float(np.clip((age - 25.0) / 40.0, 0.0, 1.0))
    suit = 0.0 if age < 16 else 0.5 + 0.7 * older
    # a top the prompt names stays in sight: no layer is drawn over it
    outerwear = fill("garments.outerwear", "none" if attrs.garments.top is not None else
                     choice(("none", "jacket", "suit_jacket", "coat"), [8 - 4 * older, 2 + 0.5 * older, suit, 0.5 + 2.5 * older]))
    if outerwear == "suit_jacket":  # a suit jacket goes with a shirt, trousers and dress shoes
        fill("garments.top", "shirt")
        fill("garments.bottom", "trousers")
        fill("garments.shoes", "dress_shoes")
    top = fill("garments.top", choice(("t_shirt", "shirt", "sweater", "hoodie", "blouse", "dress") if not male else ("t_shirt", "shirt", "sweater", "hoodie")))
    fill("garments.top_color", choice(("white", "light_blue", "pink", "black"), [6, 2, 0.5, 1]) if outerwear == "suit_jacket" and top == "shirt"
         else choice(garment_colors))
    fill("garments.top_pattern", choice(*_PATTERN_DRAWS.get(top, _SOLID)))
    bottom = fill("garments.bottom", "none" if top == "dress" else choice(("jeans", "trousers", "shorts", "skirt") if not male else ("jeans", "trousers", "shorts"), None))
    bottom_pattern = fill("garments.bottom_pattern", choice(*_PATTERN_DRAWS.get(bottom, _SOLID)))
    outerwear_pattern = fill("garments.outerwear_pattern", choice(*_PATTERN_DRAWS.get(outerwear, _SOLID)))
    any_color = (garment_colors, [1.0] * len(garment_colors))
    outerwear_color = fill("garments.outerwear_color", choice(*_OWN_COLORS.get(outerwear_pattern, _OWN_COLORS.get(outerwear, any_color))))
    # a suit's trousers match its jacket
    suit_trousers = outerwear == "suit_jacket" and bottom == "trousers"
    fill("garments.bottom_color", outerwear_color if suit_trousers else choice(*_OWN_COLORS.get(bottom_pattern, any_color)))
    fill("garments.shoes", choice(("sneakers", "boots", "dress_shoes", "sandals")))
    fill("garments.shoes_color", choice(("black", "brown", "white", "grey")))
    if a["accessories"] is None:
        r = rng("accessories")
        a["accessories"] = [x for x in ("earrings", "necklace", "watch") if r.random() < (0.3 if not male or x == "watch" else 0.05)]
    return Attributes.model_validate(a)


#: Garment (or outerwear) -> (patterns, weights) it defaults to; anything else is solid.
_PATTERN_DRAWS: dict[str, tuple[tuple[str, ...], list[float]]] = {
    "jeans": (("denim",), [1]),
    "sweater": (("knit",), [1]),
    "shirt": (("solid", "stripes", "plaid"), [6, 1.5, 1.5]),
    "t_shirt": (("solid", "stripes"), [8, 1]),
    "blouse": (("solid", "stripes"), [8, 1]),
    "dress": (("solid", "stripes"), [8, 1]),
    "jacket": (("solid", "leather", "denim"), [5, 2, 1.5]),
    "suit_jacket": (("solid", "stripes", "plaid"), [8, 1, 0.5]),
    "coat": (("solid", "plaid"), [8, 1]),
}
_SOLID: tuple[tuple[str, ...], list[float]] = (("solid",), [1.0])
#: Fabrics (first) and garments that come in their own colours: (colours, weights); others draw
#: any garment colour.
_OWN_COLORS: dict[str, tuple[tuple[str, ...], list[float]]] = {
    "denim": (("denim", "navy", "black", "light_blue", "grey"), [6, 1, 1.5, 1, 0.5]),
    "leather": (("black", "brown", "dark_brown", "burgundy"), [5, 2, 2, 0.5]),
    "suit_jacket": (("navy", "charcoal", "black", "grey", "beige"), [4, 3, 2, 2, 1]),
}

_STYLE_DRAWS = {
    # (style, weight) by who: female, male, and extra weights on curly/coily (african) hair
    "female": {"bob": 2, "lob": 2, "shoulder_straight": 2, "shoulder_wavy": 2, "long_straight": 3, "long_wavy": 3,
               "ponytail_high": 1, "ponytail_low": 1.5, "bun": 1, "braid": 0.7, "pixie": 0.7, "curtain_bangs": 1.2,
               "side_swept": 1, "shag": 0.5, "long_curly": 0.6},
    "male": {"short": 5, "side_part": 3, "crew_cut": 2, "buzz": 1.5, "fade": 1.5, "undercut": 1, "slicked_back": 1,
             "messy_short": 1, "quiff": 0.5, "top_knot": 0.3, "long_straight": 0.2},
    "african": {"afro": 3, "cornrows": 1.5, "dreadlocks": 1.5, "two_braids": 1, "shoulder_curly": 1},
}
#: family variants by curl: (straight, wavy, curly) names of one length class.
_CURL_FAMILIES = (("shoulder_straight", "shoulder_wavy", "shoulder_curly"), ("long_straight", "long_wavy", "long_curly"))


def _draw_style(r: np.random.Generator, male: bool, age: float, ancestry: str) -> str:
    table = dict(_STYLE_DRAWS["male" if male else "female"])
    if ancestry == "african":
        for k, w in _STYLE_DRAWS["african"].items():
            table[k] = table.get(k, 0.0) + w * (0.4 if male else 1.0)
    if male and age > 45:
        table["receding"], table["bald"] = 2.0 + (age - 45) / 10, 1.0 + (age - 45) / 10
    names = sorted(table)
    p = np.array([table[n] for n in names], float)
    return names[int(r.choice(len(names), p=p / p.sum()))]


def refine_style(style: str, curl: float, gender: str, by_curl: bool = True) -> str:
    """A woman's "short" cut is a pixie; with ``by_curl``, the variant of ``style``'s family that
    matches ``curl`` (shoulder_straight + 0.8 -> shoulder_curly)."""
    if style == "short" and gender == "female":
        return "pixie"
    for family in _CURL_FAMILIES if by_curl else ():
        if style in family:
            return family[0 if curl < 0.3 else 1 if curl < 0.65 else 2]
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
    *groups, leaf = path.split(".")
    model: type[BaseModel] = Attributes
    for g in groups:
        model = model.model_fields[g].annotation  # type: ignore[assignment]
    ann = model.model_fields[leaf].annotation
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
