"""The one request model: every check of a request, and the front ends that take their bounds from it."""

from __future__ import annotations

import pytest
import typer
from pydantic import ValidationError

from machcreator.cli import app
from machcreator.pipeline.request import BAD_PROMPT, GenerateRequest, field_bounds, refusal
from machcreator.service.messages import Options


def _refused(**fields) -> tuple[str, str, str]:
    with pytest.raises(ValidationError) as err:
        GenerateRequest.from_user(**fields)
    return tuple(refusal(err.value))


def test_the_prompt_is_cleaned_and_a_prompt_file_s_bytes_are_decoded():
    assert GenerateRequest(prompt="  a tall man\n").prompt == "a tall man"
    assert GenerateRequest(prompt="a cafe\u0301 owner".encode()).prompt == "a caf\u00e9 owner"  # NFC


def test_an_empty_prompt_is_a_random_character_but_a_user_must_describe_someone():
    assert GenerateRequest().prompt == ""
    assert GenerateRequest.from_user(overrides=["hair.color=red"]).prompt == ""
    assert GenerateRequest.from_user(photo="face.png").prompt == ""
    kind, field, message = _refused(prompt="")
    assert (kind, field) == (BAD_PROMPT, "prompt") and message.startswith("the prompt is empty")


@pytest.mark.parametrize("prompt, words", [("   ", "the prompt is empty"), ("x" * 2001, "2001 characters"),
                                           (b"\xff\xfe", "not UTF-8"), ("a\x00man", "NUL")])
def test_a_bad_prompt_is_refused_with_its_own_line_even_beside_overrides(prompt, words):
    kind, field, message = _refused(prompt=prompt, overrides=["hair.color=red"])
    assert (kind, field) == (BAD_PROMPT, "prompt") and words in message


def test_an_override_that_does_not_apply_is_refused_with_its_own_line():
    assert _refused(prompt="a man", overrides=["hair.style=pigtail"])[:2] == (BAD_PROMPT, "overrides")
    assert "did you mean pigtails" in _refused(prompt="a man", overrides=["hair.style=pigtail"])[2]


def test_an_unknown_parser_is_named():
    assert _refused(prompt="a man", parser="gpt")[2] == "unknown parser 'gpt'; choose embedded, transformers or openai"


def test_a_bound_is_refused_naming_its_field():
    kind, field, message = _refused(prompt="a man", hair_detail=0.01)
    assert kind != BAD_PROMPT and field == "hair_detail" and message.startswith("hair_detail: ")


def test_an_updated_request_is_checked_like_a_new_one():
    request = GenerateRequest(prompt="a man", overrides=["hair.color=red"])
    assert request.updated(seed=3) == GenerateRequest(prompt="a man", overrides=["hair.color=red"], seed=3)
    with pytest.raises(ValidationError):
        request.updated(overrides=["hair.colour=red"])


@pytest.mark.parametrize("command, option, field", [
    ("generate", "seed", "seed"), ("generate", "texture_size", "texture_size"), ("generate", "hair_detail", "hair_detail"),
    ("client", "preview_size", "preview_size"), ("bench", "texture_size", "texture_size"),
])
def test_the_cli_options_take_the_models_bounds(command, option, field):
    cmd = typer.main.get_command(app).commands[command]
    if command == "client":
        cmd = cmd.commands["generate"]
    param = next(p for p in cmd.params if p.name == option)
    assert (param.min, param.max) == field_bounds(field)
    assert param.default == GenerateRequest.model_fields[field].default


def test_the_wire_options_are_the_models_fields():
    wire = Options.model_json_schema()["properties"]
    model = GenerateRequest.model_json_schema()["properties"]
    assert wire.pop("largest_face") == model["photo_largest_face"] | {"title": "Largest Face"}
    assert wire == {name: model[name] for name in wire}
    assert Options.model_validate({"largest_face": True}).model_dump()["photo_largest_face"] is True
