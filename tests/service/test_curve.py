"""CurveZMQ: beyond loopback only with keys; a client without an authorised key gets nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from serving import ServerProcess, free_port

from machcreator.client import BackendUnavailable, Client, RequestFailed
from machcreator.service.keys import generate_keys
from machcreator.service.server import is_loopback


@pytest.mark.parametrize("endpoint, local", [
    ("tcp://127.0.0.1:5555", True), ("tcp://127.3.2.1:1", True), ("tcp://[::1]:5555", True),
    ("tcp://localhost:5555", True), ("ipc:///tmp/mach.sock", True), ("tcp://0.0.0.0:5555", False),
    ("tcp://*:5555", False), ("tcp://192.168.1.4:5555", False), ("tcp://eth0:5555", False),
])
def test_only_loopback_counts_as_local(endpoint, local):
    assert is_loopback(endpoint) is local


def test_binding_beyond_loopback_without_keys_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "machcreator.cli", "serve", "--bind", f"tcp://0.0.0.0:{free_port()}",
                           "--data", str(tmp_path / "data")], capture_output=True, timeout=60)
    assert proc.returncode != 0
    assert "refusing to bind" in proc.stderr.decode() and "mach keys generate" in proc.stderr.decode()


def test_a_curve_server_accepts_only_authorised_client_keys(tmp_path):
    keys = tmp_path / "keys"
    proc = subprocess.run([sys.executable, "-m", "machcreator.cli", "keys", "generate", str(keys), "--client", "alice"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    generate_keys(keys, "root", admin=True)
    generate_keys(tmp_path / "other", "mallory")  # a well-formed key this server never authorised
    alice = {"server_key": keys / "server.key", "client_key": keys / "clients" / "alice.key_secret"}
    server = ServerProcess(tmp_path / "data", "--keys", str(keys), bind_host="0.0.0.0", client_kwargs=alice)
    server.start(wait_workers=False)
    try:
        with Client(server.endpoint, timeout_s=10.0, retries=3, **alice) as c:
            hello = c.hello()
        assert hello["capabilities"]["curve"] is True
        assert hello["client"] == "alice" and hello["admin"] is False  # known by her key, named by its file
        with Client(server.endpoint, timeout_s=10.0, retries=3, **alice) as c:
            job_id = c.generate("a woman", seed=1)
            with pytest.raises(RequestFailed) as err:
                c.shutdown()
            assert err.value.code == "forbidden"
        root = {"server_key": keys / "server.key", "client_key": keys / "clients" / "root.key_secret"}
        with Client(server.endpoint, timeout_s=10.0, retries=3, **root) as c:
            assert c.hello()["admin"] is True
            assert c.status(job_id)["job"]["job_id"] == job_id  # an admin key sees every client's jobs
        mallory = {"server_key": keys / "server.key", "client_key": tmp_path / "other" / "clients" / "mallory.key_secret"}
        for kwargs in ({}, mallory):
            with Client(server.endpoint, timeout_s=1.0, retries=2, **kwargs) as c:
                with pytest.raises(BackendUnavailable):
                    c.hello()
        assert server.proc.poll() is None
        with Client(server.endpoint, timeout_s=10.0, retries=3, **root) as c:
            c.shutdown()
        assert server.proc.wait(60) == 0
    finally:
        server.stop()
