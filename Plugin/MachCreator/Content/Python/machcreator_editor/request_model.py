"""The backend's request model as the plugin ships it: ``request_schema.json``, ``GenerateRequest``'s JSON
schema, written from the model by ``mach unreal install`` (a test keeps the repository's copy equal). The
editor cannot import pydantic or the backend, so the bounds and defaults of its request fields come from here.
"""
from __future__ import annotations

import json
from pathlib import Path

FIELDS: dict[str, dict] = json.loads(Path(__file__).with_name("request_schema.json").read_text(encoding="utf-8"))[
    "properties"]
#: the longest prompt the backend takes, in characters (after stripping)
MAX_PROMPT_CHARS: int = FIELDS["prompt"]["maxLength"]


def default(name: str):
    """The request field ``name``'s default."""
    return FIELDS[name]["default"]


def clamp(name: str) -> dict[str, str]:
    """Details-panel metadata clamping a number to the request field ``name``'s bounds."""
    return {"ClampMin": str(FIELDS[name]["minimum"]), "ClampMax": str(FIELDS[name]["maximum"])}
