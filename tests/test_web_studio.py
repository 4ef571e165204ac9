"""Issue #18, the studio's side over HTTP: what is shown is what runs (the plan of a preset
run, the card's steps, the config's ``iterations``), the time left in the live stream, and
carrying on an interrupted or stopped job from its picture with the engine's own resume."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from collections.abc import Iterator

from fastapi.testclient import TestClient

from painterly.config import TransferConfig
from painterly.presets import preset_config
from painterly.web.store import Store
from test_web_api import QUICK, make_client, png_bytes, start_job, wait_for


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path / "studio") as c:
        yield c


def test_preset_config_records_the_steps_that_run() -> None:
    # the manifest wrote iterations: 500 (the default) for a 225-step draft run
    for name in ("draft", "balanced", "quality"):
        config = preset_config(name, size=512)
        assert config.iterations == config.total_steps() == sum(config.scale_iterations)
    assert preset_config("draft", size=256, iterations=7).iterations == 7  # the user's value wins


def test_plan_shows_what_a_preset_run_will_do(client: TestClient) -> None:
    r = client.post("/api/plan", json={"mode": "optimise", "preset": "draft", "settings": {"size": 256}})
    assert r.status_code == 200, r.text
    plan = r.json()
    steps = [s["steps"] for s in plan["scales"]]
    assert plan["total_steps"] == sum(steps) == plan["iterations"] != 500
    assert [s["size"] for s in plan["scales"]][-1] == 256 and len(steps) > 1
    # and the job then runs exactly that many steps, and says so
    # (adam: the user's optimiser wins over the preset's L-BFGS, the schedule stays; its steps are quick)
    job = start_job(client, {**QUICK, "iterations": None, "size": 256, "optimizer": "adam"}, preset="draft")
    assert job["total_steps"] == plan["total_steps"] == job["config"]["iterations"]
    client.post(f"/api/jobs/{job['id']}/cancel")
    # settings win over the preset, in the plan as in the job
    mine = client.post(
        "/api/plan", json={"preset": "draft", "settings": {"size": 64, "iterations": 4}}
    ).json()
    assert mine["total_steps"] == 4 and mine["scales"] == [{"size": 64, "steps": 4}]
    assert client.post("/api/plan", json={"mode": "fast"}).json()["total_steps"] == 1
    bad = client.post("/api/plan", json={"preset": "nope", "settings": {}})
    assert bad.status_code == 400 and "preset" in bad.json()["error"]
    bad = client.post("/api/plan", json={"settings": {"size": "big"}})
    assert bad.status_code == 400 and "size" in bad.json()["error"]


def test_progress_events_carry_the_time_left(client: TestClient) -> None:
    job = start_job(client, {**QUICK, "iterations": 6})
    wait_for(client, job["id"], ("finished",))
    with client.stream("GET", f"/api/events?since=0&job={job['id']}") as r:
        text = "".join(r.iter_text())
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    progress = [e for e in events if e.get("type") == "progress" and e["id"] == job["id"]]
    assert [e["step"] for e in progress][-1] == 6
    lefts = [e["seconds_left"] for e in progress]
    assert all(isinstance(x, (int, float)) and x >= 0 for x in lefts), lefts
    assert lefts[-1] == 0


def _stopped_job(client: TestClient, total: int) -> dict:
    job = start_job(client, {**QUICK, "iterations": total})
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job['id']}").json()["step"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    client.post(f"/api/jobs/{job['id']}/cancel")
    return wait_for(client, job["id"], ("stopped", "finished"))


def test_a_stopped_job_carries_on_from_its_picture(client: TestClient) -> None:
    stopped = _stopped_job(client, 400)
    assert stopped["status"] == "stopped", "the job ended before it could be stopped"
    done = stopped["step"]
    assert 0 < done < 400
    r = client.post(f"/api/jobs/{stopped['id']}/resume")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("queued", "running") and r.json()["id"] == stopped["id"]
    ended = wait_for(client, stopped["id"], ("finished", "failed"))
    assert ended["status"] == "finished", ended["message"]
    assert ended["step"] == ended["total_steps"] == 400
    history = client.get(f"/api/jobs/{stopped['id']}").json()["history"]
    steps = [row["step"] for row in history]
    assert steps == sorted(steps) and steps[-1] == 400 and len(steps) == len(set(steps))
    folder = Path(client.app.state.store.job_dir(stopped["id"]))
    assert not (folder / "resume.png").exists()
    # a finished job cannot carry on, nor can an unknown one
    r = client.post(f"/api/jobs/{stopped['id']}/resume")
    assert r.status_code == 409 and "finished" in r.json()["error"]
    assert client.post("/api/jobs/0123456789abcdef/resume").status_code == 404
    fast = start_job(client, {"size": 32}, mode="fast")
    wait_for(client, fast["id"], ("finished",))
    assert client.post(f"/api/jobs/{fast['id']}/resume").status_code == 409


def test_resume_runs_the_remaining_schedule_from_the_picture(tmp_path: Path) -> None:
    """A job the server lost mid-run (a multi-scale one) carries on from the step its kept
    picture shows, with painterly.transfer.remaining_schedule's scales and steps."""
    data = tmp_path / "studio"
    store = Store(data)
    a = store.add_upload(Image.open(io.BytesIO(png_bytes((48, 40)))), "a.png")
    config = TransferConfig(
        size=48,
        scales=(32,),
        multiscale=True,
        scale_iterations=(4, 5),
        style_layers=("conv1_1", "conv2_1"),
        content_layers=("conv2_1",),
    )
    job = store.add_job("optimise", a["id"], [a["id"]], {"mode": "optimise"}, config.to_dict(), 9)
    store.update_job(job["id"], status="running", step=7)  # the count ran ahead of the picture
    store.save_latest(job["id"], Image.new("RGB", (48, 40), (90, 20, 200)), 6)
    with make_client(data) as studio:
        client = studio
        lost = client.get(f"/api/jobs/{job['id']}").json()
        assert lost["status"] == "interrupted" and lost["step"] == 6  # the picture's own step
        assert client.post(f"/api/jobs/{job['id']}/resume").status_code == 200
        ended = wait_for(client, job["id"], ("finished", "failed"))
        assert ended["status"] == "finished", ended["message"]
        assert ended["step"] == 9 and ended["total_steps"] == 9
        # it started from the kept (purple) picture, not from the (orange) photo
        with Image.open(io.BytesIO(client.get(ended["urls"]["result"]).content)) as img:
            assert img.size == (48, 40)
            red, _, blue = np.asarray(img.convert("RGB"), dtype=float).mean(axis=(0, 1))
        assert blue > red + 40, (red, blue)
