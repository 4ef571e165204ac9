"""painterly.heap: during a run glibc keeps freed memory mapped (issue #16)."""

from __future__ import annotations

import resource

import pytest
import torch

from painterly import heap

glibc = pytest.mark.skipif(heap._glibc() is None, reason="mallopt is glibc's")

#: 48 MB: above glibc's largest mmap threshold (32 MB), like a 512 px image's 64-channel map.
BIG = 12 * 1024 * 1024


def _faults_of_later_allocations() -> int:
    """Minor page faults of the last 3 of 12 rounds of allocating, filling and freeing a
    big tensor (memalign's slack keeps glibc from reusing the first few freed blocks)."""
    for _ in range(9):
        torch.empty(BIG).fill_(1.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(3):
        torch.empty(BIG).fill_(1.0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@glibc
def test_a_run_reuses_freed_pages_and_gives_them_back_after() -> None:
    pages = BIG * 4 // 4096
    assert _faults_of_later_allocations() > pages  # mmap'ed afresh each time: faulted in again
    with heap.keep_freed_memory() as applies:
        assert applies
        assert _faults_of_later_allocations() < pages // 10  # the first one's pages, kept
    assert _faults_of_later_allocations() > pages  # restored: large blocks mmap'ed again


@glibc
def test_nested_runs_restore_only_at_the_outermost_exit() -> None:
    pages = BIG * 4 // 4096
    with heap.keep_freed_memory():
        with heap.keep_freed_memory():
            pass
        assert _faults_of_later_allocations() < pages // 10
    assert heap._depth == 0
    assert _faults_of_later_allocations() > pages


def test_stylize_runs_inside_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's entry (threads.with_config_threads, which stylize wears) enters it."""
    from painterly import threads

    seen: list[int] = []

    @threads.with_config_threads
    def entry(content: object, styles: object, config: object) -> None:
        seen.append(heap._depth)

    entry(None, None, None)
    assert seen == [1] and heap._depth == 0
