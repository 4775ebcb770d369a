"""The attribute record: validation, dotted overrides, seeded completion."""

import pytest

from machcreator.attributes import Attributes, apply_overrides, literal_values, resolve
from machcreator.core.errors import AttributeOverrideError


def test_unspecified_fields_are_none_and_specified_lists_only_set_ones():
    a = Attributes().with_value("hair.color", "red")
    assert a.body.gender is None
    assert a.specified() == {"hair.color": "red"}


def test_resolve_fills_every_field():
    r = resolve(Attributes(), seed=3)
    missing = [p for p in Attributes.field_paths() if r.get_path(p) is None]
    assert missing == []


def test_same_seed_same_person_other_seed_other_person():
    assert resolve(Attributes(), 7) == resolve(Attributes(), 7)
    people = {resolve(Attributes(), s).model_dump_json() for s in range(6)}
    assert len(people) == 6


def test_resolve_keeps_specified_values():
    a = apply_overrides(Attributes(), ["body.gender=female", "hair.color=blonde", "glasses=none"])
    r = resolve(a, 11)
    assert (r.body.gender, r.hair.color, r.glasses) == ("female", "blonde", "none")


def test_specifying_one_field_does_not_reshuffle_the_others():
    base = resolve(Attributes(), 5)
    edited = resolve(Attributes().with_value("glasses", "round"), 5)
    assert edited.glasses == "round"
    assert edited.nose == base.nose and edited.skin == base.skin


def test_resolve_is_plausible_for_old_men():
    a = apply_overrides(Attributes(), ["body.gender=male", "body.age_years=78"])
    for seed in range(5):
        r = resolve(a, seed)
        assert r.hair.color in ("grey", "white", "salt_and_pepper")
        assert r.skin.wrinkles > 0.7
        assert r.makeup.lipstick_color == "none"


def test_women_get_no_beard_by_default():
    a = Attributes().with_value("body.gender", "female")
    assert all(resolve(a, s).facial_hair.type == "none" for s in range(8))


@pytest.mark.parametrize(
    "assignment, path, value",
    [
        ("hair.color=Blonde", "hair.color", "blonde"),
        ("hair.color=gray", "hair.color", "grey"),
        ("body.age_years=40", "body.age_years", 40.0),
        ("hair.bangs=curtain", "hair.bangs", "curtain"),
        ("accessories=watch,earrings", "accessories", ["watch", "earrings"]),
        ("facial_hair.type=full beard", "facial_hair.type", "full_beard"),
        ("glasses=unspecified", "glasses", None),
    ],
)
def test_overrides_coerce_text_to_the_field_type(assignment, path, value):
    assert apply_overrides(Attributes(), [assignment]).get_path(path) == value


@pytest.mark.parametrize(
    "assignment, words",
    [
        ("hair.colour=red", "unknown attribute 'hair.colour'"),
        ("hair=red", "unknown attribute 'hair'"),
        ("body.age_years=old", "expected a number"),
        ("body.age_years=400", "less than or equal to 95"),
        ("hair.style=ponytial", "invalid value 'ponytial' for hair.style: unknown hair style 'ponytial'; did you mean ponytail_low"),
        ("hair.color=chartreuse", "unknown colour"),
        ("hair.color", "PATH=VALUE"),
    ],
)
def test_bad_overrides_give_one_clear_error(assignment, words):
    with pytest.raises(AttributeOverrideError, match=words.replace("(", r"\(")):
        apply_overrides(Attributes(), [assignment])


def test_literal_values_lists_allowed_words():
    assert {"ponytail_high", "bun", "afro", "cornrows"} <= set(literal_values("hair.style"))
    assert "watch" in literal_values("accessories")
    assert literal_values("body.age_years") == ()


def test_suit_jacket_brings_a_shirt_trousers_and_dress_shoes_unless_told_otherwise():
    r = resolve(Attributes().with_value("garments.outerwear", "suit_jacket"), 2)
    assert (r.garments.top, r.garments.bottom, r.garments.shoes) == ("shirt", "trousers", "dress_shoes")
    assert r.garments.bottom_color == r.garments.outerwear_color  # a suit's trousers match its jacket
    told = apply_overrides(Attributes(), ["garments.outerwear=suit_jacket", "garments.top=t_shirt", "garments.bottom=jeans"])
    r = resolve(told, 2)
    assert (r.garments.top, r.garments.bottom, r.garments.shoes) == ("t_shirt", "jeans", "dress_shoes")


def test_a_top_the_prompt_names_is_never_hidden_under_a_drawn_layer():
    for top in ("dress", "sweater", "t_shirt"):
        a = Attributes().with_value("garments.top", top)
        assert {resolve(a, s).garments.outerwear for s in range(40)} == {"none"}
    named = apply_overrides(Attributes(), ["garments.top=sweater", "garments.outerwear=coat"])
    assert resolve(named, 0).garments.outerwear == "coat"


def test_older_people_wear_a_layer_more_often():
    def layered(age: float) -> int:
        a = Attributes().with_value("body.age_years", age)
        return sum(resolve(a, s).garments.outerwear != "none" for s in range(80))
    assert layered(70.0) > layered(20.0) + 10


def test_patterns_default_by_garment():
    jeans = apply_overrides(Attributes(), ["garments.bottom=jeans", "garments.top=sweater"])
    for s in range(5):
        g = resolve(jeans, s).garments
        assert (g.bottom_pattern, g.top_pattern) == ("denim", "knit")
    hoodie = Attributes().with_value("garments.top", "hoodie")
    assert {resolve(hoodie, s).garments.top_pattern for s in range(10)} == {"solid"}
    shirts = Attributes().with_value("garments.top", "shirt")
    assert {resolve(shirts, s).garments.top_pattern for s in range(60)} == {"solid", "stripes", "plaid"}


def test_new_garment_fields_validate():
    a = apply_overrides(Attributes(), ["headwear=beanie", "headwear_color=Gray", "glasses=cat eye",
                                       "garments.outerwear_pattern=leather"])
    assert (a.headwear, a.headwear_color, a.glasses, a.garments.outerwear_pattern) == ("beanie", "grey", "cat_eye", "leather")
    for bad in ("garments.top=jacket", "garments.outerwear_color=chartreuse", "garments.top_pattern=polka_dots"):
        with pytest.raises(AttributeOverrideError):
            apply_overrides(Attributes(), [bad])


def test_teenage_boys_rarely_have_beards():
    def bearded(age: float) -> int:
        a = Attributes().with_value("body.gender", "male").with_value("body.age_years", age)
        return sum(resolve(a, s).facial_hair.type not in ("none", "stubble") for s in range(60))
    assert bearded(16.0) == 0 and bearded(40.0) > 10


def test_resolve_tables_draw_only_words_their_fields_accept():
    from machcreator import attributes as at
    from machcreator.core.hair_styles import STYLES

    paths = set(Attributes.field_paths())
    assert set(at.LEVEL_SD) | set(at.GENDERED_LEVELS) | set(at.AMOUNT_DRAWS) | set(at.SUIT) <= paths
    assert all(set(t) <= set(at.IRIS_COLORS) for t in at.IRIS_WEIGHTS.values())
    assert all(set(t) <= set(at.HAIR_COLORS) for t in at.HAIR_COLOR_WEIGHTS.values())
    assert set(at.GREY_WEIGHTS) | set(at.BROW_COLOR_OF_HAIR.values()) <= set(at.HAIR_COLORS)
    colors = set(at.COLORS)
    assert set(at.GARMENT_COLORS) | set(at.SHOE_COLORS) | set(at.SUIT_SHIRT_COLOR_WEIGHTS) <= colors
    assert all(set(t) <= colors for t in at.OWN_COLOR_WEIGHTS.values())
    assert set(at.LIPSTICK_WEIGHTS) | set(at.EYESHADOW_WEIGHTS) <= colors | {"none"}
    assert all(set(t) <= set(STYLES) for t in at.STYLE_WEIGHTS.values())
    assert set(at.BALDING_BASE_WEIGHT) <= set(STYLES)
    assert {name for family in at.CURL_FAMILIES for name in family} <= set(STYLES)
