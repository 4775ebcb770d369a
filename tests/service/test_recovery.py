"""Killing things: the backend (SIGKILL) mid-job, a worker twice, and a retention that expires jobs."""

from __future__ import annotations

import os
import signal
import stat
import time

import pytest
from serving import SMALL, ServerProcess, process_alive, wait_for_stage

from machcreator.export.package import validate_package


@pytest.fixture()
def data(tmp_path):
    return tmp_path / "data"


def test_a_killed_backend_restarts_and_the_client_gets_its_result_without_resubmitting(data, tmp_path):
    server = ServerProcess(data).start()
    try:
        client = server.client(timeout_s=2.0, retries=15)  # Lazy Pirate rides over the restart
        running = client.generate("an old man with a white beard", seed=4, texture_size=256, hair_detail=0.1,
                                  preview_size=96)  # seconds of work, but not a 512 px preview's
        queued = client.generate("a young woman", seed=4, **SMALL)
        wait_for_stage(client, running, "hair")
        worker = server.worker_pids()[0]
        server.kill()
        deadline = time.monotonic() + 10
        while process_alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not process_alive(worker)  # no orphan keeps writing
        server.start(wait_workers=False)
        jobs = {j: client.wait(j, timeout_s=300) for j in (running, queued)}
        assert {j["state"] for j in jobs.values()} == {"done"}
        assert jobs[running]["attempts"] == 2 and jobs[queued]["attempts"] == 1
        retry = [e for e in client.events(running)["events"] if e["event"] == "retrying"]
        assert len(retry) == 1 and "server stopped" in retry[0]["reason"]
        out = client.fetch(running, tmp_path / "pkg")
        assert [i for i in validate_package(out) if i.severity == "error"] == []
        assert not list((data / "jobs").rglob("*.partial"))  # what the killed run half-wrote is gone
        # the server user's alone: a private folder, files no one else may read
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for f in (data / "jobs.sqlite", data / "server.log", *(data / "jobs" / running / "package").rglob("*.glb")):
            assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f
        client.close()
    finally:
        server.stop()


@pytest.mark.slow  # two worker restarts (~25 s); the SIGKILL test above covers recovery by default
def test_a_job_whose_worker_dies_twice_fails_with_the_reason(data):
    server = ServerProcess(data).start()
    try:
        with server.client() as client:
            job_id = client.generate("a tall woman", seed=9, texture_size=256, hair_detail=0.1)
            for attempt in (1, 2):
                wait_for_stage(client, job_id, "geometry", attempt)
                os.kill(server.worker_pids()[0], signal.SIGKILL)
            job = client.wait(job_id, timeout_s=120)
            assert job["state"] == "failed"
            assert "worker process died (exit code -9)" in job["error"] and "attempt 2 of 2" in job["error"]
            assert not (data / "jobs" / job_id).exists()
            server.wait_ready()  # a fresh worker replaced the killed ones
            again = client.generate("a tall woman", seed=9, **SMALL)
            assert client.wait(again, timeout_s=300)["state"] == "done"
    finally:
        server.stop()


def assert_expires(client, job_id: str, data) -> None:
    """Within 30 s the server's sweep expires the finished job and deletes its folder."""
    deadline = time.monotonic() + 30
    while client.status(job_id)["job"]["state"] != "expired" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.status(job_id)["job"]["state"] == "expired"
    assert not (data / "jobs" / job_id).exists()


def test_a_finished_jobs_package_expires_after_the_retention(data):
    """The server's sweep, without the worker's seconds: an in-process server with no workers, its
    job marked done through a connection of its own and its package folder in place (the real
    worker's package: the test below, under `pytest -m slow`)."""
    import threading

    from machcreator.client import Client
    from machcreator.service.config import ServerConfig
    from machcreator.service.server import Server
    from machcreator.service.store import JobStore

    server = Server(ServerConfig(data_dir=data, bind="tcp://127.0.0.1:*", workers=0, retention_hours=0.0005))
    server.start()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with Client(server.endpoint, timeout_s=5.0, retries=1) as client:
            job_id = client.generate("a girl", seed=1, **SMALL)
            package = data / "jobs" / job_id / "package"
            package.mkdir(parents=True)
            (package / "manifest.json").write_text("{}")
            store = JobStore(data / "jobs.sqlite")
            store.finish(job_id, "done")
            store.close()
            assert client.status(job_id)["job"]["state"] == "done" and package.is_dir()
            assert_expires(client, job_id, data)
    finally:
        server.stopping = True
        thread.join(30)


@pytest.mark.slow  # a server start and a real job (~30 s); the in-process test above covers the sweep
def test_finished_packages_expire_after_the_retention(data):
    server = ServerProcess(data, "--retention-hours", "0.0005").start()  # 1.8 s
    try:
        with server.client() as client:
            job_id = client.generate("a girl", seed=1, **SMALL)
            assert client.wait(job_id, timeout_s=300)["state"] == "done"
            assert (data / "jobs" / job_id / "package" / "manifest.json").is_file()
            assert_expires(client, job_id, data)
    finally:
        server.stop()


@pytest.mark.slow  # a stop and a restart (~25 s)
def test_a_graceful_shutdown_requeues_the_running_job_without_using_a_try(data):
    server = ServerProcess(data).start()
    try:
        with server.client(timeout_s=2.0, retries=15) as client:
            job_id = client.generate("a man with a moustache", seed=2, texture_size=256, hair_detail=0.1)
            wait_for_stage(client, job_id, "geometry")
            client.shutdown()
            assert server.proc.wait(60) == 0
            server.start(wait_workers=False)
            job = client.wait(job_id, timeout_s=300)
        assert job["state"] == "done" and job["attempts"] == 1
    finally:
        server.stop()
