"""The studio's style library (issue #10): the library as thumbnails grouped by movement, and
library picks turned into uploads, so the job flow (and its checks) stays the one for files.

Routes (all under ``/api/library``):

* ``GET  /api/library``                 movements with their works, artists, counts
* ``GET  /api/library/thumbs/{id}.jpg`` a small thumbnail of a work
* ``POST /api/library/use``             ``{"names": [id | artist:X | movement:X, ...], "group":
  "blend" | "representative"}`` → the works as uploads (``uploads``), their blend ``weights``
  and what each name became (``library``)
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations
# (Request) at definition time, and Request is imported inside library_router.
import asyncio
import io
from typing import Any

from painterly.errors import PainterlyError

#: Longest side of a library thumbnail in the picker.
THUMB_SIDE = 160
#: Most names one request may send.
MAX_NAMES = 8


def library_listing() -> dict[str, Any]:
    """The library grouped by movement (works listed once per movement they belong to)."""
    from painterly.library import Library

    library = Library.load()

    def work(w: Any) -> dict[str, Any]:
        return {
            "id": w.id,
            "title": w.title,
            "artist": w.artist,
            "artist_slug": w.artist_slug,
            "year": w.year,
            "origin": w.origin,
            "thumb": f"/api/library/thumbs/{w.id}.jpg",
        }

    return {
        "movements": [
            {"name": name, "query": f"movement:{name}", "works": [work(w) for w in works]}
            for name, works in library.movements().items()
        ],
        "artists": [
            {"name": slug, "artist": works[0].artist, "query": f"artist:{slug}", "count": len(works)}
            for slug, works in library.artists().items()
        ],
        "count": len(library.works),
    }


def thumbnail_bytes(work_id: str) -> bytes | None:
    """A JPEG thumbnail of one work, or None for an unknown id."""
    from painterly.images import open_image
    from painterly.library import Library

    work = Library.load().by_id.get(work_id)
    if work is None:
        return None
    img = open_image(work.path)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def resolve_picks(names: Any, group: Any, limit: int) -> tuple[list[Any], list[float], list[dict[str, Any]]]:
    """Library names → (works, blend weights, records); ValueError with a message for the user."""
    from painterly.config import normalised
    from painterly.library import Library
    from painterly.library.resolve import GROUP_MODES, resolve_query, spread

    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError("names: give a list of library names (ids, artist:NAME, movement:NAME)")
    if len(names) > MAX_NAMES:
        raise ValueError(f"names: at most {MAX_NAMES}")
    group = group or "blend"
    if group not in GROUP_MODES:
        raise ValueError(f"group must be one of {', '.join(GROUP_MODES)}")
    library = Library.load()
    works: list[Any] = []
    weights: list[float] = []
    records = []
    for name, share in zip(names, normalised((), len(names))):
        found = resolve_query(name, group, library)
        picked = list(found.works)
        if len(picked) > limit:  # the studio takes at most `limit` paintings a job
            picked = spread(picked, limit)
        records.append({"query": name, "mode": found.mode, "works": [w.id for w in picked]})
        works += picked
        weights += [share / len(picked)] * len(picked)
    if len(works) > limit:
        raise ValueError(f"these picks make {len(works)} paintings; the studio takes at most {limit}")
    return works, weights, records


def library_router(store: Any, max_styles: int, api_error: type, read_json: Any) -> Any:
    """The /api/library routes, bound to the studio's upload store (``read_json``: the
    studio's checked JSON body reader)."""
    from fastapi import APIRouter, Request
    from fastapi.responses import JSONResponse, Response

    router = APIRouter()

    @router.get("/api/library")
    async def listing() -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(library_listing))

    @router.get("/api/library/thumbs/{work_id}.jpg")
    async def thumb(work_id: str) -> Response:
        data = await asyncio.to_thread(thumbnail_bytes, work_id)
        if data is None:
            raise api_error(404, f"no library work {work_id!r}")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @router.post("/api/library/use", status_code=201)
    async def use(request: Request) -> dict[str, Any]:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise api_error(400, "send a JSON object")
        try:
            works, weights, records = resolve_picks(body.get("names"), body.get("group"), max_styles)
        except (ValueError, PainterlyError) as exc:
            raise api_error(400, str(exc)) from None

        def add_all() -> list[dict[str, Any]]:
            from painterly.images import open_image

            out = []
            for w in works:  # library files are ours (bundled, or decoded when imported)
                image = open_image(w.path)
                record = store.add_upload(image, w.id)
                out.append({**record, "url": f"/api/uploads/{record['id']}.png", "work": w.id})
            return out

        uploads = await asyncio.to_thread(add_all)
        return {"uploads": uploads, "weights": weights, "library": records}

    return router
