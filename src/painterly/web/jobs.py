"""The job queue: one worker thread runs one job at a time (one optimisation saturates
this CPU; two would each take twice as long), and turns the engine's Progress events
into stored progress, intermediate images and a live event stream for the page.

Cancelling raises :class:`~painterly.events.Stop` from the progress callback, so the
engine ends cleanly and hands back its latest image, which becomes the result.

The worker survives anything a job throws (issue #15): the job ends "failed" with the
reason and the queue goes on. When even that cannot be written (a full disk refuses the
database too), the failure is kept in memory, shown to the page as if stored, and
written as soon as the disk lets it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import sqlite3
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from painterly.config import TransferConfig, config_from_dict
from painterly.errors import MissingDependencyError, PainterlyError
from painterly.events import Progress, Stop
from painterly.images import tensor_to_pil
from painterly.web.store import TERMINAL, Store, describe_os_error

if TYPE_CHECKING:
    import torch  # the engine imports it, once, when the first job runs (issue #16)

#: Loss names the live chart shows (the per-layer parts stay in the stored history).
CHART_LOSSES = ("total", "content", "style", "tv")
#: How many events the stream keeps for clients that reconnect.
EVENT_BACKLOG = 2000

NetworkFactory = Callable[[TransferConfig], Any]
#: ``report(step, total, losses, elapsed, image, left=None)``: ``left`` is the engine's
#: estimate of the seconds still to go (``Progress.seconds_left``), None when it has none.
ProgressReport = Callable[..., None]


class EventLog:
    """Numbered events for the live stream; readers poll with the last number they saw."""

    def __init__(self, backlog: int = EVENT_BACKLOG) -> None:
        self._events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=backlog)
        # Numbers go on from an earlier run of the server (microseconds at its start), so a page
        # that reconnects after a restart holds no number ahead of this log's.
        self._seq = time.time_ns() // 1000
        self._lock = threading.Lock()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._events.append((self._seq, event))

    @property
    def last(self) -> int:
        return self._seq

    def since(self, seq: int) -> list[tuple[int, dict[str, Any]]]:
        """Numbered events after ``seq`` (older ones may have left the backlog)."""
        with self._lock:
            return [(n, e) for n, e in self._events if n > seq]


@dataclass
class Outcome:
    """What an engine run gave back, in the studio's terms."""

    status: str
    image: Image.Image | None
    steps: int
    losses: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""
    history: list[dict[str, float]] = field(default_factory=list)


def fast_available(check_models: bool = True) -> bool:
    """Whether the feed-forward mode can be offered: the module, and (unless a test brings
    its own stylizer) onnxruntime and the model files. Checked per request, not at import."""
    try:
        module = importlib.import_module("painterly.fast")
    except ImportError:
        return False
    if not hasattr(module, "fast_stylize"):
        return False
    if not check_models:
        return True
    try:
        importlib.import_module("painterly.fast.models").find_models()
    except (ImportError, PainterlyError):
        return False
    return importlib.util.find_spec("onnxruntime") is not None


class Engine:
    """Runs one job with the library's public API. Loaded networks and fast stylizers are
    kept here (per studio, not per module) so that the second job skips the loading."""

    def __init__(
        self,
        network_factory: NetworkFactory | None = None,
        fast_factory: Callable[[Any], Any] | None = None,
    ) -> None:
        self.network_factory = network_factory
        self.fast_factory = fast_factory
        self._networks: dict[tuple[str, ...], Any] = {}
        self._stylizers: dict[str, Any] = {}

    def network_for(self, config: TransferConfig) -> Any:
        from painterly.backbones.vgg import deepest_tap
        from painterly.devices import resolve_device
        from painterly.transfer import build_network

        if self.network_factory is not None:
            return self.network_factory(config)
        layers = config.content_layers + config.style_layers
        key = (
            config.pooling,
            config.activation,
            deepest_tap(layers, config.backbone),
            config.backbone,
            config.weights_file,
        )
        if key not in self._networks:
            self._networks.clear()  # keep one network in memory, not one per setting ever used
            self._networks[key] = build_network(config, resolve_device(config.device))
        return self._networks[key]

    def run(
        self,
        mode: str,
        config: dict[str, Any],
        content: Path,
        styles: list[Path],
        report: ProgressReport,
    ) -> Outcome:
        if mode == "fast":
            return self._run_fast(config, content, styles, report)
        return self._run_optimise(config, content, styles, report)

    def _run_optimise(
        self, settings: dict[str, Any], content: Path, styles: list[Path], report: ProgressReport
    ) -> Outcome:
        from painterly.transfer import stylize

        config = TransferConfig.from_dict(settings)
        if not config.preview_every:
            # About 30 previews a run, and at least one every 10 steps: a live picture (and an
            # image to keep if the server dies) without spending much time on copies.
            config = config.replace(preview_every=max(1, min(10, config.total_steps() // 30)))

        def on_progress(event: Progress) -> None:
            report(
                event.step, event.total_steps, event.losses, event.elapsed, event.image, event.seconds_left
            )

        if config.portrait:  # issue #9: masks and weight maps from painterly.portrait
            from painterly.portrait import stylize_portrait

            portrait = stylize_portrait(
                content,
                styles,
                config,
                on_progress,
                network=self.network_for(config),
                detector=self._detector(),
            )
            result = portrait.result
            if portrait.warnings:
                result.message = "; ".join([*portrait.warnings, result.message]).strip("; ")
        else:
            result = stylize(content, styles, config, on_progress, network=self.network_for(config))
        return Outcome(
            result.status,
            result.image,
            result.steps,
            result.losses,
            result.timings,
            result.message,
            result.history,
        )

    def _run_fast(
        self, settings: dict[str, Any], content: Path, styles: list[Path], report: ProgressReport
    ) -> Outcome:
        try:
            fast = importlib.import_module("painterly.fast")
            config_module = importlib.import_module("painterly.config")
            fast_config_cls = config_module.FastConfig
        except (ImportError, AttributeError):
            raise MissingDependencyError("fast mode is not available in this installation") from None
        config = config_from_dict(fast_config_cls, settings)
        report(0, 1, {}, 0.0, None)
        start = time.perf_counter()
        kwargs: dict[str, Any] = {}
        stylizer = self._stylizer(fast, config)
        if stylizer is not None:
            kwargs["stylizer"] = stylizer
        message = ""
        if getattr(config, "portrait", False):  # issue #9
            from painterly.portrait import fast_portrait

            portrait = fast_portrait(content, list(styles), config, detector=self._detector(), **kwargs)
            result, message = portrait.result, "; ".join(portrait.warnings)
        else:
            result = fast.fast_stylize(content, list(styles), config, **kwargs)
        elapsed = time.perf_counter() - start
        image = result.image
        report(1, 1, {}, elapsed, image, 0.0)
        timings = dict(getattr(result, "timings", {}) or {})
        timings.setdefault("total", elapsed)
        status = getattr(result, "status", "finished")
        return Outcome(status, image, 1, {}, timings, message or getattr(result, "message", ""))

    def _detector(self) -> Any:
        """The portrait models, loaded by the first portrait job and kept (issue #9)."""
        from painterly.portrait import Detector

        if "portrait" not in self._stylizers:
            self._stylizers["portrait"] = Detector.load()
        return self._stylizers["portrait"]

    def _stylizer(self, fast: Any, config: Any) -> Any:
        """One FastStylizer, reused between jobs (creating its sessions is the slow part)."""
        if self.fast_factory is not None:
            return self.fast_factory(config)
        if "default" not in self._stylizers:
            self._stylizers["default"] = fast.FastStylizer()
        return self._stylizers["default"]


class JobQueue:
    """Jobs wait in line here; one worker thread runs them in order."""

    def __init__(self, store: Store, engine: Engine, events: EventLog | None = None) -> None:
        self.store = store
        self.engine = engine
        self.events = events or EventLog()
        self._pending: deque[str] = deque()
        self._cond = threading.Condition()
        self._current: str | None = None
        self._cancel: set[str] = set()
        self._closing = False
        self._thread: threading.Thread | None = None
        #: Per-step losses of the running job, for a page that opens mid-run.
        self.live_history: dict[str, list[dict[str, float]]] = {}
        #: Final states the database refused (disk full): shown as if stored, retried.
        self._unrecorded: dict[str, dict[str, Any]] = {}

    # control -----------------------------------------------------------------

    def start(self) -> None:
        """Recover from a previous life of the server, then start the worker."""
        interrupted, queued = self.store.recover()
        with self._cond:
            self._pending.extend(queued)
        for job_id in interrupted:
            self._publish_job(job_id)
        self._thread = threading.Thread(target=self._work, name="painterly-jobs", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the worker; a running job ends as interrupted, keeping its latest image."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, job_id: str) -> None:
        with self._cond:
            self._pending.append(job_id)
            self._cond.notify_all()
        self._publish_job(job_id)
        self._publish_positions()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; False if it had already ended."""
        with self._cond:
            if job_id in self._pending:
                self._pending.remove(job_id)
                queued = True
            elif job_id == self._current:
                self._cancel.add(job_id)
                return True
            else:
                return False
        if queued:
            self.store.update_job(
                job_id, status="stopped", ended=time.time(), message="cancelled before it started"
            )
            self._publish_job(job_id)
            self._publish_positions()
        return True

    def resume(self, job_id: str) -> str | None:
        """Queue an interrupted or stopped optimisation to carry on from its picture (the
        engine's own resume: :func:`painterly.transfer.remaining_schedule`, as ``painterly
        run --resume``); the same job goes on, its steps counted from where it stopped.
        Returns why not when it cannot (None when queued)."""
        job = self.get_job(job_id)
        if job is None:
            return "no such job"
        if job["mode"] != "optimise":
            return "only an optimisation can carry on (fast mode is one pass)"
        if job["status"] not in ("interrupted", "stopped"):
            return f"the job is {job['status']}; only an interrupted or stopped job can carry on"
        if not job["has_result"] or not self.store.job_file(job_id, "result.png").is_file():
            return "the job stopped before its first picture; run it again instead"
        if not 0 < job["step"] < job["total_steps"]:
            return f"the job has no steps left to run ({job['step']} of {job['total_steps']})"
        self.store.save_resume_point(job_id, job["step"])
        self.store.update_job(
            job_id, status="queued", ended=None, message=f"carrying on from step {job['step']}"
        )
        self._unrecorded.pop(job_id, None)
        self.submit(job_id)
        return None

    def positions(self) -> dict[str, int]:
        """Place in line of each waiting job (1 = next)."""
        with self._cond:
            return {job_id: i + 1 for i, job_id in enumerate(self._pending)}

    @property
    def current(self) -> str | None:
        return self._current

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: wait until nothing runs or waits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._pending and self._current is None:
                    return True
            time.sleep(0.02)
        return False

    # worker ------------------------------------------------------------------

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """A job's record, with a final state the database could not take yet, and ``seq``: the
        last event's number before it was read. Every change to a record is published after it is
        written, so a page that has applied a later event for the job already holds something at
        least as new (a Cancel's answer can reach it after the job's own "stopped" event)."""
        seq = self.events.last
        job = self.store.get_job(job_id)
        if job is not None:
            job = {**job, **self._unrecorded.get(job_id, {}), "seq": seq}
        return job

    def forget(self, job_id: str) -> None:
        """A deleted job's unwritten final state is no longer needed."""
        self._unrecorded.pop(job_id, None)

    def list_jobs(self) -> list[dict[str, Any]]:
        """Newest first, each with ``seq`` as :meth:`get_job` gives it."""
        seq = self.events.last
        return [{**j, **self._unrecorded.get(j["id"], {}), "seq": seq} for j in self.store.list_jobs()]

    def _work(self) -> None:
        """Run jobs in order for ever: nothing a job does may end this loop."""
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait(timeout=2.0 if self._unrecorded else None)
                    if self._unrecorded:
                        break
                if self._closing:
                    return
                job_id = self._pending.popleft() if self._pending else None
                self._current = job_id
            self._flush_unrecorded()
            if job_id is None:
                continue
            try:
                self._run(job_id)
            except BaseException as exc:  # a dead worker would stall every later job
                self._fail(job_id, exc)
            finally:
                with self._cond:
                    self._current = None
                    self._cancel.discard(job_id)
                self.live_history.pop(job_id, None)
                with contextlib.suppress(Exception):
                    self._publish_positions()

    def _fail(self, job_id: str, exc: BaseException) -> None:
        """End a job as failed with the reason; if the database refuses, remember it."""
        if isinstance(exc, (OSError, sqlite3.Error)):
            message = describe_os_error(exc, "the job could not be saved")
        else:
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            message = f"internal error: {detail}"
        final = {"status": "failed", "ended": time.time(), "message": message}
        try:
            self.store.update_job(job_id, **final)
        except Exception:  # the disk is still full: keep it in memory for now
            self._unrecorded[job_id] = final
        with contextlib.suppress(Exception):
            self._publish_job(job_id)

    def _flush_unrecorded(self) -> None:
        for job_id, final in list(self._unrecorded.items()):
            try:
                self.store.update_job(job_id, **final)
            except Exception:
                return  # still full; try again later
            self._unrecorded.pop(job_id, None)

    def _run(self, job_id: str) -> None:
        job = self.store.get_job(job_id)
        if job is None or job["status"] != "queued":
            return
        started = time.time()
        # Carrying on (issue #18): the steps already done, and the schedule that is left.
        done, config = self._resume_plan(job)
        self.store.update_job(job_id, status="running", started=started)
        self._publish_job(job_id)
        self._publish_positions()
        before = [row for row in self.store.read_history_rows(job_id) if row["step"] <= done] if done else []
        history: list[dict[str, float]] = [
            {"step": r["step"], **{k: r[k] for k in CHART_LOSSES if k in r}} for r in before
        ]
        self.live_history[job_id] = history
        last_saved = [0.0]

        def report(
            step: int,
            total: int,
            losses: dict[str, float],
            elapsed: float,
            image: Image.Image | torch.Tensor | None,
            left: float | None = None,
        ) -> None:
            step, total = step + done, total + done
            shown = {k: losses[k] for k in CHART_LOSSES if k in losses}
            if losses:
                history.append({"step": step, **shown})
            if image is not None:
                self.store.save_latest(
                    job_id, image if isinstance(image, Image.Image) else tensor_to_pil(image), step
                )
            now = time.monotonic()
            if image is not None or now - last_saved[0] > 1.0 or step == total:
                last_saved[0] = now
                self.store.update_job(job_id, step=step, total_steps=total, losses=shown)
            self.events.publish(
                {
                    "type": "progress",
                    "id": job_id,
                    "step": step,
                    "total": total,
                    "losses": shown,
                    "elapsed": round(elapsed, 3),
                    "seconds_left": None if left is None else round(max(0.0, left), 1),
                    "preview": image is not None,
                }
            )
            if job_id in self._cancel or self._closing:
                raise Stop

        content = self.store.upload_path(job["content"])
        styles = [self.store.upload_path(s) for s in job["styles"]]
        try:
            outcome = self.engine.run(job["mode"], config, content, styles, report)
        except Stop:  # an engine that lets Stop through (e.g. fast mode before its first step)
            outcome = Outcome("stopped", None, 0, message="stopped by request")
        except PainterlyError as exc:
            outcome = Outcome("failed", None, 0, message=str(exc))
        except (OSError, sqlite3.Error) as exc:  # e.g. the disk filled up under a preview
            outcome = Outcome("failed", None, 0, message=describe_os_error(exc, "the job stopped"))
        except Exception as exc:  # a bug: record it on the job rather than kill the worker
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            outcome = Outcome("failed", None, 0, message=f"internal error: {detail}")
        if done:
            outcome.steps += done
            outcome.history = before + [{**row, "step": row["step"] + done} for row in outcome.history]
            self.store.clear_resume_point(job_id)
        status = outcome.status
        if status == "stopped" and self._closing:
            status, outcome.message = "interrupted", "the server stopped while this job was running"
        elif status == "stopped":
            outcome.message = outcome.message or "stopped by request"
        if outcome.image is not None:
            try:
                self.store.save_result(job_id, outcome.image)
            except (OSError, sqlite3.Error) as exc:
                status, outcome.message = "failed", describe_os_error(exc, "could not save the result")
        if outcome.history:
            with contextlib.suppress(OSError):  # a side file: losing it must not fail the job
                self.store.save_history(job_id, json.dumps(outcome.history))
        final_losses = {k: outcome.losses[k] for k in CHART_LOSSES if k in outcome.losses}
        self.store.update_job(
            job_id,
            status=status if status in TERMINAL else "failed",
            ended=time.time(),
            step=outcome.steps,
            losses=final_losses or (job["losses"] if outcome.steps else {}),
            timings={k: round(v, 4) for k, v in outcome.timings.items()},
            message=outcome.message,
        )
        self.live_history.pop(job_id, None)
        self._publish_job(job_id)

    def _resume_plan(self, job: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """(steps done, config to run): the job's own config, or after a resume point the
        remaining schedule starting from the picture the job stopped with."""
        done = self.store.resume_point(job["id"])
        if not done:
            return 0, job["config"]
        from painterly.transfer import remaining_schedule

        original = TransferConfig.from_dict(job["config"])
        start = self.store.job_dir(job["id"]) / "resume.png"
        return done, remaining_schedule(original, done).replace(init=str(start)).to_dict()

    # events ------------------------------------------------------------------

    def public(self, job: dict[str, Any]) -> dict[str, Any]:
        """A job record as the page sees it: with its place in line and its URLs."""
        job_id = job["id"]
        base = f"/api/jobs/{job_id}"
        done = job["has_result"]
        return {
            **job,
            "position": self.positions().get(job_id),
            "urls": {
                "content": f"/api/uploads/{job['content']}.png",
                "styles": [f"/api/uploads/{s}.png" for s in job["styles"]],
                "result": f"{base}/result.png" if done else None,
                "thumb": f"{base}/thumb.jpg" if done else None,
                "latest": f"{base}/latest.png",
                "download": f"{base}/result.png?download=1" if done else None,
            },
        }

    def _publish_job(self, job_id: str) -> None:
        job = self.get_job(job_id)
        if job is not None:
            self.events.publish({"type": "job", "job": self.public(job)})

    def _publish_positions(self) -> None:
        self.events.publish({"type": "queue", "positions": self.positions(), "running": self._current})


def read_history(store: Store, queue: JobQueue, job_id: str) -> list[dict[str, float]]:
    """The per-step losses of a job: live while it runs, from its folder once it ended."""
    if job_id in queue.live_history:
        return list(queue.live_history[job_id])
    path = store.job_dir(job_id) / "history.json"
    if not path.is_file():
        return []
    rows = json.loads(path.read_text())
    return [{"step": r["step"], **{k: r[k] for k in CHART_LOSSES if k in r}} for r in rows]
