"""A batch worker (issue #12): one loaded network (VGG19, or the fast sessions) kept for
every pair it runs, in the driver's process, a local process or a Ray actor alike.

:meth:`Worker.run` never raises for a bad pair: the record says ``failed`` with the reason
and the batch goes on. Only an interrupt (KeyboardInterrupt) ends it, after the engine
has kept the latest image as a checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

from painterly.batch.jobs import Task, clear, state_of
from painterly.errors import PainterlyError
from painterly.events import Progress, Stop

#: (task index, step, total steps) after each step of a pair.
StepCallback = Callable[[int, int, int], None]


class Worker:
    """Runs tasks with ``threads`` CPU threads; networks are built on first use and kept."""

    def __init__(self, threads: int = 0, name: str = "", guard: Any = None) -> None:
        self.threads = threads
        #: Holds stop signals while a picture is written (the CLI's ``deferred``), in-process only.
        self.guard = guard or contextlib.nullcontext
        self.name = name or f"pid {os.getpid()}"
        self._networks: dict[tuple, Any] = {}
        self._fast: Any = None
        self.load_seconds = 0.0

    def pid(self) -> int:
        return os.getpid()

    def network_for(self, config: Any) -> Any:
        """The VGG19 (or backbone) this config needs, built once per worker."""
        from painterly.backbones.vgg import deepest_tap
        from painterly.devices import resolve_device
        from painterly.transfer import build_network

        device = resolve_device(config.device)
        last = deepest_tap(config.content_layers + config.style_layers, config.backbone)
        key = (config.backbone, config.weights_file, config.pooling, config.activation, last, str(device))
        if key not in self._networks:
            start = time.perf_counter()
            self._networks[key] = build_network(config, device)
            self.load_seconds += time.perf_counter() - start
        return self._networks[key]

    def run(
        self, task: Task, on_step: StepCallback | None = None, should_stop: Callable[[], bool] | None = None
    ) -> dict[str, Any]:
        """Make one pair's picture (or skip it): a record for the summary."""
        start = time.perf_counter()
        record: dict[str, Any] = {
            "index": task.index,
            "photo": task.photo,
            "painting": task.painting,
            "output": task.output,
            "worker": self.name,
        }
        try:
            state = state_of(task)
            record["state"] = state
            if state == "skip":
                return {**record, "status": "skipped", "reason": "finished earlier with the same settings"}
            if task.mode == "fast":
                outcome = self._run_fast(task)
            else:
                outcome = self._run_optimise(task, state, on_step, should_stop)
        except KeyboardInterrupt:
            raise
        except PainterlyError as exc:
            return {**record, "status": "failed", "reason": str(exc), "seconds": time.perf_counter() - start}
        except Exception as exc:  # a bug in one pair must not cost the others
            reason = f"{type(exc).__name__}: {exc}"
            if os.environ.get("PAINTERLY_DEBUG"):
                reason += "\n" + traceback.format_exc()
            return {**record, "status": "failed", "reason": reason, "seconds": time.perf_counter() - start}
        return {**record, **outcome, "seconds": time.perf_counter() - start}

    def _run_optimise(
        self,
        task: Task,
        state: str,
        on_step: StepCallback | None,
        should_stop: Callable[[], bool] | None,
    ) -> dict[str, Any]:
        from painterly import runner
        from painterly.config import TransferConfig, config_from_dict

        if state == "resume":
            job = runner.plan_resume(task.paths.manifest, given={"threads": self.threads})
        else:
            clear(task)
            config = config_from_dict(TransferConfig, {**task.config, "threads": self.threads})
            job = runner.plan_job(task.photo, list(task.styles), config, task.output)
            job.library = list(task.library)
        job.extra = {"batch": {"key": task.key, "index": task.index, "painting": task.painting}}

        def step(event: Progress) -> None:
            if on_step is not None:
                on_step(task.index, event.step, event.total_steps)
            if should_stop is not None and should_stop():
                raise Stop("the batch was stopped")

        outcome = runner.execute(
            job,
            checkpoint_every=task.checkpoint_every,
            on_progress=step,
            network=self.network_for(job.config),
        )
        status = outcome.status if outcome.status in ("finished", "diverged") else "interrupted"
        return {
            "status": "finished" if outcome.finished else ("failed" if status == "diverged" else status),
            "reason": "" if outcome.finished else outcome.message,
            "steps": outcome.steps,
            "resumed_from_step": job.steps_before,
            "loss": outcome.losses.get("total"),
        }

    def _run_fast(self, task: Task) -> dict[str, Any]:
        from painterly.config import FastConfig, config_from_dict
        from painterly.fast import FastStylizer, fast_stylize
        from painterly.images import open_image, save_image
        from painterly.records import fast_manifest, write_manifest

        clear(task)
        config = config_from_dict(FastConfig, {**task.config, "threads": self.threads})
        if self._fast is None:
            start = time.perf_counter()
            self._fast = FastStylizer(self.threads)
            self.load_seconds += time.perf_counter() - start
        paintings = [open_image(s) for s in task.styles]
        if config.portrait:
            from painterly.portrait import fast_portrait

            result = fast_portrait(task.photo, paintings, config, stylizer=self._fast).result
        else:
            result = fast_stylize(task.photo, paintings, config, stylizer=self._fast)
        save_image(result.image, task.output)  # the picture before its manifest
        manifest = fast_manifest(
            config,
            task.photo,
            list(task.styles),
            task.output,
            result,
            self._fast.threads,
            library=list(task.library),
            extra={"batch": {"key": task.key, "index": task.index, "painting": task.painting}},
        )
        write_manifest(task.paths.manifest, manifest)
        return {"status": "finished", "reason": "", "steps": 1, "resumed_from_step": 0, "loss": None}
