"""L-BFGS's history: how many curvature pairs a run needs (issue #16, item 5).

    OMP_NUM_THREADS=1 python bench/history.py [--preset quality] [--size 128] [--histories 100,50,25]

Runs the preset on photo–painting pairs with each history length, and once more with the
longest history and a rounding-only change (the calm term unfused: the same values to ~1e-7),
and prints each run's best loss (the picture stylize returns) and CPU time. A history that
changes the best loss by less than the rounding-only run does is as good as the longest.
At 128 px quality runs 300 steps on one scale, so the history is full for most of them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from PIL import Image

from painterly import calm, stylize, transfer
from painterly.presets import preset_config
from step_same_result import PAIRS  # the same four photo–painting pairs (bench/ is on the path)

ROOT = Path(__file__).resolve().parents[1]


def best_loss(
    content: str, style: str, preset: str, size: int, history: int, rounding: bool = False
) -> tuple[float, float]:
    """(best loss of the run, CPU seconds) with ``history`` L-BFGS pairs."""
    kept = transfer.LBFGS_HISTORY, calm.FUSED
    transfer.LBFGS_HISTORY, calm.FUSED = history, not rounding
    try:
        photo = Image.open(ROOT / "examples" / "content" / content)
        painting = Image.open(ROOT / "examples" / "styles" / style)
        start = time.process_time()
        result = stylize(photo, painting, preset_config(preset, size=size, seed=0))
        return min(
            row["total"] for row in result.history if row["scale"] == result.history[-1]["scale"]
        ), time.process_time() - start
    finally:
        transfer.LBFGS_HISTORY, calm.FUSED = kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quality")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--histories", default="100,50,25")
    parser.add_argument("--pairs", type=int, default=len(PAIRS))
    args = parser.parse_args()
    histories = [int(h) for h in args.histories.split(",")]
    print(
        f"{args.preset} at {args.size} px, seed 0, load {os.getloadavg()[0]:.1f}: best loss (CPU s), against {histories[0]} pairs"
    )
    for content, style in PAIRS[: args.pairs]:
        runs = {f"{h} pairs": best_loss(content, style, args.preset, args.size, h) for h in histories}
        runs[f"{histories[0]}, rounding only"] = best_loss(
            content, style, args.preset, args.size, histories[0], rounding=True
        )
        base = runs[f"{histories[0]} pairs"][0]
        print(
            f"  {content} × {style}: "
            + "; ".join(
                f"{name} {loss:,.0f} ({(loss / base - 1) * 100:+.2f} %, {cpu:.0f} s)"
                for name, (loss, cpu) in runs.items()
            )
        )


if __name__ == "__main__":
    main()
