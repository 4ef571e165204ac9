"""Style library figures: the representative works, blend vs representative, the Gram cache.

    .venv/bin/python bench/library.py --write              # representatives.json for the bundled groups
    .venv/bin/python bench/library.py --measure
    .venv/bin/painterly sweep examples/content/astronaut.jpg --grid style_group=blend,representative \
        --grid 'style=movement:*' -o out/groups --size 96 --iterations 40 -q
    .venv/bin/python bench/library.py --sweep out/groups
    .venv/bin/python bench/library.py --cache [--size 512]

--measure decides the default of ``style_group`` in two ways:

A. Gram space, leave one out: for every work of a group (≥3 works), build the group's target
   from the *other* works (blend: their mean Gram; representative: their medoid) and measure
   the style distance from that target to the left-out work. A lower mean says the target
   stands for the group's works it was not built from.
B. Pictures: paint the astronaut in every movement both ways (a sweep); measure the output's style
   distance to all the movement's works (coverage, lower is better) and whether the output is
   nearest (mean distance) to its own movement among all 14 (recognised, higher is better).

--cache times a 512 px painting's style pass with a cold and a warm Gram cache, then whole runs
(their targets) with a cold cache, a warm one and none.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from painterly import TransferConfig, stylize
from painterly.images import fit_size, load_image, pil_to_tensor, resize
from painterly.library import Library
from painterly.library.catalog import bundled_dir
from painterly.library.representative import (
    SIGNATURE_LAYERS,
    distance_matrix,
    load_network,
    medoid,
    members_key,
    signatures,
)

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT = ROOT / "examples" / "content" / "astronaut.jpg"


def groups(library: Library, least: int) -> dict[str, list]:
    found = {f"movement:{k}": v for k, v in library.movements().items() if len(v) >= least}
    found.update({f"artist:{k}": v for k, v in library.artists().items() if len(v) >= least})
    return found


def write_representatives() -> None:
    library = Library.load()
    net = load_network()
    works = library.works
    sigs = dict(zip((w.id for w in works), signatures(net, [w.path for w in works])))
    out = {}
    for name, members in groups(library, 2).items():
        dist = distance_matrix([sigs[w.id] for w in members])
        chosen = members[medoid(dist)]
        out[name] = {
            "id": chosen.id,
            "members": members_key(members),
            "mean_distance": round(float(dist.sum(1)[medoid(dist)]) / max(1, len(members) - 1), 4),
        }
        print(f"{name:32s} {chosen.id}")
    data = {
        "about": "medoid of each bundled group by style distance (bench/library.py --write)",
        "layers": list(SIGNATURE_LAYERS),
        "groups": out,
    }
    (bundled_dir() / "representatives.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def layer_scales(sigs: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Mean pairwise squared Gram distance per layer over the library (the distance's units)."""
    scales = {}
    for layer in SIGNATURE_LAYERS:
        flat = torch.stack([s[layer].flatten() for s in sigs])
        d = torch.cdist(flat, flat).square() / flat.shape[1]
        n = len(sigs)
        scales[layer] = float(d.sum()) / (n * (n - 1))
    return scales


def dist(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], scales: dict[str, float]) -> float:
    return sum(float((a[k] - b[k]).square().mean()) / scales[k] for k in SIGNATURE_LAYERS)


def mean_gram(sigs: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([s[k] for s in sigs]).mean(0) for k in SIGNATURE_LAYERS}


def measure() -> None:
    library = Library.load()
    net = load_network()
    works = library.works
    sig_list = signatures(net, [w.path for w in works])
    sigs = dict(zip((w.id for w in works), sig_list))
    scales = layer_scales(sig_list)

    print("A. leave one out in Gram space (distance to the left-out work; lower is better)")
    print(f"{'group':32s} {'works':>5s} {'blend':>8s} {'repr.':>8s}")
    rows = []
    for name, members in groups(library, 3).items():
        b_d, r_d = [], []
        for i, held in enumerate(members):
            rest = [sigs[w.id] for j, w in enumerate(members) if j != i]
            b_d.append(dist(mean_gram(rest), sigs[held.id], scales))
            r_d.append(dist(rest[medoid(distance_matrix(rest))], sigs[held.id], scales))
        rows.append((statistics.mean(b_d), statistics.mean(r_d)))
        print(f"{name:32s} {len(members):5d} {rows[-1][0]:8.3f} {rows[-1][1]:8.3f}")
    wins = sum(b < r for b, r in rows)
    print(
        f"mean over {len(rows)} groups: blend {statistics.mean(r[0] for r in rows):.3f}, "
        f"representative {statistics.mean(r[1] for r in rows):.3f}; blend closer in {wins}/{len(rows)}"
    )


def measure_sweep(folder: Path) -> None:
    """Part B from a finished sweep over style_group × movement (see the module docstring)."""
    library = Library.load()
    net = load_network()
    movements = library.movements()
    runs = []
    for manifest in sorted((folder / "runs").glob("*.json")):
        data = json.loads(manifest.read_text())
        values = data["sweep"]["values"]
        runs.append((values["style"], values["style_group"], manifest.with_suffix(".png"), data))
    size = runs[0][3]["config"]["size"]
    works = library.works
    # the works compared at the output's size, so that both sides see the same scale of detail
    small = dict(zip((w.id for w in works), signatures(net, [w.path for w in works], size=size)))
    scales = layer_scales(list(small.values()))
    print(f"B. pictures: {folder} ({len(runs)} runs at {size} px)")
    print(f"{'movement':20s} {'mode':15s} {'coverage':>9s} {'rank':>5s}  works")
    totals: dict[str, list[float]] = {}
    for movement, mode, image, data in runs:
        out = signatures(net, [image], size=size)[0]
        per_movement = {
            m: statistics.mean(dist(out, small[w.id], scales) for w in ws) for m, ws in movements.items()
        }
        ranking = sorted(per_movement, key=per_movement.get)
        rank = ranking.index(movement) + 1
        totals.setdefault(mode, []).append(per_movement[movement])
        totals.setdefault(mode + "/rank1", []).append(rank == 1)
        totals.setdefault(mode + "/rank", []).append(rank)
        used = len(data.get("library", [{}])[0].get("works", []))
        print(f"{movement:20s} {mode:15s} {per_movement[movement]:9.3f} {rank:5d}  {used}")
    for mode in ("blend", "representative"):
        if mode in totals:
            print(
                f"{mode:15s} mean coverage {statistics.mean(totals[mode]):.3f}, own movement nearest "
                f"{sum(totals[mode + '/rank1'])}/{len(totals[mode])}, mean rank "
                f"{statistics.mean(totals[mode + '/rank']):.2f} of {len(movements)}"
            )


def cache_timing(size: int, repeats: int) -> None:
    """The style pass of one run at ``size`` px: computed (cold cache) vs read (warm cache)."""
    from painterly.library.cache import GramCache
    from painterly.transfer import build_network, style_grams

    cfg = TransferConfig(size=size)
    net = build_network(cfg, torch.device("cpu"))
    painting = bundled_dir() / "paintings" / "van_gogh-the_starry_night-1889.jpg"
    img = load_image(painting)
    style = pil_to_tensor(resize(img, fit_size(*img.size, size)))
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):  # interleaved, so that machine load hits both alike
            cache = GramCache(Path(folder))
            cache.clear()
            t0 = time.perf_counter()
            style_grams(net, [style], cfg.style_layers, [1.0], cache=cache)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            style_grams(net, [style], cfg.style_layers, [1.0], cache=cache)
            warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        style_grams(net, [style], cfg.style_layers, [1.0])
        bare = time.perf_counter() - t0
    print(
        f"style targets at {size} px, one painting: no cache {bare:.3f} s, cold cache "
        f"{statistics.median(cold):.3f} s (compute + write), warm cache {statistics.median(warm):.3f} s "
        f"(read); saved per painting per run: {statistics.median(cold) - statistics.median(warm):.3f} s"
    )
    print(f"threads {torch.get_num_threads()}, load {os.getloadavg()}")


def cache_run_timing(size: int) -> None:
    """Whole runs (1 step, so the targets dominate) with a cold cache, a warm one and none:
    what the cache saves per run, for one painting and for a 4-work movement blend."""
    from painterly.library.cache import GramCache
    from painterly.transfer import build_network

    cfg = TransferConfig(size=size, iterations=1)
    net = build_network(cfg, torch.device("cpu"))
    with tempfile.TemporaryDirectory() as folder:
        for style in ("van_gogh-the_starry_night-1889", "movement:fauvism"):
            cache = GramCache(Path(folder))
            for label in ("cold", "warm"):
                r = stylize(PORTRAIT, style, cfg, network=net, cache=cache)
                print(
                    f"{style:32s} {label:8s} targets {r.timings['targets']:.2f} s, "
                    f"one step {r.timings['optimise']:.2f} s, cache hits {cache.hits}"
                )
            r = stylize(PORTRAIT, style, cfg.replace(cache=False), network=net)
            print(f"{style:32s} no cache targets {r.timings['targets']:.2f} s")
    print(f"load {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--cache", action="store_true")
    parser.add_argument("--sweep", type=Path, help="part B from this sweep folder (style_group × style)")
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.write:
        write_representatives()
    if args.measure:
        measure()
    if args.sweep:
        measure_sweep(args.sweep)
    if args.cache:
        cache_timing(args.size or 512, args.repeats)
        cache_run_timing(args.size or 512)


if __name__ == "__main__":
    main()
