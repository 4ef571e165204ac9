"""A rough warning before a long CPU run (issue #18).

``painterly sweep`` and ``painterly reconstruct`` at their README settings ran for about an
hour on a laptop CPU without a word. Before the first step they now say how long the work
will roughly take when that is more than :data:`WARN_SECONDS`, and how to make a first look
quicker. The figure is deliberately simple (pixels × steps × a measured cost per pixel-step):
it is a warning, not the progress bar's time-left estimate.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from PIL import Image

from painterly.config import TransferConfig
from painterly.estimate import SECONDS_PER_PIXEL_STEP

#: Work estimated above this many seconds on the CPU gets a warning.
WARN_SECONDS = 15 * 60


def aspect_of(path: str | None) -> float:
    """Short side over long side of an image file (its header only); 0.75 if unknown."""
    if not path:
        return 0.75
    try:
        with Image.open(path) as img:
            w, h = img.size
        return min(w, h) / max(w, h)
    except (OSError, ValueError, ZeroDivisionError):
        return 0.75


def cpu_seconds(config: TransferConfig, aspect: float) -> float:
    """Rough CPU seconds of one run: each scale's pixels times its steps times the cost per pixel-step."""
    work = sum(
        longest * longest * aspect * steps
        for longest, steps in zip(config.scale_sizes(), config.steps_per_scale())
    )
    return work * SECONDS_PER_PIXEL_STEP  # the engine's one measured cost per pixel-step


def on_cpu(device: str) -> bool:
    """Whether ``device`` means the CPU here (``auto`` without CUDA or MPS)."""
    if device == "cpu":
        return True
    if device != "auto":
        return False
    import torch

    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    return not (torch.cuda.is_available() or mps)


def describe(seconds: float) -> str:
    """ "about 50 min" / "about 2.5 h"."""
    if seconds < 5400:
        return f"about {max(1, round(seconds / 60))} min"
    return f"about {seconds / 3600:.1f} h"


def warn_if_long(what: str, configs: Iterable[TransferConfig], aspect: float, hint: str) -> float:
    """Print one warning line when the runs would take longer than WARN_SECONDS on the CPU;
    returns the estimate (0 when they run on a GPU)."""
    configs = list(configs)
    if not configs or not on_cpu(configs[0].device):
        return 0.0
    seconds = sum(cpu_seconds(c, aspect) for c in configs)
    if seconds > WARN_SECONDS:
        sizes = sorted({c.size for c in configs})
        steps = sorted({c.total_steps() for c in configs})
        print(
            f"painterly: warning: {what}: {len(configs)} run(s) of {'/'.join(map(str, steps))} steps at "
            f"{'/'.join(map(str, sizes))} px will take {describe(seconds)} on this CPU (a rough estimate); "
            f"for a first look try {hint}",
            file=sys.stderr,
        )
    return seconds
