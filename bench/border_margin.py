"""Is a dark border band the border's doing or the picture's? (issue #17, item 2)

Each preset runs in several variants on a photo: ``exact`` (painted at the picture's own
size), ``grid`` (on a canvas grown by the photo's reflection to VGG's 16 px pooling grid,
cut off at the end; painterly.canvas), ``grid+N`` (with at least N px of it on every side;
``grid+4`` is the default), and ``outside`` (the reference: the photo with a reflected margin of ``size/16`` px on
every side run as a bigger photo, the same scales each grown by the margin's share, then
cropped back to the photo). The margin moves the picture's edge away from the photo's edge:
a band that the border makes (padding, clamping, upsampling between scales at the edge)
stays at the new edge and leaves the cropped picture; a band that the content makes (dark
strokes the painting puts along a dark part of the photo) stays where it was. Per side,
the band (mean over its depth, against the strip's slope, minus the photo's own; as
:func:`painterly.lab.artefacts.border_band` with ``detrend=True, reduce="mean"``).

Real photos have their own light near the edges (a dark rim, a shadow) that a painting
may not keep, and strokes near any line move the measure by a few per cent. The pair
``texture × Starry Night`` (and ``× The Scream``) paints a generated photo whose edges are
like its middle (colour noise with a natural 1/f² spectrum, the same statistics
everywhere), so what its band shows is the border's alone.

    PYTHONPATH=src OMP_NUM_THREADS=1 python bench/border_margin.py --size 512 --presets draft,balanced
    PYTHONPATH=src python bench/border_margin.py --sizes 128,256,512 --pairs texture --variants exact,grid
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from painterly import canvas as canvas_module
from painterly.canvas import plan_canvas
from painterly.config import EDGE_MARGIN_DEFAULT
from painterly.images import fit_size, load_image, pil_to_tensor, resize, tensor_to_pil
from painterly.lab.artefacts import band_depth, edge_lines, luminance, off_line, side_profiles
from painterly.presets import preset_config
from painterly.transfer import stylize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TEXTURE = "texture"  # the generated stationary photo
PAIRS = {
    "texture × Starry Night": (TEXTURE, "styles/starry_night.jpg"),
    "texture × The Scream": (TEXTURE, "styles/the_scream.jpg"),
    "cat × Starry Night": ("content/chelsea.jpg", "styles/starry_night.jpg"),
    "astronaut × Matisse": ("content/astronaut.jpg", "styles/woman_with_hat_matisse.jpg"),
    "coffee × The Scream": ("content/coffee.jpg", "styles/the_scream.jpg"),
}
SIDES = ("top", "bottom", "left", "right")


def side_bands(image: torch.Tensor, photo: torch.Tensor) -> dict[str, float]:
    """The band of each side (mean over its depth, against the strip's fitted slope),
    minus the photo's own: −0.1 is a band 10 % darker than the line through the strip."""
    depth = band_depth(image)
    ours, theirs = (side_profiles(x, depth, detrend=True)[:, :depth] for x in (image, photo))
    return {side: float((a - b).mean()) for side, a, b in zip(SIDES, ours, theirs, strict=True)}


def texture_photo(size: int, seed: int = 0) -> Image.Image:
    """A 3:2 photo with the same statistics everywhere: colour noise with a 1/f² power
    spectrum (like natural images'), mid-grey with a spread of ~0.15, channels correlated."""
    w, h = size, round(size * 2 / 3)
    rng = np.random.default_rng(seed)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    amplitude = 1.0 / radius  # 1/f amplitude: 1/f² power
    amplitude[0, 0] = 0.0
    base = np.fft.ifft2(amplitude * np.fft.fft2(rng.standard_normal((h, w)))).real
    channels = []
    for _ in range(3):
        own = np.fft.ifft2(amplitude * np.fft.fft2(rng.standard_normal((h, w)))).real
        channels.append(0.8 * base + 0.6 * own)
    rgb = np.stack(channels, -1)
    rgb = 0.5 + 0.15 * (rgb - rgb.mean()) / rgb.std()
    return Image.fromarray((rgb.clip(0, 1) * 255 + 0.5).astype(np.uint8))


def photo_image(path: str, size: int, seed: int = 0) -> Image.Image:
    """The pair's photo; for a real photo and ``seed`` > 0, a window of 92–98 % of each
    side at a random place: another sample of the same kind of edge (its own strokes
    along it), which is what a mean over seeds needs."""
    if path == TEXTURE:
        return texture_photo(size, seed)
    img = load_image(EXAMPLES / path)
    if seed == 0:
        return img
    rng = np.random.default_rng(seed)
    w, h = img.size
    cw, ch = round(w * rng.uniform(0.92, 0.98)), round(h * rng.uniform(0.92, 0.98))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return img.crop((x, y, x + cw, y + ch))


def paint(photo: Image.Image, painting: Path, config):  # -> torch.Tensor
    """The preset's picture as a user gets it: portrait mode through its pipeline
    (face found, its content weights and regions on the canvas too), the rest through
    ``stylize``."""
    if config.portrait:
        from painterly.portrait import stylize_portrait

        return stylize_portrait(photo, painting, config).result.tensor
    return stylize(photo, painting, config).tensor


def photo_at(img: Image.Image, size: int) -> torch.Tensor:
    """The photo as a run at ``size`` sees it (longest side ``size``): what its bands are
    measured against."""
    return pil_to_tensor(resize(img, fit_size(*img.size, size)))


def run(img: Image.Image, painting: Path, preset: str, size: int, variant: str, device: str) -> torch.Tensor:
    """The preset's picture of the photo at ``size`` in one variant (see the module's text)."""
    photo = photo_at(img, size)
    h, w = photo.shape[-2:]
    if variant == "exact":
        return paint(
            tensor_to_pil(photo), painting, preset_config(preset, size=size, device=device, canvas="exact")
        )
    if variant.startswith("grid"):
        extra = int(variant[5:] or 0)
        return paint(
            tensor_to_pil(photo), painting, preset_config(preset, size=size, device=device, edge_margin=extra)
        )
    assert variant == "outside", variant
    margin = round(size / 16)
    plain = preset_config(preset, size=size, device=device, canvas="exact")
    padded = F.pad(photo, (margin,) * 4, mode="reflect")
    big = max(w, h) + 2 * margin
    grow = big / size
    scales = tuple(round(s * grow) for s in plain.scale_sizes()[:-1])
    config = preset_config(preset, size=big, scales=scales, device=device, canvas="exact")
    assert len(config.scale_sizes()) == len(plain.scale_sizes()), (config.scale_sizes(), plain.scale_sizes())
    out = paint(tensor_to_pil(padded), painting, config)
    return out[..., margin : margin + h, margin : margin + w]


RESPONSE_DEPTH = 40  # px of each side's profile kept by --response


def edge_response(photo: Image.Image, painting: Path, preset: str, device: str) -> dict[str, list[float]]:
    """How a run paints near the canvas's own edges: the photo (its sides already on the
    grid) painted at its own size with no margin, and each side's luminance profile over
    its first RESPONSE_DEPTH px, divided by the picture's mean, minus the photo's. With a
    photo whose statistics are the same everywhere, the mean over many photos says what a
    picture edge k px inside the canvas would read: :func:`band_at_depth`."""
    config = preset_config(preset, size=max(photo.size), device=device, canvas="exact")
    image = paint(photo, painting, config)

    def profiles(x: torch.Tensor) -> list[torch.Tensor]:
        y = luminance(x)[0, 0]
        return edge_lines(y / y.mean(), RESPONSE_DEPTH)

    ours, theirs = profiles(image), profiles(pil_to_tensor(photo))
    return {side: [round(float(v), 5) for v in a - b] for side, a, b in zip(SIDES, ours, theirs, strict=True)}


def band_at_depth(profile: list[float], depth: int, band: int = 3) -> float:
    """The band a picture edge ``depth`` px inside the canvas would read (as side_bands:
    its first ``band`` lines against the line fitted to the next 2·``band``) from one side's
    :func:`edge_response` profile."""
    strip = torch.tensor(profile[depth : depth + 3 * band], dtype=torch.float64)
    return float(off_line(strip, band)[:band].mean())


def plot_response(rows: list[dict], figure: Path, marks: dict[str, int]) -> None:
    """The band each side would read with its picture edge k px inside the canvas (mean ±
    standard error over the rows), with the canvas's margins at 128 px marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depths = range(min(len(r["response"][s]) for r in rows for s in SIDES) - 9 + 1)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.axhspan(-2, 2, color="0.9")
    ax.axhline(0, color="0.5", lw=0.8)
    for k, side in enumerate(SIDES):
        values = np.array([[band_at_depth(r["response"][side], d) * 100 for d in depths] for r in rows])
        mean, error = values.mean(0), values.std(0, ddof=1) / len(values) ** 0.5
        ax.errorbar(
            np.array(depths) + (k - 1.5) * 0.12,
            mean,
            yerr=error,
            fmt="-o",
            ms=3,
            capsize=2,
            label=side,
            color=f"C{k}",
        )
        if side in marks:
            ax.axvline(marks[side], color=f"C{k}", lw=0.8, ls=":")
    kinds = sorted({(r["preset"], r["size"]) for r in rows})
    ax.set_xlabel("picture edge's distance from the canvas edge (px)")
    ax.set_ylabel("band − interior (%)")
    ax.set_title(
        f"Band by distance from the canvas edge, generated photos ({len(rows)} runs; "
        + ", ".join(f"{p} {s} px" for p, s in kinds)
        + ")",
        fontsize=9,
    )
    ax.legend(fontsize=8, ncol=4)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", "--size", default="512", help="comma list of px")
    parser.add_argument("--presets", default="draft,balanced")
    parser.add_argument(
        "--pairs",
        default="cat × Starry Night",
        help="comma list of names, or words in them: " + ", ".join(PAIRS),
    )
    parser.add_argument("--variants", default="exact,grid,outside", help="exact, grid, grid+N, outside")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="samples per pair (their mean ± standard error): generated photos for the texture pairs, "
        "random windows of a real photo (seed 0: the whole photo)",
    )
    parser.add_argument("--first-seed", type=int, default=0, help="the first sample's seed [0]")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "border_margin")
    parser.add_argument(
        "--plot",
        type=Path,
        nargs="+",
        metavar="ROWS",
        help="no runs: plot the generated photos' band per painting, size and variant from results "
        "files (results.json, or JSON lines) into --figure",
    )
    parser.add_argument("--figure", type=Path, default=ROOT / "out" / "border_margin" / "bands.png")
    parser.add_argument(
        "--response",
        action="store_true",
        help="paint generated photos at --sizes (multiples of 16: 144 is 144x96) with no margin and "
        "write each side's profile near the canvas edge to --out/response.jsonl",
    )
    parser.add_argument(
        "--plot-response",
        type=Path,
        nargs="+",
        metavar="ROWS",
        help="no runs: plot the band each side would read k px inside the canvas, from --response rows",
    )
    parser.add_argument(
        "--top-margin",
        type=int,
        help="rows the canvas's top takes first (painterly.canvas.TOP_MARGIN, "
        f"{canvas_module.TOP_MARGIN} by default); 5 gives 128 and 512 px the even split",
    )
    args = parser.parse_args()
    if args.top_margin is not None:
        canvas_module.TOP_MARGIN = args.top_margin
    if args.plot_response:
        rows = [json.loads(x) for path in args.plot_response for x in path.read_text().splitlines() if x]
        canvas = plan_canvas(85, 128, 16, EDGE_MARGIN_DEFAULT)
        plot_response(rows, args.figure, {"top": canvas.top, "bottom": canvas.bottom, "left": canvas.left})
        for side in SIDES:
            reach = min(17, min(len(r["response"][side]) for r in rows) - 8)
            values = [[band_at_depth(r["response"][side], d) for d in range(reach)] for r in rows]
            print(
                f"{side:6}", " ".join(f"{statistics.fmean(v[d] for v in values):+.1%}" for d in range(reach))
            )
        print(f"wrote {args.figure}")
        return 0
    if args.plot:
        rows = [row for path in args.plot for row in read_rows(path)]
        summarise(rows)
        plot_bands(rows, args.figure)
        print(f"wrote {args.figure}")
        return 0
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = [w.strip() for w in args.pairs.split(",")]
    labels = [label for label in PAIRS if any(w == label or w in label for w in wanted)]
    runs = [(label, args.first_seed + seed) for label in labels for seed in range(args.seeds)]
    rows = []
    if args.response:
        for size in (int(s) for s in args.sizes.split(",")):
            for label, seed in runs:
                photo_path, painting_path = PAIRS[label]
                for preset in args.presets.split(","):
                    response = edge_response(
                        photo_image(photo_path, size, seed), EXAMPLES / painting_path, preset, args.device
                    )
                    row = {"pair": label, "seed": seed, "preset": preset, "size": size, "response": response}
                    with (args.out / "response.jsonl").open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(
                        label,
                        seed,
                        preset,
                        size,
                        " ".join(f"{s} {band_at_depth(response[s], 0):+.1%}" for s in SIDES),
                        flush=True,
                    )
        return 0
    for size in (int(s) for s in args.sizes.split(",")):
        for label, seed in runs:
            photo_path, painting_path = PAIRS[label]
            img = photo_image(photo_path, size, seed)
            painting = EXAMPLES / painting_path
            photo = photo_at(img, size)
            for preset in args.presets.split(","):
                for variant in args.variants.split(","):
                    t0 = time.process_time()
                    image = run(img, painting, preset, size, variant, args.device)
                    sides = side_bands(image, photo)
                    band = statistics.fmean(sides.values())  # border_band(detrend=True, reduce="mean")
                    tag = f"{label}_{seed}_{preset}_{size}_{variant}"
                    slug = "".join(c if c.isalnum() else "_" for c in tag)
                    tensor_to_pil(image).save(args.out / f"{slug}.png")
                    row = {"pair": label, "seed": seed, "preset": preset, "size": size, "variant": variant}
                    if args.top_margin is not None:
                        row["top_margin"] = args.top_margin
                    row.update({"band": band, **sides, "cpu": time.process_time() - t0})
                    rows.append(row)
                    print(
                        f"{label:24} {seed:2} {preset:9} {size:4} px {variant:8}: band {band:+.1%}  "
                        + "  ".join(f"{s} {sides[s]:+.1%}" for s in SIDES),
                        flush=True,
                    )
                    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    summarise(rows)
    return 0


def summarise(rows: list[dict]) -> None:
    """Mean ± standard error of the band (all four sides, and each side alone) per photo
    kind, preset, size and variant over the samples: one run's band moves by several per
    cent with the strokes that happen to lie along an edge, a bias that the border adds
    does not. The generated photos are pooled over both paintings."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        kind = "generated photos" if row["pair"].startswith(TEXTURE) else row["pair"]
        groups.setdefault((kind, row["preset"], row["size"], row["variant"]), []).append(row)
    if groups:
        print("\nband mean ± standard error (n runs)")
    for (kind, preset, size, variant), group in sorted(groups.items()):
        parts = []
        for key in ("band", *SIDES):
            values = [r[key] for r in group]
            mean = statistics.fmean(values)
            error = statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else float("nan")
            parts.append(f"{key} {mean:+.1%} ± {error:.1%}")
        print(
            f"  {kind:20} {preset:9} {size:4} px {variant:8} (n={len(group)}): " + "   ".join(parts),
            flush=True,
        )


def read_rows(path: Path) -> list[dict]:
    """Rows of a results.json (a list) or of a JSON-lines file; rows without a band skipped."""
    text = path.read_text()
    rows = (
        json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x]
    )
    return [row for row in rows if "band" in row]


def plot_bands(rows: list[dict], figure: Path) -> None:
    """The generated photos' band, mean ± standard error, per painting (columns), preset
    (rows), size and variant, against the issue's ±2 %: what a bias looks like next to noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    texture = [r for r in rows if r["pair"].startswith(TEXTURE)]
    paintings = sorted({r["pair"] for r in texture})
    presets = [
        p
        for p in ("draft", "balanced", "quality", "portrait", "photo")
        if any(r["preset"] == p for r in texture)
    ]
    variants = sorted(
        {r["variant"] for r in texture}, key=lambda v: (v != "exact", int(v[5:] or 0) if "+" in v else 0)
    )
    sizes = sorted({r["size"] for r in texture})
    fig, axes = plt.subplots(
        len(presets),
        len(paintings),
        figsize=(4.2 * len(paintings), 2.8 * len(presets)),
        squeeze=False,
        sharey=True,
    )
    for i, preset in enumerate(presets):
        for j, painting in enumerate(paintings):
            ax = axes[i][j]
            ax.axhspan(-2, 2, color="0.9")
            ax.axhline(0, color="0.5", lw=0.8)
            for k, variant in enumerate(variants):
                xs, ys, es = [], [], []
                for n, size in enumerate(sizes):
                    values = [
                        r["band"] * 100
                        for r in texture
                        if (r["pair"], r["preset"], r["size"], r["variant"])
                        == (painting, preset, size, variant)
                    ]
                    if len(values) > 1:
                        xs.append(n + (k - (len(variants) - 1) / 2) * 0.12)
                        ys.append(statistics.fmean(values))
                        es.append(statistics.stdev(values) / len(values) ** 0.5)
                if xs:
                    ax.errorbar(xs, ys, yerr=es, fmt="o", capsize=3, color=f"C{k}", label=variant)
            ax.set_xticks(range(len(sizes)), [f"{s} px" for s in sizes])
            ax.set_title(f"{preset}: {painting.split('× ')[-1]}", fontsize=10)
            if j == 0:
                ax.set_ylabel("band − interior (%)")
    for ax in axes.flat:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, title="canvas", title_fontsize=7, loc="lower right")
    fig.suptitle("Border band on generated photos (mean ± s.e.; grey: the issue's ±2 %)", fontsize=11)
    fig.tight_layout()
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(figure, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
