"""The studio's video corner (issue #11): upload a short clip, paint it in fast mode with
the paintings chosen on the page, watch the frames arrive, download the mp4.

Kept apart from the image jobs (its own routes under ``/api/videos``, its own worker
thread and folder ``DATA/videos/ID/``) so the image queue and its events stay as they
are. Clips are capped in length (``max_seconds``) and size: the studio is for previews;
the CLI paints long clips and the optimising mode.
"""

# No `from __future__ import annotations`: FastAPI reads the route parameters' types at run time.
import io
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from painterly.config import VideoConfig
from painterly.errors import PainterlyError
from painterly.web.store import new_id, valid_id

#: Longest clip the studio paints, in seconds.
MAX_VIDEO_SECONDS = 20.0
#: Longest side of the painted frames in the studio.
MAX_VIDEO_SIZE = 640
#: Clip containers the upload may be (checked by PyAV after the upload, whatever the name says).
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".gif", ".m4v"}
#: Least time between two "latest frame" files (JPEG encoding is not free).
LATEST_EVERY_S = 0.4


class VideoJobs:
    """Video jobs, painted one at a time by a daemon thread; state lives in memory
    (a restart forgets unfinished video jobs: the image jobs are the studio's records)."""

    def __init__(self, root: Path, stylizer_factory: Callable[[], Any], max_seconds: float) -> None:
        self.root = root
        self.max_seconds = max_seconds
        self._factory = stylizer_factory
        self._stylizer: Any = None
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def submit(self, data: bytes, filename: str, styles: list[Path], config: VideoConfig) -> dict[str, Any]:
        """Keep the clip, check it (readable, not too long), and queue it."""
        from painterly.video.media import probe

        suffix = Path(filename).suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise VideoError(400, f"{filename}: use a clip ending in {', '.join(sorted(VIDEO_SUFFIXES))}")
        if not data:
            raise VideoError(400, f"{filename}: the file is empty")
        job_id = new_id()
        folder = self.folder(job_id)
        folder.mkdir(parents=True, mode=0o700)
        clip = folder / f"input{suffix}"
        clip.write_bytes(data)
        try:
            info = probe(clip, config.fps)
        except PainterlyError as exc:
            _remove(folder)
            raise VideoError(400, str(exc).replace(str(clip), filename)) from None
        length = info.duration - config.start if not config.duration else config.duration
        if length > self.max_seconds + 0.05:
            _remove(folder)
            raise VideoError(
                400,
                f"{filename}: {length:.1f} s is longer than the studio's {self.max_seconds:g} s; "
                "set a duration or use `painterly video`",
            )
        job = {
            "id": job_id,
            "name": filename,
            "status": "queued",
            "frames": 0,
            "total": 0,
            "fps": 0.0,
            "seconds_left": 0.0,
            "message": "",
            "size": [0, 0],
            "has_latest": False,
            "config": config.to_dict(),
            "_styles": [str(s) for s in styles],
            "_cancel": threading.Event(),
            "_clip": str(clip),
        }
        with self._lock:
            self._jobs[job_id] = job
        self._queue.put(job_id)
        self._start()
        return self.public(job_id)

    def public(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id) if valid_id(job_id) else None
            if job is None:
                raise VideoError(404, f"no video job {job_id!r}")
            shown = {k: v for k, v in job.items() if not k.startswith("_")}
        shown["urls"] = {
            "latest": f"/api/videos/{job_id}/latest.jpg" if shown["has_latest"] else None,
            "result": f"/api/videos/{job_id}/result.mp4" if shown["status"] == "finished" else None,
        }
        return shown

    def cancel(self, job_id: str) -> dict[str, Any]:
        self.public(job_id)  # 404 for an unknown id
        with self._lock:
            job = self._jobs[job_id]
            job["_cancel"].set()
            if job["status"] == "queued":
                job["status"] = "cancelled"
        return self.public(job_id)

    def _update(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            self._jobs[job_id].update(fields)

    def _start(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="painterly-video", daemon=True)
            self._worker.start()

    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            with self._lock:
                job = dict(self._jobs[job_id])
            if job["status"] == "cancelled":
                continue
            self._update(job_id, status="running")
            try:
                self._paint(job_id, job)
            except PainterlyError as exc:
                self._update(job_id, status="failed", message=str(exc).replace(job["_clip"], job["name"]))
            except Exception as exc:  # keep the worker alive for the next job
                self._update(job_id, status="failed", message=f"internal error: {type(exc).__name__}: {exc}")

    def _paint(self, job_id: str, job: dict[str, Any]) -> None:
        from PIL import Image

        from painterly.events import FrameProgress, Stop
        from painterly.images import atomic_write_bytes
        from painterly.video import stylize_video

        if self._stylizer is None:
            self._stylizer = self._factory()
        folder = self.folder(job_id)
        last = [0.0]

        def progress(event: FrameProgress) -> None:
            if job["_cancel"].is_set():
                raise Stop
            fields: dict[str, Any] = {
                "frames": event.frame,
                "total": event.total_frames,
                "fps": round(event.fps, 2),
                "seconds_left": round(event.seconds_left, 1),
            }
            now = time.monotonic()
            if event.image is not None and (
                now - last[0] > LATEST_EVERY_S or event.frame == event.total_frames
            ):
                buffer = io.BytesIO()
                Image.fromarray(event.image).save(buffer, "JPEG", quality=85)  # type: ignore[arg-type]
                atomic_write_bytes(folder / "latest.jpg", buffer.getvalue())
                fields["has_latest"] = True
                last[0] = now
            self._update(job_id, **fields)

        config = VideoConfig.from_dict(job["config"])
        result = stylize_video(
            job["_clip"], job["_styles"], folder / "result.mp4", config, progress, stylizer=self._stylizer
        )
        if result.ok:
            self._update(
                job_id, status="finished", frames=result.frames, total=result.frames, size=list(result.size)
            )
        else:
            self._update(job_id, status="cancelled", message=f"cancelled after frame {result.frames}")


class VideoError(Exception):
    """An HTTP error of the video routes: status and one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def add_video_routes(
    app: Any,
    store: Any,
    fast_factory: Callable[[Any], Any] | None,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_upload_bytes: int = 20 * 1024 * 1024,
) -> VideoJobs:
    """Mount ``/api/videos`` on the studio app (POST a clip, GET its state, its latest
    frame and its mp4, POST cancel)."""
    from fastapi import File, Form, Request, UploadFile
    from fastapi.responses import FileResponse, JSONResponse

    from painterly.config import FastConfig

    def make_stylizer() -> Any:
        if fast_factory is not None:
            return fast_factory(FastConfig())
        from painterly.fast import FastStylizer

        return FastStylizer()

    jobs = VideoJobs(store.root / "videos", make_stylizer, max_seconds)
    app.state.videos = jobs

    @app.exception_handler(VideoError)
    async def video_error(request: Request, exc: VideoError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.post("/api/videos", status_code=201)
    async def create_video(
        file: UploadFile | None = File(None),
        styles: str = Form(""),
        temporal_weight: float = Form(VideoConfig.temporal_weight),
        size: int = Form(480),
        duration: float = Form(0.0),
    ) -> dict[str, Any]:
        import asyncio

        if file is None:
            raise VideoError(400, "send the clip as a multipart form field named 'file'")
        ids = [s for s in styles.split(",") if s]
        if not ids:
            raise VideoError(400, "styles: choose at least one painting first")
        paths = []
        for style_id in ids:
            if not valid_id(style_id) or store.get_upload(style_id) is None:
                raise VideoError(400, f"styles: unknown upload {style_id!r}")
            paths.append(store.upload_path(style_id))
        try:
            config = VideoConfig(
                mode="fast",
                temporal_weight=temporal_weight,
                size=min(size, MAX_VIDEO_SIZE),
                duration=duration,
                threads=min(2, os.cpu_count() or 1),
            )
        except PainterlyError as exc:
            raise VideoError(400, str(exc)) from None
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise VideoError(413, f"clip too large: the limit is {max_upload_bytes / 1024 / 1024:.1f} MiB")
        name = Path((file.filename or "clip.mp4").replace("\\", "/")).name[:80] or "clip.mp4"
        return await asyncio.to_thread(jobs.submit, data, name, paths, config)

    @app.get("/api/videos/{job_id}")
    async def video_state(job_id: str) -> dict[str, Any]:
        return jobs.public(job_id)

    @app.post("/api/videos/{job_id}/cancel")
    async def video_cancel(job_id: str) -> dict[str, Any]:
        return jobs.cancel(job_id)

    @app.get("/api/videos/{job_id}/latest.jpg")
    async def video_latest(job_id: str) -> FileResponse:
        job = jobs.public(job_id)
        if not job["has_latest"]:
            raise VideoError(404, "no frame painted yet")
        return FileResponse(jobs.folder(job_id) / "latest.jpg", media_type="image/jpeg")

    @app.get("/api/videos/{job_id}/result.mp4")
    async def video_result(job_id: str) -> FileResponse:
        job = jobs.public(job_id)
        if job["status"] != "finished":
            raise VideoError(409, f"the video is {job['status']}, not finished")
        stem = Path(job["name"]).stem or "clip"
        return FileResponse(
            jobs.folder(job_id) / "result.mp4", media_type="video/mp4", filename=f"{stem}-painted.mp4"
        )

    return jobs
