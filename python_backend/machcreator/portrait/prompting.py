"""The portrait's prompt and negative prompt, from the resolved attributes (Mach §2.1: the
attributes become the text clues beside the visual ones).

A prompt is a list of clauses in order of importance: the framing the photo path needs (a frontal,
neutral, evenly lit face it can fit and delight), then who the person is, then the studio finish,
then the user's own words. Stable Diffusion's text encoders (CLIP ViT-L for SD1.5; ViT-L and
bigG for SDXL, same tokenizer) read 77 token positions, two of them begin and end markers: clauses
that would not fit are dropped from the end, the user's words cut word by word, so the important
clauses are never the ones truncated away.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from machcreator.attributes import Attributes
from machcreator.core.hair_styles import get_style

#: token positions a prompt may fill: 77 in CLIP's text encoders, less the begin and end markers
TOKEN_BUDGET = {"sd15": 75, "sdxl": 75}

#: what the photo path needs of the portrait, most important first (a frontal neutral face)
FRAMING = ("frontal studio portrait", "head and shoulders", "looking at the camera", "neutral expression",
           "mouth closed", "eyes open")
#: the studio finish that makes the portrait easy to delight, after who the person is
FINISH = ("even soft light", "plain grey background", "sharp focus", "photorealistic")
#: what a portrait for fitting must not show, most important first
NEGATIVE = ("smile", "open mouth", "teeth", "closed eyes", "tilted head", "profile", "looking away",
            "harsh shadows")
#: the defects of a generated image, after the attribute-driven exclusions
NEGATIVE_FINISH = ("deformed", "cartoon", "painting", "3d render", "lowres", "blurry", "watermark", "text")

#: skin tone words by ITA angle (degrees), Chardon et al. 1991's six categories: lower bound, word
ITA_WORDS = ((55.0, "very fair skin"), (41.0, "fair skin"), (28.0, "light olive skin"), (10.0, "tan skin"),
             (-30.0, "brown skin"), (-90.0, "dark brown skin"))
ANCESTRY_WORDS = {"african": "African", "asian": "Asian", "caucasian": "Caucasian", "mixed": "mixed-race"}
BEARD_WORDS = {"stubble": "stubble", "mustache": "mustache", "goatee": "goatee", "short_beard": "short beard",
               "full_beard": "full beard", "long_beard": "long beard"}
GLASSES_WORDS = {"reading": "reading glasses", "round": "round glasses", "rectangular": "rectangular glasses",
                 "aviator": "aviator glasses", "cat_eye": "cat-eye glasses", "sunglasses": "sunglasses"}
#: amounts (0..1) from which a skin feature is worth a word
SKIN_MARK_FROM = {"freckles": 0.3, "wrinkles": 0.5, "rosacea": 0.5, "scars": 0.5, "moles": 0.6}
SKIN_MARK_WORDS = {"freckles": "freckles", "wrinkles": "wrinkles", "rosacea": "rosy cheeks", "scars": "facial scar",
                   "moles": "moles"}
#: blush from this amount (0..1) is named
BLUSH_FROM = 0.3

_TOKEN = re.compile(r"[a-z]+|\d|[^\sa-z\d]", re.IGNORECASE)
#: letters CLIP's BPE keeps in one token for the estimate: common English words are one token,
#: longer ones ("photorealistic") are split, so a long word counts one token per this many letters
WORD_PIECE_LETTERS = 8


def clip_token_estimate(text: str) -> int:
    """An upper estimate of CLIP's BPE token count of ``text`` (begin/end markers excluded):
    each punctuation mark and digit one token, each word one per :data:`WORD_PIECE_LETTERS`
    letters. Used where the model's own tokenizer is not at hand."""
    return sum(1 + (len(t) - 1) // WORD_PIECE_LETTERS for t in _TOKEN.findall(text))


def portrait_prompts(resolved: Attributes, prompt: str, arch: str,
                     count_tokens: Callable[[str], int] = clip_token_estimate) -> tuple[str, str]:
    """(prompt, negative prompt) for the portrait of the person ``resolved`` describes.

    Args:
        resolved: a resolved attribute record (every field set; see :func:`machcreator.attributes.resolve`).
        prompt: the user's text, added last, as many of its words as fit.
        arch: "sd15" or "sdxl" (the text encoders' token budget).
        count_tokens: tokens of a text without begin/end markers; the pipeline's own tokenizer
            where it is loaded, else :func:`clip_token_estimate`.
    """
    if arch not in TOKEN_BUDGET:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {', '.join(TOKEN_BUDGET)}")
    budget = TOKEN_BUDGET[arch]
    positive = _fit([*FRAMING, *person_clauses(resolved), *FINISH], budget, count_tokens)
    positive = _add_words(positive, prompt, budget, count_tokens)
    negative = _fit([*NEGATIVE, *absent_clauses(resolved), *NEGATIVE_FINISH], budget, count_tokens)
    return positive, negative


def person_clauses(a: Attributes) -> list[str]:
    """Who the portrait shows, in words, most telling first: age and gender, skin, hair, eyes,
    facial hair, glasses, make-up, skin marks. Headwear and garments are left to the text: the
    photo path takes the face and the hair from the portrait, the rest is dressed from assets."""
    clauses = [_person(a), _skin_tone(a.skin.tone_ita_deg), *_hair(a), f"{_words(a.eyes.iris_color)} eyes"]
    if a.facial_hair.type in BEARD_WORDS:
        color = "" if a.facial_hair.color in (None, a.hair.color) else f"{_words(a.facial_hair.color)} "
        clauses.append(color + BEARD_WORDS[a.facial_hair.type])
    elif a.body.gender == "male" and a.body.age_years >= 16:
        clauses.append("clean-shaven")
    if a.glasses in GLASSES_WORDS:
        clauses.append(GLASSES_WORDS[a.glasses])
    clauses += _makeup(a)
    clauses += [SKIN_MARK_WORDS[k] for k, lo in SKIN_MARK_FROM.items() if (getattr(a.skin, k) or 0.0) >= lo]
    return clauses


def absent_clauses(a: Attributes) -> list[str]:
    """What the attributes say the person does not have, for the negative prompt: the text wins
    over what the model would add by habit (a beard on a man, glasses on the old, a hat)."""
    out = []
    if a.facial_hair.type in (None, "none"):
        out.append("beard")
    if a.glasses in (None, "none"):
        out.append("glasses")
    if a.headwear in (None, "none"):
        out.append("hat")
    return out


def _person(a: Attributes) -> str:
    """"42-year-old Caucasian man": age in years, ancestry, and the noun for the age and gender."""
    age, female = a.body.age_years, a.body.gender == "female"
    if age < 3:
        noun = "baby girl" if female else "baby boy"
    elif age < 13:
        noun = "girl" if female else "boy"
    elif age < 18:
        noun = "teenage girl" if female else "teenage boy"
    elif age < 65:
        noun = "woman" if female else "man"
    else:
        noun = "elderly woman" if female else "elderly man"
    return f"{round(age)}-year-old {ANCESTRY_WORDS.get(a.body.ancestry or '', '')} {noun}".replace("  ", " ")


def _skin_tone(ita_deg: float) -> str:
    return next(word for lo, word in ITA_WORDS if ita_deg >= lo)


def _hair(a: Attributes) -> list[str]:
    """"auburn hair", "shoulder length curly hairstyle" (the style's first name for itself), highlights."""
    style = get_style(a.hair.style)
    if style.type == "bald":
        return ["bald head"]
    out = [f"{_words(a.hair.color)} hair", f"{style.aliases[0] if style.aliases else _words(style.name)} hairstyle"]
    if a.hair.highlights not in (None, "none"):
        out.append(f"{_words(a.hair.highlights)} highlights")
    return out


def _makeup(a: Attributes) -> list[str]:
    m = a.makeup
    out = []
    if m.lipstick_color not in (None, "none"):
        out.append(f"{_words(m.lipstick_color)} lipstick")
    if m.eyeshadow_color not in (None, "none"):
        out.append(f"{_words(m.eyeshadow_color)} eyeshadow")
    if m.eyeliner:
        out.append("eyeliner")
    if (m.blush or 0.0) >= BLUSH_FROM:
        out.append("blush")
    return out


def _words(name: str | None) -> str:
    return (name or "").replace("_", " ")


def _fit(clauses: list[str], budget: int, count_tokens: Callable[[str], int]) -> str:
    """The clauses joined by commas, in order, leaving out any that would go over ``budget``."""
    text = ""
    for clause in clauses:
        candidate = f"{text}, {clause}" if text else clause
        if count_tokens(candidate) <= budget:
            text = candidate
    return text


def _add_words(text: str, words: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """``text``, then as many of ``words``' words (in order) as fit the budget."""
    kept: list[str] = []
    for word in words.split():
        if count_tokens(", ".join([text, " ".join([*kept, word])])) > budget:
            break
        kept.append(word)
    kept[-1:] = [w.rstrip(",;:") for w in kept[-1:]]  # a cut ends on a word, not on its comma
    return ", ".join([text, " ".join(kept)]) if kept else text
