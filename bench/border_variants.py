"""The border band under canvas and style-Gram variants, many runs at a time (issue #17).

`bench/border_margin.py` paints one run after another; a mean over 16–32 generated photos a cell,
each preset, size and variant, is hundreds of runs. This script plans them as jobs and runs
them in ``--workers`` processes (a GPU takes 6–8 at once), skips the ones already in the rows
(so a call stopped by its time limit carries on), and writes each run's band per side to
``--out/rows.jsonl`` in border_margin's row format plus ``canvas_variant``.

A variant changes how the picture sits on its canvas, or what the painting's Grams see:

    default                  the product's canvas (painterly.canvas.plan_canvas)
    top=N                    the top takes up to N spare rows first (painterly.canvas.TOP_MARGIN)
    right_margin=N           the right side keeps at least N px (painterly.canvas.RIGHT_MARGIN);
                             right_margin=0 is the canvas before it (the rows of
                             docs/quality/border_margin_h100_default.jsonl), and the variants
                             below measured against that canvas are repeated with it added
    flat_power=N             the calm term's flatness map (τ/(τ+v))^N (painterly.calm.FLATNESS_POWER);
                             flat_power=1 is the map before it was sharpened, with which every
                             row of docs/quality before stop 37's flat_power=2 was painted
    right=N                  the right takes up to N spare columns first
    left=L,right=R           exactly L and R columns (their sum must be the spare columns)
    margin=M                 the canvas planned with an edge margin of M px instead of 4
    min_top=N, min_right=N,  at least N px on that side (the canvas grows; the other sides
    min_bottom=N, min_left=N keep the margin): plan_canvas's ``wider``
    swap                     the larger half of the spare columns on the left
    last:SPEC / coarse:SPEC  SPEC on the last scale's canvas only / on the coarser scales' only
    interior=PAD             the paintings' Grams from their interior: reflected PAD px, each
                             map cut back to the painting, so no feature that sees the
                             painting's own edge enters its Gram
    picture                  the picture's Grams from the picture's own positions (the canvas's
                             margin left out of each style layer's map); the unfused loss path
    picture=2                the same with each position weighted by the share of its cell
                             inside the picture (no rounding of the cut at the deep maps)
    both                     the product's --style-edges both (what interior=32,picture=2 tries,
                             in the engine: its fused paths where they apply, portraits' regions)
    circular                 --padding circular: the canvas a torus to the network (no edge at
                             all), the paintings' Grams still with reflect padding

    PYTHONPATH=src python bench/border_variants.py --sizes 256 --presets quality \\
        --paintings "The Scream" --seeds 900-915 --variants default,last:left=4,right=12 --workers 6
    python bench/border_variants.py --compare docs/quality/border_margin_h100_default.jsonl \\
        docs/quality/border_margin_cpu_interior.jsonl       # variants against the same photos' defaults
    python bench/border_variants.py --insets out/border_variants/pictures   # the band 0…32 px inside
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing as mp
import os
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from painterly.canvas import Canvas  # noqa: E402
from painterly.style_edges import FRAME  # noqa: E402

VARIANT_SEPARATOR = ";"  # between variants on the command line (a variant may hold commas)
#: Variant keys that widen one side of the canvas, and the side.
WIDER_KEYS = {"min_top": "top", "min_right": "right", "min_bottom": "bottom", "min_left": "left"}
#: The keys a variant may set (see the module's text).
VARIANT_KEYS = (
    "top",
    "right_margin",
    "flat_power",
    "right",
    "left",
    "margin",
    "swap",
    "interior",
    "picture",
    "both",
    "circular",
    *WIDER_KEYS,
)


def parse_variant(spec: str) -> tuple[str, dict[str, int]]:
    """("all" | "last" | "coarse", {key: value}) of a variant such as ``last:left=4,right=12``."""
    scope, _, body = spec.rpartition(":")
    scope = scope or "all"
    if scope not in ("all", "last", "coarse"):
        raise ValueError(f"variant {spec!r}: scope must be last: or coarse:")
    values: dict[str, int] = {}
    if body != "default":
        for part in body.split(","):
            key, _, value = part.partition("=")
            if key not in VARIANT_KEYS:
                raise ValueError(f"variant {spec!r}: unknown key {key!r}")
            values[key] = int(value) if value else 1
    if "left" in values and "right" not in values:
        raise ValueError(f"variant {spec!r}: left= needs right=")
    return scope, values


def variant_canvas(plan, values: dict[str, int], height: int, width: int, grid: int, margin: int) -> Canvas:
    """The canvas ``plan`` (painterly.canvas.plan_canvas) gives, changed by the variant's
    ``values``; canvases without a margin (``--canvas exact``, tiles) are left alone."""
    if not margin:
        return plan(height, width, grid, margin)
    margin = values.get("margin", margin)
    wider = {side: values[key] for key, side in WIDER_KEYS.items() if key in values}
    canvas = plan(height, width, grid, margin, wider)
    spare = canvas.left + canvas.right
    if "left" in values:
        if values["left"] + values["right"] != spare:
            raise ValueError(f"left+right must be the {spare} spare columns of a {width} px wide picture")
        return replace(canvas, left=values["left"], right=values["right"])
    if "right" in values:
        right = max(canvas.right, min(values["right"], spare - margin))
        return replace(canvas, left=spare - right, right=right)
    if "swap" in values:
        return replace(canvas, left=spare - spare // 2, right=spare // 2)
    return canvas


def interior_grams(pad: int):
    """painterly.transfer._cached_grams with the painting's interior seen through a frame of
    ``pad`` px (painterly.style_edges), whatever the run's --style-edges."""
    import painterly.transfer as transfer

    cached_grams = getattr(transfer, "_border_variant_originals", {}).get(
        "_cached_grams", transfer._cached_grams
    )

    def grams(network, style, layers, cache, edges="whole"):
        from painterly.losses import gram_matrix
        from painterly.style_edges import painting_features

        if pad == FRAME:  # the product's own interior Grams (cached under their own key)
            return cached_grams(network, style, layers, cache, "interior")
        feats = painting_features(network, style, layers, "interior", frame=pad)
        return {layer: gram_matrix(feats[layer]) for layer in layers}

    return grams


def cell_shares(count: int, start: int, length: int, stride: int, like):
    """The share of each of ``count`` cells of ``stride`` px inside [start, start + length)."""
    import torch

    cells = torch.arange(count, dtype=like.dtype, device=like.device) * stride
    inside = (cells + stride).clamp(max=start + length) - cells.clamp(min=start)
    return inside.clamp(min=0) / stride


def picture_only(style_loss, canvases: dict[tuple[int, int], Canvas], weighted: bool = False):
    """painterly.losses.style_loss over the picture's own positions of each map: the map's
    canvas is the one whose size is the map's times a tap stride (canvases are multiples of
    the 16 px grid)."""

    def loss(features, target_gram, kind="l2", *, link=None):
        fh, fw = features.shape[-2:]
        for stride in (1, 2, 4, 8, 16):
            canvas = canvases.get((fh * stride, fw * stride))
            if canvas is not None and weighted:
                # each position weighted by the share of its stride cell inside the picture
                # (no rounding), the Gram normalised by the weights' sum: F·diag(w)·Fᵀ / Σw
                rows = cell_shares(fh, canvas.top, canvas.height, stride, features)
                cols = cell_shares(fw, canvas.left, canvas.width, stride, features)
                w = rows[:, None] * cols[None]
                features = features * (w * (fh * fw) / w.sum()).sqrt()
                break
            if canvas is not None:
                top, left = round(canvas.top / stride), round(canvas.left / stride)
                bottom, right = (
                    round((canvas.top + canvas.height) / stride),
                    round((canvas.left + canvas.width) / stride),
                )
                features = features[..., top:bottom, left:right]
                break
        return style_loss(features, target_gram, kind)

    return loss


#: What apply_variant patches, (module, attribute), each name once: its originals are saved
#: under the attribute's name, and restore_engine puts them back.
PATCHED = (
    ("painterly.transfer", "plan_canvas"),
    ("painterly.transfer", "_cached_grams"),
    ("painterly.transfer", "style_loss"),
    ("painterly.canvas", "TOP_MARGIN"),
    ("painterly.canvas", "RIGHT_MARGIN"),
    ("painterly.calm", "FLATNESS_POWER"),
    ("painterly.patch_gram", "applies"),
    ("painterly.fused_taps", "ENABLED"),
)


def engine_now() -> dict:
    """The attributes apply_variant patches, by name, as they are now."""
    return {name: getattr(importlib.import_module(module), name) for module, name in PATCHED}


def engine_originals() -> dict:
    """The attributes apply_variant patches, as they were before its first variant."""
    import painterly.transfer as transfer

    originals = getattr(transfer, "_border_variant_originals", None)
    if originals is None:
        originals = transfer._border_variant_originals = engine_now()
    return originals


def restore_engine() -> None:
    """Undo every apply_variant: the engine and the bench's presets as they were before."""
    import border_margin
    import painterly.transfer as transfer

    originals = transfer.__dict__.pop("_border_variant_originals", None)
    for module, name in PATCHED if originals else ():
        setattr(importlib.import_module(module), name, originals[name])
    border_margin.preset_config = border_margin.__dict__.pop(
        "_variant_preset_config", border_margin.preset_config
    )


def apply_variant(spec: str, final_size: tuple[int, int]) -> None:
    """Patch the engine for one run: ``final_size`` (h, w) is the last scale's picture."""
    import painterly.transfer as transfer
    from painterly import calm, fused_taps, patch_gram
    from painterly import canvas as canvas_module

    originals = engine_originals()
    plan, cached_grams, style_loss = (
        originals["plan_canvas"],
        originals["_cached_grams"],
        originals["style_loss"],
    )
    scope, values = parse_variant(spec)
    import border_margin

    preset_config = getattr(border_margin, "_variant_preset_config", border_margin.preset_config)
    border_margin._variant_preset_config = preset_config
    chosen = {"style_edges": "both"} if "both" in values else {}
    if "circular" in values:
        chosen["padding"] = "circular"
    if chosen:
        border_margin.preset_config = lambda *a, **k: preset_config(*a, **{**chosen, **k})
    else:
        border_margin.preset_config = preset_config
    canvas_module.TOP_MARGIN = values.get("top", originals["TOP_MARGIN"])
    canvas_module.RIGHT_MARGIN = values.get("right_margin", originals["RIGHT_MARGIN"])
    calm.FLATNESS_POWER = values.get("flat_power", originals["FLATNESS_POWER"])
    transfer._cached_grams = interior_grams(values["interior"]) if "interior" in values else cached_grams
    canvases: dict[tuple[int, int], Canvas] = {}
    if "picture" in values:  # every style layer through the plain loss, cut to the picture
        # picture=2: weighted by each position's share of the picture instead of cut
        transfer.style_loss = picture_only(style_loss, canvases, weighted=values["picture"] == 2)
        patch_gram.applies, fused_taps.ENABLED = (lambda *args: False), False
    else:
        transfer.style_loss = style_loss
        patch_gram.applies, fused_taps.ENABLED = originals["applies"], originals["ENABLED"]

    def planned(height: int, width: int, grid: int, margin: int = 0) -> Canvas:
        last = (height, width) == final_size
        if scope == "all" or (scope == "last") == last:
            canvas = variant_canvas(plan, values, height, width, grid, margin)
        else:
            canvas = plan(height, width, grid, margin)
        canvases[canvas.size] = canvas
        return canvas

    transfer.plan_canvas = planned


#: What names a run, in its job and in its row alike.
JOB_KEYS = ("pair", "preset", "size", "seed", "canvas_variant")


def parse_seeds(spec: str) -> list[int]:
    """``900-915``, ``900,902`` or both mixed (``900,905-907``): the generated photos' seeds,
    in order, each once. ValueError names what does not read as one."""
    seeds: list[int] = []
    for part in spec.split(","):
        first, dash, last = part.strip().partition("-")
        try:
            low, high = int(first), int(last) if dash else int(first)
        except ValueError:
            raise ValueError(f"--seeds: {part.strip()!r} is not a seed or a range A-B") from None
        if high < low:
            raise ValueError(f"--seeds: {part.strip()!r} ends before it starts")
        seeds += [seed for seed in range(low, high + 1) if seed not in seeds]
    return seeds


def plan_jobs(args: argparse.Namespace) -> list[dict]:
    import border_margin as bm

    seeds = parse_seeds(args.seeds)
    return [
        {
            "pair": f"{bm.TEXTURE} × {painting}",
            "preset": preset,
            "size": size,
            "seed": seed,
            "canvas_variant": variant,
        }
        for size in (int(s) for s in args.sizes.split(","))
        for seed in seeds
        for variant in args.variants.split(VARIANT_SEPARATOR)
        for preset in args.presets.split(",")
        for painting in args.paintings.split(",")
    ]


def job_key(row: dict) -> tuple:
    return tuple(row[key] for key in JOB_KEYS)


def run_job(job: dict, device: str, pictures: Path | None = None) -> dict:
    import border_margin as bm

    photo_path, painting_path = bm.PAIRS[job["pair"]]
    img = bm.photo_image(photo_path, job["size"], job["seed"])
    photo = bm.photo_at(img, job["size"])
    apply_variant(job["canvas_variant"], tuple(photo.shape[-2:]))
    t0 = time.perf_counter()
    image = bm.run(img, bm.EXAMPLES / painting_path, job["preset"], job["size"], "grid+4", device)
    sides = bm.side_bands(image.cpu(), photo)
    if pictures is not None:
        painting = cell_of(job)[0]
        tag = f"{painting}_{job['preset']}_{job['size']}_{job['seed']}_{job['canvas_variant']}"
        slug = "".join(c if c.isalnum() or c in "=-" else "_" for c in tag)
        bm.tensor_to_pil(image.cpu()).save(pictures / f"{slug}.png")
    return {
        **job, "variant": "grid+4", "band": statistics.fmean(sides.values()), **sides,
        "seconds": time.perf_counter() - t0, "device": device,
    }  # fmt: skip


def worker(jobs, lock, out: Path, device: str, deadline: float, seconds: dict, pictures: bool) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if device.startswith("cuda"):  # float32 as on a CPU: the band should not be TF32's
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    while True:
        with lock:
            if not jobs:
                return
            job = jobs.pop(0)
        if time.time() + seconds.get(job["preset"], 60) > deadline:
            continue  # would outrun the budget: left for the next call
        row = run_job(job, device, out / "pictures" if pictures else None)
        with lock, (out / "rows.jsonl").open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(
            f"{job['pair'].split(' × ')[1]:13} {job['preset']:9} {job['size']:4} px {job['seed']} {job['canvas_variant']:24} "
            f"band {row['band']:+.1%}  "
            + "  ".join(f"{s} {row[s]:+.1%}" for s in ("top", "bottom", "left", "right")),
            flush=True,
        )


SIDES = ("top", "bottom", "left", "right")


def painted_with(row: dict, variant: str = "default") -> bool:
    """Whether a row was painted with ``variant`` (the default: the product's own canvas; rows
    before the variants had no ``canvas_variant``)."""
    return row.get("canvas_variant", "default") == variant


def cell_of(row: dict) -> tuple[str, str, int]:
    """(painting, preset, size): the cell a row's band is averaged in."""
    return row["pair"].split(" × ")[1], row["preset"], row["size"]


def paired_cells(
    base: list[dict], rows: list[dict], base_variant: str = "default"
) -> dict[tuple, list[tuple[dict, dict]]]:
    """Each run of ``rows`` with the ``base`` run of the same photo, painting, preset and size
    (the default canvas's, or ``base_variant``'s, wherever it was made), grouped by (painting,
    preset, size, variant)."""
    defaults = {
        (r["pair"], r["preset"], r["size"], r["seed"]): r for r in base if painted_with(r, base_variant)
    }
    cells: dict[tuple, list[tuple[dict, dict]]] = {}
    for row in rows:
        other = defaults.get((row["pair"], row["preset"], row["size"], row["seed"]))
        if other is not None and not painted_with(row, base_variant):
            cells.setdefault((*cell_of(row), row["canvas_variant"]), []).append((other, row))
    return cells


def mean_se(values: list[float]) -> str:
    """Mean ± standard error, in percentage points."""
    return f"{statistics.fmean(values) * 100:+.1f} ± {standard_error(values) * 100:.1f}"


def standard_error(values: list[float]) -> float:
    return statistics.stdev(values) / len(values) ** 0.5 if len(values) > 1 else 0.0


def cell_estimate(whole: list[float], shifts: list[float]) -> str:
    """The variant's cell as the default's whole cell would read it: the mean of all the
    default's photos plus the paired shift measured on some of them (errors added in
    quadrature). A variant run on 8 photos then reads against the 16–32 of the default's
    cell, whose mean is the one #17's target is judged on."""
    error = (standard_error(whole) ** 2 + standard_error(shifts) ** 2) ** 0.5
    return f"{(statistics.fmean(whole) + statistics.fmean(shifts)) * 100:+.1f} ± {error * 100:.1f}"


def compare(base: list[dict], rows: list[dict], base_variant: str = "default") -> None:
    """Print each variant cell against the default runs (or ``base_variant``'s) of the same
    photos: both bands, the paired difference of the band and of each side, and the cell the
    base's whole cell (all its photos in ``base``) plus that difference would read."""
    whole: dict[tuple, list[float]] = {}
    for r in base:
        if painted_with(r, base_variant):
            whole.setdefault(cell_of(r), []).append(r["band"])
    cells = paired_cells(base, rows, base_variant)
    alone = sum(not painted_with(r, base_variant) for r in rows) - sum(map(len, cells.values()))
    if alone:  # e.g. a variant run on seeds 900- where the default's 512 px cells are 800-823
        print(
            f"{alone} variant runs have no {base_variant} run of the same photo in the first file: left out"
        )
    for (painting, preset, size, variant), runs in sorted(cells.items()):
        shifts = [r["band"] - b["band"] for b, r in runs]
        paired = "  ".join(f"{side} {mean_se([r[side] - b[side] for b, r in runs])}" for side in SIDES)
        default_cell = whole[(painting, preset, size)]
        print(
            f"{painting:13} {preset:9} {size:4} px {variant:22} {len(runs):3} photos  "
            f"{base_variant} {mean_se([b['band'] for b, _ in runs])}  variant {mean_se([r['band'] for _, r in runs])}  "
            f"paired {mean_se(shifts)}  cell {cell_estimate(default_cell, shifts)} "
            f"({base_variant} {mean_se(default_cell)}, {len(default_cell)} photos)  ({paired})"
        )


#: How far inside the picture (px) --insets moves the four edges it measures.
INSETS = (0, 2, 4, 8, 12, 16, 24, 32)
PICTURE_NAME = re.compile(
    r"^(?P<painting>.+)_(?P<preset>[a-z]+)_(?P<size>\d+)_(?P<seed>\d+)_(?P<variant>.+)\.png$"
)


def inset_sides(image, photo, inset: int) -> dict[str, float]:
    """The band of each side measured on the picture and its photo cut ``inset`` px in on
    every side: past a dozen pixels the measured "edges" lie inside, where no canvas edge
    reaches, so those readings show what the measure gives with no border at all."""
    import border_margin as bm

    h, w = image.shape[-2:]
    window = (..., slice(inset, h - inset), slice(inset, w - inset))
    return bm.side_bands(image[window], photo[window])


def insets(folders: list[Path]) -> None:
    """Print each cell's band (mean ± standard error) and sides with the edges moved inside
    by each of :data:`INSETS`, from the generated photos' pictures that --pictures saved."""
    import torch

    import border_margin as bm
    from painterly.images import load_image, pil_to_tensor

    # per cell, each picture's (its photo's own bands, the picture's bands at each inset)
    cells: dict[tuple, list[tuple[dict[str, float], dict[int, dict[str, float]]]]] = {}
    for path in sorted(p for folder in folders for p in folder.glob("*.png")):
        match = PICTURE_NAME.match(path.name)
        if match is None:
            continue
        size, seed = int(match["size"]), int(match["seed"])
        photo = bm.photo_at(bm.photo_image(bm.TEXTURE, size, seed), size)
        image = pil_to_tensor(load_image(path))
        key = (match["painting"].replace("_", " "), match["preset"], size, match["variant"])
        own = bm.side_bands(photo, torch.ones_like(photo))  # the photo's band against a flat field
        cells.setdefault(key, []).append((own, {d: inset_sides(image, photo, d) for d in INSETS}))
    for (painting, preset, size, variant), runs in sorted(cells.items()):
        print(f"{painting} {preset} {size} px {variant}: {len(runs)} pictures")
        for d in INSETS:
            bands = [statistics.fmean(by_inset[d].values()) for _, by_inset in runs]
            sides = "  ".join(
                f"{s} {statistics.fmean(by_inset[d][s] for _, by_inset in runs):+.1%}" for s in SIDES
            )
            print(f"  inset {d:2} px  band {mean_se(bands)}  {sides}")
        own = "  ".join(f"{s} {statistics.fmean(photo_own[s] for photo_own, _ in runs):+.1%}" for s in SIDES)
        print(f"  the photos' own bands (subtracted at inset 0): {own}")


def read_rows(paths: list[Path]) -> list[dict]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="256")
    parser.add_argument("--presets", default="quality")
    parser.add_argument("--paintings", default="Starry Night,The Scream")
    parser.add_argument(
        "--seeds", default="900-915", help="generated photos: first-last, a comma list, or both (900,905-907)"
    )
    parser.add_argument(
        "--variants", default="default", help=f"variants separated by {VARIANT_SEPARATOR!r} (see above)"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--budget", type=float, default=1e9, help="seconds; runs that would outlast it wait")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "border_variants")
    parser.add_argument("--done", type=Path, nargs="*", default=[], help="rows of runs already made")
    parser.add_argument(
        "--pictures", action="store_true", help="also save each run's picture in --out/pictures"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        nargs="+",
        metavar="ROWS",
        help="no runs: pair the variants' rows in the files after the first with the first "
        "file's default runs of the same photos, and print the differences",
    )
    parser.add_argument(
        "--base-variant",
        default="default",
        metavar="VARIANT",
        help="with --compare: pair against the first file's runs of this variant instead of the "
        'default canvas\'s (e.g. "min_right=16" to read what flat_power=2 moved on that canvas)',
    )
    parser.add_argument(
        "--insets",
        type=Path,
        nargs="+",
        metavar="FOLDER",
        help="no runs: measure the pictures saved by --pictures in these folders with their "
        "edges moved inside by each of " + ", ".join(map(str, INSETS)) + " px",
    )
    args = parser.parse_args()
    if args.insets:
        insets(args.insets)
        return 0
    if args.compare:
        compare(read_rows(args.compare[:1]), read_rows(args.compare[1:]), args.base_variant)
        return 0
    try:
        parse_seeds(args.seeds)
        for spec in args.variants.split(VARIANT_SEPARATOR):
            parse_variant(spec)  # a bad variant stops the command before any run
    except ValueError as error:
        parser.error(str(error))
    (args.out / "pictures" if args.pictures else args.out).mkdir(parents=True, exist_ok=True)
    done = {
        job_key(row) for row in read_rows([p for p in [*args.done, args.out / "rows.jsonl"] if p.exists()])
    }
    todo = [job for job in plan_jobs(args) if job_key(job) not in done]
    print(f"{len(todo)} runs to make", flush=True)
    # seconds a run takes at 512 px on an H100 with 6 at a time; what a run may need at most
    seconds = {"quality": 25, "draft": 8, "balanced": 8, "portrait": 10, "photo": 10}
    deadline = time.time() + args.budget
    context = mp.get_context("spawn")
    with mp.Manager() as manager:
        jobs, lock = manager.list(todo), manager.Lock()
        procs = [
            context.Process(
                target=worker, args=(jobs, lock, args.out, args.device, deadline, seconds, args.pictures)
            )
            for _ in range(args.workers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        print(f"{len(jobs)} left", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
