"""Clients kept apart, checked before anything is stored, and the protocol's small edges.

An in-process server without workers (its jobs stay queued), on real sockets: the router, the
identities and the store are the real ones; nothing here needs a pipeline.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import zmq
from PIL import Image

from machcreator.client import Client, RequestFailed
from machcreator.service import protocol as P
from machcreator.service.identity import identity_of_token, user_token
from machcreator.service.messages import parse_request
from machcreator.service.operations import OPERATIONS
from machcreator.service.config import ServerConfig
from machcreator.service.server import IPC_DIR_KEY, Server
from machcreator.service.store import JobStore


def _serve(config: ServerConfig) -> tuple[Server, threading.Thread]:
    server = Server(config)
    server.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture()
def server(tmp_path):
    """A loopback server with no workers, its jobs limit 2 per client."""
    server, thread = _serve(ServerConfig(data_dir=tmp_path / "data", bind="tcp://127.0.0.1:*", workers=0,
                                         max_jobs_per_client=2))
    yield server
    server.stopping = True
    thread.join(30)


def _client(server: Server, token: str | None = None, **kwargs) -> Client:
    return Client(server.endpoint, timeout_s=5.0, retries=1, token=token or secrets.token_urlsafe(32), **kwargs)


def _photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 160, 140)).save(buf, "PNG")
    return buf.getvalue()


def test_every_request_type_has_one_operation():
    assert set(OPERATIONS) == set(P.REQUEST_TYPES)
    assert [t for t, op in OPERATIONS.items() if op.takes_blob] == ["generate"]
    assert [t for t, op in OPERATIONS.items() if op.admin] == ["shutdown"]


def test_another_client_cannot_see_cancel_fetch_or_edit_a_job(server):
    with _client(server) as alice, _client(server) as bob:
        job_id = alice.generate("a young woman", seed=1)
        batch_id, _ = alice.batch(["an old man"])
        for call in (lambda: bob.status(job_id), lambda: bob.events(job_id), lambda: bob.cancel(job_id),
                     lambda: bob.call("result", job_id=job_id), lambda: bob.edit(job_id, ["hair.color=red"]),
                     lambda: bob.status(batch_id=batch_id)):
            with pytest.raises(RequestFailed) as err:
                call()
            assert err.value.code == "not_found"  # as if it did not exist
        assert bob.jobs() == [] and len(alice.jobs()) == 2
        with pytest.raises(RequestFailed) as err:
            bob.jobs(mine=False)
        assert err.value.code == "forbidden"
        assert bob.status()["server"]["queue"] == []  # the queue shows only one's own jobs
        assert alice.status(job_id)["job"]["state"] == "queued"
        assert alice.cancel(job_id) == "cancelled"


def test_only_an_admin_may_shut_the_server_down(server):
    with _client(server) as bob:
        with pytest.raises(RequestFailed) as err:
            bob.shutdown()
        assert err.value.code == "forbidden" and not server.stopping
        assert bob.hello()["admin"] is False
    with Client(server.endpoint, timeout_s=5.0, retries=1) as admin:  # this user's own token file
        assert admin.hello()["admin"] is True
        assert len(admin.jobs(mine=False)) == 0
        admin.shutdown()
    assert server.stopping


def test_the_job_limit_counts_per_identity_whatever_name_a_client_gives(server):
    token = secrets.token_urlsafe(32)
    for name in ("first", "second"):
        with _client(server, token, name=name) as c:
            c.generate("a man", seed=len(name))
    with _client(server, token, name="third") as c, pytest.raises(RequestFailed) as err:
        c.generate("a man", seed=3)
    assert err.value.code == "limit"


def test_an_idempotency_token_holds_across_connections(server):
    token = secrets.token_urlsafe(32)
    with _client(server, token) as first, _client(server, token) as retry:  # a Lazy Pirate retry reconnects
        a = first.generate("a woman with red hair", seed=2, token="once")
        b = retry.generate("a woman with red hair", seed=2, token="once")
        assert a == b and len(first.jobs()) == 1


def test_a_parser_this_server_does_not_offer_is_unsupported_whether_or_not_it_exists(server):
    with _client(server) as c:
        for parser in ("transformers", "gpt"):
            with pytest.raises(RequestFailed) as err:
                c.generate("a man", parser=parser)
            assert (err.value.code, err.value.field) == ("unsupported", "options.parser")


def test_only_a_random_batch_may_describe_nobody(server):
    with _client(server) as c:
        with pytest.raises(RequestFailed) as err:
            c.generate("")
        assert (err.value.code, err.value.field) == ("bad_prompt", "prompt")
        with pytest.raises(RequestFailed) as err:
            c.batch(["a man", ""])
        assert (err.value.code, err.value.field) == ("bad_prompt", "prompts.1")
        assert err.value.message.startswith("prompts[1]: the prompt is empty")
        _, [job_id] = c.batch(count=1, seed=5)
        assert c.status(job_id)["job"]["request"]["prompt"] == ""


def test_an_edit_is_its_parents_request_with_the_overrides_added(server):
    with _client(server) as c:
        parent = c.generate("  a tall man ", seed=4, overrides=["hair.color=red"], texture_size=128, hair_detail=0.5)
        # a connection of its own: the server's loop owns its store (a second thread on its
        # connection would collide with the loop's transactions)
        store = JobStore(server.data / "jobs.sqlite")
        store.finish(parent, "done")
        store.close()
        child = c.edit(parent, ["glasses=round"], seed=6)
        before, after = (c.status(j)["job"]["request"] for j in (parent, child))
    assert before["prompt"] == "a tall man"  # stored cleaned
    assert after == before | {"seed": 6, "overrides": ["hair.color=red", "glasses=round"]}


def _raw(server: Server, header: dict, blob: bytes | None = None) -> dict:
    """One request on a connection of its own, as a client without the token file would send it."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(server.endpoint)
    try:
        sock.send_multipart(P.encode(header, blob))
        assert sock.poll(5000)
        return P.decode(sock.recv_multipart())[0]
    finally:
        sock.close(0)


def test_clients_without_a_token_share_one_identity_apart_from_everyone_else(server):
    """An older plugin's client sends no token: its connections still see each other's jobs."""
    made = _raw(server, {"type": "generate", "id": "g", "token": "old-plugin", "prompt": "a man"})
    assert made["ok"] and made["created"]
    again = _raw(server, {"type": "generate", "id": "g2", "token": "old-plugin", "prompt": "a man"})
    assert again["job_id"] == made["job_id"] and not again["created"]  # idempotent across connections
    assert _raw(server, {"type": "status", "id": "s", "job_id": made["job_id"]})["ok"]
    assert _raw(server, {"type": "shutdown", "id": "x"})["error"]["code"] == "forbidden"
    with _client(server) as alice:
        with pytest.raises(RequestFailed) as err:
            alice.status(made["job_id"])
        assert err.value.code == "not_found"
        mine = alice.generate("a woman", seed=1)
    assert _raw(server, {"type": "status", "id": "s", "job_id": mine})["error"]["code"] == "not_found"


def test_a_binary_frame_is_only_ever_generates_photo(server):
    for kind in ("hello", "status", "fetch"):
        header = {"type": kind, "id": "blob", "auth": user_token()}
        if kind == "fetch":
            header |= {"job_id": "j_0000000000000000", "path": "manifest.json", "length": 10}
        assert _raw(server, header, b"\x00" * 10)["error"]["code"] == "bad_frames"


def test_a_refused_request_stores_no_photo(server):
    photos = server.files.photos_dir
    with _client(server) as c:
        c.generate("a woman", seed=1)
        c.generate("a man", seed=1)
        with pytest.raises(RequestFailed) as err:  # over the limit of 2
            c.generate("", photo=_photo())
        assert err.value.code == "limit"
        with pytest.raises(RequestFailed) as err:
            c.generate("", photo=_photo(), overrides=["hair.nonsense=1"])
        assert err.value.code == "bad_prompt"
    assert list(photos.iterdir()) == []


def test_a_job_shows_its_photo_by_hash_never_the_server_path(server):
    with _client(server) as c:
        job = c.status(c.generate("", photo=_photo()))["job"]
    assert job["request"]["photo"].startswith("sha256:") and str(server.data) not in json.dumps(job)
    assert len(list(server.files.photos_dir.iterdir())) == 1


def test_a_reply_larger_than_a_request_may_be_arrives(tmp_path):
    """Found by the soak: 250 jobs listed are ~150 KB of header, and the client dropped the reply."""
    server, thread = _serve(ServerConfig(data_dir=tmp_path / "data", bind="tcp://127.0.0.1:*", workers=0,
                                         max_jobs_per_client=200))
    try:
        with Client(server.endpoint, timeout_s=5.0, retries=1) as admin:
            for i in range(2):
                admin.batch([f"a man number {j}" for j in range(100)], seed=i * 100)
            jobs = admin.jobs(mine=False, limit=500)
        assert len(jobs) == 200 and len(json.dumps(jobs)) > P.MAX_HEADER_BYTES
    finally:
        server.stopping = True
        thread.join(30)


def test_the_data_folder_is_private(server):
    assert stat.S_IMODE(server.data.stat().st_mode) == 0o700


def test_hello_and_status_report_the_pool_as_it_is(server):
    with _client(server) as c:
        caps = c.hello()["capabilities"]
        pool = c.status()["server"]["pool"]
    assert caps["workers"] == 0 and pool["alive"] == 0 and pool["configured"] == 0
    assert caps["limits"]["job_timeout_s"] == P.DEFAULT_JOB_TIMEOUT_S


def test_json_nested_too_deep_is_a_bad_json_error():
    for depth in (33, 1000, 30_000):  # 1000 was a RecursionError: an `internal` error
        with pytest.raises(P.ProtocolError) as err:
            P.decode([P.TAG, b'{"id": ' + b"[" * depth + b"]" * depth + b"}"])
        assert err.value.code == "bad_json" and "nests deeper" in err.value.message
    nested: list = []
    for _ in range(40):  # fine for JSON, too deep for a header
        nested = [nested]
    with pytest.raises(P.ProtocolError) as err:
        P.decode([P.TAG, json.dumps({"type": "hello", "id": "x", "client": nested}).encode()])
    assert err.value.code == "bad_json"


def test_an_event_number_past_sqlite_integers_is_a_bad_request():
    with pytest.raises(P.ProtocolError) as err:
        parse_request({"type": "events", "id": "x", "job_id": "j_0000000000000000", "after": 2**63})
    assert err.value.code == "bad_request" and err.value.field == "after"


def test_an_ipv6_loopback_address_serves(tmp_path):
    server, thread = _serve(ServerConfig(data_dir=tmp_path / "data", bind="tcp://[::1]:*", workers=0))
    try:
        assert server.endpoint.startswith("tcp://[::1]:")
        with Client(server.endpoint, timeout_s=5.0, retries=1) as c:
            assert c.hello()["protocol"] == P.PROTOCOL_VERSION
    finally:
        server.stopping = True
        thread.join(30)


@pytest.mark.skipif(os.name != "posix", reason="the worker socket folder exists on POSIX only")
def test_a_killed_servers_socket_folder_is_removed_by_the_next(tmp_path):
    data = tmp_path / "data"
    script = ("import sys; from machcreator.service.config import ServerConfig; from machcreator.service.server import Server; "
              "s = Server(ServerConfig(data_dir=sys.argv[1], bind='tcp://127.0.0.1:*', workers=0)); s.start(); "
              "print(s.ipc_dir, flush=True); s.run()")
    proc = subprocess.Popen([sys.executable, "-c", script, str(data)], stdout=subprocess.PIPE, text=True)
    stale = Path(proc.stdout.readline().strip())
    assert stale.is_dir()
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert stale.is_dir()  # nothing could remove it
    server = Server(ServerConfig(data_dir=data, bind="tcp://127.0.0.1:*", workers=0))
    try:
        server.start()
        assert not stale.exists() and server.ipc_dir.is_dir()
    finally:
        server.close()
    assert not server.ipc_dir.exists() and JobStore(data / "jobs.sqlite").get_meta(IPC_DIR_KEY) is None


def test_a_token_file_is_made_once_private_and_shared(tmp_path):
    path = tmp_path / "cfg" / "client.token"
    token = user_token(path)
    assert user_token(path) == token and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert identity_of_token(token) != identity_of_token(user_token(tmp_path / "other.token"))
    path.write_text("not a token\n")
    with pytest.raises(ValueError, match="does not hold a client token"):
        user_token(path)
