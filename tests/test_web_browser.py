"""End to end in a real headless Chromium: the page uploads two small images, runs a tiny
fast job and a tiny optimisation (the real networks), sees progress and the result, and
downloads it. Set PAINTERLY_SCREENSHOT=path to keep a screenshot of the finished page."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from conftest import make_image

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def studio_page(
    server: str,
    viewport: tuple[int, int] = (1280, 900),
    args: list[str] = ARGS,
    permissions: tuple[str, ...] = (),
    **context_options: object,
) -> Iterator[tuple[object, list[str], object]]:
    """The studio opened in headless Chromium and ready: yields (page, errors, playwright's
    sync_api). ``errors`` collects page errors and whatever the Content-Security-Policy
    blocks (it shows up as a console error), so each test ends with ``assert not errors``.
    Skips where Debian's chromium or playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            width, height = viewport
            context = browser.new_context(viewport={"width": width, "height": height}, **context_options)
            if permissions:
                context.grant_permissions(list(permissions))
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
            )
            page.goto(server)
            page.wait_for_selector("body[data-ready='1']", timeout=15000)
            yield page, errors, sync_api
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn")
    from painterly.web.app import create_app

    port = free_port()
    app = create_app(tmp_path / "studio")
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the studio server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_studio_in_a_real_browser(server: str, tmp_path: Path) -> None:
    photo = make_image(tmp_path / "photo.png", (64, 48), seed=1)
    painting = make_image(tmp_path / "painting.png", (48, 64), seed=2)

    with studio_page(server, (1280, 900), accept_downloads=True) as (page, errors, sync_api):
        page.set_input_files("#content-input", str(photo))
        page.set_input_files("#style-input", str(painting))
        page.wait_for_selector("#content-chosen img")
        page.wait_for_selector("#style-chosen img")
        assert page.is_enabled("#start")

        # a bad setting: the server's JSON message appears on the page
        page.check("#mode-optimise")
        page.click("#advanced > summary")
        page.fill("#f-size", "99999")
        page.click("#start")
        page.wait_for_selector("#error:not([hidden])")
        assert "size" in page.inner_text("#error")

        # a tiny fast job, when fast mode is installed
        if page.is_enabled("#mode-fast"):
            page.check("#mode-fast")
            page.fill("#f-size", "64")
            page.click("#start")
            page.wait_for_selector("#live-status.finished", timeout=60000)
            assert page.is_visible("#download")

        # a tiny optimisation with the real VGG19: progress arrives, then the result
        page.check("#mode-optimise")
        page.select_option("#preset", "")
        page.fill("#f-size", "64")
        page.fill("#f-iterations", "5")
        page.click("#start")
        # Locator waits, not wait_for_function: the page's CSP forbids eval, and rightly so.
        expect = sync_api.expect
        expect(page.locator("#live-step")).to_have_text(re.compile(r"^step [1-9]"), timeout=90000)
        expect(page.locator("#live-title")).to_have_text(re.compile(r"^optimise"), timeout=90000)
        expect(page.locator("#live-status")).to_have_text("finished", timeout=90000)
        assert page.inner_text("#live-step") == "step 5 / 5"
        assert "total" in page.inner_text("#live-losses")
        assert page.locator("#gallery .card").count() >= 2

        with page.expect_download() as info:
            page.click("#download")
        saved = tmp_path / "download.png"
        info.value.save_as(saved)
        assert Image.open(saved).size == (64, 48)

        # Tweak puts the run's settings back into the form
        page.fill("#f-iterations", "")
        page.click("#tweak")
        assert page.input_value("#f-iterations") == "5" and page.is_checked("#mode-optimise")

        # Delete (after the confirmation) takes a run out of the gallery
        cards = page.locator("#gallery .card").count()
        page.on("dialog", lambda dialog: dialog.accept())
        page.locator("#gallery .card").last.get_by_role("button", name="Delete").click()
        expect(page.locator("#gallery .card")).to_have_count(cards - 1)

        shot = os.environ.get("PAINTERLY_SCREENSHOT")
        if shot:
            page.screenshot(path=shot, full_page=True)
        assert not errors, errors
