"""Malformed and fuzzed messages over a real socket (1,000 by default, 5,000+ under `pytest -m slow`):
every one gets a specific error reply, the server keeps answering correctly, and its memory does
not grow."""

from __future__ import annotations

import json

import jsonschema
import psutil
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serving import ServerProcess

from machcreator.service import protocol as P
from machcreator.service.identity import user_token
from machcreator.service.messages import json_schemas

ERROR_SCHEMA = json_schemas()["error"]
# what jsonschema.validate does on every call (check the schema, build a validator for it), done
# once: 5,000 calls of jsonschema.validate spend most of their time re-checking the schema
ERROR_VALIDATOR_CLASS = jsonschema.validators.validator_for(ERROR_SCHEMA)
ERROR_VALIDATOR_CLASS.check_schema(ERROR_SCHEMA)
ERROR_VALIDATOR = ERROR_VALIDATOR_CLASS(ERROR_SCHEMA)
#: this run's token (tests/conftest.py): the server's admin, so a header with it gets past identity
AUTH = user_token()

#: request types that cannot start work or stop the server, whatever their fields
HARMLESS = ["hello", "status", "jobs", "events", "cancel", "result", "fetch"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
fields = st.dictionaries(
    st.sampled_from(["id", "client", "job_id", "batch_id", "after", "wait_ms", "limit", "path", "offset", "length",
                     "state", "mine", "prompt", "token", "seed", "overrides", "options", "zz"]),
    json_values | st.text(alphabet="j_0123456789abcdef./", max_size=24), max_size=6)
headers = st.builds(lambda kind, rest, auth: rest | {"type": kind} | ({"auth": AUTH} if auth else {}),
                    st.sampled_from(HARMLESS) | st.text(max_size=12), fields, st.booleans())
# generate/batch/edit/shutdown only with a field the schema forbids, so none can queue work or stop the server
risky = st.builds(lambda kind, rest: rest | {"type": kind, "zz_fuzz": 1, "auth": AUTH},
                  st.sampled_from(["generate", "batch", "edit", "shutdown"]), fields)
messages = st.one_of(
    st.lists(st.binary(max_size=40), min_size=1, max_size=5),
    st.builds(lambda raw: [P.TAG, raw], st.binary(max_size=120)),
    st.builds(lambda v: [P.TAG, json.dumps(v).encode()], json_values),
    st.builds(lambda h: [P.TAG, json.dumps(h).encode()], headers),
    st.builds(lambda h, blob: [P.TAG, json.dumps(h).encode(), blob], headers | risky, st.binary(max_size=64)),
    st.builds(lambda h: [P.TAG, json.dumps(h).encode()], risky),
    st.builds(lambda h, n: [P.TAG, json.dumps(h).encode()] + [b"x"] * n, headers, st.integers(2, 4)),
)


def _round_trip(sock: zmq.Socket, frames: list[bytes]) -> dict:
    sock.send_multipart(frames)
    assert sock.poll(5000), f"no reply to {frames!r}"
    reply = sock.recv_multipart()
    header, _ = P.decode(reply)
    return header


@pytest.mark.parametrize("examples", [
    1000,  # the default run: every strategy of `messages`, many times over
    pytest.param(5000, marks=pytest.mark.slow),  # the full count, for the memory check's sensitivity
])
def test_fuzzed_messages_get_specific_errors_and_leave_the_server_well(tmp_path, examples):
    server = ServerProcess(tmp_path / "data", "--max-jobs-per-client", "1").start(wait_workers=False)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(server.endpoint)
    sent = {"n": 0, "errors": 0}

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(messages)
    def fuzz(frames):
        header = _round_trip(sock, frames)
        sent["n"] += 1
        assert header["ok"] in (True, False)
        if not header["ok"]:
            sent["errors"] += 1
            ERROR_VALIDATOR.validate(header)  # the documented schema, by an independent validator

    try:
        hello = _round_trip(sock, P.encode({"type": "hello", "id": "warm", "auth": AUTH}))
        assert hello["ok"]
        for i in range(300):  # warm the server's caches before measuring memory
            _round_trip(sock, P.encode({"type": "status", "id": f"w{i}", "job_id": "j_0000000000000000",
                                        "auth": AUTH}))
        rss_before = psutil.Process(server.proc.pid).memory_info().rss
        fuzz()
        rss_after = psutil.Process(server.proc.pid).memory_info().rss
        assert sent["n"] >= examples and sent["errors"] > 0.9 * sent["n"]
        assert (rss_after - rss_before) / 2**20 < 8.0, f"server RSS grew {(rss_after - rss_before) / 2**20:.1f} MB"
        # and it still answers correctly
        hello = _round_trip(sock, P.encode({"type": "hello", "id": "after", "auth": AUTH}))
        assert hello["ok"] and hello["re"] == "after" and "hair_styles" in hello["capabilities"]
        assert server.proc.poll() is None
    finally:
        sock.close(0)
        server.stop()


@pytest.mark.parametrize("frames, code", [
    ([b"MACH/2", b"{}"], "bad_frames"),
    ([P.TAG], "bad_frames"),
    ([P.TAG, b"{}", b"", b""], "bad_frames"),
    ([P.TAG, b"\xff\xfe"], "bad_json"),
    ([P.TAG, b"[1, 2]"], "bad_json"),
    ([P.TAG, b"{" + b" " * P.MAX_HEADER_BYTES + b"}"], "too_large"),
])
def test_malformed_frames_are_named_precisely(frames, code):
    with pytest.raises(P.ProtocolError) as err:
        P.decode(frames)
    assert err.value.code == code
