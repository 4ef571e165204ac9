"""The one place that turns SIGTERM and SIGINT into a clean stop (issue #15).

Ctrl-C raises KeyboardInterrupt, which the engine already turns into an "interrupted"
result with its latest image. SIGTERM (``kill``, systemd, docker stop, a batch queue)
used to kill the process on the spot: no picture, a manifest stuck at "running", the
steps since the last checkpoint lost. :func:`stop_on_signals` makes both signals raise
KeyboardInterrupt in the main thread, so every command stops the same clean way; and
:func:`deferred` holds a signal back while the final files are written, so a second
Ctrl-C cannot cut a picture in half.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from painterly.errors import caused_by_interrupt

__all__ = ["PRELOAD_TORCH", "caused_by_interrupt", "deferred", "stop_on_signals"]

#: Signals that mean "stop cleanly" (SIGTERM is missing on some platforms' Python).
STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), signal.SIGINT) if s is not None)

#: Modules a command imports inside :func:`deferred` right after parsing (``preload`` in its
#: parser defaults): a Ctrl-C in the middle of torch's import used to leave a traceback or an
#: "internal error" from a half-built pydantic schema. Only torch: torch._dynamo (1.5 s) waits
#: for the optimiser that needs it, so --estimate, --dry-run and refusals don't pay for it.
#: ``preload`` may also be a function of the parsed arguments giving the modules (issue #16:
#: ``batch --fast`` runs on onnxruntime and would pay 1.6 s for a torch it never uses).
PRELOAD_TORCH = ("torch",)

_state: dict[str, Any] = {"defer": 0, "pending": None}


def _handler(signum: int, frame: Any) -> None:
    if _state["defer"]:
        _state["pending"] = signum  # raised when the protected writes are done
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside: SIGTERM and SIGINT raise KeyboardInterrupt (main thread only; the
    previous handlers come back afterwards)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def deferred(reraise: bool = True) -> Iterator[None]:
    """Hold stop signals back while inside (a checkpoint, the final picture): a signal
    that arrives meanwhile is raised as KeyboardInterrupt on the way out, or only noted
    with ``reraise=False`` (when the work inside is the clean stop itself)."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1
        pending = _state["pending"] if not _state["defer"] else None
        if not _state["defer"]:
            _state["pending"] = None
        if pending is not None and reraise:
            raise KeyboardInterrupt(signal.Signals(pending).name)
