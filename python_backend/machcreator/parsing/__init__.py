"""Prompt -> attributes (Mach §2.1): checks, parsers and their registry."""

from machcreator.parsing.base import AttributeParser, ParseResult, check_prompt, get_parser

__all__ = ["AttributeParser", "ParseResult", "check_prompt", "get_parser"]
