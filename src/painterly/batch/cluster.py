"""Running a batch's tasks on a Ray cluster (issue #12; ``pip install 'painterly[cluster]'``).

An actor per worker keeps its network loaded (the same :class:`~painterly.batch.work.Worker`
a local run uses, so the outputs, manifests and records are the same); each actor asks for
``threads`` CPUs, and a GPU when the cluster has them. Steps come back through a Ray queue
for the progress bar. An actor that dies (its process killed, its node lost) fails only its
current pair, which is retried on a fresh actor and resumes from its checkpoint.

The outputs are written by the workers, so on a real cluster the output folder (and the
inputs) must be on a file system every node sees (NFS, a shared volume) at the same path.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from painterly.batch.jobs import Task
from painterly.batch.local import RecordCallback, died_record
from painterly.batch.work import StepCallback, Worker
from painterly.errors import import_optional

INSTALL_HINT = "pip install 'painterly[cluster]'"


def _ray() -> Any:
    return import_optional("ray", f"--ray needs Ray: {INSTALL_HINT}")


class _ActorWorker(Worker):
    """The Worker as an actor: steps go to a Ray queue instead of a callback."""

    def __init__(self, threads: int, name: str, steps: Any) -> None:
        from painterly.threads import prefer_passive_waiting

        prefer_passive_waiting()
        super().__init__(threads, name)
        self._steps = steps
        self._last = 0.0

    def run_task(self, task: Task) -> dict[str, Any]:
        def on_step(index: int, step: int, total: int) -> None:
            now = time.monotonic()
            if now - self._last > 0.1 or step == total:  # a queue put per step is too chatty
                self._last = now
                self._steps.put_nowait((index, step, total))

        return self.run(task, on_step)


def connect(address: str | None, num_cpus: int | None = None) -> bool:
    """Join the cluster at ``address`` (``auto``: the one ``ray start`` made on this machine),
    or start a local one (None). Returns whether we started Ray (and so must stop it)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=num_cpus, **kwargs)
    return True


def run_ray(
    tasks: list[Task],
    workers: int,
    threads: int,
    on_step: StepCallback,
    on_record: RecordCallback,
    retries: int = 2,
    on_started: Any = None,
) -> list[dict[str, Any]]:
    """Run the tasks on ``workers`` actors of the connected cluster. ``on_started(index, pid)``
    is told which process runs which pair (tests kill one)."""
    ray = _ray()
    from ray.util.queue import Empty, Queue

    resources = ray.cluster_resources()
    gpus = 1 if resources.get("GPU", 0) >= 1 else 0
    actor_class = ray.remote(num_cpus=threads, num_gpus=gpus, max_restarts=0)(_ActorWorker)
    steps = Queue()
    counter = 0

    def new_actor() -> Any:
        nonlocal counter
        counter += 1
        return actor_class.remote(threads, f"ray-actor-{counter}", steps)

    actors = [new_actor() for _ in range(max(1, min(workers, len(tasks))))]
    pending = list(tasks)
    attempts = {t.index: 0 for t in tasks}
    in_flight: dict[Any, tuple[Any, Task]] = {}
    records: list[dict[str, Any]] = []
    idle = list(actors)

    def drain() -> None:
        try:
            for index, step, total in steps.get_nowait_batch(steps.qsize()):
                on_step(index, step, total)
        except Empty:
            pass

    pids: dict[Any, int] = {}
    try:
        while pending or in_flight:
            while idle and pending:
                actor, task = idle.pop(), pending.pop(0)
                attempts[task.index] += 1
                if on_started is not None and actor not in pids:
                    pids[actor] = ray.get(actor.pid.remote())  # before the task: calls run in order
                ref = actor.run_task.remote(task)
                in_flight[ref] = (actor, task)
                if on_started is not None:
                    on_started(task.index, pids[actor])
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.2)
            drain()
            for ref in done:
                actor, task = in_flight.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    ray.kill(actor, no_restart=True)
                    idle.append(new_actor())  # a fresh process takes the dead one's place
                    if attempts[task.index] <= retries:
                        pending.insert(0, task)  # resumes from its checkpoint
                        continue
                    record = died_record(
                        task, f"its Ray worker died {attempts[task.index]} times ({type(exc).__name__})"
                    )
                else:
                    idle.append(actor)
                record = {**record, "attempts": attempts[task.index]}
                records.append(record)
                on_record(record)
        drain()
    finally:
        for handle in [*actors, *idle, *(a for a, _ in in_flight.values()), steps.actor]:
            with contextlib.suppress(Exception):  # already dead
                ray.kill(handle, no_restart=True)
    return records


def cluster_cpus() -> int:
    """CPUs the connected cluster offers (for the default number of actors)."""
    return int(_ray().cluster_resources().get("CPU", 1))
