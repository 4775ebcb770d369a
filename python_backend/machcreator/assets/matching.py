"""Pick the character's assets from the library: attributes first, then text similarity (Mach §2.5).

The paper matches garments, glasses and hats to the prompt by CLIP text similarity between the
prompt and each asset's tags. We do the same per *slot* (top, bottom, outerwear, shoes, glasses,
headwear, accessories), with three rules on top:

1. **Attributes win.** A slot whose attribute the prompt or an override specified
   (``garments.top = shirt``) gets an asset realising that value; among several (a studio's
   "red flannel" and the built-in shirt both realise ``shirt``) the best text match wins, and a
   studio asset only when its match clears the threshold.
2. **Similarity** fills unspecified slots: the prompt is cut into phrases ("a man in a parka,
   kicks and a fisherman's cap" -> "parka", "kicks", "fisherman's cap"), each phrase goes to the
   category of its best asset (it must beat every other category, and a set of body words -
   "hair", "beard", "eyes" - so "long red hair" never becomes a hood), and the best asset of a
   slot is taken when its cosine similarity reaches ``threshold``.
3. **Seed fallback.** Nothing fits: the seed's resolved value's built-in asset; "none" and
   "barefoot" give nothing.

Colours and fabric patterns come from the resolved attributes; an accessory's from the colour
said in its phrase ("a gold chain"). The returned attributes record
what similarity chose, so the manifest and the geometry agree. Asset text embeddings are cached
per encoder and library content, so a warm match costs one encoder call on a few phrases.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from machcreator.assets.encoders import TextEncoder
from machcreator.assets.library import CATEGORY_ATTRIBUTE, Asset, Library
from machcreator.attributes import COLORS, Attributes

#: Cosine similarity (MiniLM) a phrase needs with an asset's tags or description to pick it when
#: no attribute decides the slot. Calibrated on tests/assets/matching_prompts.json: synonyms not
#: in the parser's lexicon score 0.6-1.0 with the right asset ("kicks", "parka", "toque"),
#: unrelated phrases below 0.55.
THRESHOLD = 0.6

Slot = Literal["top", "bottom", "outerwear", "shoes", "glasses", "headwear", "accessories"]
SLOTS: tuple[Slot, ...] = get_args(Slot)
SLOT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "top": ("top", "dress"), "bottom": ("bottom",), "outerwear": ("outerwear",), "shoes": ("shoes",),
    "glasses": ("glasses",), "headwear": ("headwear",), "accessories": ("accessory",),
}
SLOT_ATTRIBUTE: dict[str, str] = {s: CATEGORY_ATTRIBUTE[c[0]] for s, c in SLOT_CATEGORIES.items()}
#: (colour path, pattern path) each slot's look comes from
SLOT_LOOK: dict[str, tuple[str | None, str | None]] = {
    "top": ("garments.top_color", "garments.top_pattern"),
    "bottom": ("garments.bottom_color", "garments.bottom_pattern"),
    "outerwear": ("garments.outerwear_color", "garments.outerwear_pattern"),
    "shoes": ("garments.shoes_color", None), "headwear": ("headwear_color", None),
    "glasses": (None, None), "accessories": (None, None),
}
#: attribute values that mean "no asset in this slot"
NOTHING = frozenset({"none", "barefoot"})

#: words between phrases: a phrase is what lies between two of them (or punctuation)
_SEPARATORS = re.compile(
    r"[,.;:!?()\[\]/]|\b(?:and|with|wearing|wears|wore|in|plus|under|over|also|who|has|have|having|carrying|"
    r"holding|sporting|dressed|donning|along|beneath|underneath|on|topped|paired|featuring|plus|but|while|is|are)\b")
#: a negation drops the rest of its phrase ("no hat", "a man without glasses")
_NEGATIONS = re.compile(r"\b(?:no|not|without|never|nor|neither|none|removed?)\b")
_FILLER = frozenset("a an the his her their its my your some pair pairs of set one two very".split())
_COLOR_WORDS = frozenset(w for c in COLORS for w in c.split("_")) | {"gray", "light", "dark", "bright", "pale"}
_COLOR_NAMES = {c.replace("_", " "): c for c in COLORS}
#: what people say about the body, not the outfit: a phrase closest to one of these matches no asset
BODY_WORDS: tuple[str, ...] = (
    "hair", "long hair", "curly hair", "hairstyle", "ponytail", "braids", "bald head", "beard", "mustache",
    "stubble", "eyes", "eyebrows", "eyelashes", "face", "skin", "freckles", "wrinkles", "scar", "tattoo",
    "man", "woman", "person", "boy", "girl", "child", "old man", "young woman", "elderly", "teenager",
    "tall", "short", "slim", "muscular", "fat", "smile", "lips", "lipstick", "makeup", "nose", "ears",
    "cheeks", "chin", "jaw", "forehead", "neck", "body", "skin tone", "complexion", "blush", "eyeliner",
    "fisherman", "sailor", "soldier", "doctor", "student", "businessman", "farmer", "athlete", "grandmother",
)


@dataclass(frozen=True)
class SlotChoice:
    """One slot's asset, why it was chosen, and the look to give it."""

    slot: str
    asset: Asset
    why: Literal["attribute", "similarity", "seed"]
    score: float  # cosine similarity of the best phrase (0 when no phrase took part)
    color: str | None  # a COLORS name, or None: keep the asset's own material
    pattern: str | None  # a fabric pattern, or None: keep the asset's own
    phrase: str | None = None  # the prompt phrase that matched

    def manifest(self) -> dict[str, Any]:
        """What the package manifest records about this asset."""
        e = self.asset.entry
        out = {"slot": self.slot, "id": self.asset.id, "category": e.category, "library": self.asset.library,
               "licence": e.licence, "why": self.why, "score": round(self.score, 4), "phrase": self.phrase,
               "color": self.color, "pattern": self.pattern, "generator": e.generator,
               "unreal_asset": e.unreal_asset, "files": [f.path for f in e.files]}
        return {k: v for k, v in out.items() if v is not None and v != []}


@dataclass
class AssetSelection:
    """The chosen asset per slot (None: nothing there), the accessories, and the attributes that
    agree with them (``resolved`` updated with what similarity chose)."""

    top: SlotChoice | None
    bottom: SlotChoice | None
    outerwear: SlotChoice | None
    shoes: SlotChoice | None
    glasses: SlotChoice | None
    headwear: SlotChoice | None
    accessories: list[SlotChoice]
    attributes: Attributes
    phrases: list[str] = field(default_factory=list)

    def chosen(self) -> list[SlotChoice]:
        """Every chosen asset, slots in :data:`SLOTS` order, accessories last."""
        single = [getattr(self, s) for s in SLOTS if s != "accessories"]
        return [c for c in single if c is not None] + list(self.accessories)

    def manifest(self) -> list[dict[str, Any]]:
        return [c.manifest() for c in self.chosen()]


# --- phrases ------------------------------------------------------------------------------------

def prompt_phrases(prompt: str) -> list[str]:
    """The prompt's phrases that could name an item, without articles, colours or negated parts.

    >>> prompt_phrases("A man in a red parka, no hat, and worn-out kicks")
    ['man', 'parka', 'worn out kicks']
    """
    return list(dict.fromkeys(phrase for phrase, _ in _chunks(prompt)))


def phrase_colors(prompt: str) -> dict[str, str]:
    """Phrase -> the :data:`COLORS` name said with it, for the phrases that have one (the parser
    colours garments and hats; this colours what it has no attribute for: "gold hoop earrings").

    >>> phrase_colors("a woman with gold hoop earrings and a silver watch")
    {'hoop earrings': 'gold', 'watch': 'silver'}
    """
    return {phrase: color for phrase, color in _chunks(prompt) if color is not None}


def _chunks(prompt: str) -> list[tuple[str, str | None]]:
    """(phrase, colour or None) for each chunk of the prompt between separators."""
    from machcreator.parsing.lexicon import COLOR_WORDS

    text = re.sub(r"[-_]", " ", prompt.lower().replace("’", "'"))
    out: list[tuple[str, str | None]] = []
    for chunk in _SEPARATORS.split(text):
        chunk = _NEGATIONS.split(chunk or "", maxsplit=1)[0]
        all_words = re.findall(r"[a-z0-9']+", chunk)
        words = [w for w in all_words if w not in _FILLER and w not in _COLOR_WORDS]
        if not words:
            continue
        pairs = [" ".join(all_words[i:i + 2]) for i in range(len(all_words) - 1)]
        said = [c for w in pairs + all_words if (c := _COLOR_NAMES.get(w) or COLOR_WORDS.get(w)) in COLORS]
        out.append((" ".join(words), said[0] if said else None))
    return out


# --- embeddings, cached per encoder and library --------------------------------------------------

@dataclass(frozen=True)
class _Keys:
    """Every asset's texts embedded: rows ``starts[i]:starts[i+1]`` belong to asset ``i``."""

    matrix: np.ndarray  # (K, D)
    starts: np.ndarray  # (A,) first row of each asset
    body: np.ndarray  # (B, D) the body words


_CACHE: dict[tuple[str, str], _Keys] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 8


def _asset_texts(asset: Asset) -> list[str]:
    e = asset.entry
    return [e.description or e.id.replace("_", " "), e.id.split("/")[-1].replace("_", " "), *e.tags]


def _keys(library: Library, encoder: TextEncoder) -> _Keys:
    key = (encoder.name, library.content_hash)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    texts = [_asset_texts(a) for a in library.assets]
    starts = np.cumsum([0] + [len(t) for t in texts[:-1]])
    keys = _Keys(encoder.encode([t for group in texts for t in group]), starts.astype(np.int64),
                 encoder.encode(list(BODY_WORDS)))
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = keys
    return keys


def warm_up(library: Library, encoder: TextEncoder) -> None:
    """Embed the library's texts now (about 1 s for the built-ins) rather than on the first match."""
    _keys(library, encoder)


def similarity(phrases: list[str], library: Library, encoder: TextEncoder) -> tuple[np.ndarray, np.ndarray]:
    """(P, A) best cosine similarity of each phrase to each asset's texts, and (P,) to body words."""
    keys = _keys(library, encoder)
    if not phrases:
        return np.zeros((0, len(library.assets)), np.float32), np.zeros(0, np.float32)
    vectors = encoder.encode(phrases)
    per_key = vectors @ keys.matrix.T
    return np.maximum.reduceat(per_key, keys.starts, axis=1), (vectors @ keys.body.T).max(1)


# --- the match ----------------------------------------------------------------------------------

def match_assets(prompt: str, specified: Attributes, resolved: Attributes, library: Library,
                 encoder: TextEncoder, threshold: float = THRESHOLD) -> AssetSelection:
    """Choose every slot's asset (see the module notes for the rules).

    Args:
        prompt: the user's text (may be empty: then only attributes and the seed decide).
        specified: what the prompt and overrides specified (None elsewhere).
        resolved: ``specified`` completed from the seed.
        library: built-ins and user assets; encoder: embeds phrases and asset texts.
        threshold: the cosine similarity a phrase needs to pick an asset by itself.
    """
    phrases, colors = prompt_phrases(prompt), phrase_colors(prompt)
    sims, body = similarity(phrases, library, encoder)
    categories = np.array([a.entry.category for a in library.assets])
    # each phrase speaks for one category: that of its best asset, unless a body word is closer
    best_asset = sims.argmax(1) if len(phrases) else np.zeros(0, np.int64)
    phrase_category = [categories[i] if sims[p, i] > body[p] else None for p, i in enumerate(best_asset)]
    attrs = resolved
    chosen: dict[str, SlotChoice | None] = {}

    def slot_scores(slot: str) -> tuple[np.ndarray, np.ndarray]:
        """(A,) best score over the phrases of this slot's categories, and which phrase gave it."""
        rows = [p for p, c in enumerate(phrase_category) if c in SLOT_CATEGORIES[slot]]
        if not rows:
            return np.zeros(len(library.assets)), np.full(len(library.assets), -1)
        sub = sims[rows]
        return sub.max(0), np.asarray(rows)[sub.argmax(0)]

    def choice(slot: str, index: int, why: str, score: float, phrase_row: int) -> SlotChoice:
        asset = library.assets[index]
        color, pattern = _look(slot, asset, specified, attrs)
        phrase = phrases[phrase_row] if phrase_row >= 0 and score > 0 else None
        if slot == "accessories" and phrase in colors:  # no attribute holds an accessory's colour
            color = colors[phrase]
        return SlotChoice(slot, asset, why, float(score), color, pattern, phrase)  # type: ignore[arg-type]

    for slot in SLOTS:
        if slot == "accessories":
            continue
        path = SLOT_ATTRIBUTE[slot]
        scores, rows = slot_scores(slot)
        wanted = specified.get_path(path)
        in_slot = np.flatnonzero(np.isin(categories, SLOT_CATEGORIES[slot]))
        if wanted is not None:  # 1. the attribute decides; text only picks among its realisations
            chosen[slot] = None if wanted in NOTHING else _realising(slot, path, wanted, library, scores, rows,
                                                                       threshold, choice, "attribute")
            continue
        best = in_slot[np.argmax(scores[in_slot])] if len(in_slot) else None
        if best is not None and scores[best] >= threshold:  # 2. similarity
            value = library.assets[best].entry.attribute.get(path)
            if value is not None:
                attrs = attrs.with_value(path, value)
                if value == "dress" and specified.garments.bottom is None:
                    attrs = attrs.with_value("garments.bottom", "none")  # a dress has no bottom
                    chosen["bottom"] = None
            chosen[slot] = choice(slot, int(best), "similarity", scores[best], int(rows[best]))
            continue
        if slot == "bottom" and "bottom" in chosen:
            continue  # emptied by a dress chosen above
        value = attrs.get_path(path)  # 3. the seed's value
        chosen[slot] = None if value in NOTHING else _realising(slot, path, value, library, scores, rows,
                                                                  threshold, choice, "seed")

    accessories, attrs = _accessories(library, categories, specified, attrs, slot_scores, threshold, choice)
    return AssetSelection(**{s: chosen.get(s) for s in SLOTS if s != "accessories"}, accessories=accessories,
                          attributes=attrs, phrases=phrases)


def _realising(slot: str, path: str, value: str, library: Library, scores: np.ndarray, rows: np.ndarray,
               threshold: float, choice: Any, why: str) -> SlotChoice | None:
    """The asset realising ``path = value`` the prompt matches best: a studio's when its match clears
    the threshold and beats the built-in, else the built-in."""
    candidates = [i for i, a in enumerate(library.assets) if a.entry.attribute.get(path) == value]
    if not candidates:
        return None
    builtin = next((i for i in candidates if library.assets[i].builtin), candidates[0])
    best = max(candidates, key=lambda i: (scores[i], not library.assets[i].builtin))
    pick = best if scores[best] >= threshold and scores[best] > scores[builtin] else builtin
    return choice(slot, pick, why, scores[pick], int(rows[pick]))


def _accessories(library: Library, categories: np.ndarray, specified: Attributes, attrs: Attributes,
                 slot_scores: Any, threshold: float, choice: Any) -> tuple[list[SlotChoice], Attributes]:
    """The resolved accessories (each its best-matching realisation), then every similarity hit."""
    scores, rows = slot_scores("accessories")
    why = "attribute" if specified.accessories is not None else "seed"
    out = [c for v in (attrs.accessories or [])
           if (c := _realising("accessories", "accessories", v, library, scores, rows, threshold, choice, why))]
    taken = {c.asset.id for c in out}
    # a phrase names one item: "a pearl necklace" is no bracelet too
    said = {c.phrase for c in out if c.score >= threshold}
    values = list(attrs.accessories or [])
    for i in sorted(np.flatnonzero(categories == "accessory"), key=lambda i: -scores[i]):  # best first
        asset = library.assets[i]
        value = asset.entry.attribute.get("accessories")
        if scores[i] < threshold or asset.id in taken or (value is not None and value in values):
            continue
        hit = choice("accessories", int(i), "similarity", scores[i], int(rows[i]))
        if hit.phrase in said:
            continue
        out.append(hit)
        said.add(hit.phrase)
        taken.add(asset.id)
        if value is not None:
            values.append(value)
    if values != list(attrs.accessories or []):
        attrs = attrs.with_value("accessories", values)
    return out, attrs


def _look(slot: str, asset: Asset, specified: Attributes, resolved: Attributes) -> tuple[str | None, str | None]:
    """(colour, pattern) for a slot's asset: the resolved attributes for built-ins; for a studio's
    asset only what the prompt asked for, else its own default (None: keep its material)."""
    color_path, pattern_path = SLOT_LOOK[slot]
    look: list[str | None] = []
    for path, default in ((color_path, asset.entry.default_color), (pattern_path, asset.entry.pattern)):
        if path is None:
            look.append(default)
        elif asset.builtin or specified.get_path(path) is not None:
            look.append(resolved.get_path(path))
        else:
            look.append(default)
    return look[0], look[1]
