"""The studio's style library (#10): listing by movement, thumbnails, picks that become
uploads (one work, a movement's blend or its representative) and a job painted from them;
and in a real browser, the picker adds paintings to the style list."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from test_web_api import make_client, upload, wait_for
from test_web_browser import server, studio_page  # noqa: F401


@pytest.fixture
def client(tmp_path: Path):
    with make_client(tmp_path / "studio") as c:
        yield c


def test_listing_and_thumbnails(client):
    data = client.get("/api/library").json()
    assert data["count"] == 69 and len(data["movements"]) == 14
    fauvism = next(m for m in data["movements"] if m["name"] == "fauvism")
    assert fauvism["query"] == "movement:fauvism" and len(fauvism["works"]) == 4
    assert any(a["query"] == "artist:van_gogh" and a["count"] == 6 for a in data["artists"])
    r = client.get(fauvism["works"][0]["thumb"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and len(r.content) < 40_000
    assert client.get("/api/library/thumbs/nobody-nothing-1900.jpg").status_code == 404


def test_picks_become_uploads_and_paint_a_job(client):
    one = client.post("/api/library/use", json={"names": ["hokusai-the_great_wave_off_kanagawa-1831"]})
    assert one.status_code == 201, one.text
    assert len(one.json()["uploads"]) == 1 and one.json()["weights"] == [1.0]
    blend = client.post("/api/library/use", json={"names": ["movement:fauvism"], "group": "blend"}).json()
    assert [u["work"] for u in blend["uploads"]] == blend["library"][0]["works"] and len(
        blend["uploads"]
    ) == 4
    rep = client.post(
        "/api/library/use", json={"names": ["movement:cubism"], "group": "representative"}
    ).json()
    assert [u["work"] for u in rep["uploads"]] == ["picabia-udnie-1913"]
    # several picks make a blend: a job over a movement's works and one more painting
    photo = upload(client)
    styles = [u["id"] for u in blend["uploads"]] + [one.json()["uploads"][0]["id"]]
    body = {
        "mode": "optimise",
        "content": photo["id"],
        "styles": styles,
        "settings": {"size": 32, "iterations": 2},
    }
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 201, r.text
    done = wait_for(client, r.json()["id"], ("finished", "failed"))
    assert done["status"] == "finished", done.get("message")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"names": ["movement:fauvisme"]}, 400, "did you mean fauvism"),
        ({"names": []}, 400, "names"),
        ({"names": ["movement:fauvism"], "group": "median"}, 400, "group"),
        ({"names": ["movement:impressionism", "movement:romanticism"]}, 400, "at most 8"),
        ({"names": ["a"] * 9}, 400, "at most 8"),
    ],
)
def test_bad_picks_get_one_clear_message(client, body, status, fragment):
    r = client.post("/api/library/use", json=body)
    assert r.status_code == status and fragment in r.json()["error"]


def test_the_picker_requires_json(client):
    r = client.post("/api/library/use", content=b"names=x", headers={"content-type": "text/plain"})
    assert r.status_code == 415


@pytest.mark.browser
@pytest.mark.slow
def test_picker_in_a_real_browser(server: str) -> None:  # noqa: F811
    with studio_page(server, (1280, 1000)) as (page, errors, sync_api):
        page.click("#library > summary")
        expect = sync_api.expect
        expect(page.locator("#library-movements .library-group")).to_have_count(14, timeout=15000)
        page.click("button[data-work='hokusai-the_great_wave_off_kanagawa-1831']")
        expect(page.locator("#style-chosen img")).to_have_count(1, timeout=15000)
        page.locator(".library-group[data-movement='fauvism'] .library-use").click()
        expect(page.locator("#style-chosen img")).to_have_count(5, timeout=15000)
        page.fill("#library-search", "hokusai")
        expect(page.locator("#library-artists .library-use")).to_have_count(1)
        expect(page.locator("#library-movements img")).to_have_count(3)
        assert not errors, errors
