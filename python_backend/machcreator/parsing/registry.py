"""The parsers by name: the one place that knows every implementation."""

from __future__ import annotations

from typing import Any

from machcreator.parsing.base import AttributeParser

PARSER_NAMES = ("embedded", "transformers", "openai")


def get_parser(name: str = "embedded", **options: Any) -> AttributeParser:
    """Build a parser by name.

    - ``"embedded"``: no options.
    - ``"transformers"``: ``model_dir`` (a local chat model folder), optional ``max_new_tokens``,
      ``device``, ``dtype`` ("auto" each) and ``constrained`` (True: the schema enforced while decoding).
    - ``"openai"``: ``base_url``, ``model``, optional ``api_key``, ``timeout`` (seconds).

    Raises:
        ValueError: unknown name or unexpected options.
        machcreator.core.errors.ModelLoadError: the model folder or endpoint is misconfigured.
    """
    if name == "embedded":
        from machcreator.parsing.embedded import EmbeddedParser

        if options:
            raise ValueError(f"the embedded parser takes no options, got {sorted(options)}")
        return EmbeddedParser()
    if name == "transformers":
        from machcreator.parsing.llm import TransformersChatParser

        return TransformersChatParser(**options)
    if name == "openai":
        from machcreator.parsing.llm import OpenAICompatibleParser

        return OpenAICompatibleParser(**options)
    raise ValueError(f"unknown parser {name!r}; choose one of: {', '.join(PARSER_NAMES)}")
