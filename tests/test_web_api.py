"""The web studio's HTTP API, with a tiny random network in place of VGG19 and a stand-in
for fast mode's onnx sessions: every route, every bad input, the queue, restarts."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from painterly.backbones import VGG19Features, random_vgg19_weights
from painterly.backbones.vgg import deepest_tap
from painterly.config import TransferConfig
from painterly.web.app import create_app, describe_fields
from painterly.web.store import Store

#: Shallow layers keep each step to milliseconds on a busy CPU.
QUICK = {"size": 32, "iterations": 3, "style_layers": ["conv1_1", "conv2_1"], "content_layers": ["conv2_1"]}


def tiny_network(config: TransferConfig) -> VGG19Features:
    last = deepest_tap(config.content_layers + config.style_layers)
    weights = random_vgg19_weights(torch.Generator().manual_seed(0), width=0.125)
    return VGG19Features(weights, config.pooling, config.activation, last_tap=last)


class FakeStylizer:
    """Fast mode's interface without onnx: a fixed style vector, a colour-inverted 'painting'."""

    threads = 1
    load_seconds = 0.0

    def style_vector(self, painting: Image.Image) -> np.ndarray:
        return np.zeros((1, 1, 1, 100), np.float32)

    def paint(self, photo: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return 1.0 - photo


def png_bytes(size: tuple[int, int] = (40, 32), colour: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    rng = np.random.default_rng(sum(colour))
    arr = np.clip(np.array(colour) + rng.integers(-30, 30, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr, "RGB").save(out, "PNG")
    return out.getvalue()


def make_client(data_dir: Path, **kwargs: object) -> TestClient:
    app = create_app(
        data_dir, network_factory=tiny_network, fast_factory=lambda cfg: FakeStylizer(), **kwargs
    )
    return TestClient(app, base_url="http://localhost")  # the studio answers only trusted hosts


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path / "studio") as c:
        yield c


def upload(client: TestClient, data: bytes | None = None, name: str = "photo.png") -> dict:
    r = client.post("/api/uploads", files={"file": (name, data or png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    return r.json()


def wait_for(client: TestClient, job_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job['status']}")


def start_job(
    client: TestClient, settings: dict | None = None, mode: str = "optimise", **extra: object
) -> dict:
    a, b = upload(client), upload(client, png_bytes(colour=(20, 60, 220)), "paint.png")
    body = {"mode": mode, "content": a["id"], "styles": [b["id"]], "settings": settings or {}, **extra}
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 201, r.text
    return r.json()


# --- options: the form comes from the config -------------------------------------


def test_options_are_derived_from_the_config(client: TestClient) -> None:
    options = client.get("/api/options").json()
    fields = {f["name"]: f for f in options["fields"]["optimise"]}
    assert fields["pooling"]["choices"] == ["max", "avg"]
    assert (
        fields["style_weight"]["help"] == TransferConfig.__dataclass_fields__["style_weight"].metadata["help"]
    )
    assert fields["size"]["default"] == TransferConfig().size and fields["size"]["primary"]
    assert fields["style_layers"]["kind"] == "list"
    assert set(fields["init"]["choices"]) <= {"content", "noise", "style", "fast", "recolor"}
    # nothing that names a file on the server is offered
    assert not {"color_reference", "masks", "device"} & set(fields)
    assert options["modes"][-1] == "optimise"
    assert {"draft", "balanced", "quality"} <= set(options["presets"])
    assert "chelsea" in [e["name"] for e in options["examples"]["content"]]
    assert options["limits"]["upload_bytes"] > 0


def test_describe_fields_covers_every_visible_field() -> None:
    names = [f["name"] for f in describe_fields(TransferConfig)]
    assert len(names) == len(set(names)) and "iterations" in names and "seed" in names


# --- uploads: decoded, renamed by the server, capped ---------------------------------


def test_upload_is_decoded_and_stored_under_a_server_made_name(client: TestClient, tmp_path: Path) -> None:
    jpeg = io.BytesIO()
    Image.new("RGBA", (50, 30), (10, 200, 10, 128)).convert("RGB").save(jpeg, "JPEG")
    record = upload(client, jpeg.getvalue(), name="../../../etc/evil name.png")
    assert len(record["id"]) == 16 and (record["width"], record["height"]) == (50, 30)
    assert record["label"] == "evil name.png"
    files = sorted(p.name for p in (tmp_path / "studio" / "uploads").iterdir())
    assert files == [f"{record['id']}.png"]
    r = client.get(record["url"])
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (50, 30)


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"not an image at all", 400, "not an image"),
        (b"", 400, "empty"),
        (png_bytes()[:60], 400, "truncated"),
        (png_bytes((8, 8)), 400, "too small"),
    ],
)
def test_bad_uploads_get_json_errors(client: TestClient, data: bytes, status: int, words: str) -> None:
    r = client.post("/api/uploads", files={"file": ("x.png", data, "image/png")})
    assert r.status_code == status
    assert words in r.json()["error"]


def test_upload_without_a_file_field(client: TestClient) -> None:
    r = client.post("/api/uploads", data={"other": "1"})
    assert r.status_code == 400 and "file" in r.json()["error"]


def test_upload_over_the_size_cap_is_413(tmp_path: Path) -> None:
    c = make_client(tmp_path / "s", max_upload_bytes=2000)
    r = c.post("/api/uploads", files={"file": ("big.png", png_bytes((80, 80)), "image/png")})
    assert r.status_code == 413 and "too large" in r.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: caught while it streams in
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(10):
            yield b"x" * 500

    r = c.post("/api/uploads", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "too large" in r.json()["error"]


def test_upload_over_the_pixel_cap_is_413(tmp_path: Path) -> None:
    c = make_client(tmp_path / "s", max_pixels=1000)
    r = c.post("/api/uploads", files={"file": ("x.png", png_bytes((40, 40)), "image/png")})
    assert r.status_code == 413 and "pixels" in r.json()["error"]


def test_examples_can_be_listed_served_and_used(client: TestClient) -> None:
    assert client.get("/api/examples/content/chelsea").status_code == 200
    record = client.post("/api/examples/styles/starry_night").json()
    assert record["label"] == "starry_night" and client.get(record["url"]).status_code == 200
    for url in ("/api/examples/content/..%2F..%2Fpyproject", "/api/examples/secrets/chelsea"):
        r = client.get(url)
        assert r.status_code == 404 and "error" in r.json()


# --- jobs ------------------------------------------------------------------------


def test_optimise_job_streams_progress_and_keeps_its_result(client: TestClient) -> None:
    job = start_job(client, QUICK)
    assert job["status"] in ("queued", "running") and job["config"]["iterations"] == 3
    seen, ids = [], []
    with client.stream("GET", f"/api/events?job={job['id']}&since=0") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(line[4:])
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
    kinds = [e["type"] for e in seen]
    assert "progress" in kinds and kinds[-1] == "end"
    steps = [e["step"] for e in seen if e["type"] == "progress"]
    # a reconnecting EventSource sends Last-Event-ID and gets only what came after it
    with client.stream("GET", f"/api/events?job={job['id']}", headers={"Last-Event-ID": ids[1]}) as r:
        resumed = [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: ")]
    assert resumed[:-1] == seen[2:-1] and resumed[-1]["type"] == "end"
    assert steps == [1, 2, 3] and all("total" in e["losses"] for e in seen if e["type"] == "progress")
    done = client.get(f"/api/jobs/{job['id']}").json()
    assert done["status"] == "finished" and done["has_result"] and done["step"] == 3
    assert [h["step"] for h in done["history"]] == [1, 2, 3]
    r = client.get(done["urls"]["download"])
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert Image.open(io.BytesIO(r.content)).size == (32, 26)
    assert client.get(done["urls"]["thumb"]).status_code == 200
    gallery = client.get("/api/jobs").json()["jobs"]
    assert [j["id"] for j in gallery] == [job["id"]]


def test_a_record_says_which_events_it_is_as_new_as(client: TestClient) -> None:
    """Each answer's ``seq`` is the last event number before the record was read: the page
    drops an answer older than an event it has applied (a Cancel's "running" reaching it after
    the job's "stopped"), so the events that moved the job on from the answer (its steps, its
    end) must number higher, and a record read after them all at least as high."""
    job = start_job(client, QUICK)
    with client.stream("GET", f"/api/events?job={job['id']}&since=0") as r:
        events = []
        for line in r.iter_lines():
            if line.startswith("id: "):
                number = int(line[4:])
            elif line.startswith("data: "):
                events.append((number, json.loads(line[6:])))
    moved_on = [
        n
        for n, e in events
        if e["type"] == "progress" or (e["type"] == "job" and e["job"]["status"] == "finished")
    ]
    assert job["status"] in ("queued", "running") and len(moved_on) == 4 and job["seq"] < min(moved_on)
    ids = [n for n, _ in events]
    done = client.get(f"/api/jobs/{job['id']}").json()
    listed = next(j for j in client.get("/api/jobs").json()["jobs"] if j["id"] == job["id"])
    assert done["status"] == "finished" and done["seq"] >= max(ids) and listed["seq"] >= max(ids)


def test_fast_job(client: TestClient) -> None:
    job = start_job(client, {"size": 32, "strength": 1.0}, mode="fast")
    done = wait_for(client, job["id"], ("finished", "failed"))
    assert done["status"] == "finished", done["message"]
    assert done["mode"] == "fast" and done["has_result"]


def test_preset_is_applied_and_settings_win(client: TestClient) -> None:
    job = start_job(client, {**QUICK, "iterations": 2}, preset="draft")
    assert job["request"]["preset"] == "draft" and job["config"]["iterations"] == 2
    client.post(f"/api/jobs/{job['id']}/cancel")


def test_cancel_keeps_the_latest_image(client: TestClient) -> None:
    job = start_job(client, {**QUICK, "iterations": 5000})
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job['id']}").json()["step"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    done = wait_for(client, job["id"], ("stopped",))
    assert done["has_result"] and 2 <= done["step"] < 5000 and "stopped" in done["message"]
    r = client.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 409 and "already ended" in r.json()["error"]


def test_queue_places_cancel_waiting_rerun_and_delete(client: TestClient) -> None:
    long = start_job(client, {**QUICK, "iterations": 5000})
    waiting = start_job(client, QUICK)
    assert client.get(f"/api/jobs/{waiting['id']}").json()["position"] == 1
    r = client.post(f"/api/jobs/{waiting['id']}/cancel")
    assert r.json()["status"] == "stopped" and "before it started" in r.json()["message"]
    r = client.delete(f"/api/jobs/{long['id']}")
    assert r.status_code == 409 and "cancel it first" in r.json()["error"]
    client.post(f"/api/jobs/{long['id']}/cancel")
    wait_for(client, long["id"], ("stopped",))
    again = client.post(f"/api/jobs/{waiting['id']}/rerun")
    assert again.status_code == 201 and again.json()["request"] == waiting["request"]
    assert wait_for(client, again.json()["id"], ("finished",))["has_result"]
    assert client.delete(f"/api/jobs/{long['id']}").json() == {"deleted": long["id"]}
    assert client.get(f"/api/jobs/{long['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"content": "0123456789abcdef"}, "unknown upload"),
        ({"styles": []}, "at least one painting"),
        ({"styles": ["../x"]}, "unknown upload"),
        ({"mode": "magic"}, "mode must be"),
        ({"settings": {"no_such_knob": 1}}, "unknown setting"),
        ({"settings": {"color_reference": "/etc/passwd"}}, "unknown setting"),
        ({"settings": {"masks": ["/etc/passwd:x"]}}, "unknown setting"),
        ({"settings": {"init": "/etc/passwd"}}, "init: must be one of"),
        ({"settings": {"size": "big"}}, "expected a number"),
        ({"settings": {"size": 4096}}, "at most 2048"),
        ({"settings": {"iterations": 2.5}}, "whole number"),
        ({"settings": {"style_layers": ["conv9_9"]}}, "style_layers"),
        ({"settings": {"pooling": "median"}}, "pooling: must be one of"),
        ({"preset": "wild"}, "unknown preset"),
        ({"settings": {"style_blend_weights": [1, 2]}}, "2 values for 1 paintings"),
        ({"colour": 1}, "unknown job field"),
    ],
)
def test_bad_job_requests_get_json_errors(client: TestClient, change: dict, words: str) -> None:
    a, b = upload(client), upload(client)
    body = {"content": a["id"], "styles": [b["id"]], "settings": {}, **change}
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]


def test_not_json_and_unknown_routes_are_json_errors(client: TestClient) -> None:
    r = client.post("/api/jobs", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    for url in (
        "/api/nothing",
        "/api/jobs/0123456789abcdef",
        "/api/jobs/..%2F..%2Fetc",
        "/api/uploads/abc.png",
    ):
        r = client.get(url)
        assert r.status_code == 404 and r.json()["error"], url
    job = start_job(client, QUICK)
    wait_for(client, job["id"], ("finished",))
    assert client.get(f"/api/jobs/{job['id']}/studio.sqlite3").status_code == 404
    assert client.get("/api/events?job=0123456789abcdef").status_code == 404
    r = client.put("/api/jobs")
    assert r.status_code == 405 and r.json()["error"]
    r = client.get("/api/events?since=soon")
    assert r.status_code == 422 and "since" in r.json()["error"]


def test_page_and_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "painterly" in page.text and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing fetched from outside
    assert client.get("/static/app.js").status_code == 200


# --- restarts ---------------------------------------------------------------------


def test_restart_marks_running_jobs_interrupted_and_runs_queued_ones(tmp_path: Path) -> None:
    data = tmp_path / "studio"
    store = Store(data)
    a = store.add_upload(Image.open(io.BytesIO(png_bytes())), "a.png")
    running = store.add_job(
        "optimise",
        a["id"],
        [a["id"]],
        {"mode": "optimise"},
        TransferConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in QUICK.items()}).to_dict(),
    )
    store.update_job(running["id"], status="running", step=2)
    Image.new("RGB", (32, 26), (1, 2, 3)).save(store.job_file(running["id"], "latest.png"))
    queued = store.add_job("optimise", a["id"], [a["id"]], {"mode": "optimise"}, running["config"])
    bare = store.add_job("optimise", a["id"], [a["id"]], {"mode": "optimise"}, running["config"])
    store.update_job(bare["id"], status="running")  # died before its first preview
    with make_client(data) as client:
        was_running = client.get(f"/api/jobs/{running['id']}").json()
        assert was_running["status"] == "interrupted" and was_running["has_result"]
        assert "server stopped" in was_running["message"]
        assert client.get(was_running["urls"]["result"]).status_code == 200
        assert wait_for(client, queued["id"], ("finished",))["has_result"]
        bare_now = client.get(f"/api/jobs/{bare['id']}").json()
        assert bare_now["status"] == "interrupted" and not bare_now["has_result"]
    with make_client(data) as client:  # and the gallery survives another restart
        assert "kept its latest image" in client.get(f"/api/jobs/{running['id']}").json()["message"]
        ids = {j["id"] for j in client.get("/api/jobs").json()["jobs"]}
        assert ids == {running["id"], queued["id"], bare["id"]}


# --- the command --------------------------------------------------------------------


def test_serve_command_checks_its_flags(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from painterly.cli import build_parser, run_command

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)  # localhost by default
    assert run_command(["serve", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_command(["serve", "--port", str(port), "--data-dir", str(tmp_path)]) == 2
        assert "cannot listen" in capsys.readouterr().err
    assert run_command(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--data-dir" in out
