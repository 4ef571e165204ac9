"""The web studio under hostile requests and an unlucky disk (issue #15, items 1–6):
a worker that survives any job, trusted hosts, same-origin writes, pixel bombs decoded
off the event loop in a bounded pool, nested JSON, security headers, private files."""

from __future__ import annotations

import errno
import io
import re
import sqlite3
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from painterly.web import app as web_app
from painterly.web.guard import CONTENT_SECURITY_POLICY, TrustedHosts, split_host
from painterly.web.store import Store
from test_web_api import QUICK, make_client, png_bytes, start_job, upload, wait_for

DISK_FULL = sqlite3.OperationalError("database or disk is full")


@pytest.fixture
def client(tmp_path: Path):
    with make_client(tmp_path / "studio") as c:
        yield c


def store_of(client: TestClient) -> Store:
    return client.app.state.store  # type: ignore[attr-defined]


# --- 1. the worker survives anything a job throws; a full disk is a clean error ---


def test_full_disk_at_the_end_of_a_job_fails_it_and_the_queue_goes_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(client)
    real_update = store.update_job
    full = {"on": True}

    def update_job(job_id: str, **fields: object) -> None:
        # The disk is full when the job ends: its final update and the "failed" mark both fail.
        if full["on"] and fields.get("status") in ("finished", "failed"):
            raise DISK_FULL
        real_update(job_id, **fields)

    monkeypatch.setattr(store, "update_job", update_job)
    first = start_job(client, QUICK)
    job = wait_for(client, first["id"], ("failed",))
    assert "disk is full" in job["message"]
    full["on"] = False  # space again: the next job runs, and the failure gets written down
    second = start_job(client, QUICK)
    assert wait_for(client, second["id"], ("finished",))["has_result"]
    assert store.get_job(first["id"])["status"] == "failed"
    assert client.delete(f"/api/jobs/{first['id']}").status_code == 200


def test_a_full_disk_while_saving_the_result_fails_the_job_not_the_worker(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(client)

    def save_result(job_id: str, image: Image.Image) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "save_result", save_result)
    job = wait_for(client, start_job(client, QUICK)["id"], ("failed",))
    assert "could not save the result: the disk is full" in job["message"]
    monkeypatch.undo()
    assert wait_for(client, start_job(client, QUICK)["id"], ("finished",))["has_result"]


def test_creating_a_job_on_a_full_disk_is_a_clean_error_without_a_folder(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_of(client)
    a, b = upload(client), upload(client)
    before = set(store.jobs_dir.iterdir())
    real_db = store._db

    class FullConnection:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: object) -> object:
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
                raise DISK_FULL
            return self.db.execute(sql, *args)

    import contextlib

    @contextlib.contextmanager
    def full_db():
        with real_db() as db:
            yield FullConnection(db)

    monkeypatch.setattr(store, "_db", full_db)
    r = client.post("/api/jobs", json={"content": a["id"], "styles": [b["id"]], "settings": QUICK})
    assert r.status_code == 507, r.text
    assert "disk is full" in r.json()["error"]
    assert set(store.jobs_dir.iterdir()) == before  # no empty job folder left behind


def test_an_upload_on_a_full_disk_is_a_clean_error(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import painterly.images

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(painterly.images.tempfile, "mkstemp", no_space)
    r = client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")})
    assert r.status_code == 507 and "disk is full" in r.json()["error"]


# --- 2. trusted Host on every request -------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example:8765", "evil.example", "localhost.evil.example", "", "a@localhost"]
)
def test_a_foreign_host_is_refused_everywhere(client: TestClient, host: str) -> None:
    job_upload = upload(client)
    for method, path in [
        ("GET", "/"),
        ("GET", "/api/jobs"),
        ("GET", f"/api/uploads/{job_upload['id']}.png"),
        ("POST", "/api/examples/styles/starry_night"),
    ]:
        r = client.request(method, path, headers={"Host": host})
        assert r.status_code in (400, 421), (host, path, r.status_code)
        assert "Host" in r.json()["error"]


def test_trusted_hosts_with_the_servers_port_and_allow_host(tmp_path: Path) -> None:
    with make_client(tmp_path / "s", port=8765, allowed_hosts=["studio.lan"]) as c:
        assert c.get("/api/jobs", headers={"Host": "localhost:8765"}).status_code == 200
        assert c.get("/api/jobs", headers={"Host": "127.0.0.1:8765"}).status_code == 200
        assert c.get("/api/jobs", headers={"Host": "[::1]:8765"}).status_code == 200
        assert c.get("/api/jobs", headers={"Host": "studio.lan:8765"}).status_code == 200
        assert c.get("/api/jobs", headers={"Host": "localhost:9999"}).status_code == 421
        assert c.get("/api/jobs", headers={"Host": "other.lan:8765"}).status_code == 421
    assert split_host("[::1]:80") == ("[::1]", 80)
    assert split_host("Example.ORG:8000") == ("example.org", 8000)
    assert split_host("localhost:99999") == ("", None)
    assert not TrustedHosts().trusts("localhost:80/x")
    with pytest.raises(ValueError, match="allow-host"):
        TrustedHosts(["http://x/"])


def test_serve_names_allow_host_and_refuses_a_bad_data_dir(tmp_path: Path, capsys, monkeypatch) -> None:
    from painterly.cli import run_command

    assert "--allow-host" in _help(capsys, run_command)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert run_command(["serve", "--data-dir", str(a_file), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--data-dir" in err and "not a folder" in err

    def read_only(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)  # as root, chmod cannot make a folder read-only
    assert run_command(["serve", "--data-dir", str(tmp_path / "ro" / "studio"), "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--data-dir" in err and "Read-only" in err


def _help(capsys, run_command) -> str:
    run_command(["serve", "--help"])
    return capsys.readouterr().out


# --- 3. same-origin checks on every state-changing request ---------------------------------


def test_cross_site_text_plain_job_is_refused(client: TestClient) -> None:
    a, b = upload(client), upload(client)
    body = f'{{"content": "{a["id"]}", "styles": ["{b["id"]}"], "settings": {{"size": 32}}}}'
    r = client.post(
        "/api/jobs",
        content=body,
        headers={
            "Content-Type": "text/plain",
            "Origin": "https://evil.example",
            "Sec-Fetch-Site": "cross-site",
        },
    )
    assert r.status_code == 403 and "cross-site" in r.json()["error"]
    # Same origin but not JSON: a simple request the page never sends is refused too.
    r = client.post(
        "/api/jobs", content=body, headers={"Content-Type": "text/plain", "Origin": "http://localhost"}
    )
    assert r.status_code == 415
    assert client.get("/api/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "https://evil.example/page"},
    ],
)
def test_cross_site_uploads_examples_cancels_and_deletes_are_refused(
    client: TestClient, headers: dict
) -> None:
    job = start_job(client, {**QUICK, "iterations": 2000})
    attempts = [
        client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}, headers=headers),
        client.post("/api/examples/styles/starry_night", headers=headers),
        client.post(f"/api/jobs/{job['id']}/cancel", headers=headers),
        client.post(f"/api/jobs/{job['id']}/rerun", headers=headers),
        client.delete(f"/api/jobs/{job['id']}", headers=headers),
    ]
    assert [r.status_code for r in attempts] == [403] * 5
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] in ("queued", "running")
    client.post(f"/api/jobs/{job['id']}/cancel")


def test_the_pages_own_requests_pass(client: TestClient) -> None:
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin", "Referer": "http://localhost/"}
    r = client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}, headers=same)
    assert r.status_code == 201
    a = r.json()
    r = client.post(
        "/api/jobs", json={"content": a["id"], "styles": [a["id"]], "settings": QUICK}, headers=same
    )
    assert r.status_code == 201
    wait_for(client, r.json()["id"], ("finished",))


# --- 4. pixel bombs: refused from the header, decoded off the loop in a bounded pool -------


def pixel_bomb(side: int = 6000) -> bytes:
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_small_file_pixel_bombs_are_refused_while_other_requests_run(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = pixel_bomb()
    assert len(bomb) < 16_000  # a few KB that would decode to 36 megapixels
    from PIL import ImageFile

    loads: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def counting_load(self: Image.Image):  # type: ignore[no-untyped-def]
        loads.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)

    def send_bomb(_: int) -> tuple[int, str]:
        r = client.post("/api/uploads", files={"file": ("bomb.png", bomb, "image/png")})
        return r.status_code, r.json()["error"]

    def normal(i: int) -> int:
        if i % 2:
            return client.get("/api/jobs").status_code
        return client.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}).status_code

    with ThreadPoolExecutor(8) as pool:
        bombs = [pool.submit(send_bomb, i) for i in range(4)]
        others = [pool.submit(normal, i) for i in range(8)]
        results = [f.result() for f in bombs]
        assert [f.result() for f in others] == [201, 200] * 4
    for status, message in results:
        assert status == 413 and "over the limit" in message
    assert (6000, 6000) not in loads  # refused from the header: never decoded


def test_decoding_runs_off_the_event_loop_in_a_bounded_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    active, peak, lock = [0], [0], threading.Lock()
    real_decode = web_app.decode_image

    def slow_decode(data: bytes, label: str, max_pixels: int) -> Image.Image:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            assert threading.current_thread().name.startswith("painterly-decode")
            release.wait(20)
            return real_decode(data, label, max_pixels)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(web_app, "decode_image", slow_decode)
    with make_client(tmp_path / "s", decode_workers=2) as c, ThreadPoolExecutor(4) as pool:
        uploads = [
            pool.submit(lambda: c.post("/api/uploads", files={"file": ("p.png", png_bytes(), "image/png")}))
            for _ in range(4)
        ]
        # While every decode slot is held, the studio still answers other requests.
        for _ in range(3):
            assert c.get("/api/options").status_code == 200
        release.set()
        assert [f.result().status_code for f in uploads] == [201] * 4
    assert peak[0] == 2


def test_the_pixel_cap_is_lower_than_before() -> None:
    assert web_app.MAX_UPLOAD_PIXELS <= 4096 * 4096 < 6000 * 6000


# --- 5. nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400(client: TestClient, depth: int) -> None:
    body = "[" * depth + "]" * depth
    r = client.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nested" in r.json()["error"]
    a = upload(client)
    nested: object = 1
    for _ in range(40):
        nested = [nested]
    r = client.post("/api/jobs", json={"content": a["id"], "styles": [a["id"]], "settings": {"size": nested}})
    assert r.status_code == 400 and "nested" in r.json()["error"]
    assert client.get("/api/jobs").status_code == 200  # the server is still there


def test_json_depth_counts_brackets_outside_strings() -> None:
    assert web_app.json_depth('{"a": "[[[[[[", "b": [1, {"c": "\\"]]]"}]}') == 3


# --- 6. security headers, private files ------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient) -> None:
    job_upload = upload(client)
    responses = [
        client.get("/"),
        client.get("/static/app.js"),
        client.get("/api/options"),
        client.get(f"/api/uploads/{job_upload['id']}.png"),
        client.get("/api/nothing-here"),
        client.get("/api/jobs", headers={"Host": "evil.example"}),
        client.post("/api/jobs", json={}, headers={"Origin": "https://evil.example"}),
        client.post("/api/uploads", content=b"x" * 10, headers={"Content-Length": "999999999"}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 404, 421, 403, 413]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert (
            csp == CONTENT_SECURITY_POLICY and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        )
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (web_app.STATIC_DIR / "index.html").read_text()
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)
    assert all("src=" in tag for tag in html.split("<script")[1:])


def test_studio_data_is_private(client: TestClient) -> None:
    store = store_of(client)
    wait_for(client, start_job(client, QUICK)["id"], ("finished",))
    files = [p for p in store.root.rglob("*") if p.is_file()]
    folders = [store.root, *(p for p in store.root.rglob("*") if p.is_dir())]
    assert any(p.suffix == ".png" for p in files) and any(p.name == "result.png" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in folders:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
