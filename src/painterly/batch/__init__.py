"""Batches (issue #12): photos × paintings, or pairs from a CSV, as one resumable job list
run here, in local worker processes, or on a Ray cluster, with the same outputs.

>>> plan = plan_batch(pairs, "out", "optimise", config)       # doctest: +SKIP
>>> records = run_tasks(plan.to_run, workers=2)                # doctest: +SKIP
>>> write_summary(plan, records, settings, seconds, "local")   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from painterly.batch.jobs import Task, expand_images, read_pairs, state_of
from painterly.batch.plan import BatchPlan, plan_batch, write_summary
from painterly.batch.work import StepCallback, Worker


def run_tasks(
    tasks: list[Task],
    *,
    workers: int = 1,
    threads: int = 0,
    ray: bool = False,
    on_step: StepCallback | None = None,
    on_record: Any = None,
    retries: int = 2,
    guard: Any = None,
) -> list[dict[str, Any]]:
    """Run tasks on the chosen backend; one record per task (Ray: the cluster ``connect``ed).
    ``guard`` holds stop signals while a picture is written (in this process only)."""
    step = on_step or (lambda index, step, total: None)
    record = on_record or (lambda record: None)
    if ray:
        from painterly.batch.cluster import run_ray

        return run_ray(tasks, workers, max(1, threads), step, record, retries)
    from painterly.batch.local import run_in_process, run_processes, split_threads

    per_worker = split_threads(workers, threads)
    if workers <= 1:
        return run_in_process(tasks, per_worker, step, record, guard)
    return run_processes(tasks, workers, per_worker, step, record, retries)


__all__ = [
    "BatchPlan",
    "Task",
    "Worker",
    "expand_images",
    "plan_batch",
    "read_pairs",
    "run_tasks",
    "state_of",
    "write_summary",
]
