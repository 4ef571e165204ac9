"""painterly.heap: during a run glibc keeps freed memory mapped (issue #16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from painterly import heap

glibc = pytest.mark.skipif(heap._glibc() is None, reason="mallopt is glibc's")

#: Run in a fresh process: how glibc serves a block depends on the heap's history, and a
#: long test session leaves free chunks that a big request may reuse without any mmap.
#: 48 MB blocks: above glibc's largest mmap threshold (32 MB), like a 512 px image's maps.
SCRIPT = """
import json, resource, torch
from painterly import heap
BIG = 12 * 1024 * 1024
def faults():
    # the fewest page faults among the last 8 of 16 rounds of allocate, fill, free: with the
    # policy a freed block is reused once glibc's memalign slack lets one fit (a few rounds)
    counts = []
    for _ in range(16):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        torch.empty(BIG).fill_(1.0)
        counts.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return min(counts[-8:])
out = {"before": faults()}
with heap.keep_freed_memory() as applies:
    out["applies"] = applies
    with heap.keep_freed_memory():
        pass
    out["inside, after a nested run ended"] = faults()
out["depth"] = heap._depth
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fault_counts() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc
def test_a_run_reuses_freed_pages(fault_counts: dict) -> None:
    pages = 12 * 1024 * 1024 * 4 // 4096
    assert fault_counts["before"] > pages // 2  # mmap'ed afresh each time: faulted in again
    assert fault_counts["applies"]
    # kept mapped, also after a nested run ended inside the outer one
    assert fault_counts["inside, after a nested run ended"] < pages // 10
    assert fault_counts["depth"] == 0


@glibc
def test_the_outermost_exit_restores_mmap_and_trims(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []
    monkeypatch.setattr(heap, "_set", lambda _libc, settings: calls.append(settings))
    with heap.keep_freed_memory():
        with heap.keep_freed_memory():
            pass
        assert calls == [((heap.M_MMAP_MAX, 0), (heap.M_TRIM_THRESHOLD, heap.NEVER))]
    assert calls[-1] == (
        (heap.M_MMAP_MAX, heap.DEFAULT_MMAP_MAX),
        (heap.M_MMAP_THRESHOLD, heap.MMAP_THRESHOLD_AFTER),
        (heap.M_TRIM_THRESHOLD, heap.TRIM_THRESHOLD_AFTER),
    )
    assert len(calls) == 2 and heap._depth == 0


def test_stylize_runs_inside_it() -> None:
    """The engine's entry (threads.with_config_threads, which stylize wears) enters it."""
    from painterly import threads

    seen: list[int] = []

    @threads.with_config_threads
    def entry(content: object, styles: object, config: object) -> None:
        seen.append(heap._depth)

    entry(None, None, None)
    assert seen == [1] and heap._depth == 0
