"""The protocol's schemas: the documented files are the models, and they take and refuse the right things."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from machcreator.service import protocol as P
from machcreator.service.messages import REQUEST_ADAPTER, json_schemas, parse_request

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_documented_schemas_are_the_models():
    files = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in (DOCS / "schemas").glob("*.json")}
    assert files == json_schemas(), "run: python -m machcreator.service.messages docs/schemas"
    assert set(P.REQUEST_TYPES) <= set(files)
    assert set(REQUEST_ADAPTER.json_schema()["discriminator"]["mapping"]) == set(P.REQUEST_TYPES)


def test_protocol_doc_names_every_request_error_code_and_event():
    text = (DOCS / "protocol.md").read_text()
    for word in (*P.REQUEST_TYPES, *P.ERROR_CODES, *P.EVENT_KINDS):
        assert f"`{word}`" in text, word


@pytest.mark.parametrize("header", [
    {"type": "hello", "id": "1"},
    {"type": "generate", "id": "2", "token": "t-1", "prompt": "a man", "options": {"texture_size": 512}},
    {"type": "batch", "id": "3", "token": "b", "random": {"count": 3, "diversity": {"genders": ["female"]}}},
    {"type": "fetch", "id": "4", "job_id": "j_0123456789abcdef", "path": "character.glb", "length": 1024},
])
def test_valid_requests_pass_both_pydantic_and_the_json_schema(header):
    assert parse_request(header).type == header["type"]
    jsonschema.validate(header, json_schemas()[header["type"]])


@pytest.mark.parametrize("header, field", [
    ({"type": "generate", "id": "1", "token": "../etc", "prompt": "a"}, "token"),
    ({"type": "fetch", "id": "1", "job_id": "j_0123456789abcdef", "path": "a", "length": P.MAX_CHUNK_BYTES + 1}, "length"),
    ({"type": "events", "id": "1", "job_id": "j_0123456789abcdef", "wait_ms": P.MAX_WAIT_MS + 1}, "wait_ms"),
    ({"type": "batch", "id": "1", "token": "b", "random": {"count": P.MAX_BATCH_JOBS + 1}}, "random.count"),
    ({"type": "generate", "id": "1", "token": "t", "overrides": ["a=b"] * (P.MAX_OVERRIDES + 1)}, "overrides"),
    ({"type": "hello", "id": "x" * 65}, "id"),
    ({"type": "batch", "id": "1", "token": "b", "random": {"count": 2, "diversity": {"age_range": [0, 20]}}},
     "random.diversity.age_range.0"),
    ({"type": "teleport", "id": "1"}, "type"),
])
def test_out_of_bounds_fields_are_named(header, field):
    with pytest.raises(P.ProtocolError) as err:
        parse_request(header)
    assert err.value.code == "bad_request" and err.value.field == field
    if header["type"] in json_schemas():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(header, json_schemas()[header["type"]])


def test_an_age_range_must_run_low_to_high():
    header = {"type": "batch", "id": "1", "token": "b", "random": {"count": 2, "diversity": {"age_range": [60, 20]}}}
    with pytest.raises(P.ProtocolError, match="low must not exceed high") as err:
        parse_request(header)
    assert err.value.field == "random.diversity"
