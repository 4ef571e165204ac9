"""The studio's video corner (issue #11): upload a clip, watch it paint, download the mp4;
too long, unreadable or without a painting: one clear error. Fast mode is a stand-in
(no onnx) so the test is about the studio, not the network."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi")
av = pytest.importorskip("av")

from painterly.video.synth import camera_frames, write_clip  # noqa: E402
from test_web_api import make_client, png_bytes  # noqa: E402
from test_web_browser import server, studio_page  # noqa: E402, F401  (the live-server fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    frames = camera_frames(Image.open(ROOT / "examples/content/coffee.jpg"), 6, (64, 36))
    return write_clip(frames, tmp_path_factory.mktemp("c") / "c.mp4", fps=10, tone_hz=330).read_bytes()


def post_clip(client, data: bytes, styles: str, name: str = "walk.mp4", **form: str):
    return client.post(
        "/api/videos",
        files={"file": (name, data, "video/mp4")},
        data={"styles": styles, "size": "48", **form},
    )


def test_a_clip_paints_with_progress_and_downloads(tmp_path, clip_bytes):
    with make_client(tmp_path / "studio") as client:
        style = client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}).json()["id"]
        r = post_clip(client, clip_bytes, style)
        assert r.status_code == 201, r.text
        job = r.json()
        seen = set()
        deadline = time.monotonic() + 60
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            job = client.get(f"/api/videos/{job['id']}").json()
            seen.add(job["frames"])
        assert job["status"] == "finished", job
        assert job["frames"] == 6 and job["size"] == [48, 26]
        assert client.get(job["urls"]["latest"]).headers["content-type"] == "image/jpeg"
        result = client.get(job["urls"]["result"])
        assert result.status_code == 200 and "walk-painted.mp4" in result.headers["content-disposition"]
        out = tmp_path / "r.mp4"
        out.write_bytes(result.content)
        with av.open(str(out)) as c:
            assert c.streams.video[0].frames == 6 and c.streams.audio  # the sound came along
        assert client.get("/api/videos/0123456789abcdef").status_code == 404


def test_bad_clips_get_one_clear_error(tmp_path, clip_bytes):
    with make_client(tmp_path / "studio", max_video_seconds=0.3) as client:
        style = client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}).json()["id"]
        r = post_clip(client, clip_bytes, style)
        assert r.status_code == 400 and "longer than the studio's 0.3 s" in r.json()["error"]
        r = post_clip(client, b"not a video at all", style)
        assert r.status_code == 400 and "walk.mp4: not a readable video" in r.json()["error"]
        r = post_clip(client, clip_bytes, "")
        assert r.status_code == 400 and "painting" in r.json()["error"]
        r = post_clip(client, clip_bytes, style, name="x.exe")
        assert r.status_code == 400
        r = post_clip(client, clip_bytes, style, temporal_weight="3")
        assert r.status_code == 400 and "temporal_weight" in r.json()["error"]
        ok = post_clip(client, clip_bytes, style, duration="0.2")  # a short part of it is fine
        assert ok.status_code == 201, ok.text


@pytest.mark.browser
def test_video_corner_in_a_real_browser(server, tmp_path, clip_bytes):  # noqa: F811 (fixture)
    clip = tmp_path / "walk.mp4"
    clip.write_bytes(clip_bytes)
    with studio_page(server, (1280, 1400)) as (page, errors, sync_api):
        page.set_input_files("#video-input", str(clip))
        page.click("#video-start")  # no painting chosen yet: the page says so
        page.wait_for_selector("#error:not([hidden])")
        assert "painting" in page.inner_text("#error")
        page.set_input_files("#style-input", str(ROOT / "examples/styles/starry_night.jpg"))
        page.wait_for_selector("#style-chosen img")
        page.fill("#video-size", "64")
        page.click("#video-start")
        expect = sync_api.expect
        expect(page.locator("#video-download")).to_be_visible(timeout=60000)
        assert "done: 6 frames" in page.inner_text("#video-status")
        assert page.is_visible("#video-latest")
        assert not errors, errors
