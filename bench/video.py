"""Video: does the temporal mode stop the flicker, at what cost in style, and how fast?

A clip is made from a bundled photo with a camera pan and zoom and a moving disc
(painterly.video.synth). Each mode paints it; for each output we measure
  * warping error: mean |out_t − out_{t−1} moved by the INPUT's flow| on reliable pixels
    (0–255 units), the flicker and crawl a viewer sees;
  * style strength: the engine's style loss (VGG19 Gram matrices, conv1_1..conv5_1,
    default β) of each frame against the painting, averaged; lower is more painting-like;
  * fps: painted frames per second including flow, saving the frames and encoding the mp4
    (networks loaded beforehand).

    OMP_NUM_THREADS=1 python bench/video.py                       # fast mode, 640×360
    OMP_NUM_THREADS=1 python bench/video.py --optimise --size 192 # Ruder et al., small
    python bench/video.py --strip docs/video_strip.png            # the README figure
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from painterly.config import TransferConfig, VideoConfig
from painterly.images import pil_to_tensor
from painterly.losses import style_loss
from painterly.transfer import build_network
from painterly.video import stylize_video
from painterly.video.flow import FlowEstimator, reliability, warping_error
from painterly.video.synth import camera_frames, write_clip

ROOT = Path(__file__).resolve().parents[1]


def load_frames(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("frame_*.png"))]


def input_flows(frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(backward flow, reliability) of each frame after the first, from the input."""
    est = FlowEstimator("medium")  # the judge uses the slower, more precise preset
    greys = [est.grey(f) for f in frames]
    out = []
    for prev, cur in itertools.pairwise(greys):
        b, f = est(cur, prev), est(prev, cur)
        out.append((b, reliability(b, f, frames[len(out) + 1], frames[len(out)])))
    return out


def mean_warping_error(outputs: list[np.ndarray], flows: list[tuple[np.ndarray, np.ndarray]]) -> float:
    return float(np.mean([warping_error(c, p, b, m) for c, p, (b, m) in zip(outputs[1:], outputs, flows)]))


def style_strength(outputs: list[np.ndarray], painting: Path, network: object) -> float:
    cfg = TransferConfig()
    style = Image.open(painting).convert("RGB")
    total = []
    with torch.no_grad():
        side = max(outputs[0].shape[:2])
        s = pil_to_tensor(style.resize((side, round(side * style.height / style.width))))
        target = network(s, cfg.style_layers)  # type: ignore[operator]
        from painterly.losses import gram_matrix

        grams = {k: gram_matrix(v) for k, v in target.items()}
        for frame in outputs:
            feats = network(pil_to_tensor(Image.fromarray(frame)), cfg.style_layers)  # type: ignore[operator]
            total.append(
                sum(float(style_loss(feats[k], grams[k])) for k in cfg.style_layers) * cfg.style_weight
            )
    return float(np.mean(total))


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f} (uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photo", default=str(ROOT / "examples/content/chelsea.jpg"))
    parser.add_argument("--painting", default=str(ROOT / "examples/styles/starry_night.jpg"))
    parser.add_argument("--size", type=int, default=640, help="clip width (16:9)")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--optimise", action="store_true", help="optimise mode instead of fast mode")
    parser.add_argument("--weights", default="0.5,0.7,0.85", help="temporal weights to compare with 0")
    parser.add_argument("--iterations", type=int, default=100, help="optimise: steps of the first frame")
    parser.add_argument("--later", default="10,20,40", help="optimise: steps of later frames to compare")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strip", help="write a per-frame vs temporal strip here")
    parser.add_argument("--brush", type=float, default=1.0, help="fast: also a run with this style_scale")
    parser.add_argument("--speed-only", action="store_true", help="skip the style-strength measure (VGG19)")
    args = parser.parse_args()

    w = args.size - args.size % 2
    h = round(w * 9 / 16 / 2) * 2
    work = Path(tempfile.mkdtemp(prefix="painterly-bench-video-"))
    frames = camera_frames(Image.open(args.photo), args.frames, (w, h))
    clip = write_clip(frames, work / "clip.mp4", fps=25, tone_hz=440)
    flows = input_flows(frames)
    network = build_network(TransferConfig(), torch.device("cpu"))
    print(f"clip: {args.frames} frames at {w}×{h}, pan 2 px/frame + zoom 0.4 %/frame + a moving disc")
    print(f"machine: {os.cpu_count()} cores, {load()}")
    print(f"input flow reliable on {np.mean([m.mean() for _, m in flows]) * 100:.0f} % of pixels")

    runs: list[tuple[str, VideoConfig]] = []
    if args.optimise:
        base = VideoConfig(mode="optimise", size=w, iterations=args.iterations, threads=args.threads)
        runs.append((f"per-frame ({args.iterations} steps each)", base.replace(temporal_weight=0.0)))
        for later in (int(x) for x in args.later.split(",")):
            for tw in (float(x) for x in args.weights.split(",")):
                runs.append(
                    (
                        f"temporal {tw} ({later} steps later)",
                        base.replace(temporal_weight=tw, later_iterations=later),
                    )
                )
    else:
        base = VideoConfig(mode="fast", size=w, threads=args.threads)
        runs.append(("per-frame", base.replace(temporal_weight=0.0)))
        runs += [
            (f"temporal {tw}", base.replace(temporal_weight=float(tw))) for tw in args.weights.split(",")
        ]
        if args.brush != 1:
            brush = base.replace(temporal_weight=0.7, style_scale=args.brush)
            runs.append((f"temporal 0.7, brush {args.brush}", brush))

    from painterly.fast import FastStylizer

    stylizer = FastStylizer(args.threads) if not args.optimise else None
    results = {}
    print(
        f"\n{'mode':34s} {'warp err':>9s} {'vs per-frame':>12s} {'style loss':>11s} {'vs per-frame':>12s} {'fps':>6s}  machine"
    )
    baseline = None
    for name, cfg in runs:
        out = work / f"{len(results)}.mp4"
        t, cpu = time.perf_counter(), time.process_time()
        r = stylize_video(
            clip,
            args.painting,
            out,
            cfg,
            keep_frames=True,
            stylizer=stylizer,
            network=network if args.optimise else None,
        )
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        outputs = load_frames(r.frames_dir)
        err = mean_warping_error(outputs, flows)
        strength = 1.0 if args.speed_only else style_strength(outputs, Path(args.painting), network)
        fps = r.frames / (r.timings["frames"] + r.timings["encode"])
        results[name] = outputs
        baseline = baseline or (err, strength)
        print(
            f"{name:34s} {err:9.2f} {baseline[0] / err:11.2f}× {strength:11.4g} {strength / baseline[1] - 1:+11.1%} {fps:6.2f}  "
            f"{load()} wall {wall:.1f} s",
            flush=True,
        )
        per_frame = {k: 1000 * r.timings[k] / r.frames for k in ("paint", "flow", "save", "encode")}
        print(
            "    ms per frame: "
            + ", ".join(f"{k} {v:.0f}" for k, v in per_frame.items())
            + f"; CPU time {1000 * cpu / r.frames:.0f} ms a frame (all threads, models loaded once)",
            flush=True,
        )
    if args.strip:
        names = list(results)
        pick = names[0], names[min(2, len(names) - 1)]
        idx = range(max(1, args.frames // 2 - 2), max(1, args.frames // 2 - 2) + 4)
        rows = [np.concatenate([frames[i] for i in idx], 1)]
        rows += [np.concatenate([results[n][i] for i in idx], 1) for n in pick]
        strip = Image.fromarray(np.concatenate(rows, 0))
        strip = (
            strip.resize((strip.width // 2, strip.height // 2), Image.Resampling.LANCZOS)
            if w > 400
            else strip
        )
        strip.save(args.strip, quality=88)
        print(f"strip: {args.strip} (rows: input, {pick[0]}, {pick[1]}; frames {list(idx)})")


if __name__ == "__main__":
    main()
