"""Issue #18: ``painterly run ... --watch`` serves a live view of the run from its own process
on 127.0.0.1. A real run (the real VGG19, 32 px) in a subprocess, read with a real HTTP
client while it paints: the page, the numbers, the picture, the end; other hosts refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_image

httpx = pytest.importorskip("httpx")

pytestmark = [pytest.mark.slow]
SRC = Path(__file__).resolve().parents[1] / "src"


def test_run_watch_serves_the_live_view(tmp_path: Path) -> None:
    photo = make_image(tmp_path / "photo.png", (40, 32), seed=1)
    painting = make_image(tmp_path / "painting.png", (32, 40), seed=2)
    out = tmp_path / "out.png"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [sys.executable, "-m", "painterly", "run", str(photo), str(painting), "-o", str(out)]
    cmd += ["--size", "32", "-n", "20", "--seed", "1", "--watch", "-q"]
    # the browser webbrowser.open starts: $BROWSER, here a script that writes down the URL
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    env["BROWSER"] = f"{sys.executable} {browser} %s"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        found = re.search(r"watch this run at (http://127\.0\.0\.1:\d+/)", line)
        assert found, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = found.group(1)
        seen: list[dict] = []
        picture = None
        with httpx.Client(base_url=url, timeout=5) as client:
            page = client.get("/")
            assert page.status_code == 200 and "watch.js" in page.text
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert client.get("/static/watch.js").status_code == 200
            # DNS rebinding: a page on another name that resolves here is refused
            assert client.get("/api/watch", headers={"Host": "evil.example:80"}).status_code == 421
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    state = client.get("/api/watch").json()
                except httpx.TransportError:
                    break  # the run ended and took its server with it
                seen.append(state)
                if state["preview"] and picture is None:
                    r = client.get("/latest.png")
                    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
                    picture = r.content
                if state["status"] not in ("starting", "running"):
                    break
                time.sleep(0.1)
        assert proc.wait(60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.is_file()
    assert opened.read_text() == url
    running = [s for s in seen if s["status"] == "running"]
    assert running and all(s["total"] == 20 for s in running)
    assert any(0 < s["step"] < 20 for s in running), [s["step"] for s in seen]
    assert any(isinstance(s["seconds_left"], float) and s["losses"].get("total") for s in running)
    assert seen[-1]["status"] == "finished" and seen[-1]["step"] == 20
    assert picture is not None and picture.startswith(b"\x89PNG")


def test_no_browser_opens_nothing(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import argparse
    import webbrowser

    from painterly.cli import watch_io

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    assert watch_io.start(argparse.Namespace(watch=False), "x", 5) is None
    for no_browser in (True, False):
        args = argparse.Namespace(watch=True, no_browser=no_browser, watch_port=0)
        watch = watch_io.start(args, "out.png", 5)
        assert watch is not None
        with watch:
            assert f"watch this run at {watch.url}" in capsys.readouterr().out
    assert opened == [watch.url]  # only the run without --no-browser opened it


def test_watch_flags_in_help() -> None:
    from painterly.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert "--watch" in text and "--no-browser" in text
