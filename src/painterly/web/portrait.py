"""Portrait mode in the studio (issue #9): what was found in a photo, shown over it.

``POST /api/portrait/analyse/{upload_id}`` runs the person and face models on an upload
and answers how many faces were found (and a warning when none), with the URL of
``GET /api/portrait/overlay/{upload_id}.png``: the photo with the background dimmed,
the face weight map in red and the landmarks dotted. The portrait settings themselves
are ordinary config fields (portrait, face_strength, keep_skin, background_strength),
so jobs take them like any other setting.
"""

from __future__ import annotations

import asyncio
import functools
import io
import threading
from typing import Any

#: Overlays kept in memory (PNG bytes by upload id): a user looks at one photo at a time.
OVERLAY_CACHE = 8
#: Longest side the studio analyses at (the models work at 128–256 px anyway).
ANALYSE_SIDE = 768


def register(app: Any, store: Any, api_error: type[Exception]) -> None:
    """Add the portrait routes to the studio ``app`` (uploads come from ``store``)."""
    from fastapi.responses import Response

    lock = threading.Lock()  # one LiteRT interpreter set, used by one request at a time
    detectors: list[Any] = []

    # issue #18: functools' LRU instead of a hand-kept OrderedDict (called under the lock; an
    # exception is not cached)
    @functools.lru_cache(maxsize=OVERLAY_CACHE)
    def overlay_of(upload_id: str) -> tuple[bytes, dict[str, Any]]:
        from painterly.images import fit_size, open_image, resize
        from painterly.portrait import Detector, build_maps, mask_overlay

        if not detectors:
            detectors.append(Detector.load())
        photo = open_image(store.upload_path(upload_id))
        if max(photo.size) > ANALYSE_SIDE:
            photo = resize(photo, fit_size(*photo.size, ANALYSE_SIDE))
        found = detectors[0].analyse(photo)
        maps = build_maps(photo, found)
        buffer = io.BytesIO()
        mask_overlay(photo, maps).save(buffer, "PNG")
        info = {
            "faces": len(found.faces),
            "person_share": round(float(maps.person.mean()), 3),
            "overlay": f"/api/portrait/overlay/{upload_id}.png",
            "warning": "" if found.faces else "no face found: portrait mode would run as an ordinary run",
            "timings": {k: round(v, 4) for k, v in found.timings.items()},
        }
        return buffer.getvalue(), info

    def analyse(upload_id: str) -> tuple[bytes, dict[str, Any]]:
        if store.get_upload(upload_id) is None:
            raise api_error(404, f"no upload {upload_id!r}")
        with lock:
            return overlay_of(upload_id)

    @app.post("/api/portrait/analyse/{upload_id}")
    async def portrait_analyse(upload_id: str) -> dict[str, Any]:
        _, info = await asyncio.to_thread(analyse, upload_id)
        return info

    @app.get("/api/portrait/overlay/{upload_id}.png")
    async def portrait_overlay(upload_id: str) -> Response:
        png, _ = await asyncio.to_thread(analyse, upload_id)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})
