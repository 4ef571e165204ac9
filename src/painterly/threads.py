"""CPU threads for torch, and how idle OpenMP threads wait (issue #16).

On a machine whose cores are busy with other work, OpenMP worker threads that spin
while they wait for each other burn the time slices the real work needs: a step of
the lab took 15× longer with two spinning threads on a 2-core machine that was doing
other work. Two remedies, both measured in ``bench/threads.py``:

* ``OMP_WAIT_POLICY=PASSIVE``: idle workers sleep at once instead of spinning. OpenMP
  reads it when it starts, i.e. when torch is imported, so :func:`prefer_passive_waiting`
  must run before that; the command line calls it first thing (``painterly.cli``), a
  library user may call it before importing torch. An explicit setting is never overridden.
* a thread count per run: ``TransferConfig.threads`` (``--threads``); 0 leaves torch's
  own setting (all cores, or ``OMP_NUM_THREADS``) alone.

No torch at import: this module sits at the bottom of the house.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

#: Environment variables that make idle OpenMP threads sleep at once (GNU and LLVM/Intel OpenMP).
PASSIVE_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}


def prefer_passive_waiting(environ: MutableMapping[str, str] | None = None) -> bool:
    """Ask OpenMP to let idle threads sleep (unless the user chose otherwise).

    Returns False (and changes nothing) when torch is already imported, since OpenMP
    has read its settings by then.
    """
    if "torch" in sys.modules:
        return False
    env = os.environ if environ is None else environ
    for name, value in PASSIVE_ENV.items():
        env.setdefault(name, value)
    return True


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[int]:
    """Run a block with ``threads`` torch intra-op threads (0: leave the setting as it is),
    then restore the previous count. Yields the count in force."""
    import torch

    previous = torch.get_num_threads()
    if threads > 0 and threads != previous:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def with_config_threads(func: _F) -> _F:
    """Decorate an engine entry ``f(content, styles, config, ...)`` so that it runs with
    ``config.threads`` torch threads, and with glibc keeping the memory the evaluations
    free for the next one (:func:`painterly.heap.keep_freed_memory`)."""
    from painterly.heap import keep_freed_memory

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        config = kwargs.get("config", args[2] if len(args) > 2 else None)
        with torch_threads(int(getattr(config, "threads", 0) or 0)), keep_freed_memory():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
