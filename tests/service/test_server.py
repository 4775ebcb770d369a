"""The job server over real sockets on loopback: a `mach serve` subprocess with 2 warm workers."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid

import jsonschema
import numpy as np
import pytest
from PIL import Image
from serving import SMALL, ServerProcess, token_for

from machcreator.client import Client, RequestFailed
from machcreator.export.package import validate_package
from machcreator.pipeline import STAGE_NAMES, stage_span
from machcreator.service.messages import json_schemas

EVENT_SCHEMA = json_schemas()["event"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server with 2 warm workers shared by this module's tests."""
    s = ServerProcess(tmp_path_factory.mktemp("serve") / "data", workers=2).start()
    yield s
    s.stop()



def _events(client: Client, job_id: str) -> list[dict]:
    seen: list[dict] = []
    job = client.wait(job_id, on_event=seen.append, timeout_s=300)
    assert job["state"] in ("done", "failed", "cancelled"), job
    return seen


def test_generate_reports_every_stage_in_order_then_fetches_a_valid_package(server, tmp_path):
    with server.client() as c:
        job_id = c.generate("an old fisherman with a grey beard", seed=3, **SMALL)
        events = _events(c, job_id)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        for e in events:
            jsonschema.validate(e, EVENT_SCHEMA)
        kinds = [e["event"] for e in events]
        assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done", kinds
        stages = [(e["event"], e["stage"]) for e in events if e["event"].startswith("stage_")]
        assert stages == [(k, s) for s in STAGE_NAMES for k in ("stage_started", "stage_finished")]
        # the same fractions as the CLI: where each stage starts and ends in the whole job
        for e in events:
            if e["event"] == "stage_started":
                assert e["fraction"] == stage_span(e["stage"])[0]
        fractions = [e["fraction"] for e in events if "fraction" in e]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        out = c.fetch(job_id, tmp_path / "pkg")
    assert [i for i in validate_package(out) if i.severity == "error"] == []


def test_an_edit_reruns_only_the_stages_downstream_of_the_change(server, tmp_path):
    with server.client() as c:
        first = c.generate("a young woman with long brown hair", seed=5, **SMALL)
        assert c.wait(first, timeout_s=300)["state"] == "done"
        red = c.edit(first, ["hair.color=red"])
        reused = {e["stage"]: e["reused"] for e in _events(c, red) if e["event"] == "stage_finished"}
        assert reused["parse"] and reused["geometry"]  # upstream of hair colour: answered by the cache
        assert not reused["hair"] and not reused["textures"] and not reused["preview"]
        green_eyes = c.edit(red, ["eyes.iris_color=green"])
        reused = {e["stage"]: e["reused"] for e in _events(c, green_eyes) if e["event"] == "stage_finished"}
        assert reused["geometry"] and reused["hair"] and not reused["textures"]
        manifest = c.fetch(green_eyes, tmp_path / "edited") / "manifest.json"
        attrs = __import__("json").loads(manifest.read_text())["attributes_resolved"]
    assert attrs["hair"]["color"] == "red" and attrs["eyes"]["iris_color"] == "green"


def test_cancel_stops_a_running_job_within_one_stage(server):
    with server.client() as c:
        job_id = c.generate("a tall man with a long beard", seed=11, texture_size=1024, hair_detail=0.5)
        after = 0
        while True:  # until the job is in its geometry stage
            reply = c.events(job_id, after=after, wait_ms=2000)
            after = max([after] + [e["seq"] for e in reply["events"]])
            if any(e.get("stage") == "geometry" for e in reply["events"]):
                break
        assert c.cancel(job_id) in ("cancelling", "cancelled")
        job = c.wait(job_id, timeout_s=120)
        rest = c.events(job_id, after=after)["events"]
    assert job["state"] == "cancelled" and job["error"] == "cancelled by its client"
    started_after_cancel = [e["stage"] for e in rest if e["event"] == "stage_started"]
    assert len(started_after_cancel) <= 1, started_after_cancel  # the stage running at the cancel may end
    assert not (server.data / "jobs" / job_id).exists()  # nothing half-written is kept


@pytest.mark.slow  # over 25 s: the default run stays near 10 minutes
def test_twenty_concurrent_clients_lose_and_duplicate_no_job(server):
    job_ids: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def client_thread(i: int) -> None:
        try:
            with Client(server.endpoint, token=token_for(f"load{i}"), timeout_s=5.0) as c:
                job_ids[f"load{i}"] = [c.generate("a man", seed=1, **SMALL) for _ in range(2)]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    every = [j for ids in job_ids.values() for j in ids]
    assert len(every) == 40 and len(set(every)) == 40
    with server.client(timeout_s=5.0) as c:
        states = [c.wait(j, timeout_s=600)["state"] for j in every]
        assert states == ["done"] * 40
        for name, ids in job_ids.items():  # the server holds exactly these jobs for each client
            with Client(server.endpoint, token=token_for(name)) as mine:
                assert {j["job_id"] for j in mine.jobs()} == set(ids)


def test_a_retried_generate_with_the_same_token_makes_one_job(server):
    token = uuid.uuid4().hex
    with server.client() as c:
        a = c.call("generate", token=token, prompt="a woman", options=SMALL)
        b = c.call("generate", token=token, prompt="a woman", options=SMALL)
        c.cancel(a["job_id"])  # its run proves nothing here: the workers stay free for the next tests
    assert a["job_id"] == b["job_id"] and a["created"] and not b["created"]


@pytest.mark.parametrize("fields, code, where", [
    ({"prompt": "   "}, "bad_prompt", "prompt"),
    ({"prompt": "a man", "overrides": ["hair.colour=red"]}, "bad_prompt", "overrides"),
    ({"prompt": "a man", "options": {"texture_size": 99999}}, "bad_request", "options.texture_size"),
    ({"prompt": "a man", "options": {"parser": "transformers"}}, "unsupported", "options.parser"),
    ({"prompt": "a man", "options": {"portrait": True}}, "unsupported", "options.portrait"),  # no SD weights here
    ({"prompt": "a man", "seed": -1}, "bad_request", "seed"),
    ({"prompt": "a man", "out": "/etc"}, "bad_request", "out"),
])
def test_a_bad_generate_gets_a_specific_error_and_queues_nothing(server, fields, code, where):
    with server.client(token=token_for("badgen")) as c:
        with pytest.raises(RequestFailed) as err:
            c.call("generate", token=uuid.uuid4().hex, **fields)
        assert (err.value.code, err.value.field) == (code, where)
        assert c.jobs() == []


def test_unknown_jobs_unfinished_jobs_and_unknown_files_are_refused(server):
    with server.client() as c:
        with pytest.raises(RequestFailed, match="not_found"):
            c.status("j_0123456789abcdef")
        with pytest.raises(RequestFailed) as err:
            c.call("fetch", job_id="j_0123456789abcdef", path="../../etc/passwd", length=10)
        assert err.value.code == "not_found"
        with pytest.raises(RequestFailed) as err:
            c.call("status", job_id="../../etc")
        assert (err.value.code, err.value.field) == ("bad_request", "job_id")
        done = c.generate("a boy", seed=2, **SMALL)
        assert c.wait(done, timeout_s=300)["state"] == "done"
        with pytest.raises(RequestFailed) as err:
            c.call("fetch", job_id=done, path="../jobs.sqlite", length=10)
        assert err.value.code == "not_found"
        unfinished = c.generate("a girl", seed=2, **SMALL)  # takes seconds; the edit comes at once
        with pytest.raises(RequestFailed) as err:
            c.edit(unfinished, ["hair.color=red"])
        assert err.value.code == "conflict"
        with pytest.raises(RequestFailed) as err:
            c.fetch(unfinished, "unused")
        assert err.value.code == "conflict"
        c.cancel(unfinished)  # its run proves nothing more: the workers stay free for the next tests


def test_a_batch_over_the_per_client_limit_is_refused_whole(server):
    with server.client(token=token_for("greedy")) as c:
        with pytest.raises(RequestFailed) as err:
            c.batch(count=65, **SMALL)
        assert err.value.code == "limit"
        assert c.jobs() == []


@pytest.mark.slow  # over 25 s: the default run stays near 10 minutes
def test_a_random_batch_spreads_gender_and_age_as_asked(server):
    with server.client(token=token_for("batcher")) as c:
        batch_id, jobs = c.batch(count=4, seed=40, diversity={"genders": ["female", "male"], "age_range": [20, 70]}, **SMALL)
        states = [c.wait(j, timeout_s=600)["state"] for j in jobs]
        batch = c.status(batch_id=batch_id)["batch"]
    assert states == ["done"] * 4 and batch["counts"] == {"done": 4}
    overrides = [j["request"]["overrides"] for j in batch["jobs"]]
    assert [o[0] for o in overrides] == ["body.gender=female", "body.gender=male"] * 2
    ages = [float(o[1].split("=")[1]) for o in overrides]
    assert all(20 <= a <= 70 for a in ages) and len(set(ages)) == 4
    assert [j["request"]["seed"] for j in batch["jobs"]] == [40, 41, 42, 43]


def test_a_corrupt_photo_is_refused_and_a_faceless_one_fails_its_job_saying_why(server):
    buf = io.BytesIO()
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(buf, format="PNG")
    with server.client() as c:
        assert c.hello()["capabilities"]["photo"] is True
        with pytest.raises(RequestFailed) as err:
            c.generate("a man", photo=b"\x89PNG not really")
        assert (err.value.code, err.value.field) == ("bad_request", "photo")
        job = c.wait(c.generate("a man", photo=buf.getvalue(), **SMALL), timeout_s=300)
    assert job["state"] == "failed" and "no face found" in job["error"], job


def test_a_portrait_makes_the_head_and_an_edit_keeps_it(server, tmp_path):
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buf, format="PNG")
    with server.client() as c:
        job_id = c.generate("", photo=buf.getvalue(), **SMALL)  # the photo alone is enough
        assert c.wait(job_id, timeout_s=300)["state"] == "done"
        edit_id = c.edit(job_id, ["hair.color=black"])
        assert c.wait(edit_id, timeout_s=300)["state"] == "done"
        out = c.fetch(edit_id, tmp_path / "pkg")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["photo"]["reprojection_error_px"]["final"] <= 2.5
    assert manifest["attributes"]["hair"]["color"] == "black"  # the edit wins over the photo's colour
    assert (out / "preview_photo.png").is_file()


def test_editor_poll_returns_at_once_and_delivers_every_event(server):
    with server.client() as c:
        job_id = c.generate("a woman with a ponytail", seed=8, **SMALL)
        c.watch(job_id)
        events, slowest = [], 0.0
        deadline = time.monotonic() + 300
        while not (events and events[-1]["event"] in ("done", "failed")) and time.monotonic() < deadline:
            t0 = time.perf_counter()
            updates = c.poll()
            slowest = max(slowest, time.perf_counter() - t0)
            events += [u.data for u in updates if u.kind == "event"]
            time.sleep(1 / 60)  # an editor tick
    assert events[-1]["event"] == "done"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert slowest < 0.1  # generous for a loaded CI machine; a blocking poll would wait seconds


def test_status_shows_the_queue_and_warm_workers(server):
    with server.client() as c:
        s = c.status()["server"]
    assert len(s["workers"]) == 2 and all(w["rss_mb"] > 100 for w in s["workers"])
    assert set(s["counts"]) <= {"queued", "running", "done", "failed", "cancelled", "expired"}


def test_mach_client_generates_shows_status_and_fetches(server, tmp_path):
    import subprocess
    import sys

    def mach(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "machcreator.cli", "client", *args, "--endpoint", server.endpoint],
                              capture_output=True, text=True, timeout=300)

    out = tmp_path / "cli_pkg"
    proc = mach("generate", "a woman with a bob", "--seed", "4", "--texture-size", "128", "--hair-detail", "0.05",
                "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    job_id = proc.stdout.split()[0]
    assert "Writing the package" in proc.stderr  # the stages' progress lines
    assert [i for i in validate_package(out) if i.severity == "error"] == []
    status = mach("status", job_id)
    assert status.returncode == 0 and f"{job_id} done" in status.stdout
    missing = mach("status", "j_0123456789abcdef")
    assert missing.returncode == 2 and "not_found" in missing.stderr
