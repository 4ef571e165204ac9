"""Fast-mode benchmark: speed per megapixel, and what ``--init fast`` saves the optimiser.

    .venv/bin/python bench/fast.py [--sizes 384,768,1024,2048] [--repeats 3]
                                   [--hybrid] [--steps 300] [--hybrid-size 384] [--pictures docs]

Part 1 paints the photo at full resolution (its longest side enlarged to each size)
and prints the median wall time and ms per megapixel, end to end (decode, style
vector from the cache, network, encode) and for the transform network alone.
Part 2 (--hybrid, a few minutes) runs the Gatys optimiser at 384 px from the photo
for --steps steps, then from the fast painting, and prints the step (and seconds) at
which the fast start reaches the loss the photo start ends with. --pictures writes
docs/fast_controls.png (strength, style scale, colours) and, with --hybrid, the
side-by-side fast | fast + optimiser | optimiser picture for the README.
Timings depend on what else the machine runs; compare figures from one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from painterly import FastConfig, FastStylizer, TransferConfig, fast_stylize, stylize
from painterly.images import fit_size, open_image, resize, save_image
from painterly.transfer import build_network

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "chelsea.jpg"
STYLE = ROOT / "examples" / "styles" / "starry_night.jpg"


def speed(sizes: list[int], repeats: int) -> None:
    start = time.perf_counter()
    stylizer = FastStylizer()
    print(f"sessions: {time.perf_counter() - start:.2f} s to load both networks, {stylizer.threads} threads")
    photo, painting = open_image(CONTENT), open_image(STYLE)
    print(f"{'size':>6} {'pixels':>11} {'total s':>8} {'network s':>9} {'ms/MP total':>11} {'ms/MP net':>9}")
    for size in sizes:
        big = resize(photo, fit_size(*photo.size, size))
        config = FastConfig(size=size)
        fast_stylize(big, painting, config, stylizer=stylizer)  # warm-up: allocator, style cache
        totals, nets = [], []
        for _ in range(repeats):
            result = fast_stylize(big, painting, config, stylizer=stylizer)
            totals.append(result.timings["total"])
            nets.append(result.timings["paint"])
        mp = big.size[0] * big.size[1] / 1e6
        total, net = statistics.median(totals), statistics.median(nets)
        print(
            f"{size:>6} {big.size[0]:>5}×{big.size[1]:<5} {total:>8.3f} {net:>9.3f} "
            f"{total * 1000 / mp:>11.0f} {net * 1000 / mp:>9.0f}"
        )


PAIRS = [("chelsea", "starry_night"), ("astronaut", "the_scream"), ("coffee", "woman_with_hat_matisse")]


def style_distance(stylizer: FastStylizer, picture: Image.Image, painting: Image.Image) -> float:
    """Magenta style-predictor distance: L2 between the 100-d style vectors of a result and
    of the painting (both seen as the network sees them: centre square at 256 px)."""
    return float(np.linalg.norm(stylizer.style_vector(picture) - stylizer.style_vector(painting)))


def stroke_scale(sizes: list[int], reference: int, pictures: Path | None) -> None:
    """Style distance of results at each size against the one at ``reference`` px, for
    --style-scale auto and for the old fixed scale 1 (issue #16: auto within 20 %)."""
    stylizer = FastStylizer()
    print(f"\nstyle distance (lower: more like the painting), mean of {len(PAIRS)} pairs; ref {reference} px")
    print(f"{'size':>6} {'auto':>7} {'auto/ref':>9} {'scale 1':>8} {'1/ref':>6} {'auto ms/MP':>11}")
    rows: dict[int, tuple[float, float, float]] = {}
    shown: dict[int, tuple[Image.Image, Image.Image]] = {}
    for size in [reference, *sizes]:
        autos, fixed, speed_ = [], [], []
        for photo_name, style_name in PAIRS:
            photo = open_image(ROOT / "examples" / "content" / f"{photo_name}.jpg")
            painting = open_image(ROOT / "examples" / "styles" / f"{style_name}.jpg")
            big = resize(photo, fit_size(*photo.size, size))
            auto = fast_stylize(big, painting, FastConfig(size=size), stylizer=stylizer)
            one = fast_stylize(big, painting, FastConfig(size=size, style_scale=1.0), stylizer=stylizer)
            autos.append(style_distance(stylizer, auto.image, painting))
            fixed.append(style_distance(stylizer, one.image, painting))
            mp = big.size[0] * big.size[1] / 1e6
            speed_.append((auto.timings["total"] - auto.timings["load_images"]) * 1000 / mp)
            if pictures and photo_name == "chelsea" and size != reference:
                shown[size] = (auto.image, one.image)
        rows[size] = (statistics.mean(autos), statistics.mean(fixed), statistics.median(speed_))
        ref = rows[reference][1]
        a, f, ms = rows[size]
        print(f"{size:>6} {a:>7.3f} {a / ref:>9.2f} {f:>8.3f} {f / ref:>6.2f} {ms:>11.0f}")
    if pictures and shown:
        panels = [(f"{s} px, style-scale auto", a) for s, (a, _) in shown.items()]
        panels += [(f"{s} px, style-scale 1 (before)", f) for s, (_, f) in shown.items()]
        out = pictures / "fast_sizes.jpg"
        save_image(grid(panels, columns=len(shown), width=420), out)
        print(f"wrote {out}")


def grid(panels: list[tuple[str, Image.Image]], columns: int, width: int, gap: int = 8, label: int = 22):
    """Panels shown at one display width (so stroke size relative to the picture compares)."""
    w = width
    h = round(width * panels[0][1].size[1] / panels[0][1].size[0])
    rows = -(-len(panels) // columns)
    sheet = Image.new("RGB", (columns * w + (columns - 1) * gap, rows * (h + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, img) in enumerate(panels):
        x, y = (i % columns) * (w + gap), (i // columns) * (h + label)
        sheet.paste(resize(img, (w, h)), (x, y + label))
        draw.text((x + 4, y + 5), title, fill="black")
    return sheet


def first_step_below(history: list[dict[str, float]], target: float) -> int | None:
    return next((int(row["step"]) for row in history if row["total"] <= target), None)


def hybrid(steps: int, size: int, pictures: Path | None) -> None:
    base = TransferConfig(size=size, iterations=steps)
    net = build_network(base, __import__("painterly.devices").devices.resolve_device(base.device))
    runs = {}
    for init in ("content", "fast"):
        images: dict[int, np.ndarray] = {}

        def keep(event, images=images) -> None:
            if event.image is not None:
                images[event.step] = event.image

        config = base.replace(init=init, preview_every=1 if pictures else 0)
        result = stylize(CONTENT, STYLE, config, keep, network=net)
        runs[init] = (result, images)
        per_step = result.timings["optimise"] / max(1, result.steps)
        print(
            f"init {init:>7}: {result.steps} steps in {result.timings['optimise']:.1f} s "
            f"({per_step * 1000:.0f} ms/step), start loss {result.history[0]['total']:.4g}, "
            f"final loss {result.losses['total']:.4g}"
        )
    reference, _ = runs["content"]
    target = reference.losses["total"]
    fast_result, fast_images = runs["fast"]
    reached = first_step_below(fast_result.history, target)
    per_step = fast_result.timings["optimise"] / max(1, fast_result.steps)
    init_seconds = fast_result.timings.get("targets", 0.0)
    if reached is None:
        print(f"--init fast did not reach {target:.4g} (the photo start's loss after {steps} steps)")
    else:
        print(
            f"--init fast reaches {target:.4g} (init content after {steps} steps) at step {reached}: "
            f"saves {steps - reached} steps ≈ {(steps - reached) * per_step:.1f} s "
            f"(the fast painting itself costs {init_seconds:.2f} s incl. targets)"
        )
    for mark in (50, 100, 200):
        rows = {
            k: next((r["total"] for r in v[0].history if r["step"] == mark), float("nan"))
            for k, v in runs.items()
        }
        print(f"  loss at step {mark:>3}: content {rows['content']:.4g}  fast {rows['fast']:.4g}")
    if pictures:
        fast_result_only = fast_stylize(CONTENT, STYLE, FastConfig(size=size))
        fast_only = fast_result_only.image
        shown = reached or steps
        hybrid_image = fast_images.get(shown)
        panels = [
            (
                f"fast ({fast_result_only.timings['total'] - fast_result_only.timings.get('load_models', 0):.1f} s)",
                fast_only,
            ),
            (
                f"fast + {shown} optimiser steps",
                _pil(hybrid_image) if hybrid_image is not None else fast_result.image,
            ),
            (f"optimiser, {steps} steps from the photo", reference.image),
        ]
        out = pictures / "fast_comparison.png"
        save_image(side_by_side(panels), out)
        print(f"wrote {out}")


def controls_picture(pictures: Path, size: int = 320) -> None:
    """One photo under the fast-mode controls, side by side (docs/fast_controls.png)."""
    stylizer = FastStylizer()
    photo = open_image(CONTENT)
    settings = [
        ("strength 0.5", FastConfig(size=size, strength=0.5)),
        ("strength 1", FastConfig(size=size)),
        ("style-scale 0.5 (bigger strokes)", FastConfig(size=size, style_scale=0.5)),
        ("preserve-colors luminance", FastConfig(size=size, preserve_colors="luminance")),
    ]
    panels = [("photo", resize(photo, fit_size(*photo.size, size)))]
    panels += [
        (title, fast_stylize(photo, STYLE, config, stylizer=stylizer).image) for title, config in settings
    ]
    out = pictures / "fast_controls.png"
    save_image(side_by_side(panels), out)
    print(f"wrote {out}")


def _pil(tensor) -> Image.Image:
    from painterly.images import tensor_to_pil

    return tensor_to_pil(tensor)


def side_by_side(panels: list[tuple[str, Image.Image]], gap: int = 8, label: int = 22) -> Image.Image:
    w, h = panels[0][1].size
    sheet = Image.new("RGB", (len(panels) * w + (len(panels) - 1) * gap, h + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, img) in enumerate(panels):
        x = i * (w + gap)
        sheet.paste(resize(img, (w, h)), (x, label))
        draw.text((x + 4, 5), title, fill="black")
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="384,768,1024,2048")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stroke-sizes", default="512,1024,2048", help="sizes for the style-distance table")
    parser.add_argument("--reference", type=int, default=384, help="size the style distances are compared to")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed table")
    parser.add_argument("--hybrid", action="store_true", help="also time the optimiser from both starts")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hybrid-size", type=int, default=384)
    parser.add_argument(
        "--pictures", type=Path, help="folder for fast_controls.png and (with --hybrid) fast_comparison.png"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; figures are medians of {args.repeats} runs")
    if not args.no_speed:
        speed([int(s) for s in args.sizes.split(",")], args.repeats)
    stroke_scale([int(s) for s in args.stroke_sizes.split(",")], args.reference, args.pictures)
    if args.pictures:
        controls_picture(args.pictures)
    if args.hybrid:
        hybrid(args.steps, args.hybrid_size, args.pictures)


if __name__ == "__main__":
    main()
