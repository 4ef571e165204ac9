"""This wave's changes (issue #16, the whole step) against before them, end to end.

    OMP_NUM_THREADS=1 python bench/step_same_result.py [--size 128] [--steps 130] [--picture docs/step_same_result.jpg]

Runs stylize on several photo–painting pairs with FastLBFGS, the fused calm term and the
shifted patches (now), and with all three switched off (before), from the same seed, and
prints the final losses. Past 100 steps L-BFGS works with its full history. The new
direction is torch's in exact arithmetic but sums in another order, so float32 rounding
sends the two runs along slightly different paths: the figure to look at is the final loss
(and the pictures), not the pixels.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch
from PIL import Image

from painterly import TransferConfig, calm, first_conv, lbfgs, stylize
from painterly.transfer import build_network

ROOT = Path(__file__).resolve().parents[1]
PAIRS = (
    ("chelsea.jpg", "starry_night.jpg"),
    ("astronaut.jpg", "woman_with_hat_matisse.jpg"),
    ("coffee.jpg", "the_scream.jpg"),
    ("chelsea.jpg", "shipwreck.jpg"),
)
SWITCHES = ((lbfgs, "ENABLED"), (calm, "FUSED"), (first_conv, "SHIFTED"))


def figures(result: object, tail: int) -> tuple[float, float, float]:
    """Final loss, mean loss of the last ``tail`` steps, best loss of a run."""
    totals = [row["total"] for row in result.history]  # type: ignore[attr-defined]
    return result.losses["total"], statistics.mean(totals[-tail:]), min(totals)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=130)
    parser.add_argument("--pairs", type=int, default=len(PAIRS))
    parser.add_argument("--picture", help="save the pairs side by side (now | before) here")
    args = parser.parse_args()
    config = TransferConfig(size=args.size, iterations=args.steps, seed=0)
    net = build_network(config, torch.device("cpu"))
    rows = []
    print(f"{args.size} px, {args.steps} steps, seed 0, load {os.getloadavg()[0]:.1f}")
    tail = max(1, args.steps // 3)
    print(
        f"  final loss / mean loss of the last {tail} steps / best loss; 'rounding only' is before with the\n"
        "  calm term fused (the same values to ~1e-7): how far float32 rounding alone moves a run"
    )
    for content, style in PAIRS[: args.pairs]:
        results = {}
        for label, on in (("now", SWITCHES), ("before", ()), ("rounding only", SWITCHES[1:2])):
            for module, flag in SWITCHES:
                setattr(module, flag, (module, flag) in on)
            start = time.process_time()
            result = stylize(
                ROOT / "examples/content" / content, ROOT / "examples/styles" / style, config, network=net
            )
            results[label] = (result, time.process_time() - start)
        for module, flag in SWITCHES:
            setattr(module, flag, True)
        print(f"  {content} x {style}:")
        base = results["before"][0]
        reference = figures(base, tail)
        for label, (result, seconds) in results.items():
            own = figures(result, tail)
            against = " / ".join(f"{v / w * 100 - 100:+.2f}" for v, w in zip(own, reference))
            print(
                f"    {label:<14} {' / '.join(f'{v:,.0f}' for v in own)}  ({against} % against before; "
                f"{result.status}, {seconds:.0f} s CPU, mean pixel difference "
                f"{float((result.tensor - base.tensor).abs().mean()) * 255:.1f}/255)"
            )
        rows.append((results["now"][0].image, base.image))
    if args.picture:
        w = max(a.width for a, _ in rows)
        heights = [round(w * a.height / a.width) for a, _ in rows]
        sheet = Image.new("RGB", (2 * w + 8, sum(heights) + 8 * (len(rows) - 1)), "white")
        top = 0
        for (a, b), h in zip(rows, heights):
            sheet.paste(a.resize((w, h)), (0, top))
            sheet.paste(b.resize((w, h)), (w + 8, top))
            top += h + 8
        sheet.save(args.picture, quality=90)


if __name__ == "__main__":
    main()
