"""Print sizes within memory (issue #12) and the time left (issue #18): measured, not assumed.

    .venv/bin/python bench/scale.py runs  [--sizes 256,512,1024,2048] [--steps-per-scale 2]
                                          [--modes untiled,tiled] [--max-memory 3] [--threads 2]
    .venv/bin/python bench/scale.py eta   [--size 512] [--steps-per-scale 6]
    .venv/bin/python bench/scale.py fast  [--sizes 1536,3072]
    .venv/bin/python bench/scale.py figure --size 1024 --tile T   (after runs of both modes)

``runs``: each case is `--preset balanced` (its scales; with --steps-per-scale N every scale
gets N steps instead of 60..30, which measures per-step time and peak memory at a fraction of
the cost) in a CHILD process, whose peak RSS (ru_maxrss) and wall time are reported beside the
calibrated estimate made in this process before it (painterly.estimate.estimate_run). Tiled
cases set --max-memory (the budget the automatic tiling must meet); their outputs are measured
for seams: the mean gradient across the tile borders over the mean elsewhere (1.0 = invisible),
beside the same measure of the untiled output on the same bands when there is one.

``eta``: one multi-scale run; at 20 % of its steps the engine's schedule-based time left
(Progress.seconds_left) and the old mean-step guess are compared with the time it really took.

``fast``: fast mode's network at sizes beyond its tile (1536 px): peak RSS and time in a child,
tiled (the default) against untiled (FAST_TILE raised), and the seam measure.

Print `uptime` beside the figures: on a shared machine the times move with the load (the
memory does not).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "chelsea.jpg"
STYLE = ROOT / "examples" / "styles" / "starry_night.jpg"
OUT = Path(os.environ.get("SCALE_OUT", "/tmp/painterly_scale"))


def load() -> str:
    return os.getloadavg().__repr__()


def config_for(size: int, steps_per_scale: int, max_memory: float, tile: int, threads: int):
    from painterly.config import TransferConfig
    from painterly.presets import preset_config

    base = preset_config(
        "balanced", size=size, max_memory=max_memory, tile=tile, threads=threads, cache=False
    )
    if steps_per_scale:
        base = base.replace(scale_iterations=(steps_per_scale,) * len(base.scale_sizes()))
    assert isinstance(base, TransferConfig)
    return base


def child(args: argparse.Namespace) -> None:
    """Run one case and print a JSON line (peak RSS of this process, times)."""
    from painterly.transfer import stylize

    config = config_for(args.size, args.steps_per_scale, args.max_memory, args.tile, args.threads)
    t0 = time.perf_counter()
    result = stylize(CONTENT, STYLE, config)
    wall = time.perf_counter() - t0
    path = OUT / f"{args.size}_{args.label}.png"
    result.image.save(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "wall": wall, "timings": result.timings, "image": str(path)}))


def run_case(size: int, label: str, args: argparse.Namespace, max_memory: float, tile: int = 0) -> dict:
    cmd = [sys.executable, __file__, "child", "--size", str(size), "--label", label]
    cmd += ["--steps-per-scale", str(args.steps_per_scale), "--max-memory", str(max_memory)]
    cmd += ["--tile", str(tile), "--threads", str(args.threads)]
    before = load()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["?"], "load": before}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": f"{before} -> {load()}"}


def seams_text(tiled: str, untiled: str | None, boxes: list, band: int) -> str:
    """The seam ratio where the tiles are blended (and, after a comma, over the ``band`` px
    from each tile's start, where they were blended before the centred feather), for the
    tiled picture and the untiled one on the same bands."""
    import numpy as np
    from PIL import Image

    from painterly.tiling import seam_ratio

    def both(path: str) -> str:
        img = np.asarray(Image.open(path).convert("RGB")) / 255.0
        return f"{seam_ratio(img, boxes):.3f},{seam_ratio(img, boxes, band):.3f}"

    return both(tiled) + (f"/{both(untiled)}" if untiled else "")


def runs(args: argparse.Namespace) -> None:
    from painterly.estimate import GIB, estimate_run
    from painterly.tiling import overlap_for, tile_boxes

    OUT.mkdir(parents=True, exist_ok=True)
    print(
        f"# balanced, {args.steps_per_scale or 'preset'} steps per scale, {args.threads} threads; load {load()}"
    )
    print(
        "size  mode     tile  est.peak  peak    est.time  time     seams(tiled/untiled; blend,starts)  load"
    )
    for size in [int(s) for s in args.sizes.split(",")]:
        outputs = {}
        for mode in args.modes.split(","):
            budget = args.max_memory if mode == "tiled" else 1000.0
            config = config_for(size, args.steps_per_scale, budget, 0, args.threads)
            est = estimate_run(CONTENT, STYLE, config)
            tile = est.scales[-1].tile
            if mode == "tiled" and not tile:
                print(f"{size:5d} tiled    -     (fits the {args.max_memory} GiB budget untiled: not tiled)")
                continue
            got = run_case(size, mode, args, budget)
            if "error" in got:
                print(f"{size:5d} {mode:8s} error: {got['error']}")
                continue
            outputs[mode] = got["image"]
            seams = ""
            if tile:
                w, h = est.scales[-1].size
                boxes = tile_boxes(h, w, tile)
                seams = seams_text(got["image"], outputs.get("untiled"), boxes, overlap_for(tile))
            print(
                f"{size:5d} {mode:8s} {tile or '-':>4}  {est.peak_bytes / GIB:6.2f}G  {got['peak'] / GIB:5.2f}G  "
                f"{est.seconds:7.0f}s  {got['wall']:6.0f}s  {seams:27s}  {got['load']}  "
                f"(per step {got['timings']['per_step']:.2f} s, model {est.fixed_seconds:.2f} + "
                f"{est.seconds_per_px * 1e6:.2f} us/px)",
                flush=True,
            )


def eta(args: argparse.Namespace) -> None:
    from painterly.events import Progress
    from painterly.transfer import stylize

    config = config_for(args.size, args.steps_per_scale, 0.0, 0, args.threads)
    total = config.total_steps()
    seen: list[tuple[int, float, float, float]] = []

    def on_step(event: Progress) -> None:
        mean_guess = event.elapsed / event.step * (event.total_steps - event.step)
        seen.append((event.step, event.elapsed, event.seconds_left, mean_guess))

    print(
        f"# eta: balanced at {args.size} px, scales {config.scale_sizes()}, steps {config.steps_per_scale()}; load {load()}"
    )
    result = stylize(CONTENT, STYLE, config, on_step)
    end = seen[-1][1]
    for share in (0.2, 0.5):
        step, elapsed, schedule, mean = next(row for row in seen if row[0] >= share * total)
        actual = end - elapsed
        print(
            f"at {share:.0%} (step {step}/{total}, {elapsed:.0f} s): actual left {actual:.0f} s; "
            f"schedule estimate {schedule:.0f} s ({schedule / actual - 1:+.0%}); "
            f"mean-step estimate {mean:.0f} s ({mean / actual - 1:+.0%})"
        )
    print(f"# {result.steps} steps in {end:.0f} s; load {load()}")


def fast(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in [int(s) for s in args.sizes.split(",")]:
        for tiled in (True, False):
            code = (
                "import resource,time,sys,numpy as np;from painterly.fast import stylizer;"
                f"stylizer.FAST_TILE = {1536 if tiled else 100000};"
                "from painterly.config import FastConfig;from painterly.fast import fast_stylize;"
                f"t=time.perf_counter();r=fast_stylize({str(CONTENT)!r},{str(STYLE)!r},"
                f"FastConfig(size={size},style_scale=1.0,threads={args.threads}));"
                f"r.image.save('{OUT}/fast_{size}_{int(tiled)}.png');"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss*1024, time.perf_counter()-t)"
            )
            before = load()
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
            if done.returncode:
                print(f"fast {size} tiled={tiled}: error {done.stderr.strip().splitlines()[-1:]}")
                continue
            peak, wall = done.stdout.split()
            print(
                f"fast {size:5d} px {'tiled  ' if tiled else 'untiled'} peak {int(peak) / 2**30:.2f} GiB, {float(wall):.1f} s; load {before}"
            )
            if tiled:
                import numpy as np
                from PIL import Image

                from painterly.tiling import seam_ratio, tile_boxes

                img = np.asarray(Image.open(f"{OUT}/fast_{size}_1.png")) / 255.0
                boxes = tile_boxes(img.shape[0], img.shape[1], 1536, 192)
                print(f"    seams: {seam_ratio(img, boxes, 192):.3f} ({len(boxes)} tiles)")


def figure(args: argparse.Namespace) -> None:
    """docs/tiles_seams.png: the tiled picture with the lines where its tiles are blended,
    and 1:1 crops around where four tiles meet, of each picture given (``--images``, with
    ``--labels``; by default the untiled and tiled outputs of ``runs`` at ``--size``)."""
    from PIL import Image, ImageDraw

    from painterly.tiling import blend_bands, tile_boxes

    paths = (
        args.images.split(",")
        if args.images
        else [str(OUT / f"{args.size}_{m}.png") for m in ("untiled", "tiled")]
    )
    labels = args.labels.split(",") if args.labels else [Path(p).stem for p in paths]
    pictures = [Image.open(p).convert("RGB") for p in paths]
    tiled = pictures[-1]
    w, h = tiled.size
    cols, rows = blend_bands(tile_boxes(h, w, args.tile))
    grid = tiled.copy()
    draw = ImageDraw.Draw(grid)
    for a, b in cols:
        draw.line(((a + b) // 2, 0, (a + b) // 2, h), fill=(255, 255, 255), width=3)
    for a, b in rows:
        draw.line((0, (a + b) // 2, w, (a + b) // 2), fill=(255, 255, 255), width=3)
    side = args.crop
    x = (cols[0][0] + cols[0][1]) // 2 if cols else w // 2
    y = (rows[0][0] + rows[0][1]) // 2 if rows else h // 2
    left, top = min(max(0, x - side // 2), w - side), min(max(0, y - side // 2), h - side)
    crop = (left, top, left + side, top + side)
    thumb = grid.resize((side * w // h, side))
    sheet = Image.new("RGB", (thumb.width + len(pictures) * (side + 10), side + 30), "white")
    sheet.paste(thumb, (0, 30))
    text = ImageDraw.Draw(sheet)
    text.text(
        (4, 8), f"{labels[-1]} {w}x{h}, tiles of {args.tile} px, blended along the white lines", fill="black"
    )
    for i, (picture, label) in enumerate(zip(pictures, labels)):
        at = thumb.width + 10 + i * (side + 10)
        sheet.paste(picture.crop(crop), (at, 30))
        text.text((at + 4, 8), f"{label}, 1:1 at a tile corner", fill="black")
    path = Path(args.figure_out) if args.figure_out else ROOT / "docs" / "tiles_seams.png"
    sheet.save(path)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("runs", "eta", "fast", "child", "figure"))
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--modes", default="untiled,tiled")
    parser.add_argument("--steps-per-scale", type=int, default=2, help="0: the preset's own 60..30")
    parser.add_argument("--max-memory", type=float, default=3.0)
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--label", default="")
    parser.add_argument("--images", default="", help="figure: comma-separated pictures, the tiled one last")
    parser.add_argument("--labels", default="", help="figure: their captions")
    parser.add_argument("--crop", type=int, default=320, help="figure: side of the 1:1 crops")
    parser.add_argument("--figure-out", default="", help="figure: where to write it (docs/tiles_seams.png)")
    args = parser.parse_args()
    {"runs": runs, "eta": eta, "fast": fast, "child": child, "figure": figure}[args.what](args)


if __name__ == "__main__":
    main()
