"""A live view of one command-line run in the browser (``painterly run ... --watch``, issue #18).

The run's own process serves its progress on 127.0.0.1: the page (``static/watch.html``)
polls ``/api/watch`` (step, total, losses, time left, status) twice a second and reloads
``/latest.png`` when a new preview arrives. The standard library's threading HTTP server is
enough for one viewer, starts in milliseconds and needs no web extra; like the studio it
answers only requests that name this machine in their Host header (no DNS rebinding) and
sends the same Content-Security-Policy.

Nothing here prints or opens a browser: :mod:`painterly.cli.run` does, with the URL it gets.
"""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from painterly.web.guard import CONTENT_SECURITY_POLICY, TrustedHosts

STATIC_DIR = Path(__file__).with_name("static")
#: Files of the page, by URL path: (file, content type).
PAGE_FILES = {
    "/": ("watch.html", "text/html; charset=utf-8"),
    "/static/watch.js": ("watch.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}


class RunWatch:
    """Holds the latest state of one run and serves it until :meth:`close`.

    ``update`` takes what a :class:`painterly.events.Progress` carries; ``finish`` the end.
    Thread-safe: the engine calls from the run's thread, the server answers from its own.
    """

    def __init__(self, title: str, total_steps: int, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "title": title,
            "status": "starting",
            "step": 0,
            "total": total_steps,
            "losses": {},
            "elapsed": 0.0,
            "seconds_left": None,
            "preview": 0,
            "message": "",
            "started": time.time(),
        }
        self._png: bytes | None = None
        watch = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # no stray prints (DESIGN)
                pass

            def do_GET(self) -> None:
                watch._answer(self)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self._hosts = TrustedHosts(port=self.port)  # loopback names at this port: the studio's rule
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="painterly-watch", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # what the run reports ---------------------------------------------------------

    def update(
        self,
        step: int,
        total: int,
        losses: dict[str, float],
        elapsed: float,
        seconds_left: float | None = None,
        image: Any = None,
    ) -> None:
        """One step: numbers always, a picture (a 1×3×H×W tensor or a PIL image) when given."""
        png = _png(image) if image is not None else None
        with self._lock:
            self._state.update(
                status="running",
                step=step,
                total=total,
                losses={k: float(v) for k, v in losses.items() if "/" not in k},
                elapsed=round(elapsed, 2),
                seconds_left=None if seconds_left is None else round(max(0.0, seconds_left), 1),
            )
            if png is not None:
                self._png = png
                self._state["preview"] += 1

    def finish(self, status: str, message: str = "", image: Any = None) -> None:
        """The run ended (finished, stopped, interrupted, diverged, failed)."""
        png = _png(image) if image is not None else None
        with self._lock:
            self._state.update(status=status, message=message, seconds_left=0.0)
            if png is not None:
                self._png = png
                self._state["preview"] += 1

    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RunWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # serving -------------------------------------------------------------------

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        if not self._hosts.trusts(request.headers.get("Host", "")):
            self._send(
                request, 421, b'{"error": "this live view answers only 127.0.0.1"}', "application/json"
            )
            return
        path = request.path.split("?", 1)[0]
        if path == "/api/watch":
            self._send(request, 200, json.dumps(self.state()).encode(), "application/json")
        elif path == "/latest.png":
            with self._lock:
                png = self._png
            if png is None:
                self._send(request, 404, b'{"error": "no picture yet"}', "application/json")
            else:
                self._send(request, 200, png, "image/png")
        elif path in PAGE_FILES:
            name, kind = PAGE_FILES[path]
            self._send(request, 200, (STATIC_DIR / name).read_bytes(), kind)
        else:
            self._send(request, 404, b'{"error": "not found"}', "application/json")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", kind)
            request.send_header("Content-Length", str(len(body)))
            request.send_header("Cache-Control", "no-cache")
            request.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            request.send_header("X-Content-Type-Options", "nosniff")
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer went away; the run goes on


def _png(image: Any) -> bytes:
    """A preview as PNG bytes (a tensor goes through painterly.images, the one converter)."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        from painterly.images import tensor_to_pil

        image = tensor_to_pil(image)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


__all__ = ["RunWatch"]
