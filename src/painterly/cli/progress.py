"""Turns engine progress events into a tqdm progress bar on stderr."""

from __future__ import annotations

import sys
from types import TracebackType

from painterly.events import Progress

#: tqdm's layout without its own remaining-time guess (the postfix carries the engine's).
SCHEDULE_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return (
        f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else (f"{seconds // 60:02d}:{seconds % 60:02d}")
    )


class ProgressBar:
    """A context manager whose ``update(event)`` advances a bar showing the losses and time left."""

    def __init__(self, total: int, description: str = "painting", enabled: bool = True) -> None:
        from tqdm import tqdm  # 60 ms to import: only commands that show a bar pay for it

        self.bar = tqdm(
            total=total,
            desc=description,
            unit="step",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def update(self, event: Progress) -> None:
        losses = event.losses
        postfix = {k: f"{losses[k]:.3g}" for k in ("content", "style", "total") if k in losses}
        if event.scale_count > 1:
            postfix = {"scale": f"{event.scale + 1}/{event.scale_count}", **postfix}
        if event.eta is not None and event.total_steps == self.bar.total:
            # issue #18: the engine's time left from the schedule, not tqdm's mean-step guess
            # (a multi-scale run's later steps are 2–4× larger than its first ones).
            self.bar.bar_format = SCHEDULE_FORMAT
            postfix["left"] = _clock(event.seconds_left)
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(event.step - self.bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bar.close()
