"""Progress records the engines emit, and the signal a callback uses to stop a run.

The engines never print. They call ``callback(event)`` after each step; the CLI
turns events into a progress bar, the web studio into a live stream, the lab
into records. A callback stops a run cleanly by raising :class:`Stop`; the run
then returns its latest good image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

RunStatus = Literal["finished", "stopped", "interrupted", "diverged"]


class Stop(Exception):
    """Raised by a progress callback to end a run early and keep the latest image."""


@dataclass(frozen=True)
class Progress:
    """One optimisation step.

    ``losses`` holds the weighted partial losses by name (``content``,
    ``content/conv4_2``, ``style``, ``style/conv1_1``, ``tv``, ``total``).
    ``image`` is the current image (1×3×H×W, RGB in 0–1, on the CPU) on steps where
    a preview was asked for, else None.
    """

    step: int
    total_steps: int
    losses: dict[str, float]
    elapsed: float
    scale: int = 0
    scale_count: int = 1
    image: torch.Tensor | None = field(default=None, repr=False)
    # --- issue #12/#18: an honest time left ---
    #: Share of the current scale done (0–1); tiled scales count their tiles' steps.
    scale_done: float = 0.0
    #: The engine's estimate of the seconds to the end, from the schedule: the steps left at
    #: each scale × the measured time of a step at that scale's size (painterly.estimate.
    #: ScheduleClock). None: not known (then the mean time per step so far is used).
    eta: float | None = None

    @property
    def seconds_left(self) -> float:
        """Estimated time to the end. From the schedule when the engine gave one (a multi-
        scale run's later steps are larger: the mean step so far under-counts them by 2–4×),
        else from the mean time per step so far."""
        if self.eta is not None:
            return max(0.0, self.eta)
        return self.elapsed / self.step * (self.total_steps - self.step) if self.step else 0.0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Notice:
    """Something the user should know that does not stop the run (issue #9: "no face
    found, ran as an ordinary run"). ``level`` is "warning" or "info"."""

    message: str
    level: Literal["warning", "info"] = "warning"


NoticeCallback = Callable[[Notice], None]


# --- issue #11: video ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameProgress:
    """One finished frame of a video.

    ``frame`` counts frames done (resumed ones included), ``total_frames`` is the
    expected count (0 when unknown); ``fps`` is the painting rate of this run so far.
    ``image`` is the painted frame (H×W×3 uint8 RGB, a numpy array).
    """

    frame: int
    total_frames: int
    elapsed: float
    fps: float
    resumed: int = 0
    image: object | None = field(default=None, repr=False)

    @property
    def seconds_left(self) -> float:
        """Estimated time to the end at the rate so far."""
        if not self.fps or not self.total_frames:
            return 0.0
        return max(0, self.total_frames - self.frame) / self.fps


FrameCallback = Callable[[FrameProgress], None]
