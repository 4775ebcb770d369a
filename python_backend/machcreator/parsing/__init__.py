"""Prompt -> attributes (Mach §2.1): checks, parsers and their registry."""

from machcreator.parsing.base import AttributeParser, ParseResult, check_prompt
from machcreator.parsing.registry import PARSER_NAMES, get_parser

__all__ = ["PARSER_NAMES", "AttributeParser", "ParseResult", "check_prompt", "get_parser"]
