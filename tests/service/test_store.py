"""The SQLite job store: what a restarted server reads back."""

from __future__ import annotations

import time

from machcreator.service.store import JobStore


def test_jobs_events_and_tokens_survive_reopening(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.add_job("alice", {"prompt": "a man"}, token="t1")
    store.start(job.job_id, "w1")
    store.add_event(job.job_id, "stage_started", stage="parse", fraction=0.0, message="Reading")
    store.close()  # no clean shutdown is needed: every change is committed as it happens
    store = JobStore(tmp_path / "jobs.sqlite")
    again = store.by_token("alice", "t1")
    assert again.job_id == job.job_id and again.state == "running" and again.attempts == 1 and again.stage == "parse"
    assert [e["event"] for e in store.events(job.job_id)] == ["queued", "started", "stage_started"]
    assert store.by_token("bob", "t1") is None  # tokens are per client


def test_requeue_counts_a_try_unless_the_stop_was_graceful(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.add_job("alice", {})
    store.start(job.job_id, "w1")
    store.requeue(job.job_id, "worker died")
    assert store.get(job.job_id).attempts == 1 and store.get(job.job_id).state == "queued"
    store.start(job.job_id, "w2")
    store.requeue(job.job_id, "server stopped", count_attempt=False)
    assert store.get(job.job_id).attempts == 1
    assert [e["event"] for e in store.events(job.job_id, after=2)] == ["retrying", "started", "retrying"]


def test_only_final_jobs_past_the_retention_expire(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    done, running = store.add_job("a", {}), store.add_job("a", {})
    store.start(done.job_id, "w1")
    store.finish(done.job_id, "done")
    store.start(running.job_id, "w2")
    assert store.expire(time.time() + 1) == [done.job_id]
    assert store.get(done.job_id).state == "expired" and store.events(done.job_id) == []
    assert store.get(running.job_id).state == "running"


def test_a_batch_is_one_transaction_of_queued_jobs(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    batch_id, job_ids = store.add_batch("a", "tok", [{"seed": i} for i in range(3)])
    assert store.batch_by_token("a", "tok") == batch_id
    assert [j.job_id for j in store.batch_jobs(batch_id)] == job_ids
    assert [j.job_id for j in store.queued()] == job_ids and store.active_count("a") == 3
