"""Schema-constrained decoding for the local chat parser (Mach §2.1's attribute extraction).

At every generation step lm-format-enforcer's character-level JSON-schema parser, walked over the
tokenizer's prefix tree, gives the token ids that can continue a reply valid for
:class:`~machcreator.attributes.Attributes`; ``generate``'s ``prefix_allowed_tokens_fn`` masks the
others. This module adapts the schema and the library to that use:

- :func:`decoding_schema`: colour names and hair styles, which pydantic validators check, become
  enums; the library ignores ``minimum``/``maximum``, so bounded numbers become enums of a grid.
- :class:`NoTrailingComma`: the library (0.11.3) lets ``}``/``]`` follow a ``,``; JSON does not.
- :func:`enforcer_tokenizer_data`: the library's transformers integration does not import with
  transformers 5; this is its tokenizer table, rebuilt from the tokenizer's public methods.

What stays unenforced, and is caught by the validation after decoding: a reply cut off by the
token budget, and the enforcer giving up on an internal error (it then allows only end-of-sequence).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any

import torch
from lmformatenforcer import CharacterLevelParser, JsonSchemaParser, TokenEnforcer, TokenEnforcerTokenizerData
from lmformatenforcer.characterlevelparser import CharacterLevelParserConfig

from machcreator.attributes import Attributes, editor_fields


def number_grid(lo: float, hi: float) -> list[int | float]:
    """The values a bounded number may take while decoding, both bounds included: 0.01 steps for
    spans up to 2 (levels -1..1, amounts 0..1), 0.1 steps for wider ones (years, cm, ITA degrees).
    Whole values are ints, so the decoder writes their shortest form ("1", not "1.0")."""
    step = Decimal("0.01") if hi - lo <= 2 else Decimal("0.1")
    first, last = Decimal(str(lo)), Decimal(str(hi))
    values = (first + k * step for k in range(int((last - first) / step) + 1))
    return [int(v) if v == v.to_integral_value() else float(v) for v in values]


def decoding_schema() -> dict[str, Any]:
    """The JSON schema the decoder enforces: ``Attributes.model_json_schema()`` tightened to what
    the attribute validators accept, in forms lm-format-enforcer enforces.

    - Strings the JSON schema leaves free (colour names, hair styles: checked by pydantic
      validators) get the ``enum`` of the words :func:`~machcreator.attributes.editor_fields` lists.
    - Numbers with a ``minimum`` and ``maximum`` (which the library ignores) become the ``enum`` of
      their :func:`number_grid`, written as bare JSON numbers ("0.35", "-1", "33.5").

    ``$ref``, ``anyOf``, ``null``, string enums and ``additionalProperties: false`` the library
    enforces as they are.
    """
    schema = Attributes.model_json_schema()
    for field in editor_fields():
        if field["kind"] in ("enum", "color"):
            prop = _property(schema, field["path"])
            for option in prop.get("anyOf", [prop]):
                if option.get("type") == "string":
                    option["enum"] = list(field["values"])
    return _gridded(schema)


def _property(schema: dict[str, Any], path: str) -> dict[str, Any]:
    """The property schema of a dotted attribute path ("hair.color"), following ``$ref``s."""
    node = schema
    for key in path.split("."):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        node = node["properties"][key]
    return node


def _gridded(schema: Any) -> Any:
    """``schema`` with each bounded ``number`` replaced by the ``enum`` of its grid (a copy)."""
    if isinstance(schema, list):
        return [_gridded(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _gridded(value) for key, value in schema.items()}
    if out.get("type") == "number" and "minimum" in out and "maximum" in out:
        out["enum"] = number_grid(out.pop("minimum"), out.pop("maximum"))
    return out


class NoTrailingComma(CharacterLevelParser):
    """A JSON parser that masks ``}`` and ``]`` after a ``,`` (whitespace between included).

    lm-format-enforcer's object parser returns to its after-``{`` state on a comma, where ``}`` is
    allowed, so without this ``{"a": 1,}`` (invalid JSON) decodes. Inside a string the same mask
    only forbids the text ",}" or ",]", which no attribute value needs.
    """

    def __init__(self, inner: CharacterLevelParser, after_comma: bool = False) -> None:
        self.inner, self.after_comma = inner, after_comma

    @property
    def config(self) -> CharacterLevelParserConfig:
        return self.inner.config

    @config.setter
    def config(self, new_config: CharacterLevelParserConfig) -> None:  # TokenEnforcer sets the alphabet here
        self.inner.config = new_config

    def add_character(self, new_character: str) -> NoTrailingComma:
        after = new_character == "," or (self.after_comma and new_character.isspace())
        return NoTrailingComma(self.inner.add_character(new_character), after)

    def get_allowed_characters(self) -> str:
        allowed = self.inner.get_allowed_characters()
        return allowed.replace("}", "").replace("]", "") if self.after_comma else allowed

    def can_end(self) -> bool:
        return self.inner.can_end()

    def shortcut_key(self) -> Hashable | None:
        return self.inner.shortcut_key()  # free-text strings: the library's fast path, quotes still explored

    def cache_key(self) -> Hashable | None:
        key = self.inner.cache_key()
        return None if key is None else (key, self.after_comma)


def attribute_json_parser() -> CharacterLevelParser:
    """The character-level parser of a reply: a JSON object valid for :func:`decoding_schema` of
    Attributes, no trailing commas. Immutable; one serves every generation."""
    return NoTrailingComma(JsonSchemaParser(decoding_schema()))


def enforcer_tokenizer_data(tokenizer: Any, vocab_size: int, eos_ids: list[int]) -> TokenEnforcerTokenizerData:
    """lm-format-enforcer's per-tokenizer table (the text of every token id), built once per parser:
    about two decodes per token, a few seconds for a 150k vocabulary.

    Each regular (non-special) token is decoded after a "0" token, so that a token which starts a
    word keeps its leading space (SentencePiece drops it when decoding a token alone).

    Args:
        tokenizer: a transformers tokenizer.
        vocab_size: the model's logit count (may exceed ``len(tokenizer)``; extra ids are never allowed).
        eos_ids: the ids that end the reply; allowed once the JSON object is complete.
    """
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    regular = []
    for idx in range(min(len(tokenizer), vocab_size)):
        if idx in special:
            continue
        after_zero = tokenizer.decode([zero, idx])[1:]
        regular.append((idx, after_zero, len(after_zero) > len(tokenizer.decode([idx]))))

    def decode(ids: list[int]) -> str:
        return tokenizer.decode(ids).rstrip("\ufffd")  # a partial UTF-8 sequence decodes to U+FFFD

    return TokenEnforcerTokenizerData(regular, decode, eos_ids, False, vocab_size)


def allowed_tokens_fn(
    tokenizer_data: TokenEnforcerTokenizerData, parser: CharacterLevelParser
) -> Callable[[int, torch.Tensor], list[int]]:
    """A ``prefix_allowed_tokens_fn`` for one ``generate`` call: (batch index, ``(T,)`` token ids so
    far, prompt included) -> the token ids allowed next. Fresh per call: it caches by prefix."""
    enforcer = TokenEnforcer(tokenizer_data, parser)
    return lambda _batch, ids: enforcer.get_allowed_tokens(ids.tolist()).allowed_tokens
