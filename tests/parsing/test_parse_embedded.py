"""Prompt -> attributes with the embedded parser (lexicon + MiniLM synonyms), and prompt checks."""


import pytest

from machcreator.core.errors import PromptError
from machcreator.parsing import ParseResult, check_prompt, get_parser
from machcreator.parsing.embedded import EmbeddedParser, correct_spelling, tokenize


@pytest.fixture(scope="module")
def parser() -> EmbeddedParser:
    p = get_parser("embedded")
    p.parse("a spectacled woman")  # loads MiniLM and the lexicon embeddings once for the module
    return p


def _ok(actual, expected) -> bool:
    """Expected: a value, a (lo, hi) number range, or a set of allowed values."""
    if isinstance(expected, tuple):
        return actual is not None and expected[0] <= actual <= expected[1]
    if isinstance(expected, set):
        return actual in expected
    return actual == expected


CASES = [
    # the issue's examples
    ("a young woman with long curly red hair, green eyes and freckles",
     {"body.gender": "female", "body.age_years": (20, 30), "hair.style": "long_straight", "hair.curl": (0.7, 1.0),
      "hair.color": "red", "eyes.iris_color": "green", "skin.freckles": (0.3, 1.0)}),
    ("an old fisherman with a grey beard and a wool cap",
     {"body.gender": "male", "body.age_years": (60, 95), "facial_hair.type": {"full_beard", "short_beard"},
      "facial_hair.color": "grey", "headwear": "wool_cap"}),
    ("ginger", {"hair.color": {"ginger", "red", "auburn", "strawberry_blonde"}}),
    ("a woman in her forties", {"body.gender": "female", "body.age_years": (43, 47)}),
    ("no glasses", {"glasses": "none"}),
    ("clean-shaven", {"facial_hair.type": "none"}),
    # gender
    ("a lady", {"body.gender": "female"}),
    ("a gentleman", {"body.gender": "male"}),
    ("she has blue eyes", {"body.gender": "female", "eyes.iris_color": "blue"}),
    ("a guy", {"body.gender": "male"}),
    # ages and numbers
    ("a 42-year-old man", {"body.age_years": 42.0, "body.gender": "male"}),
    ("a man aged 30", {"body.age_years": 30.0}),
    ("a woman, 30 years old", {"body.age_years": 30.0}),
    ("a forty-two year old woman", {"body.age_years": 42.0}),
    ("a man in his early thirties", {"body.age_years": (31, 33), "body.gender": "male"}),
    ("a woman in her late 20s", {"body.age_years": (27, 29)}),
    ("a toddler", {"body.age_years": (1, 4)}),
    ("a child", {"body.age_years": (5, 12)}),
    ("a teenager", {"body.age_years": (13, 19)}),
    ("a middle-aged man", {"body.age_years": (40, 55)}),
    ("an elderly woman", {"body.age_years": (70, 90)}),
    ("a very old man", {"body.age_years": (75, 95)}),
    ("a man 180 cm tall", {"body.height": (0.05, 0.3)}),
    # stature and build, intensifiers
    ("a tall man", {"body.height": (0.4, 0.6)}),
    ("a very tall man", {"body.height": (0.7, 1.0)}),
    ("a slightly tall man", {"body.height": (0.1, 0.35)}),
    ("a short woman", {"body.height": (-1.0, -0.3)}),
    ("a muscular man", {"body.muscle": (0.5, 1.0)}),
    ("a skinny boy", {"body.weight": (-1.0, -0.5)}),
    ("an overweight woman", {"body.weight": (0.4, 1.0)}),
    ("a chubby man", {"body.weight": (0.2, 1.0)}),
    # negation
    ("a man who is not tall", {"body.height": (-0.6, -0.1)}),
    ("a man without a beard", {"facial_hair.type": "none"}),
    ("an old man with no beard or moustache", {"facial_hair.type": "none"}),
    ("a beardless young man", {"facial_hair.type": "none"}),
    ("a woman with no makeup", {"makeup.lipstick_color": "none", "makeup.eyeliner": False}),
    ("no hat, no glasses", {"headwear": "none", "glasses": "none"}),
    ("a woman without freckles", {"skin.freckles": 0.0}),
    # skin and ancestry
    ("a woman with pale skin", {"skin.tone_ita_deg": (50, 75)}),
    ("a dark-skinned man", {"skin.tone_ita_deg": (-70, -20)}),
    ("a man with olive skin", {"skin.tone_ita_deg": (25, 40)}),
    ("a woman with ebony skin", {"skin.tone_ita_deg": (-70, -30)}),
    ("a Japanese woman", {"body.ancestry": "asian"}),
    ("a black woman with white hair", {"body.ancestry": "african", "hair.color": "white"}),
    ("a wrinkled old face with moles", {"skin.wrinkles": (0.4, 1.0), "skin.moles": (0.2, 1.0)}),
    # face
    ("a round face", {"face.shape": "round"}),
    ("a heart-shaped face", {"face.shape": "heart"}),
    ("a strong jaw and high cheekbones", {"face.jaw_width": (0.4, 1.0), "face.cheekbones": (0.4, 1.0)}),
    ("a weak chin", {"face.chin": (-1.0, -0.3)}),
    ("big ears that stick out", {"face.ear_size": (0.3, 1.0)}),
    # eyes and brows
    ("almond-shaped eyes", {"eyes.shape": "almond"}),
    ("big eyes", {"eyes.size": (0.4, 1.0)}),
    ("close-set eyes", {"eyes.spacing": (-1.0, -0.3)}),
    ("a blue-eyed man", {"eyes.iris_color": "blue"}),
    ("a hazel-eyed girl", {"eyes.iris_color": "hazel", "body.gender": "female"}),
    ("dark eyes", {"eyes.iris_color": "dark_brown"}),
    ("thick bushy eyebrows", {"eyebrows.type": "bushy", "eyebrows.thickness": (0.5, 1.0)}),
    ("thin arched eyebrows", {"eyebrows.type": "arched"}),
    ("black eyebrows", {"eyebrows.color": "black"}),
    # nose and lips
    ("a small nose", {"nose.size": (-1.0, -0.3)}),
    ("a button nose", {"nose.size": (-1.0, -0.3)}),
    ("a hooked nose", {"nose.bridge": (0.5, 1.0)}),
    ("a broad nose", {"nose.width": (0.4, 1.0)}),
    ("full lips", {"lips.fullness": (0.4, 1.0)}),
    ("thin lips", {"lips.fullness": (-1.0, -0.3)}),
    # make-up: colour binds to the noun it describes
    ("red lipstick", {"makeup.lipstick_color": "red"}),
    ("red hair and red lipstick", {"hair.color": "red", "makeup.lipstick_color": "red"}),
    ("smoky eyes", {"makeup.eyeshadow_color": "charcoal", "makeup.eyeliner": True}),
    # hair
    ("a buzz cut", {"hair.style": "buzz"}),
    ("a bald man", {"hair.style": "bald"}),
    ("a ponytail", {"hair.style": "ponytail_high"}),
    ("a low ponytail", {"hair.style": "ponytail_low"}),
    ("two pigtails", {"hair.style": "pigtails"}),
    ("a messy bun", {"hair.style": "top_knot"}),
    ("cornrows", {"hair.style": "cornrows"}),
    ("a mohawk", {"hair.style": "mohawk"}),
    ("a receding hairline", {"hair.style": "receding"}),
    ("thinning hair", {"hair.hairline": "receding", "hair.density": (0.2, 0.4)}),
    ("a widow's peak", {"hair.hairline": "widows_peak"}),
    ("an afro", {"hair.style": "afro", "hair.curl": (0.9, 1.0)}),
    ("short straight black hair with a fringe", {"hair.style": "short", "hair.curl": 0.0, "hair.color": "black",
                                                 "hair.bangs": "fringe"}),
    ("shoulder-length wavy blonde hair", {"hair.style": "shoulder_wavy", "hair.curl": (0.3, 0.7), "hair.color": "blonde"}),
    ("hair: red", {"hair.color": "red"}),
    ("her hair is long and curly", {"hair.style": "long_straight", "hair.curl": (0.7, 1.0)}),
    ("a blonde woman", {"hair.color": "blonde", "body.gender": "female"}),
    ("dark brown hair parted in the middle", {"hair.color": "dark_brown", "hair.part": "center"}),
    ("grey hair", {"hair.color": "grey"}),
    ("gray hair", {"hair.color": "grey"}),
    ("silver hair", {"hair.color": "grey"}),
    # facial hair
    ("a goatee", {"facial_hair.type": "goatee"}),
    ("a mustache", {"facial_hair.type": "mustache"}),
    ("a moustache", {"facial_hair.type": "mustache"}),
    ("stubble", {"facial_hair.type": "stubble"}),
    ("a short brown beard", {"facial_hair.type": "short_beard", "facial_hair.color": "brown"}),
    ("a long white beard", {"facial_hair.type": "long_beard", "facial_hair.color": "white"}),
    # glasses and headwear
    ("glasses", {"glasses": {"rectangular", "round", "reading"}}),
    ("spectacles", {"glasses": {"rectangular", "round", "reading"}}),
    ("round glasses", {"glasses": "round"}),
    ("sunglasses", {"glasses": "sunglasses"}),
    ("a beanie", {"headwear": "beanie"}),
    ("a toque", {"headwear": "beanie"}),
    ("a watch cap", {"headwear": "wool_cap"}),
    ("a knit cap with a cuff", {"headwear": "wool_cap"}),
    ("a red beanie", {"headwear": "beanie", "headwear_color": "red"}),
    ("cat-eye glasses", {"glasses": "cat_eye"}),
    ("cat eye frames", {"glasses": "cat_eye"}),
    ("a baseball cap", {"headwear": "baseball_cap"}),
    ("a hat", {"headwear": {"fedora"}}),
    # garments with colours
    ("a red hoodie", {"garments.top": "hoodie", "garments.top_color": "red"}),
    ("blue jeans and brown boots", {"garments.bottom": "jeans", "garments.bottom_color": "blue",
                                   "garments.shoes": "boots", "garments.shoes_color": "brown"}),
    ("a man in a red jacket with red hair", {"garments.outerwear_color": "red", "hair.color": "red"}),
    ("a black leather jacket", {"garments.outerwear": "jacket", "garments.outerwear_color": "black",
                                "garments.outerwear_pattern": "leather", "garments.top": None}),
    ("a denim jacket", {"garments.outerwear": "jacket", "garments.outerwear_pattern": "denim"}),
    ("a grey wool coat", {"garments.outerwear": "coat", "garments.outerwear_color": "grey",
                          "garments.outerwear_pattern": "knit"}),
    ("a parka", {"garments.outerwear": "coat"}),
    ("a navy blazer", {"garments.outerwear": "suit_jacket", "garments.outerwear_color": "navy", "garments.top": None}),
    # a suit implies a shirt and trousers unless the prompt says otherwise
    ("a navy suit and a tie", {"garments.outerwear": "suit_jacket", "garments.outerwear_color": "navy",
                               "garments.top": "shirt", "garments.bottom": "trousers", "accessories": ["tie"]}),
    ("a man in a tuxedo", {"garments.outerwear": "suit_jacket", "garments.top": "shirt", "garments.bottom": "trousers"}),
    ("a black t-shirt under a grey suit", {"garments.top": "t_shirt", "garments.top_color": "black",
                                           "garments.outerwear": "suit_jacket", "garments.outerwear_color": "grey"}),
    ("a woman without a coat", {"garments.outerwear": "none"}),
    ("a cardigan", {"garments.top": "sweater"}),
    # fabric patterns bind to the garment they describe, before it or after it
    ("a red plaid flannel shirt", {"garments.top": "shirt", "garments.top_color": "red", "garments.top_pattern": "plaid"}),
    ("a flannel shirt", {"garments.top": "shirt", "garments.top_pattern": "plaid"}),
    ("a shirt with stripes", {"garments.top": "shirt", "garments.top_pattern": "stripes"}),
    ("a red shirt with white stripes", {"garments.top_color": "red", "garments.top_pattern": "stripes"}),
    ("a striped sweater and tartan trousers", {"garments.top_pattern": "stripes", "garments.bottom": "trousers",
                                               "garments.bottom_pattern": "plaid"}),
    ("a cable-knit sweater", {"garments.top": "sweater", "garments.top_pattern": "knit"}),
    ("a denim skirt", {"garments.bottom": "skirt", "garments.bottom_pattern": "denim"}),
    ("black leather trousers", {"garments.bottom_color": "black", "garments.bottom_pattern": "leather"}),
    ("a swimsuit", {"garments.outerwear": None, "garments.top": None}),
    ("earrings and a necklace", {"accessories": ["earrings", "necklace"]}),
    # case and punctuation
    ("A YOUNG WOMAN WITH GREEN EYES!!!", {"body.gender": "female", "eyes.iris_color": "green"}),
    ("man; old. beard?", {"body.gender": "male", "facial_hair.type": "full_beard"}),
    # MiniLM synonyms: words the lexicon does not list
    ("a spectacled man", {"glasses": {"rectangular", "round", "reading"}}),
    ("a petite woman", {"body.height": (-1.0, -0.2)}),
    ("a geriatric man", {"body.age_years": (65, 95)}),
    ("a moustachioed man", {"facial_hair.type": "mustache"}),
    ("a gigantic man", {"body.height": (0.2, 1.0)}),
    ("ponytailed hair", {"hair.style": "ponytail_high"}),
]


@pytest.mark.parametrize(("prompt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_prompt_sets_attributes(parser, prompt, expected):
    result = parser.parse(prompt)
    attrs = result.attributes
    for path, want in expected.items():
        assert _ok(attrs.get_path(path), want), f"{path}={attrs.get_path(path)!r}, wanted {want!r}; {result.matches}"


def test_only_what_the_prompt_says_is_set(parser):
    specified = parser.parse("a woman with green eyes").attributes.specified()
    assert specified == {"body.gender": "female", "eyes.iris_color": "green"}


def test_crimson_hair_is_red_and_colour_words_bind_to_their_nouns(parser):
    a = parser.parse("crimson hair, a blue jacket and green eyes").attributes
    assert (a.hair.color, a.garments.outerwear_color, a.eyes.iris_color) == ("red", "blue", "green")


def test_colours_and_patterns_bind_to_each_garment_of_a_layered_outfit(parser):
    g = parser.parse("a red beanie, a black leather jacket over a striped white t-shirt, blue jeans").attributes
    assert (g.headwear, g.headwear_color) == ("beanie", "red")
    assert (g.garments.outerwear, g.garments.outerwear_color, g.garments.outerwear_pattern) == ("jacket", "black", "leather")
    assert (g.garments.top, g.garments.top_color, g.garments.top_pattern) == ("t_shirt", "white", "stripes")
    assert (g.garments.bottom, g.garments.bottom_color) == ("jeans", "blue")


def test_intensity_orders_levels(parser):
    h = [parser.parse(f"a {q}tall man").attributes.body.height for q in ("slightly ", "", "very ", "extremely ")]
    assert h == sorted(h) and len(set(h)) == 4


def test_unknown_words_are_reported_without_stop_words(parser):
    result = parser.parse("a woman with a flibbertigibbet")
    assert result.unknown_words == ["flibbertigibbet"]
    assert result.attributes.body.gender == "female"


def test_matches_explain_each_value(parser):
    result = parser.parse("long curly red hair")
    assert ("red hair", "hair.color", "red") in result.matches
    assert {path for _, path, _ in result.matches} == set(result.attributes.specified())


def test_synonym_is_named_in_matches(parser):
    result = parser.parse("a spectacled man")
    assert any("spectacled" in phrase and path == "glasses" for phrase, path, _ in result.matches)
    assert result.unknown_words == []


def test_unattached_colour_warns(parser):
    result = parser.parse("a man with purple")
    assert result.attributes.hair.color is None
    assert any("purple" in w for w in result.warnings)


def test_parse_is_deterministic(parser):
    prompt = "a tall, slightly chubby spectacled fisherman with a crimson beard and a flibbertigibbet"
    assert parser.parse(prompt + " ") == parser.parse(prompt)


def test_misspelt_words_are_read_as_the_word_they_are_closest_to(parser):
    result = parser.parse("a gingr woman in her fourties with no glases")
    assert result.attributes.hair.color == "ginger"
    assert result.attributes.body.age_years == 45.0
    assert result.attributes.glasses == "none"
    assert result.unknown_words == []
    assert "read 'gingr' as 'ginger'" in result.warnings


def test_real_words_are_not_corrected_into_lexicon_words(parser):
    result = parser.parse("a woman with a feather")  # not "father": the gender must stay female
    assert result.attributes.body.gender == "female"
    assert not any("feather" in w and "read" in w for w in result.warnings)
    tokens, fixed = correct_spelling(["red", "hair", "earrings", "bald", "bold"])
    assert fixed == [] and tokens == ["red", "hair", "earrings", "bald", "bold"]


def test_tokenize_splits_hyphens_and_reads_number_words():
    assert tokenize("A Forty-Two-year-old man's RED hair!") == ["a", "42", "year", "old", "man", "red", "hair", "!"]


def test_parse_result_is_json_round_trippable(parser):
    result = parser.parse("an old fisherman with a grey beard")
    assert ParseResult.model_validate_json(result.model_dump_json()).attributes == result.attributes


# --- prompt checks ---------------------------------------------------------------------------

def test_check_prompt_cleans_text():
    assert check_prompt("  a woman\n") == "a woman"
    assert check_prompt("a café owner".encode()) == "a café owner"


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("a" * 2001, "2001 characters"),
        (b"a \xff\xfe woman", "not UTF-8"),
        ("a wo\x00man", "NUL"),
        ("a woman\x07", "control character"),
        ("\u200b\u200c\u200d\u2060\ufeffab", "not printable"),
    ],
    ids=["empty", "whitespace", "too-long", "not-utf8", "nul", "control", "non-printable"],
)
def test_check_prompt_rejects(prompt, message):
    with pytest.raises(PromptError, match=message):
        check_prompt(prompt)


def test_get_parser_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="unknown parser"):
        get_parser("magic")
    with pytest.raises(ValueError, match="no options"):
        get_parser("embedded", model_dir="x")
