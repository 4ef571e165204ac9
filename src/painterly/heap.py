"""Keep the engine's freed memory in the process while it runs (issue #16).

Every loss evaluation allocates and frees the same large tensors (a 512×341 image's
64-channel maps are 45 MB each). glibc's malloc serves a block above its mmap threshold
(dynamic, at most 32 MB) with a fresh ``mmap`` and gives it back with ``munmap`` when it
is freed, so the next evaluation page-faults the same memory in again, 4 KiB at a time,
zero-filled by the kernel: at 512 px the bare VGG19 pass took ~94 000 page faults and
~220 ms of system time per evaluation (7 % of it), the engine's evaluation ~118 000 and
~310 ms (bench/engine.py --faults). At 256 px every block is under the threshold and
nothing faults.

:func:`keep_freed_memory` tells glibc, for the duration of a run, to serve large blocks
from its heap and to keep freed memory (no mmap, no trimming), so that the second and
later evaluations reuse pages that are already mapped. When the outermost run ends it
restores mmap for large blocks (with the threshold glibc's own adaptation tends to,
32 MB), and hands the freed memory back to the system (``malloc_trim``). Elsewhere
(macOS, Windows, musl) it does nothing. No torch here: this sits at the bottom of the house.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Iterator

# mallopt parameters (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4
#: glibc's defaults and dynamic ceiling, restored when the last run ends.
DEFAULT_MMAP_MAX = 65536
MMAP_THRESHOLD_AFTER = 32 * 1024 * 1024
TRIM_THRESHOLD_AFTER = 2 * MMAP_THRESHOLD_AFTER
#: "never trim": the largest value mallopt takes (an int).
NEVER = 2**31 - 1

_lock = threading.Lock()
_depth = 0


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (it has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # Windows: no global symbol namespace
        return None
    names = ("gnu_get_libc_version", "mallopt", "malloc_trim")
    return libc if all(hasattr(libc, name) for name in names) else None


def _set(libc: ctypes.CDLL, settings: tuple[tuple[int, int], ...]) -> None:
    for param, value in settings:
        libc.mallopt(ctypes.c_int(param), ctypes.c_int(value))


@contextlib.contextmanager
def keep_freed_memory() -> Iterator[bool]:
    """Run a block with glibc keeping freed memory mapped; yields whether it applies.

    Nested and concurrent runs (the web studio) share one setting: the outermost exit
    restores it. The values of a run are unchanged, only where its memory comes from.
    """
    global _depth
    libc = _glibc()
    if libc is None:
        yield False
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            _set(libc, ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, NEVER)))
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _set(
                    libc,
                    (
                        (M_MMAP_MAX, DEFAULT_MMAP_MAX),
                        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_AFTER),
                        (M_TRIM_THRESHOLD, TRIM_THRESHOLD_AFTER),
                    ),
                )
                libc.malloc_trim(ctypes.c_size_t(0))
