"""Prompt checks, the parse result and the parser protocol (Mach §2.1); names live in registry.py.

The paper extracts facial attributes from the prompt with an LLM. Here that stage is any object
with ``parse(prompt) -> ParseResult``, chosen by name: ``"embedded"`` (lexicon + MiniLM, offline,
the default), ``"transformers"`` (a local chat model) or ``"openai"`` (an OpenAI-compatible HTTP
endpoint). All return *unresolved* attributes: only what the prompt says, ``None`` elsewhere.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from machcreator.attributes import PROMPT_MAX_CHARS, Attributes
from machcreator.core.errors import PromptError

#: Share of characters that may be non-printable before a prompt counts as "not text".
_MAX_NONPRINTABLE_SHARE = 0.3


def check_prompt(prompt: str | bytes) -> str:
    """The prompt as clean text (NFC, stripped), or a :class:`PromptError` saying why not.

    Args:
        prompt: text, or bytes that must decode as UTF-8 (e.g. a prompt file).

    Raises:
        PromptError: empty or whitespace only; longer than ``PROMPT_MAX_CHARS`` characters;
            bytes that are not UTF-8; NUL or control characters; mostly non-printable.
    """
    if isinstance(prompt, bytes):
        try:
            prompt = prompt.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PromptError(f"the prompt is not UTF-8 text (bad byte at position {exc.start})") from None
    if not isinstance(prompt, str):
        raise PromptError(f"the prompt must be text, got {type(prompt).__name__}")
    text = unicodedata.normalize("NFC", prompt).strip()
    if not text:
        raise PromptError("the prompt is empty; describe the character, e.g. 'an old fisherman with a grey beard'")
    if len(text) > PROMPT_MAX_CHARS:
        raise PromptError(f"the prompt is {len(text)} characters long; the limit is {PROMPT_MAX_CHARS}")
    if "\x00" in text:
        raise PromptError("the prompt is not text: it contains a NUL character")
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c not in "\t\n\r"]
    if len(bad) > _MAX_NONPRINTABLE_SHARE * len(text):
        raise PromptError(f"the prompt is not text: {len(bad)} of {len(text)} characters are not printable")
    controls = [c for c in bad if unicodedata.category(c) == "Cc"]
    if controls:
        raise PromptError(f"the prompt is not text: it contains control character U+{ord(controls[0]):04X}")
    return text


class ParseResult(BaseModel):
    """What a parser understood.

    Attributes:
        attributes: only what the prompt says (``None`` elsewhere); not resolved.
        unknown_words: words the parser did not understand (stop words excluded), in order.
        matches: ``(phrase, path, value)`` for every value set, e.g. ``("red hair", "hair.color", "red")``.
        warnings: human-readable notes (conflicts, fallbacks, unattached words).
        parser: which parser produced it (``"embedded"``, ``"transformers"``, ``"openai"``).
    """

    attributes: Attributes = Field(default_factory=Attributes)
    unknown_words: list[str] = Field(default_factory=list)
    matches: list[tuple[str, str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    parser: str = "embedded"


@runtime_checkable
class AttributeParser(Protocol):
    """Anything that turns a checked prompt into a :class:`ParseResult`."""

    def parse(self, prompt: str) -> ParseResult: ...
