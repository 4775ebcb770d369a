"""``mach serve --models``: hello names the portrait's weights, and a job reports every denoising step."""

from __future__ import annotations

import pytest
from serving import SMALL, ServerProcess

from tests.portrait.tiny_models import tiny_models_config


@pytest.fixture(scope="module")
def painting_server(tmp_path_factory):
    """One worker with the tiny random SD 1.5 + ControlNets + CLIP of the portrait tests configured."""
    models = tiny_models_config(tmp_path_factory.mktemp("weights"))
    s = ServerProcess(tmp_path_factory.mktemp("serve") / "data", "--models", str(models.source)).start()
    yield s
    s.stop()


def test_hello_says_text_is_painted_and_with_which_weights(painting_server):
    with painting_server.client() as c:
        capabilities = c.hello()["capabilities"]
    assert capabilities["portrait"] is True and "portrait" in capabilities["stages"]
    checks = {m["name"]: m for m in capabilities["models"]}
    assert {"base", "controlnet_openpose", "controlnet_canny", "clip"} <= set(checks)
    assert all(m["found"] and m["problem"] is None for m in checks.values()), checks
    assert checks["base"]["arch"] == "sd15" and checks["base"]["device"] == "cpu"


def test_each_denoising_step_is_an_event_and_a_faceless_portrait_fails_the_job_saying_why(painting_server):
    with painting_server.client() as c:
        job_id = c.generate("a man", seed=2, **SMALL)
        events: list[dict] = []
        job = c.wait(job_id, on_event=events.append, timeout_s=300)
    assert job["state"] == "failed"
    assert "none of the 2 portraits painted shows a face" in job["error"], job
    steps = [e for e in events if e["event"] == "stage_progress"]
    assert [e["message"] for e in steps] == [f"portrait try {t}/2: step {i}/2" for t in (1, 2) for i in (1, 2)]
    started = [e for e in events if e["event"] == "stage_started" and e["stage"] == "portrait"]
    assert len(started) == 1 and all(e["stage"] == "portrait" and e["fraction"] > started[0]["fraction"] for e in steps)
