"""Running a batch's tasks on this machine (issue #12): in this process (one worker) or in
``workers`` processes with the CPU threads split between them.

Worker processes ignore Ctrl-C and SIGTERM themselves: the driver hears them and sets a
shared stop flag, which each worker's progress callback turns into a clean engine stop
(the latest image kept as the pair's checkpoint), so a terminal's Ctrl-C reaching every
process of the group cannot cut a picture in half. A worker process that dies (killed, out
of memory) costs only its pair's steps since the last checkpoint: the pair is retried on a
fresh process and resumes from there.
"""

from __future__ import annotations

import os
import queue
import signal
import time
from collections.abc import Callable
from typing import Any

from painterly.batch.jobs import Task
from painterly.batch.work import StepCallback, Worker

RecordCallback = Callable[[dict[str, Any]], None]


def split_threads(workers: int, threads: int = 0, cores: int | None = None) -> int:
    """Threads per worker: the given count, else the cores shared out (at least one)."""
    if threads > 0:
        return threads
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def run_in_process(
    tasks: list[Task], threads: int, on_step: StepCallback, on_record: RecordCallback, guard: Any = None
) -> list[dict[str, Any]]:
    """One worker, here: a KeyboardInterrupt stops the current pair cleanly (the engine keeps
    its latest image) and then the batch."""
    worker = Worker(threads, name="main", guard=guard)
    records = []
    for task in tasks:
        record = {**worker.run(task, on_step), "attempts": 1}
        records.append(record)
        on_record(record)
        if record["status"] == "interrupted":
            raise KeyboardInterrupt
    return records


def _process_main(threads: int, name: str, tasks: Any, events: Any, stop: Any) -> None:
    """A worker process: ignores stop signals (the driver relays them through ``stop``)."""
    for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if s is not None:
            signal.signal(s, signal.SIG_IGN)
    from painterly.threads import prefer_passive_waiting

    prefer_passive_waiting()
    worker = Worker(threads, name=name)
    while not stop.is_set():
        try:
            task = tasks.get(timeout=0.2)
        except queue.Empty:
            continue
        if task is None:
            break
        events.put(("start", name, task.index, os.getpid()))
        record = worker.run(
            task,
            lambda index, step, total: events.put(("step", name, index, step, total)),
            should_stop=stop.is_set,
        )
        events.put(("done", name, task.index, record))
    events.put(("exit", name, None, None))


def run_processes(
    tasks: list[Task],
    workers: int,
    threads: int,
    on_step: StepCallback,
    on_record: RecordCallback,
    retries: int = 2,
) -> list[dict[str, Any]]:
    """``workers`` processes take tasks from one queue; a dead process's pair is retried
    (up to ``retries`` times) on a replacement."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch's threads started is unsafe
    task_q, events, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    for task in tasks:
        task_q.put(task)
    by_index = {t.index: t for t in tasks}
    attempts = {t.index: 0 for t in tasks}
    running: dict[str, int | None] = {}
    procs: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    counter = 0

    def spawn() -> None:
        nonlocal counter
        counter += 1
        name = f"worker-{counter}"
        proc = ctx.Process(target=_process_main, args=(threads, name, task_q, events, stop), daemon=True)
        proc.start()
        procs[name], running[name] = proc, None

    for _ in range(min(workers, len(tasks))):
        spawn()
    remaining = len(tasks)
    try:
        while remaining and procs:
            try:
                event = events.get(timeout=0.5)
            except queue.Empty:
                for name, proc in list(procs.items()):
                    if proc.is_alive():
                        continue
                    del procs[name]
                    index = running.pop(name, None)
                    if index is None:
                        continue
                    if attempts[index] <= retries:  # counted when the pair started
                        task_q.put(by_index[index])  # resumes from its checkpoint
                    else:
                        record = {
                            **died_record(
                                by_index[index],
                                f"its worker died {attempts[index]} times (exit code {proc.exitcode})",
                            ),
                            "attempts": attempts[index],
                        }
                        records.append(record)
                        on_record(record)
                        remaining -= 1
                    spawn()
                continue
            kind, name = event[0], event[1]
            if kind == "start":
                running[name] = event[2]
                attempts[event[2]] += 1
            elif kind == "step":
                on_step(event[2], event[3], event[4])
            elif kind == "done":
                running[name] = None
                record = {**event[3], "attempts": attempts[event[2]]}
                records.append(record)
                on_record(record)
                remaining -= 1
            elif kind == "exit":
                procs.pop(name, None)
    except KeyboardInterrupt:
        stop.set()  # each worker stops its pair cleanly; collect what they report
        deadline = time.monotonic() + 60
        while any(p.is_alive() for p in procs.values()) and time.monotonic() < deadline:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if event[0] == "done":
                record = {**event[3], "attempts": attempts[event[2]]}
                records.append(record)
                on_record(record)
        raise
    finally:
        stop.set()
        for proc in procs.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    return records


def died_record(task: Task, reason: str) -> dict[str, Any]:
    """The record of a pair given up because the process running it kept dying (local
    workers and Ray actors alike)."""
    return {
        "index": task.index,
        "photo": task.photo,
        "painting": task.painting,
        "output": task.output,
        "status": "failed",
        "reason": reason,
    }
