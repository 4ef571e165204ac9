"""Is a dark border band the border's doing or the picture's? (issue #17, item 2)

Each preset runs twice on a photo: as it is, and on the photo with a reflected margin of
``size/16`` px on every side (the same scales, each grown by the margin's share), then
cropped back to the photo. The margin moves the picture's edge away from the photo's edge:
a band that the border makes (padding, clamping, upsampling between scales at the edge)
stays at the new edge and leaves the cropped picture; a band that the content makes (dark
strokes the painting puts along a dark part of the photo) stays where it was. Per side,
the band (mean over its depth, against the strip's slope, minus the photo's own; as
:func:`painterly.lab.artefacts.border_band` with ``detrend=True, reduce="mean"``).

    PYTHONPATH=src OMP_NUM_THREADS=1 python bench/border_margin.py --size 512 --presets draft,balanced
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from painterly.images import fit_size, load_image, pil_to_tensor, resize, tensor_to_pil
from painterly.lab.artefacts import border_band, luminance
from painterly.presets import preset_config
from painterly.transfer import stylize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PAIRS = {
    "cat × Starry Night": ("content/chelsea.jpg", "styles/starry_night.jpg"),
    "astronaut × Matisse": ("content/astronaut.jpg", "styles/woman_with_hat_matisse.jpg"),
    "coffee × The Scream": ("content/coffee.jpg", "styles/the_scream.jpg"),
}
SIDES = ("top", "bottom", "left", "right")


def side_bands(image: torch.Tensor, photo: torch.Tensor) -> dict[str, float]:
    """The band of each side (mean over its depth, against the strip's fitted slope),
    minus the photo's own: −0.1 is a band 10 % darker than the line through the strip."""

    def profiles(img: torch.Tensor) -> list[torch.Tensor]:
        y = luminance(img)[0, 0]
        depth = max(3, round(min(y.shape) * 0.04))
        reach = 3 * depth
        sides = [
            y[:reach].mean(1),
            y.flip(0)[:reach].mean(1),
            y[:, :reach].mean(0),
            y.flip(1)[:, :reach].mean(0),
        ]
        d = torch.arange(reach, dtype=y.dtype)
        x = d[depth:] - d[depth:].mean()
        out = []
        for p in sides:
            slope = (x * (p[depth:] - p[depth:].mean())).sum() / x.square().sum()
            trend = p[depth:].mean() + slope * (d - d[depth:].mean())
            out.append((p / trend.clamp_min(1e-6))[:depth] - 1)
        return out

    return {
        side: float((a - b).mean())
        for side, a, b in zip(SIDES, profiles(image), profiles(photo), strict=True)
    }


def run(photo_path: Path, painting: Path, preset: str, size: int, margin: int, device: str) -> torch.Tensor:
    """The preset's picture of the photo at ``size``; with ``margin``, of the photo with a
    reflected margin, cropped back."""
    img = load_image(photo_path)
    w, h = fit_size(*img.size, size)
    photo = pil_to_tensor(resize(img, (w, h)))
    plain = preset_config(preset, size=size, device=device)
    if not margin:
        return stylize(tensor_to_pil(photo), painting, plain).tensor
    padded = F.pad(photo, (margin,) * 4, mode="reflect")
    big = max(w, h) + 2 * margin
    grow = big / size
    scales = tuple(round(s * grow) for s in plain.scale_sizes()[:-1])
    config = preset_config(preset, size=big, scales=scales, device=device)
    assert len(config.scale_sizes()) == len(plain.scale_sizes()), (config.scale_sizes(), plain.scale_sizes())
    out = stylize(tensor_to_pil(padded), painting, config).tensor
    return out[..., margin : margin + h, margin : margin + w]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--presets", default="draft,balanced")
    parser.add_argument("--pairs", default="cat × Starry Night", help="comma list of " + ", ".join(PAIRS))
    parser.add_argument("--margin", type=int, help="px on each side [size/16]")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-margin", action="store_true", help="only the run as it is")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "border_margin")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    margin = args.margin if args.margin is not None else round(args.size / 16)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in args.pairs.split(","):
        photo_path, painting = (EXAMPLES / p for p in PAIRS[label])
        img = load_image(photo_path)
        photo = pil_to_tensor(resize(img, fit_size(*img.size, args.size)))
        for preset in args.presets.split(","):
            for m in (0,) if args.no_margin else (0, margin):
                t0 = time.process_time()
                image = run(photo_path, painting, preset, args.size, m, args.device)
                sides = side_bands(image, photo)
                band = border_band(image, photo, detrend=True, reduce="mean")
                tag = f"{label}_{preset}_{args.size}_m{m}"
                slug = "".join(c if c.isalnum() else "_" for c in tag)
                tensor_to_pil(image).save(args.out / f"{slug}.png")
                row = {
                    "pair": label,
                    "preset": preset,
                    "size": args.size,
                    "margin": m,
                }
                row.update({"band": band, **sides})
                row["cpu"] = time.process_time() - t0
                rows.append(row)
                print(
                    f"{label:22} {preset:9} {args.size} px margin {m:3}: band {band:+.1%}  "
                    + "  ".join(f"{s} {sides[s]:+.1%}" for s in SIDES),
                    flush=True,
                )
                name = f"results_{args.size}.json"
                (args.out / name).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
