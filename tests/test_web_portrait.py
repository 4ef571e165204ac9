"""Portrait mode in the studio (issue #9): the selfie camera flow in a real headless
Chromium with its fake camera, the found-masks overlay, and a portrait job through the API."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from conftest import EXAMPLES, make_image
from test_web_browser import ARGS, server, studio_page  # noqa: F401  (the fixture)

ASTRONAUT = EXAMPLES / "content" / "astronaut.jpg"
CAMERA_ARGS = [*ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
def client(tmp_path: Path):
    testclient = pytest.importorskip("fastapi.testclient")
    from painterly.web.app import create_app

    with testclient.TestClient(create_app(tmp_path / "studio"), base_url="http://127.0.0.1") as c:
        yield c


def upload(client, path: Path) -> str:
    with open(path, "rb") as f:
        response = client.post("/api/uploads", files={"file": (path.name, f, "image/jpeg")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_analyse_finds_the_face_and_serves_the_overlay(client) -> None:
    uid = upload(client, ASTRONAUT)
    info = client.post(f"/api/portrait/analyse/{uid}").json()
    assert info["faces"] == 1 and not info["warning"] and 0.2 < info["person_share"] < 0.9
    overlay = client.get(info["overlay"])
    assert overlay.status_code == 200 and overlay.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(overlay.content)).size == (512, 512)
    assert client.post("/api/portrait/analyse/nosuchupload").status_code == 404


def test_a_portrait_job_runs_and_records_its_settings(client, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    uid = upload(client, ASTRONAUT)
    sid = upload(client, make_image(tmp_path / "p.png", (48, 64), seed=2))
    body = {
        "mode": "fast", "content": uid, "styles": [sid],
        "settings": {"size": 96, "portrait": True, "face_strength": 0.8, "keep_skin": True},
    }  # fmt: skip
    job = client.post("/api/jobs", json=body)
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    client.app.state.queue.wait_idle(60)
    done = client.get(f"/api/jobs/{job_id}").json()
    assert done["status"] == "finished", done
    assert done["config"]["portrait"] is True and done["config"]["face_strength"] == 0.8


def test_selfie_from_the_fake_camera_in_chromium(server: str, tmp_path: Path) -> None:  # noqa: F811
    painting = make_image(tmp_path / "painting.png", (48, 64), seed=2)
    with studio_page(server, (1280, 1200), CAMERA_ARGS, ("camera",)) as (page, errors, sync_api):
        expect = sync_api.expect
        page.wait_for_selector("#portrait-panel[data-ready='1']")

        # the camera: the prompt, then the live preview, then the photo becomes the content
        assert "permission" in page.inner_text("#camera-prompt")
        page.click("#camera-start")
        expect(page.locator("#camera-snap")).to_be_visible(timeout=15000)
        expect(page.locator("#camera-video")).to_be_visible()
        page.wait_for_timeout(500)  # a few frames of the fake camera's test pattern
        page.click("#camera-snap")
        page.wait_for_selector("#content-chosen img", timeout=15000)
        assert page.is_checked("#portrait-on")
        assert page.is_hidden("#camera-video")
        # what was found is shown over the photo: the fake camera has no face, and says so
        expect(page.locator("#portrait-found")).to_have_text(re.compile(r"no face found"), timeout=15000)
        expect(page.locator("#portrait-overlay")).to_be_visible()

        # the upload fallback with a real portrait: one face found
        page.set_input_files("#content-input", str(ASTRONAUT))
        expect(page.locator("#content-chosen img")).to_have_attribute("alt", "astronaut.jpg", timeout=15000)
        page.click("#portrait-show")
        expect(page.locator("#portrait-found")).to_have_text(re.compile(r"^1 face found"), timeout=15000)

        # a portrait job with the panel's controls (fast mode when installed, else a tiny optimisation)
        page.set_input_files("#style-input", str(painting))
        page.wait_for_selector("#style-chosen img")
        page.fill("#portrait-face", "0.8")
        page.check("#portrait-skin")
        page.click("#advanced > summary")
        if page.is_enabled("#mode-fast"):
            page.check("#mode-fast")
        else:
            page.check("#mode-optimise")
            page.select_option("#preset", "")
            page.fill("#f-iterations", "2")
        page.fill("#f-size", "64")
        page.click("#start")
        expect(page.locator("#live-status")).to_have_text("finished", timeout=90000)
        jobs = page.request.get(f"{server}/api/jobs").json()["jobs"]
        assert any(
            j["config"].get("portrait") is True
            and j["config"].get("face_strength") == 0.8
            and j["config"].get("keep_skin") is True
            for j in jobs
        ), [j["config"] for j in jobs]
        assert not errors, errors
