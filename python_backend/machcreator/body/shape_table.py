"""Attributes -> anny's named parameters, through one readable table (Mach §2.2, embedded path).

anny's phenotypes are in ``[0, 1]`` (``gender`` 0 = male, 1 = female, after
``PHENOTYPE_VARIATIONS["gender"] == ["male", "female"]``); its local changes are in ``[-1, 1]``
and each label moves one region (e.g. ``nose-scale-horiz-incr`` widens the nose by ~3.4 mm at
+1). A row ``(attribute, label, gain)`` adds ``gain · attribute level`` to that local change;
``{lr}`` in a label stands for both sides (``l-`` and ``r-``). Gains were chosen by measuring
each label's displacement on the default body so that a ±1 attribute is clearly visible but
stays human.

``body.ancestry`` drives anny's race phenotypes (``african``, ``asian``, ``caucasian``; "mixed"
is anny's even mix), which :func:`machcreator.body.template.load_anny` turns on (anny's default
set leaves them out). Ageing, childhood and masculinity shape the face through
:data:`DERIVED_ROWS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from machcreator.attributes import Attributes

#: anny age parameter at each age in years: anny's own "morphological age" mapping, calibrated
#: on the WHO height-for-age data (anny/data/shape_calibration/boys.pth and girls.pth,
#: ``morphological_age_mapping``, used by ``anny.shape_distribution.SimpleShapeDistribution``).
#: anny's age anchors are newborn -1/3, baby 0, child 1/3, young 2/3, old 1
#: (``make_phenotype_anchors``); MakeHuman's slider put baby at 1 y, child 11 y, young 25 y,
#: old 90 y, which this calibrated table refines.
AGE_YEARS_TO_ANNY: tuple[tuple[float, float], ...] = (
    (0.0, 0.0), (1.0, 0.05), (4.0, 0.215), (11.0, 0.415), (16.0, 0.67), (18.0, 0.72),
    (25.0, 0.74), (90.0, 1.0), (110.0, 1.0),
)
# Adults follow MakeHuman's own anchors (young 25 y, old 90 y) rather than the WHO height
# calibration, which kept every 18-64-year-old within 0.06 of each other: the same face.

#: (phenotype, value at level 0, gain per unit level); level is the attribute in [-1, 1].
#: Height 0.37 is the mean of anny's adult height distribution (boys.pth/girls.pth beta
#: anchors at age 0.67: 0.39 male, 0.35 female) -> 1.75 m men, 1.61 m women; ±1 -> ±16 cm.
PHENOTYPE_ROWS: tuple[tuple[str, str, float, float], ...] = (
    ("body.height", "height", 0.37, 0.15),
    ("body.weight", "weight", 0.5, 0.5),
    ("body.muscle", "muscle", 0.5, 0.5),
)

#: body.ancestry -> anny's race phenotypes (they are normalised to sum to 1 by anny)
ANCESTRY_PHENOTYPES: dict[str, dict[str, float]] = {
    "african": {"african": 1.0, "asian": 0.0, "caucasian": 0.0},
    "asian": {"african": 0.0, "asian": 1.0, "caucasian": 0.0},
    "caucasian": {"african": 0.0, "asian": 0.0, "caucasian": 1.0},
    "mixed": {"african": 1 / 3, "asian": 1 / 3, "caucasian": 1 / 3},
}

#: (attribute level, anny local change, gain).
LOCAL_CHANGE_ROWS: tuple[tuple[str, str, float], ...] = (
    # anny's weight and muscle phenotypes stop short of obese and bodybuilder: the torso adds to them
    ("body.weight", "measure-waist-circ-incr", 0.7),
    ("body.weight", "measure-hips-circ-incr", 0.4),
    ("body.weight", "torso-scale-depth-incr", 0.4),
    ("body.muscle", "torso-vshape-incr", 0.5),
    ("body.muscle", "torso-muscle-pectoral-incr", 0.5),
    ("body.muscle", "torso-muscle-dorsi-incr", 0.4),
    ("face.jaw_width", "chin-bones-incr", 0.7),
    ("face.jaw_width", "chin-width-incr", 0.3),
    ("face.chin", "chin-prominent-incr", 0.7),
    ("face.chin", "chin-height-incr", 0.2),
    ("face.cheekbones", "{lr}-cheek-bones-incr", 0.8),
    ("face.cheekbones", "{lr}-cheek-trans-up", 0.3),
    ("face.forehead", "forehead-scale-vert-incr", 0.4),
    ("face.forehead", "forehead-trans-forward", 0.2),
    ("face.ear_size", "{lr}-ear-scale-incr", 0.8),
    ("face.ear_protrusion", "{lr}-ear-flap-incr", 0.7),
    ("eyes.size", "{lr}-eye-scale-incr", 0.8),
    ("eyes.spacing", "{lr}-eye-trans-out", 0.8),
    # brow hair itself is a groom; a thick brow comes with a heavier brow ridge
    ("eyebrows.thickness", "eyebrows-trans-forward", 0.2),
    ("nose.size", "nose-scale-vert-incr", 0.6),
    ("nose.size", "nose-scale-horiz-incr", 0.5),
    ("nose.size", "nose-scale-depth-incr", 0.5),
    ("nose.size", "nose-volume-incr", 0.4),
    ("nose.width", "nose-scale-horiz-incr", 0.8),
    ("nose.width", "nose-nostrils-width-incr", 0.6),
    ("nose.width", "nose-width3-incr", 0.4),
    ("nose.bridge", "nose-hump-incr", 0.6),
    ("nose.bridge", "nose-scale-depth-incr", 0.3),
    ("lips.fullness", "mouth-upperlip-volume-incr", 0.8),
    ("lips.fullness", "mouth-lowerlip-volume-incr", 0.8),
    ("lips.fullness", "mouth-upperlip-height-incr", 0.3),
    ("lips.fullness", "mouth-lowerlip-height-incr", 0.3),
    ("lips.width", "mouth-scale-horiz-incr", 0.8),
)

#: derived levels (see :func:`derived_levels`) -> local changes: how a face ages and how gender
#: shows in it, beyond anny's age and gender phenotypes (which mostly change the body).
DERIVED_ROWS: tuple[tuple[str, str, float], ...] = (
    # ageing, 0 at 25 y .. 1 at 90 y: cheek fat loss and descent, jowls, folds, thinner and
    # longer upper lip, hooded lids, bags, longer nose and ears, brow descent, neck
    ("ageing", "head-age-incr", 0.8),
    ("ageing", "{lr}-cheek-volume-incr", -0.6),
    ("ageing", "{lr}-cheek-bones-incr", -0.2),
    ("ageing", "mouth-laugh-lines-out", 0.9),
    ("ageing", "mouth-angles-up", -0.5),
    ("ageing", "mouth-upperlip-volume-incr", -0.6),
    ("ageing", "mouth-lowerlip-volume-incr", -0.3),
    ("ageing", "mouth-upperlip-height-incr", 0.5),
    ("ageing", "{lr}-eye-eyefold-up", -0.6),
    ("ageing", "{lr}-eye-bag-incr", 0.8),
    ("ageing", "{lr}-eye-bag-height-incr", 0.4),
    ("ageing", "nose-scale-vert-incr", 0.35),
    ("ageing", "nose-point-up", -0.3),
    ("ageing", "{lr}-ear-scale-vert-incr", 0.5),
    ("ageing", "{lr}-ear-lobe-incr", 0.6),
    ("ageing", "eyebrows-trans-up", -0.25),
    ("ageing", "chin-jaw-drop-incr", 0.3),
    ("ageing", "neck-double-incr", 0.35),
    # childhood, 1 at 4 y .. 0 at 16 y: a small lower face, round cheeks, a small nose
    ("childhood", "{lr}-cheek-volume-incr", 0.5),
    ("childhood", "chin-height-incr", -0.4),
    ("childhood", "nose-scale-vert-incr", -0.4),
    ("childhood", "nose-point-up", 0.4),
    ("childhood", "mouth-scale-horiz-incr", -0.3),
    ("childhood", "eyebrows-trans-forward", -0.3),
    ("childhood", "{lr}-eye-scale-incr", 0.3),
    ("childhood", "forehead-scale-vert-incr", 0.3),
    ("childhood", "nose-scale-horiz-incr", -0.3),
    ("childhood", "nose-hump-incr", -0.4),
    # masculinity, -1 .. +1: brow ridge, jaw and chin, cheek fullness, lips, nose, neck
    ("masculinity", "eyebrows-trans-forward", 0.6),
    ("masculinity", "forehead-trans-forward", 0.3),
    ("masculinity", "forehead-nubian-incr", -0.3),
    ("masculinity", "chin-bones-incr", 0.7),
    ("masculinity", "chin-width-incr", 0.5),
    ("masculinity", "chin-height-incr", 0.4),
    ("masculinity", "chin-prominent-incr", 0.35),
    ("masculinity", "head-scale-horiz-incr", 0.15),
    ("masculinity", "{lr}-cheek-volume-incr", -0.3),
    ("masculinity", "{lr}-cheek-bones-incr", -0.2),
    ("masculinity", "mouth-upperlip-volume-incr", -0.4),
    ("masculinity", "mouth-lowerlip-volume-incr", -0.35),
    ("masculinity", "mouth-cupidsbow-incr", -0.4),
    ("masculinity", "nose-scale-horiz-incr", 0.35),
    ("masculinity", "nose-scale-vert-incr", 0.25),
    ("masculinity", "nose-volume-incr", 0.35),
    ("masculinity", "nose-point-up", -0.35),
    ("masculinity", "eyebrows-angle-up", -0.4),
    ("masculinity", "eyebrows-trans-up", -0.25),
    ("masculinity", "{lr}-eye-scale-incr", -0.25),
    ("masculinity", "neck-scale-horiz-incr", 0.5),
    # the face's own features
    ("face.dimples", "mouth-dimples-out", 0.9),
    ("face.cleft_chin", "chin-cleft-incr", 1.0),
    ("face.double_chin", "neck-double-incr", 0.9),
)


def derived_levels(attrs: Attributes) -> dict[str, float]:
    """The continuous levels :data:`DERIVED_ROWS` read, from resolved attributes."""
    age = float(attrs.body.age_years)
    return {
        # faster in midlife than a straight line: 45 y is 0.44, 60 y 0.70
        "ageing": float(np.clip((age - 25.0) / 65.0, 0.0, 1.0) ** 0.8),
        "childhood": float(np.clip((16.0 - age) / 12.0, 0.0, 1.0)),
        "masculinity": float(attrs.face.masculinity),
        "face.dimples": float(attrs.face.dimples),
        "face.cleft_chin": float(attrs.face.cleft_chin),
        "face.double_chin": float(attrs.face.double_chin),
    }


#: categorical attributes: (attribute, value) -> local changes it sets.
CATEGORY_ROWS: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("face.shape", "oval"): (),
    ("face.shape", "round"): (("head-fat-incr", 0.4), ("head-scale-vert-incr", -0.3),
                              ("{lr}-cheek-volume-incr", 0.4), ("chin-width-incr", 0.3)),
    ("face.shape", "square"): (("chin-bones-incr", 0.5), ("chin-width-incr", 0.5),
                               ("head-scale-horiz-incr", 0.2), ("head-scale-vert-incr", -0.2)),
    ("face.shape", "heart"): (("forehead-temple-incr", 0.5), ("chin-width-incr", -0.5),
                              ("{lr}-cheek-bones-incr", 0.3), ("chin-bones-incr", -0.3)),
    ("face.shape", "long"): (("head-scale-vert-incr", 0.5), ("head-scale-horiz-incr", -0.2),
                             ("chin-height-incr", 0.3)),
    ("face.shape", "diamond"): (("{lr}-cheek-bones-incr", 0.6), ("forehead-temple-incr", -0.4),
                                ("chin-width-incr", -0.3)),
    ("eyes.shape", "almond"): (),
    ("eyes.shape", "round"): (("{lr}-eye-height2-incr", 0.6), ("{lr}-eye-height3-incr", 0.3)),
    ("eyes.shape", "hooded"): (("{lr}-eye-eyefold-up", -0.7), ("eyebrows-trans-up", -0.3)),
    ("eyes.shape", "monolid"): (("{lr}-eye-epicanthus-out", 0.5), ("{lr}-eye-eyefold-up", -0.5)),
    ("eyes.shape", "downturned"): (("{lr}-eye-corner1-up", -0.8),),
    ("eyes.shape", "upturned"): (("{lr}-eye-corner1-up", 0.8),),
    ("eyebrows.type", "straight"): (("eyebrows-angle-up", -0.3),),
    ("eyebrows.type", "arched"): (("eyebrows-angle-up", 0.5),),
    ("eyebrows.type", "rounded"): (("eyebrows-angle-up", 0.25),),
    ("eyebrows.type", "bushy"): (("eyebrows-trans-forward", 0.2),),
    ("eyebrows.type", "thin"): (),
}


@dataclass(frozen=True)
class AnnyParameters:
    """anny's named inputs. phenotypes: label -> [0, 1]; local_changes: label -> [-1, 1]."""

    phenotypes: dict[str, float] = field(default_factory=dict)
    local_changes: dict[str, float] = field(default_factory=dict)


def anny_age(age_years: float) -> float:
    """anny's age parameter for an age in years (piecewise linear in :data:`AGE_YEARS_TO_ANNY`)."""
    years, values = zip(*AGE_YEARS_TO_ANNY)
    return float(np.interp(age_years, years, values))


def anny_parameters(attrs: Attributes) -> AnnyParameters:
    """Map resolved attributes to anny's parameters through the tables above.

    Raises ``ValueError`` if a field the tables read is unspecified (call ``resolve`` first).
    """
    def get(path: str):
        value = attrs.get_path(path)
        if value is None:
            raise ValueError(f"attribute {path!r} is unspecified; resolve the attributes first")
        return value

    phen = {"gender": 1.0 if get("body.gender") == "female" else 0.0,
            "age": anny_age(float(get("body.age_years"))),
            "cupsize": 0.5, "firmness": 0.5, **ANCESTRY_PHENOTYPES[get("body.ancestry")]}
    for path, label, base, gain in PHENOTYPE_ROWS:
        phen[label] = float(np.clip(base + gain * float(get(path)), 0.0, 1.0))

    local: dict[str, float] = {}

    def add(label: str, amount: float) -> None:
        for lab in ((label.format(lr="l"), label.format(lr="r")) if "{lr}" in label else (label,)):
            local[lab] = local.get(lab, 0.0) + amount

    for path, label, gain in LOCAL_CHANGE_ROWS:
        add(label, gain * float(get(path)))
    for path in ("face.masculinity", "face.dimples", "face.cleft_chin", "face.double_chin"):
        get(path)
    levels = derived_levels(attrs)
    for level, label, gain in DERIVED_ROWS:
        add(label, gain * levels[level])
    for (path, value), rows in CATEGORY_ROWS.items():
        if get(path) == value:
            for label, amount in rows:
                add(label, amount)
    return AnnyParameters(phenotypes=phen,
                          local_changes={k: float(np.clip(v, -1.0, 1.0)) for k, v in sorted(local.items())})
