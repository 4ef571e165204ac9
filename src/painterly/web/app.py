"""The web studio's HTTP face: a FastAPI app over the job queue and the store.

``create_app(data_dir)`` builds it; ``painterly serve`` runs it with uvicorn. Every
error is JSON ``{"error": message}`` with a fitting status, and the page shows the
message. Safety: uploads are capped (413 before the body is read when the size is
announced, and while it streams when it is not), decoded by Pillow before they are
kept, and stored under names the server makes; no client string reaches a path.
Form fields come from the config dataclasses (``/api/options``), so a knob added to
the config appears in the page's advanced panel without touching this file.

Hardening (issue #15): :mod:`painterly.web.guard` checks the Host of every request and
the origin of every write, and adds security headers; uploads are checked for their
pixel count from the header and decoded in a small bounded thread pool (a pixel bomb
neither blocks the event loop nor piles up memory); JSON bodies must say they are JSON,
are capped in size and nesting; settings go through :mod:`painterly.schema`.
"""

import asyncio
import contextlib
import dataclasses
import importlib
import io
import json
import re
import types
import typing
import warnings
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from painterly.config import MIN_SIZE, TransferConfig, config_from_dict
from painterly.errors import MissingDependencyError, PainterlyError
from painterly.web.guard import Guard, TrustedHosts
from painterly.web.jobs import (
    Engine,
    EventLog,
    JobQueue,
    NetworkFactory,
    fast_available,
    read_history,
)
from painterly.web.store import TERMINAL, Store, StoreError, valid_id

#: Default cap on one request body (an upload): 20 MiB.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Largest image we accept, in pixels, checked from the header before decoding: 4096² (a
#: 16 MP phone photo fits; the studio paints at most 2048 px). A bigger cap let a 4 KB PNG
#: cost seconds and hundreds of MB (issue #15).
MAX_UPLOAD_PIXELS = 4096 * 4096
#: Uploads decoded at once (each may hold ~3 bytes a pixel); more wait their turn.
DECODE_WORKERS = 2
#: How long an upload waits for a decode slot before the studio answers 503.
DECODE_WAIT_S = 30.0
#: Cap on a JSON body and on its nesting (a job request is a few hundred bytes, 3 deep).
MAX_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 32
#: Longest output side and step count the studio allows (the library allows more).
MAX_WEB_SIZE = 2048
MAX_WEB_ITERATIONS = 20_000
MAX_STYLES = 8
#: Config fields the page never shows: device choice is the server's, previews are the
#: studio's, and these name files on the server's disk.
HIDDEN_FIELDS = frozenset({"device", "preview_every", "color_reference", "masks", "threads"})
#: Free-text fields that are safe to accept (other free-text str fields may be paths).
FREE_TEXT_FIELDS = frozenset({"activation"})
#: Fields shown above the fold of "advanced"; the rest sit under "more".
PRIMARY_FIELDS = (
    "size",
    "iterations",
    "content_weight",
    "style_weight",
    "style_layers",
    "content_layers",
    "pooling",
    "preserve_colors",
    "seed",
    "strength",
    "style_scale",
)
STATIC_DIR = Path(__file__).with_name("static")
EXAMPLE_KINDS = ("content", "styles")
Mode = Literal["optimise", "fast"]


class BodyTooLarge(Exception):
    """A request body grew past the cap while it streamed in."""


class ApiError(Exception):
    """An error for the client: status code and one-line message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UploadLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes with a JSON 413, before reading
    them when Content-Length says so, else as soon as the streamed body passes the cap."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            await _send_json(send, 400, {"error": "bad Content-Length header"})
            return
        if length is not None and int(length) > self.limit:
            await _send_json(send, 413, {"error": self._message()})
            return
        seen = 0
        exceeded = False

        async def counted_receive() -> dict:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def watched_send(message: dict) -> None:
            # The framework may turn BodyTooLarge into its own 400 ("error parsing the
            # body"); whatever it answers once the cap was passed becomes our 413.
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start":
                await _send_json(send, 413, {"error": self._message()})

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            await _send_json(send, 413, {"error": self._message()})

    def _message(self) -> str:
        return f"upload too large: the limit is {self.limit / 1024 / 1024:.1f} MiB per request"


async def _send_json(send: Callable, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


# --- form fields from the config dataclasses -------------------------------------


def describe_fields(cls: type) -> list[dict[str, Any]]:
    """Describe the fields of a config dataclass for a form: name, kind, default, help,
    choices. Free-text string fields are left out unless known to be safe (they may be
    file paths on the server), and ``init`` is offered only as its keywords."""
    from painterly.config import INIT_KEYWORDS

    hints = typing.get_type_hints(cls)
    out: list[dict[str, Any]] = []
    for f in dataclasses.fields(cls):
        if f.name in HIDDEN_FIELDS:
            continue
        hint = hints[f.name]
        optional = False
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            optional = type(None) in args
            hint = next(a for a in args if a is not type(None))
            origin, args = typing.get_origin(hint), typing.get_args(hint)
        default = f.default if f.default is not dataclasses.MISSING else None
        item: dict[str, Any] = {
            "name": f.name,
            "label": f.name.replace("_", " "),
            "help": f.metadata.get("help", ""),
            "default": list(default) if isinstance(default, tuple) else default,
            "optional": optional,
            "primary": f.name in PRIMARY_FIELDS,
        }
        if origin is Literal:
            item.update(kind="choice", choices=list(args))
        elif f.name == "init":
            item.update(kind="choice", choices=list(INIT_KEYWORDS))
        elif origin is tuple:
            item.update(kind="list", item=args[0].__name__)
        elif hint is bool:
            item["kind"] = "bool"
        elif hint in (int, float):
            item["kind"] = hint.__name__
        elif hint is str and f.name in FREE_TEXT_FIELDS:
            item["kind"] = "text"
        else:
            continue
        out.append(item)
    order = {name: i for i, name in enumerate(PRIMARY_FIELDS)}
    out.sort(key=lambda d: (0, order[d["name"]]) if d["primary"] else (1, 0))
    return out


def coerce_settings(cls: type, settings: Any) -> dict[str, Any]:
    """Check the client's settings against the described fields and convert their types;
    an unknown or hidden field, or a value of the wrong kind, is a 400 naming the field."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ApiError(400, "settings must be an object of field: value")
    fields = {d["name"]: d for d in describe_fields(cls)}
    given: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    for name, value in settings.items():
        spec = fields.get(name)
        if spec is None:
            raise ApiError(400, f"unknown setting {name!r}")
        if value is None or value == "":
            if spec["optional"]:
                nulls[name] = None
            continue  # empty: keep the default
        _check_web_value(spec, value)
        given[name] = value
    from painterly.schema import check_settings

    try:
        checked = check_settings(cls, given, "settings.")
    except PainterlyError as exc:
        raise ApiError(400, str(exc)) from None
    for name, value in checked.items():
        if (isinstance(value, float) and value != value) or value in (float("inf"), float("-inf")):
            raise ApiError(400, f"settings.{name}: expected a finite number, got {value!r}")
    return {**nulls, **{k: list(v) if isinstance(v, tuple) else v for k, v in checked.items()}}


def _check_web_value(spec: dict[str, Any], value: Any) -> None:
    """What the web accepts beyond the types (which :mod:`painterly.schema` checks): names in
    lists and short free text only, since other strings could name files on the server."""
    name, kind = spec["name"], spec["kind"]
    if kind == "choice" and value not in spec["choices"]:  # init: keywords only, never a path
        raise ApiError(400, f"settings.{name}: must be one of {', '.join(map(str, spec['choices']))}")
    if kind == "list" and spec["item"] == "str":
        items = [t.strip() for t in value.split(",") if t.strip()] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(
            isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_:.]{1,40}", v) for v in items
        ):
            raise ApiError(400, f"settings.{name}: expected a list of names")
    elif kind == "text" and (not isinstance(value, str) or len(value) > 80):
        raise ApiError(400, f"settings.{name}: expected a short text")


def fast_config_class(check_models: bool = True) -> type | None:
    """FastConfig when fast mode is installed (looked up per request, not at import)."""
    if not fast_available(check_models):
        return None
    return getattr(importlib.import_module("painterly.config"), "FastConfig", None)


def preset_names() -> list[str]:
    """Named presets of the optimisation, from the config's ``preset`` field if it has one."""
    from painterly.config import literal_choices

    try:
        return [p for p in literal_choices("preset", TransferConfig) if p != "none"]
    except KeyError:
        return []


def resolve_transfer_config(preset: str | None, settings: dict[str, Any]) -> TransferConfig:
    """A TransferConfig from a preset plus the user's settings (settings win), with the
    library's own preset rules (``painterly.presets``) when it has them."""
    values = dict(settings)
    if preset and preset != "none":
        if preset not in preset_names():
            raise ApiError(
                400, f"unknown preset {preset!r}; use one of {', '.join(preset_names()) or 'none'}"
            )
        try:
            presets = importlib.import_module("painterly.presets")
            values = {**presets.preset_values(preset, values), **values}
        except (ImportError, AttributeError):
            values["preset"] = preset
    return config_from_dict(TransferConfig, values)


# --- the app ---------------------------------------------------------------------


def create_app(
    data_dir: str | Path,
    *,
    network_factory: NetworkFactory | None = None,
    fast_factory: Callable[[Any], Any] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_UPLOAD_PIXELS,
    max_size: int = MAX_WEB_SIZE,
    max_iterations: int = MAX_WEB_ITERATIONS,
    examples_dir: str | Path | None = None,
    allowed_hosts: Iterable[str] = (),
    port: int | None = None,
    decode_workers: int = DECODE_WORKERS,
    max_video_seconds: float = 20.0,  # issue #11: longest clip the video corner paints
) -> Any:
    """The studio app. ``network_factory(config)`` replaces the real VGG19 (tests pass a
    tiny random one); ``fast_factory(fast_config)`` likewise replaces fast mode's stylizer.
    Requests must name localhost, 127.0.0.1 or [::1] (on ``port`` when given) or one of
    ``allowed_hosts`` in their Host header."""
    try:
        from fastapi import FastAPI, File, Request, UploadFile
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import FileResponse, JSONResponse
        from fastapi.staticfiles import StaticFiles
        from sse_starlette import EventSourceResponse, ServerSentEvent
        from starlette.exceptions import HTTPException as StarletteHTTPException
    except ImportError:
        raise MissingDependencyError(
            "the web studio needs FastAPI, uvicorn and sse-starlette: pip install 'painterly[web]'"
        ) from None

    hosts = TrustedHosts(allowed_hosts, port)
    store = Store(data_dir)
    events = EventLog()
    decode_pool = ThreadPoolExecutor(max_workers=decode_workers, thread_name_prefix="painterly-decode")
    decode_slots: list[asyncio.Semaphore] = []  # made inside the running loop

    async def decode_bounded(data: bytes, label: str) -> Any:
        """Decode in the small pool: the event loop keeps answering, and at most
        ``decode_workers`` images are in memory at once; the rest wait (then 503)."""
        if not decode_slots:
            decode_slots.append(asyncio.Semaphore(decode_workers))
        try:
            await asyncio.wait_for(decode_slots[0].acquire(), DECODE_WAIT_S)
        except asyncio.TimeoutError:
            raise ApiError(503, "the studio is busy decoding other uploads; try again shortly") from None
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(decode_pool, decode_image, data, label, max_pixels)
        finally:
            decode_slots[0].release()

    queue = JobQueue(store, Engine(network_factory, fast_factory), events)
    examples = find_examples(examples_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        queue.start()
        app.state.closing = False
        try:
            yield
        finally:
            app.state.closing = True
            await asyncio.to_thread(queue.close)
            decode_pool.shutdown(wait=False, cancel_futures=True)

    # No Swagger page: it would load its scripts from a CDN. /openapi.json describes the API.
    app = FastAPI(title="painterly studio", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.store, app.state.queue, app.state.events, app.state.closing = store, queue, events, False
    app.add_middleware(UploadLimit, limit=max_upload_bytes)
    app.add_middleware(Guard, hosts=hosts)  # added last: the outermost layer sees every request

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(PainterlyError)
    async def painterly_error(request: Request, exc: PainterlyError) -> JSONResponse:
        status = 507 if isinstance(exc, StoreError) else 400  # 507: the disk is full or gone
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or resource: {request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {"error": f"bad request: {where or 'body'}: {first.get('msg', 'invalid')}"}, status_code=422
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    public_job = queue.public

    def get_job_or_404(job_id: str) -> dict[str, Any]:
        job = queue.get_job(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r}")
        return job

    # page and options ------------------------------------------------------

    # portrait mode (issue #9): its routes live in web/portrait.py
    from painterly.web import portrait as portrait_routes

    portrait_routes.register(app, store, ApiError)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/options")
    async def options() -> dict[str, Any]:
        fast_cls = fast_config_class(fast_factory is None)
        return {
            "modes": ["fast", "optimise"] if fast_cls else ["optimise"],
            "presets": preset_names(),
            "fields": {
                "optimise": describe_fields(TransferConfig),
                "fast": describe_fields(fast_cls) if fast_cls else [],
            },
            "limits": {
                "upload_bytes": max_upload_bytes,
                "pixels": max_pixels,
                "size": max_size,
                "iterations": max_iterations,
                "styles": MAX_STYLES,
            },
            "examples": {
                kind: [{"name": n, "url": f"/api/examples/{kind}/{n}"} for n in sorted(examples[kind])]
                for kind in EXAMPLE_KINDS
            },
        }

    # uploads ---------------------------------------------------------------

    @app.post("/api/uploads", status_code=201)
    async def upload(file: UploadFile | None = File(None)) -> dict[str, Any]:
        if file is None:
            raise ApiError(400, "send the image as a multipart form field named 'file'")
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise ApiError(413, f"upload too large: the limit is {max_upload_bytes / 1024 / 1024:.1f} MiB")
        label = display_name(file.filename or "upload")
        image = await decode_bounded(data, label)
        record = await asyncio.to_thread(store.add_upload, image, label)
        return {**record, "url": f"/api/uploads/{record['id']}.png"}

    @app.get("/api/uploads/{upload_id}.png")
    async def upload_file(upload_id: str) -> FileResponse:
        if store.get_upload(upload_id) is None:
            raise ApiError(404, f"no upload {upload_id!r}")
        return FileResponse(store.upload_path(upload_id), media_type="image/png")

    @app.get("/api/examples/{kind}/{name}")
    async def example_file(kind: str, name: str) -> FileResponse:
        return FileResponse(example_path(examples, kind, name))

    @app.post("/api/examples/{kind}/{name}", status_code=201)
    async def use_example(kind: str, name: str) -> dict[str, Any]:
        path = example_path(examples, kind, name)
        image = await decode_bounded(await asyncio.to_thread(path.read_bytes), name)
        record = await asyncio.to_thread(store.add_upload, image, name)
        return {**record, "url": f"/api/uploads/{record['id']}.png"}

    # style library (issue #10): its own router in web/library.py ----------
    from painterly.web.library import library_router

    app.include_router(library_router(store, MAX_STYLES, ApiError, read_json))

    # jobs ------------------------------------------------------------------

    def create_job(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "send the job as a JSON object")
        unknown = sorted(set(body) - {"mode", "preset", "content", "styles", "settings"})
        if unknown:
            raise ApiError(400, f"unknown job field(s): {', '.join(unknown)}")
        mode = body.get("mode", "optimise")
        if mode not in ("optimise", "fast"):
            raise ApiError(400, f"mode must be optimise or fast, got {mode!r}")
        content, styles = body.get("content"), body.get("styles")
        if not isinstance(content, str) or store.get_upload(content) is None:
            raise ApiError(400, "content: upload a photo first (unknown upload id)")
        if not isinstance(styles, list) or not styles:
            raise ApiError(400, "styles: give at least one painting")
        if len(styles) > MAX_STYLES:
            raise ApiError(400, f"styles: at most {MAX_STYLES} paintings")
        for s in styles:
            if not isinstance(s, str) or store.get_upload(s) is None:
                raise ApiError(400, f"styles: unknown upload id {s!r}")
        preset = body.get("preset") or None
        if isinstance(body.get("settings"), dict) and "preset" in body["settings"]:
            body = {**body, "settings": dict(body["settings"])}
            preset = preset or body["settings"].pop("preset") or None
        if mode == "fast":
            fast_cls = fast_config_class(fast_factory is None)
            if fast_cls is None:
                raise ApiError(400, "fast mode is not available in this installation")
            settings = coerce_settings(fast_cls, body.get("settings"))
            config = config_from_dict(fast_cls, settings)
            preset, steps = None, 1  # presets tune the optimisation; fast mode is one pass
            config_dict = {
                k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
            }
        else:
            settings = coerce_settings(TransferConfig, body.get("settings"))
            config = resolve_transfer_config(preset, settings)
            steps = config.total_steps()
            if config.backbone != "vgg19" or config.weights_file:  # issue #14: a missing file fails now
                from painterly.backbones.store import resolve_weights

                try:
                    resolve_weights(config.backbone, config.weights_file)
                except PainterlyError as exc:
                    raise ApiError(400, f"backbone: {exc}") from None
            if steps > max_iterations:
                raise ApiError(400, f"iterations: the studio allows at most {max_iterations} steps in all")
            config_dict = config.to_dict()
        for name in ("style_blend_weights", "style_weights"):
            weights = getattr(config, name, ())
            if weights and len(weights) != len(styles):
                raise ApiError(400, f"{name}: {len(weights)} values for {len(styles)} paintings")
        if config.size > max_size:
            raise ApiError(400, f"size: the studio allows at most {max_size} px")
        request = {"mode": mode, "preset": preset, "settings": settings}
        job = store.add_job(mode, content, list(styles), request, config_dict, steps)
        queue.submit(job["id"])
        return public_job(queue.get_job(job["id"]) or job)

    @app.post("/api/jobs", status_code=201)
    async def post_job(request: Request) -> dict[str, Any]:
        return await asyncio.to_thread(create_job, await read_json(request))

    @app.get("/api/jobs")
    async def list_jobs() -> dict[str, Any]:
        return {"jobs": [public_job(j) for j in queue.list_jobs()], "running": queue.current}

    @app.get("/api/jobs/{job_id}")
    async def get_job(job_id: str) -> dict[str, Any]:
        job = public_job(get_job_or_404(job_id))
        job["history"] = read_history(store, queue, job_id)
        return job

    @app.post("/api/jobs/{job_id}/cancel")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        job = get_job_or_404(job_id)
        if not queue.cancel(job_id):
            raise ApiError(409, f"job {job_id} has already ended ({job['status']})")
        return public_job(queue.get_job(job_id) or job)

    @app.post("/api/jobs/{job_id}/rerun", status_code=201)
    async def rerun_job(job_id: str) -> dict[str, Any]:
        job = get_job_or_404(job_id)
        return create_job({"content": job["content"], "styles": job["styles"], **job["request"]})

    @app.post("/api/jobs/{job_id}/resume")
    async def resume_job(job_id: str) -> dict[str, Any]:
        """Carry on an interrupted or stopped optimisation from its picture (issue #18)."""
        get_job_or_404(job_id)
        why = await asyncio.to_thread(queue.resume, job_id)
        if why:
            raise ApiError(409, f"job {job_id} cannot carry on: {why}")
        return public_job(get_job_or_404(job_id))

    @app.post("/api/plan")
    async def plan(request: Request) -> dict[str, Any]:
        """What a job with these settings would run, resolved exactly as a job is (preset,
        then the user's settings): the form, the card and the manifest show the same steps."""
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "send the settings as a JSON object")
        if body.get("mode", "optimise") == "fast":
            return {"mode": "fast", "total_steps": 1, "scales": []}
        settings = coerce_settings(TransferConfig, body.get("settings"))
        config = resolve_transfer_config(body.get("preset") or None, settings)
        sizes, steps = config.scale_sizes(), config.steps_per_scale()
        return {
            "mode": "optimise",
            "preset": config.preset,
            "total_steps": config.total_steps(),
            "iterations": config.iterations,
            "size": config.size,
            "scales": [{"size": a, "steps": b} for a, b in zip(sizes, steps)],
        }

    @app.delete("/api/jobs/{job_id}")
    async def delete_job(job_id: str) -> dict[str, Any]:
        job = get_job_or_404(job_id)
        if job["status"] not in TERMINAL:
            raise ApiError(409, f"job {job_id} is {job['status']}; cancel it first")
        store.delete_job(job_id)
        queue.forget(job_id)
        events.publish({"type": "deleted", "id": job_id})
        return {"deleted": job_id}

    @app.get("/api/jobs/{job_id}/{name}")
    async def job_file(job_id: str, name: str, download: bool = False) -> FileResponse:
        get_job_or_404(job_id)
        if name not in ("latest.png", "result.png", "thumb.jpg"):
            raise ApiError(404, f"no file {name!r} for a job")
        path = store.job_file(job_id, name)  # type: ignore[arg-type]
        if not path.is_file():
            raise ApiError(404, f"job {job_id} has no {name} yet")
        headers = {"Cache-Control": "no-cache"}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="painterly-{job_id}.png"'
        return FileResponse(path, headers=headers)

    # live stream -----------------------------------------------------------

    @app.get("/api/events")
    async def stream(request: Request, since: int | None = None, job: str | None = None) -> Any:
        """The live stream. sse-starlette does the framing and the keep-alive pings (issue
        #18: no hand-made SSE); what is ours is which events a client gets, and when a job's
        stream ends."""
        if job is not None and queue.get_job(job) is None:
            raise ApiError(404, f"no job {job!r}")

        async def generate() -> AsyncIterator[ServerSentEvent]:
            # A reconnecting EventSource says where it got to; carry on from there.
            last_id = request.headers.get("last-event-id", "")
            seq = since if since is not None else int(last_id) if last_id.isdigit() else events.last
            # A number ahead of this log's (a clock set back since) would wait for nothing.
            seq = min(seq, events.last)
            yield ServerSentEvent(retry=1000)
            grace = 10  # polls to wait for the final job event once the record has ended
            final_sent = False
            while not app.state.closing:
                for n, event in events.since(seq):
                    seq = n
                    if job is None or event.get("id") == job or event.get("job", {}).get("id") == job:
                        yield ServerSentEvent(data=json.dumps(event), id=str(n))
                        final_sent = final_sent or event.get("job", {}).get("status") in TERMINAL
                if job is not None:
                    record = queue.get_job(job)
                    ended = record is None or record["status"] in TERMINAL
                    # The record ends a moment before its event is published: wait for it briefly.
                    grace = grace - 1 if ended and not final_sent and record is not None else grace
                    if ended and (final_sent or record is None or grace <= 0):
                        yield ServerSentEvent(data=json.dumps({"type": "end", "job": record}), event="end")
                        return
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.1)

        return EventSourceResponse(
            generate(), ping=15, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    # issue #11: video corner (own routes, worker and files: painterly.web.video)
    from painterly.web.video import add_video_routes

    add_video_routes(app, store, fast_factory, max_video_seconds, max_upload_bytes)

    return app


# --- helpers -----------------------------------------------------------------------


async def read_json(request: Any) -> Any:
    """The JSON body of a request, refused unless it says it is JSON (a cross-site page
    cannot send that without asking first), is small, and is nested at most a few levels."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "send the body as JSON with Content-Type: application/json")
    data = await request.body()
    if len(data) > MAX_JSON_BYTES:
        raise ApiError(413, f"the JSON body is over {MAX_JSON_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the body must be JSON (UTF-8)") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ApiError(400, f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ApiError(400, "the body must be JSON") from None


def json_depth(text: str) -> int:
    """How deeply a JSON text nests (brackets outside strings), without parsing it: the
    parser recurses and a deep enough body would blow the stack."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def display_name(filename: str) -> str:
    """The client's file name, only for showing: last path part, printable, short."""
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(c for c in name if c.isprintable())[:80]
    return name or "upload"


def decode_image(data: bytes, label: str, max_pixels: int) -> Any:
    """Decode an upload with Pillow (whatever its name says) into upright RGB, or a 400."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from painterly.images import to_rgb

    if not data:
        raise ApiError(400, f"{label}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > max_pixels:
                    raise ApiError(
                        413,
                        f"{label}: {img.width}×{img.height} px is over the limit of {max_pixels:,} pixels",
                    )
                img.load()
                image = to_rgb(ImageOps.exif_transpose(img))
    except ApiError:
        raise
    except UnidentifiedImageError:
        raise ApiError(400, f"{label}: not an image (Pillow cannot decode it)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, f"{label}: too many pixels; refused as a possible decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiError(400, f"{label}: corrupt or truncated image ({exc})") from None
    if min(image.size) < MIN_SIZE:
        raise ApiError(
            400, f"{label}: {image.width}×{image.height} px is too small (at least {MIN_SIZE} px a side)"
        )
    return image


def find_examples(examples_dir: str | Path | None) -> dict[str, dict[str, Path]]:
    """The bundled example images by kind and name: the package's examples/ (in a checkout a
    link to the repository's examples/ folder; in a wheel a copy of it, issue #18)."""
    bundled = Path(__file__).resolve().parents[1] / "examples"
    if not bundled.is_dir():  # a checkout where the link is not one (Windows without symlinks)
        bundled = Path(__file__).resolve().parents[3] / "examples"
    root = Path(examples_dir) if examples_dir else bundled
    found: dict[str, dict[str, Path]] = {kind: {} for kind in EXAMPLE_KINDS}
    for kind in EXAMPLE_KINDS:
        folder = root / kind
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in (".jpg", ".jpeg", ".png") and re.fullmatch(r"[\w-]+", path.stem):
                    found[kind][path.stem] = path
    return found


def example_path(examples: dict[str, dict[str, Path]], kind: str, name: str) -> Path:
    """Look an example up by kind and name in the listing (never joined into a path)."""
    path = examples.get(kind, {}).get(name)
    if path is None:
        raise ApiError(404, f"no example {kind}/{name}")
    return path


__all__ = ["ApiError", "create_app", "describe_fields", "valid_id"]
