"""Every job ends and the pool heals: hung and stopped workers, time limits, deaths in a row,
cancels that meet a stuck worker or a server going down. Real `mach serve` processes, real workers
(a SIGSTOPped worker stands for a deadlocked one: it runs nothing and says nothing)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from serving import SMALL, ServerProcess, process_alive, wait_for_stage

#: a job that takes several seconds, so it can be caught mid-stage (in geometry, hair and assets: a
#: small preview, as nothing here looks at it and the default 512 px one alone costs seconds)
SLOW = {"texture_size": 256, "hair_detail": 0.1, "preview_size": 96}


#: the server's own waits, shortened (service/config.py's test-only environment; production keeps
#: 0.5 s and 10 s): a dead worker's restart back-off starts at 0.2 s (still doubling: the fifth death
#: in a row waits 3.2 s, the window in which the many-deaths test sees the pool restarting), and a
#: shutdown kills a worker that has not stopped after 1 s (the stopped worker of the cancel test)
FAST_WAITS = {"MACH_SERVE_RESTART_BACKOFF_S": "0.2", "MACH_SERVE_STOP_WAIT_S": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One worker; a hung worker is found after 4 s, a cancelled job's worker killed after 1 s."""
    s = ServerProcess(tmp_path_factory.mktemp("faults") / "data", "--heartbeat-timeout", "4",
                      "--cancel-grace", "1", env=FAST_WAITS).start()
    yield s
    s.stop()


def _reasons(client, job_id: str, kind: str) -> list[str]:
    return [e.get("reason", "") for e in client.events(job_id)["events"] if e["event"] == kind]


def _stop_worker_mid_job(server, client, prompt: str, seed: int) -> tuple[str, int]:
    """Queue a job, SIGSTOP the (only) worker once it is in geometry: ``(job_id, worker pid)``."""
    job_id = client.generate(prompt, seed=seed, **SLOW)
    wait_for_stage(client, job_id, "geometry")
    pid = server.worker_pids()[0]
    os.kill(pid, signal.SIGSTOP)  # it runs nothing, says nothing, reaches no stage boundary
    return job_id, pid


def test_a_hung_worker_is_killed_and_its_job_runs_again(server):
    server.wait_ready()
    with server.client(timeout_s=5.0) as c:
        job_id, pid = _stop_worker_mid_job(server, c, "a bald man with a goatee", 1)  # today's code waited for ever
        job = c.wait(job_id, timeout_s=240)
        assert job["state"] == "done" and job["attempts"] == 2
        assert "stopped answering" in _reasons(c, job_id, "retrying")[0]
    assert not process_alive(pid)


def test_a_cancel_reaches_a_worker_that_does_not_stop_by_killing_it(server):
    server.wait_ready()
    with server.client(timeout_s=5.0) as c:
        job_id, pid = _stop_worker_mid_job(server, c, "an old woman with a bun", 2)
        assert c.cancel(job_id) == "cancelling"
        job = c.wait(job_id, timeout_s=60)
    assert job["state"] == "cancelled" and "did not stop within 1 s" in job["error"]
    assert not process_alive(pid)


def test_the_pool_heals_after_many_deaths_in_a_row(server):
    # no wait for a warm worker: a worker killed while it loads its pipeline dies, counts and is
    # restarted like any other (all but the first die that way anyway: each is killed at once)
    killed = set()
    with server.client(timeout_s=5.0) as c:
        for _ in range(5):  # today's server gave up after five deaths within a minute
            deadline = time.monotonic() + 60
            while not (pids := set(server.worker_pids()) - killed) and time.monotonic() < deadline:
                time.sleep(0.1)
            pid = pids.pop()
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
            while process_alive(pid):
                time.sleep(0.05)
        deadline = time.monotonic() + 10
        while (pool := c.hello()["capabilities"]["pool"])["restarting"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        # the truth while it waits: no live worker, one restart pending after a back-off
        assert pool["alive"] == 0 and pool["restarting"] == 1 and pool["deaths_last_minute"] >= 5
        assert c.hello()["capabilities"]["workers"] == 0
        job_id = c.generate("a girl with pigtails", seed=3, **SMALL)
        assert c.wait(job_id, timeout_s=300)["state"] == "done"


def test_a_cancel_survives_a_shutdown_and_a_crash(server):
    """Last in this module: it stops and kills the module's server, and starts it again."""
    server.wait_ready()
    with server.client(timeout_s=2.0, retries=30) as c:
        for stop in ("shutdown", "kill"):
            job_id, _ = _stop_worker_mid_job(server, c, "a man with a moustache", 4)
            assert c.cancel(job_id) == "cancelling"
            if stop == "shutdown":  # before the cancel grace: today's close() put the job back in the queue
                c.shutdown()
                assert server.proc.wait(60) == 0
            else:
                server.kill()
            server.start()
            job = c.wait(job_id, timeout_s=120)
            assert job["state"] == "cancelled", (stop, job)
            assert job["attempts"] == 1


@pytest.fixture()
def timeout_server(tmp_path):
    s = ServerProcess(tmp_path / "data", "--job-timeout", "1").start()
    yield s
    s.stop()


def test_a_job_past_its_time_limit_is_stopped_retried_once_then_failed(timeout_server):
    with timeout_server.client(timeout_s=5.0) as c:
        assert c.hello()["capabilities"]["limits"]["job_timeout_s"] == 1.0
        job_id = c.generate("a tall woman", seed=5, **SLOW)  # seconds of work: over the limit each time
        job = c.wait(job_id, timeout_s=300)
        assert job["state"] == "failed" and job["attempts"] == 2
        assert "ran past its time limit of 1 s" in job["error"] and "attempt 2 of 2" in job["error"]
        assert "ran past its time limit" in _reasons(c, job_id, "retrying")[0]
