"""Engine benchmark: weight loading, per-step cost against the bare network, peak memory.

    .venv/bin/python bench/engine.py [--sizes 256,512] [--steps 8] [--memory-sizes 512,1024]
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --parts --steps 0 --memory-sizes ""
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --ab 21 --sizes 256 --steps 0 --memory-sizes ""
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --ab 11 --sizes 512 --steps 0 --memory-sizes "" --no-keep-memory
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --steps 8 --runs 5 --sizes 256,512 --memory-sizes ""
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --steps 8 --warm 100 --sizes 256 --memory-sizes ""
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --lbfgs-ab 15 --steps 0 --memory-sizes ""
    OMP_NUM_THREADS=1 .venv/bin/python bench/engine.py --preset draft,balanced,quality --sizes 256,512 --steps 0 --memory-sizes ""

The "bare" pass is what no engine can beat: VGG19 forward to the deepest layer the
default config uses (conv5_1) and a backward pass to the pixels. The overhead is
what stylize adds on top (Gram matrices, losses, L-BFGS, bookkeeping). Bare passes
and engine steps are interleaved and their medians compared. Next to each size's figure
it prints the overhead's floor: the style Grams' own FLOPs as a share of the bare pass's,
and the bytes L-BFGS must read a step, which no engine of the same objective avoids.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

from painterly import TransferConfig, stylize
from painterly.backbones import VGG19Features, load_vgg19_weights
from painterly.canvas import Canvas
from painterly.estimate import LBFGS_HISTORY
from painterly.heap import keep_freed_memory
from painterly.images import fit_size
from painterly.transfer import build_network, scale_canvas

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "coffee.jpg"
STYLE = ROOT / "examples" / "styles" / "starry_night.jpg"


def weight_load_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        load_vgg19_weights()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def clocks() -> tuple[float, float]:
    """(wall, CPU) seconds: CPU time is the fairer figure when other work shares the cores."""
    return time.perf_counter(), time.process_time()


def bare_pass(net: VGG19Features, x: torch.Tensor) -> None:
    """What no engine can beat: VGG19 forward to conv5_1 and backward to the pixels ``x``."""
    net(x, ["conv5_1"])["conv5_1"].sum().backward()
    x.grad = None


def content_canvas(size: int, config: TransferConfig) -> tuple[tuple[int, int], Canvas]:
    """The benchmark photo's (width, height) at ``size`` px, as stylize fits it, and the
    canvas stylize paints it on."""
    width, height = fit_size(*Image.open(CONTENT).size, size)
    # the run's own config, as stylize passes it for every scale (the canvas needs no size)
    return (width, height), scale_canvas((height, width), config)


def interleaved_step_seconds(
    config: TransferConfig, net: VGG19Features, size: tuple[int, int], steps: int, warm: int = 0
) -> tuple[tuple[float, float], tuple[float, float], list[float]]:
    """Median (wall, CPU) seconds of a bare pass and of a stylize step, interleaved, and the
    CPU time of each measured step over the bare pass right after it.

    The bare pass (forward to conv5_1, backward to the pixels, nothing else) runs inside
    the progress callback between two engine steps, so both see the same machine: on a
    shared VM, timings taken one block after the other drift by ±20 %. ``warm`` steps run
    first unmeasured: after 100 of them L-BFGS works with its full history, as in most of
    a real run's steps.
    """
    x = torch.rand(1, 3, size[1], size[0], requires_grad=True)
    bare: list[tuple[float, float]] = []
    engine: list[tuple[float, float]] = []
    resumed: list[tuple[float, float]] = []
    seen = [0]

    def between_steps(event: object) -> None:
        seen[0] += 1
        if seen[0] <= warm:
            return
        now = clocks()
        if resumed:
            engine.append((now[0] - resumed[-1][0], now[1] - resumed[-1][1]))
        start = clocks()
        bare_pass(net, x)
        end = clocks()
        bare.append((end[0] - start[0], end[1] - start[1]))
        resumed.append(clocks())

    stylize(CONTENT, STYLE, config.replace(iterations=warm + steps + 1), between_steps, network=net)
    bare, engine = bare[1:], engine  # the first bare pass warms up the allocator
    # bare[i] ran right after engine step i: their ratio drifts less with the machine's load
    paired = [e[1] / b[1] for e, b in zip(engine, bare)]
    return (
        (statistics.median(b[0] for b in bare), statistics.median(b[1] for b in bare)),
        (statistics.median(e[0] for e in engine), statistics.median(e[1] for e in engine)),
        paired,
    )


def preset_run_overhead(name: str, net: VGG19Features, size: int) -> list[dict[str, float]]:
    """A preset's whole run as a user gets it (its scales, its steps, L-BFGS's history as it
    grows and fills), each step's CPU time against a bare pass at that scale's canvas run
    right after it. One row per scale: steps, pairs L-BFGS held on average, and the
    scale's step time over its bare passes. Only the steps count (not the targets each
    scale computes once), so this is the figure the per-step target speaks of, weighted as
    a real run weights it."""
    from painterly.presets import preset_config

    config = preset_config(name, size=size)
    canvases = [content_canvas(longest, config)[1].size for longest in config.scale_sizes()]
    inputs = [torch.rand(1, 3, *c, requires_grad=True) for c in canvases]
    steps_at = config.steps_per_scale()
    engine: dict[int, list[float]] = {i: [] for i in range(len(canvases))}
    bare: dict[int, list[float]] = {i: [] for i in range(len(canvases))}
    last = [0.0, -1]

    def timed_bare_pass(x: torch.Tensor) -> float:
        start = time.process_time()
        bare_pass(net, x)
        return time.process_time() - start

    def between_steps(event: object) -> None:
        scale = event.scale  # type: ignore[attr-defined]
        now = time.process_time()
        if last[1] == scale:  # the first step of a scale also builds its targets: not counted
            engine[scale].append(now - last[0])
        else:
            bare_pass(net, inputs[scale])  # warms the allocator for this size
        bare[scale].append(timed_bare_pass(inputs[scale]))
        last[0], last[1] = time.process_time(), scale

    stylize(CONTENT, STYLE, config, between_steps, network=net)
    rows = []
    for i, canvas in enumerate(canvases):
        steps = steps_at[i]
        # pairs held at step k (1-based): min(k − 1, history, steps − 1); step 1 is not measured
        pairs = statistics.fmean(min(k - 1, LBFGS_HISTORY, steps - 1) for k in range(2, steps + 1))
        rows.append(
            {
                "canvas": f"{canvas[1]}x{canvas[0]}",
                "steps": len(engine[i]),
                "pairs": round(pairs, 1),
                "engine_s": sum(engine[i]),
                "bare_s": sum(bare[i][1 : len(engine[i]) + 1]),
                # each step over the bare pass right after it: steadier than the sums, which
                # also carry the occasional slow step (they are what a run pays)
                "median_ratio": statistics.median(e / b for e, b in zip(engine[i], bare[i][1:])),
            }
        )
    return rows


def vgg_flops(width: int, height: int, last: str = "conv5_1") -> float:
    """FLOPs of the bare pass: VGG19 convolutions to ``last`` forward, and backward to the
    pixels only (the weights are frozen, so no weight gradients): 2 × the forward's."""
    from painterly.taps import VGG19_BLOCKS, VGG_CHANNELS

    flops, c_in, scale = 0.0, 3, 1
    for block, count in enumerate(VGG19_BLOCKS):
        for index in range(count):
            c_out = VGG_CHANNELS[block]
            flops += 2 * 9 * c_in * c_out * (width // scale) * (height // scale)
            c_in = c_out
            if f"conv{block + 1}_{index + 1}" == last:
                return 2 * flops
        scale *= 2
    return 2 * flops


def loss_floor(width: int, height: int, config: TransferConfig) -> tuple[float, float]:
    """What the exact objective and L-BFGS must add to the bare pass, whatever the engine:
    the style Grams' FLOPs (the symmetric product forward, C(C+1)·HW, and its gradient
    (G − A)·F backward, 2·C²·HW; conv1_1's from the image's 28-row patches as
    painterly.patch_gram takes it) and the bytes L-BFGS reads a step with a full history
    (its 2·m float32 rows of the canvas's size, twice). Why: it says how close to the
    arithmetic floor an overhead figure is, and so whether a target is reachable at all."""
    from painterly.patch_gram import FIRST_CONV
    from painterly.taps import VGG_CHANNELS, tap_downsampling

    flops = 0.0
    for tap in config.style_layers:
        stride, channels = 2 ** tap_downsampling(tap), VGG_CHANNELS[int(tap[4]) - 1]
        pixels = (width // stride) * (height // stride)
        if tap == FIRST_CONV and FIRST_CONV not in config.content_layers:
            flops += 28 * 29 * pixels + 2 * 27 * 28 * pixels  # P̃P̃ᵀ, and the gradient to the patches
        else:
            flops += channels * (channels + 1) * pixels + 2 * channels * channels * pixels
    return flops, 2 * (2 * LBFGS_HISTORY) * 3 * width * height * 4


def cpu_peak_gflops(threads: int) -> tuple[float, str]:
    """Single-precision FMA peak of ``threads`` cores from /proc/cpuinfo: vector width ×
    2 FMA units × 2 FLOPs per FMA × clock. AVX-512 parts with one FMA unit have half this."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return float("nan"), "unknown CPU"
    flags = next(
        (line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []
    )
    mhz = next(
        (float(line.split(":", 1)[1]) for line in info.splitlines() if line.startswith("cpu MHz")), 0.0
    )
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags and "fma" in flags else 4
    per_cycle = lanes * 2 * 2
    isa = {16: "AVX-512", 8: "AVX2+FMA", 4: "SSE"}[lanes]
    return threads * per_cycle * mhz / 1000, f"{isa}, 2 FMA units, {mhz:.0f} MHz, {per_cycle} FLOP/cycle/core"


def profile_step(config: TransferConfig, net: VGG19Features, rows: int = 14) -> None:
    """torch.profiler over a few stylize steps: where the time beyond the network goes."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        stylize(CONTENT, STYLE, config.replace(iterations=3), network=net)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def channels_last_ab(
    net: VGG19Features, size: tuple[int, int], repeats: int
) -> dict[bool, tuple[float, float]]:
    """Median (wall, CPU) seconds of the bare pass in the default layout (False) and in
    channels_last (True), interleaved pass by pass."""
    x = torch.rand(1, 3, size[1], size[0], requires_grad=True)
    times: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for i in range(2 * repeats + 2):
        last = bool(i % 2)
        model = net.to(memory_format=torch.channels_last if last else torch.contiguous_format)
        inp = x.contiguous(memory_format=torch.channels_last) if last else x
        start = clocks()
        model(inp, ["conv5_1"])["conv5_1"].sum().backward()
        end = clocks()
        if i >= 2:
            times[last].append((end[0] - start[0], end[1] - start[1]))
        x.grad = None
    net.to(memory_format=torch.contiguous_format)
    return {
        k: (statistics.median(t[0] for t in v), statistics.median(t[1] for t in v)) for k, v in times.items()
    }


def overhead_parts(
    config: TransferConfig, net: VGG19Features, size: int, repeats: int
) -> dict[str, tuple[float, float]]:
    """Median CPU seconds (and the fastest) of, interleaved round by round: the bare pass;
    one loss evaluation (forward to the taps, losses, backward) as shipped (fused style
    loss, conv1_1's Gram from the image's patches, wide Grams from three blocks), as
    before (conv1_1's Gram from its feature map, one product per Gram), and with the
    unfused chain; one whole L-BFGS step (the evaluation plus the optimiser's own arithmetic). The evaluation against the bare pass is the engine's
    overhead without L-BFGS; the step against the evaluation is L-BFGS's share."""
    import painterly.transfer as engine
    from painterly import losses, patch_gram
    from painterly.images import load_tensor
    from painterly.losses import distance, gram_matrix

    def unfused(f: torch.Tensor, g: torch.Tensor, kind: str = "l2", link: object = None) -> torch.Tensor:
        return distance(gram_matrix(f), g.expand(f.shape[0], -1, -1), kind)  # type: ignore[arg-type]

    cfg = config.replace(size=size)
    content = load_tensor(CONTENT, size)
    targets = engine.compute_targets(net, content, [load_tensor(STYLE, size)], cfg)
    x = content.clone().requires_grad_(True)
    fused, applies, blocks = engine.style_loss, patch_gram.applies, losses.SYMMETRIC_BLOCKS_FROM

    def bare() -> None:
        bare_pass(net, x)

    def evaluation(style_loss: object, from_patches: bool = True) -> Callable[[], None]:
        def run() -> None:
            engine.style_loss = style_loss  # type: ignore[assignment]
            if not from_patches:  # the engine before: conv1_1's Gram from its map, one-product Grams
                patch_gram.applies = lambda *_: False  # type: ignore[assignment]
                losses.SYMMETRIC_BLOCKS_FROM = 1 << 30
            try:
                engine.compute_losses(net, x, targets, cfg)["total"].backward()
            finally:
                engine.style_loss, patch_gram.applies = fused, applies
                losses.SYMMETRIC_BLOCKS_FROM = blocks
            x.grad = None

        return run

    image = content.clone().requires_grad_(True)
    optimizer = engine.make_optimizer(image, cfg, cfg.lr)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        total = engine.compute_losses(net, image, targets, cfg)["total"]
        total.backward()
        return total

    runs = {
        "bare pass": bare,
        "evaluation (as shipped)": evaluation(fused),
        "evaluation (before: map, 1 product)": evaluation(fused, from_patches=False),
        "evaluation (unfused chain)": evaluation(unfused, from_patches=False),
        "L-BFGS step (as shipped)": lambda: optimizer.step(closure),
    }
    for run in runs.values():
        run()  # warm-up: allocator, oneDNN primitives
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


#: Wave 5's switches (issue #16): "before wave 5" turns them off. The heap policy
#: (painterly.heap) cannot be undone inside a process: compare runs with --no-keep-memory.
WAVE_SWITCHES = (("syrk", "ENABLED"), ("fused_taps", "ENABLED"), ("losses", "FUSED_CONTENT"))
#: This wave's (issue #16, the whole step): the calm term as one node, the patch Gram's
#: im2col and col2im as shifted copies, the patch Gram on conv1_1's own input and backward
#: (first_conv.Link). FastLBFGS has its own A/B (--lbfgs-ab): it does not change the evaluation.
STEP_SWITCHES = (("calm", "FUSED"), ("first_conv", "SHIFTED"), ("patch_gram", "LINKED"))
#: conv1_1's backward to the pixels as one product and a fold (painterly.first_conv): the
#: network's own layer, so the bare pass and the evaluation are timed both ways.
NETWORK_SWITCHES = (("first_conv", "ENABLED"),)


def stylize_targets(config: TransferConfig, net: VGG19Features, size: int):
    """The picture on its canvas and the targets stylize optimises at ``size`` px (the
    calm term's flatness map included), for evaluations timed outside a run."""
    import painterly.transfer as engine
    from painterly.images import load_image

    device = torch.device("cpu")
    picture = engine.prepare_scale(
        load_image(CONTENT), [load_image(STYLE)], [], [], None, size, config, device
    )
    scale = engine.on_canvas(picture, scale_canvas(picture.content.shape[-2:], config))
    return scale.content.contiguous(), engine.compute_scale_targets(net, scale, config, None)


def paired_ab(config: TransferConfig, net: VGG19Features, size: int, rounds: int) -> None:
    """Bare pass and the loss evaluation stylize runs (on the canvas, the calm term
    included): now; both with torch's conv1_1 backward (painterly.first_conv off); before
    the wave before (the calm term through autograd's chain); and before wave 5 too (no syrk,
    no linked taps, content loss through autograd's chain). CPU time,
    the order reversed every other round; prints median, mean of the faster half, fastest,
    the paired differences, and the median system time and page faults of each (what
    painterly.heap removes)."""
    import importlib
    import resource

    import painterly.transfer as engine

    cfg = config.replace(size=size)
    content, targets = stylize_targets(cfg, net, size)
    x = content.clone().requires_grad_(True)
    switches = (*STEP_SWITCHES, *WAVE_SWITCHES)
    modules = {
        name: importlib.import_module(f"painterly.{name}") for name, _ in (*switches, *NETWORK_SWITCHES)
    }

    def switched_off(off: tuple[tuple[str, str], ...], run: Callable[[], None]) -> None:
        for name, flag in off:
            setattr(modules[name], flag, False)
        try:
            run()
        finally:
            for name, flag in off:
                setattr(modules[name], flag, True)

    def bare(off: tuple[tuple[str, str], ...] = ()) -> Callable[[], None]:
        return lambda: switched_off(off, lambda: bare_pass(net, x))

    def evaluation(off: tuple[tuple[str, str], ...]) -> Callable[[], None]:
        def run() -> None:
            switched_off(off, lambda: engine.compute_losses(net, x, targets, cfg)["total"].backward())
            x.grad = None

        return run

    runs = {
        "bare pass": bare(),
        "evaluation now": evaluation(()),
        "bare, torch conv1_1": bare(NETWORK_SWITCHES),
        "eval., torch conv1_1": evaluation(NETWORK_SWITCHES),
        "before this wave": evaluation((*STEP_SWITCHES, *NETWORK_SWITCHES)),
        "before wave 5": evaluation((*switches, *NETWORK_SWITCHES)),
    }
    for run in runs.values():
        run()
        run()
    times: dict[str, list[float]] = {k: [] for k in runs}
    system: dict[str, list[float]] = {k: [] for k in runs}
    faults: dict[str, list[int]] = {k: [] for k in runs}
    for r in range(rounds):
        for name, run in list(runs.items())[:: 1 if r % 2 == 0 else -1]:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
            after = resource.getrusage(resource.RUSAGE_SELF)
            system[name].append(after.ru_stime - usage.ru_stime)
            faults[name].append(after.ru_minflt - usage.ru_minflt)

    def low_half(values: list[float]) -> float:
        return statistics.mean(sorted(values)[: max(1, len(values) // 2)])

    base = times["bare pass"]
    with_torch_conv = times["bare, torch conv1_1"]
    print(
        f"\n{size} px ({x.shape[-1]}x{x.shape[-2]} canvas), {rounds} rounds (CPU ms), load "
        f"{os.getloadavg()[0]:.1f}: median / faster half / fastest"
    )
    for name, v in times.items():
        # each evaluation against the bare pass of the same network (torch's conv1_1 before)
        own = base if name == "evaluation now" else with_torch_conv
        over = (
            ""
            if name.startswith("bare")
            else "   over its bare pass: "
            + " / ".join(f"{f(v) / f(own) * 100 - 100:+.1f}%" for f in (statistics.median, low_half, min))
        )
        print(
            f"  {name:<20} {statistics.median(v) * 1e3:8.1f} / {low_half(v) * 1e3:8.1f} / {min(v) * 1e3:8.1f}{over}"
            f"   (system {statistics.median(system[name]) * 1e3:.0f} ms, {statistics.median(faults[name]):.0f} faults)"
        )
    pairs = [
        ("evaluation now", other) for other in ("eval., torch conv1_1", "before this wave", "before wave 5")
    ]
    for now, other in [("bare pass", "bare, torch conv1_1"), *pairs]:
        diff = [a - b for a, b in zip(times[now], times[other])]
        faster = sum(d < 0 for d in diff)
        print(
            f"  {now} - {other}, paired: median {statistics.median(diff) * 1e3:+.1f} ms, "
            f"faster in {faster}/{rounds} rounds"
        )


def lbfgs_ab(config: TransferConfig, size: int, rounds: int, history: int = LBFGS_HISTORY) -> None:
    """L-BFGS's own CPU time a step (the step less its closure) with a full history, torch's
    LBFGS and FastLBFGS side by side on the canvas's number of values, their steps
    alternating. The closure is a cheap, badly conditioned smooth function of the picture (a
    weighted quadratic plus a quartic), so both optimisers keep a real, changing history;
    its time is measured and taken off."""
    from painterly.lbfgs import FastLBFGS

    shape = (1, 3, *content_canvas(size, config)[1].size)
    gen = torch.Generator().manual_seed(0)
    # condition number 1e6: L-BFGS is far from converged after the history fills
    weights = 10 ** (6 * torch.rand(shape, generator=gen) - 3)
    centre = torch.rand(shape, generator=gen)
    runs = {}
    for name, kind in (("torch LBFGS", torch.optim.LBFGS), ("FastLBFGS", FastLBFGS)):
        x = torch.zeros(shape, requires_grad=True)
        runs[name] = (x, kind([x], lr=1, max_iter=1, history_size=history))
    own: dict[str, list[float]] = {k: [] for k in runs}

    def step(name: str) -> float:
        x, optimizer = runs[name]
        spent = [0.0]

        def closure() -> torch.Tensor:
            start = time.process_time()
            optimizer.zero_grad(set_to_none=True)
            loss = (weights * (x - centre).square()).sum() + 0.05 * (x - centre).pow(4).sum()
            loss.backward()
            spent[0] += time.process_time() - start
            return loss

        start = time.process_time()
        optimizer.step(closure)
        return time.process_time() - start - spent[0]

    for _ in range(history + 2):  # fill both histories
        for name in runs:
            step(name)
    for r in range(rounds):
        for name in list(runs)[:: 1 if r % 2 == 0 else -1]:
            own[name].append(step(name))
    pairs = [
        len(optimizer.state[x].get("old_dirs") or optimizer.state[x]["memory"].order)
        for x, optimizer in runs.values()
    ]
    assert pairs == [history, history], f"the histories are not full: {pairs}"
    a, b = (statistics.median(own[k]) * 1e3 for k in runs)
    print(
        f"\nL-BFGS's own time a step, {history}-pair history, {shape[2]}x{shape[3]} canvas "
        f"({3 * shape[2] * shape[3]:,} values), {rounds} rounds, load {os.getloadavg()[0]:.1f}: "
        f"torch LBFGS {a:.2f} ms, FastLBFGS {b:.2f} ms ({b - a:+.2f} ms)"
    )


def peak_memory_mib(size: int) -> float:
    """Peak resident memory of a fresh process running 2 steps at ``size`` px."""
    code = (
        "import resource, sys; from painterly import TransferConfig, stylize;"
        f"stylize({str(CONTENT)!r}, {str(STYLE)!r}, TransferConfig(size={size}, iterations=2));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--memory-sizes", default="512,1024")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--profile", action="store_true", help="torch.profiler table of a few steps")
    parser.add_argument("--layouts", action="store_true", help="A/B the bare pass in channels_last")
    parser.add_argument(
        "--parts", action="store_true", help="overhead without L-BFGS, fused vs unfused style loss (CPU time)"
    )
    parser.add_argument("--repeats", type=int, default=7, help="rounds of --parts")
    parser.add_argument(
        "--ab", type=int, default=0, metavar="ROUNDS", help="paired A/B: evaluation now vs before (CPU time)"
    )
    parser.add_argument(
        "--warm",
        type=int,
        default=0,
        metavar="STEPS",
        help="unmeasured stylize steps before --steps (100: L-BFGS's history is full, as in most of a run)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="repeat the whole-step (or --preset) measurement: median and spread of the runs",
    )
    parser.add_argument(
        "--lbfgs-ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="paired A/B of L-BFGS's own time a step with a full history: FastLBFGS vs torch's LBFGS",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=LBFGS_HISTORY,
        help=f"pairs for --lbfgs-ab [{LBFGS_HISTORY}, the engine's]",
    )
    parser.add_argument(
        "--preset",
        default="",
        metavar="NAMES",
        help="comma list of presets: each one's whole run at --sizes, its steps over bare passes (CPU time)",
    )
    parser.add_argument(
        "--no-keep-memory",
        action="store_true",
        help="measure without painterly.heap's policy (glibc gives large freed blocks back each time)",
    )
    args = parser.parse_args()
    if args.no_keep_memory:
        import painterly.heap

        painterly.heap._glibc = lambda: None  # type: ignore[assignment]
    with keep_freed_memory():  # the engine's own condition (stylize enters it too)
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Every figure main() was asked for."""
    figures: dict[str, object] = {"threads": torch.get_num_threads(), "torch": torch.__version__}

    figures["weight_load_s"] = round(weight_load_seconds(), 3)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"weight load (de-quantise 16 conv layers): {figures['weight_load_s']:.3f} s")

    config = TransferConfig()
    net = build_network(config, torch.device("cpu"))
    print(
        f"\n{'size':>6} {'image':>9}  {'bare fwd+bwd (wall/CPU)':>24}  {'stylize step (wall/CPU)':>24}  overhead wall/CPU"
    )
    for size in map(int, args.sizes.split(",") if args.steps else ()):
        cfg = config.replace(size=size)
        # issue #17: the engine paints on a canvas grown to VGG's pooling grid, so its network
        # sees the canvas; the bare pass runs at that size too and the canvas's cost is printed.
        picture, canvas = content_canvas(size, config)
        dims = (canvas.size[1], canvas.size[0])
        if dims != picture:
            extra = dims[0] * dims[1] / (picture[0] * picture[1]) - 1
            print(
                f"{size:>6} the {picture[0]}x{picture[1]} picture is painted on a {dims[0]}x{dims[1]} canvas (+{extra:.1%} pixels)"
            )
        runs = []
        pooled: list[float] = []
        for _ in range(args.runs):
            bare, step, ratios = interleaved_step_seconds(cfg, net, dims, args.steps, args.warm)
            overhead = [(s / b - 1) * 100 for s, b in zip(step, bare)]
            runs.append((bare, step, overhead))
            paired = (statistics.median(ratios) - 1) * 100
            pooled.extend(ratios)
            if args.runs > 1:
                print(
                    f"{size:>6} run {len(runs)}: bare {bare[1]:.3f} s, step {step[1]:.3f} s CPU: "
                    f"{overhead[1]:+.1f}% (wall {overhead[0]:+.1f}%; step by step {paired:+.1f}%), "
                    f"load {os.getloadavg()[0]:.2f}"
                )
        bare, step, overhead = sorted(runs, key=lambda r: r[2][1])[len(runs) // 2]  # the median run
        if args.runs > 1:
            cpu = sorted(r[2][1] for r in runs)
            print(
                f"{size:>6} whole step over the bare pass, {args.runs} runs of {args.steps} steps"
                f"{f' after {args.warm}' if args.warm else ''}: median {statistics.median(cpu):+.1f}% CPU, "
                f"spread {cpu[0]:+.1f}…{cpu[-1]:+.1f}%; each step over the bare pass right after it, "
                f"all {len(pooled)} steps: median {(statistics.median(pooled) - 1) * 100:+.1f}%"
            )
        figures[f"step_{size}"] = {
            "bare_wall_s": round(bare[0], 4),
            "bare_cpu_s": round(bare[1], 4),
            "stylize_wall_s": round(step[0], 4),
            "stylize_cpu_s": round(step[1], 4),
            "overhead_wall_pct": round(overhead[0], 1),
            "overhead_cpu_pct": round(overhead[1], 1),
        }
        print(
            f"{size:>6} {dims[0]:>4}x{dims[1]:<4}  {bare[0]:>9.3f} s / {bare[1]:>7.3f} s   "
            f"{step[0]:>9.3f} s / {step[1]:>7.3f} s   {overhead[0]:>6.1f}% / {overhead[1]:.1f}%"
        )
        peak, how = cpu_peak_gflops(torch.get_num_threads())
        gflops = vgg_flops(*dims) / bare[0] / 1e9
        figures[f"step_{size}"]["bare_gflops"] = round(gflops, 1)  # type: ignore[index]
        print(
            f"       bare pass: {vgg_flops(*dims) / 1e9:.1f} GFLOP, {gflops:.1f} GFLOP/s wall "
            f"({vgg_flops(*dims) / bare[1] / 1e9:.1f} per CPU-second) = {gflops / peak:.0%} of the "
            f"{peak:.0f} GFLOP/s peak of {torch.get_num_threads()} thread(s) ({how})"
        )
        gram, history = loss_floor(*dims, config)
        print(
            f"       floor of the overhead: the style Grams {gram / 1e9:.2f} GFLOP "
            f"({gram / vgg_flops(*dims):.1%} of the bare pass's FLOPs), L-BFGS reads "
            f"{history / 1e6:.0f} MB a step with {LBFGS_HISTORY} pairs"
        )
        if args.layouts:
            ab = channels_last_ab(net, dims, args.steps)
            (pw, pc), (lw, lc) = ab[False], ab[True]
            print(
                f"       channels_last: {lw:.3f} s wall / {lc:.3f} s CPU vs contiguous {pw:.3f} / {pc:.3f} "
                f"({(lw / pw - 1) * 100:+.1f}% wall, {(lc / pc - 1) * 100:+.1f}% CPU)"
            )
    if args.parts:
        print(f"\nparts of a step, CPU time, {args.repeats} interleaved rounds (median / fastest):")
        for size in map(int, args.sizes.split(",")):
            parts = overhead_parts(config, net, size, args.repeats)
            base = parts["bare pass"][0]
            for name, (median, fastest) in parts.items():
                share = (
                    "" if name == "bare pass" else f"  {(median / base - 1) * 100:+5.1f}% over the bare pass"
                )
                print(f"  {size:>4} px  {name:<28} {median * 1000:8.1f} / {fastest * 1000:7.1f} ms{share}")
                figures[f"parts_{size}_{name}"] = round(median, 4)
            print(f"           load average {os.getloadavg()[0]:.1f}")
    for size in map(int, args.sizes.split(",") if args.ab else ()):
        paired_ab(config, net, size, args.ab)
    for name in filter(None, args.preset.split(",")):
        for size in map(int, args.sizes.split(",")):
            totals = []
            for run in range(args.runs):
                rows = preset_run_overhead(name, net, size)
                which = f", run {run + 1} of {args.runs}" if args.runs > 1 else ""
                print(
                    f"\n{name} at {size} px{which}, a whole run, each step's CPU time over a bare pass at its canvas:"
                )
                for row in rows:
                    print(
                        f"  {row['canvas']:>9}  {row['steps']:>4} steps, {row['pairs']:5.1f} pairs on average: "
                        f"{(row['engine_s'] / row['bare_s'] - 1) * 100:+5.1f}% (step by step, median "
                        f"{(row['median_ratio'] - 1) * 100:+.1f}%)"
                    )
                total = (sum(r["engine_s"] for r in rows) / sum(r["bare_s"] for r in rows) - 1) * 100
                totals.append(total)
                print(f"  the whole run: {total:+.1f}% (load {os.getloadavg()[0]:.2f})")
            figures[f"preset_{name}_{size}_overhead_pct"] = round(statistics.median(totals), 2)
            if args.runs > 1:
                # one whole run moves by up to 2 points from one try to the next on a shared VM
                print(
                    f"{name} at {size} px over {args.runs} whole runs: median {statistics.median(totals):+.1f}%, "
                    f"spread {min(totals):+.1f}…{max(totals):+.1f}%"
                )
    for size in map(int, args.sizes.split(",") if args.lbfgs_ab else ()):
        lbfgs_ab(config, size, args.lbfgs_ab, args.history)
    if args.profile:
        profile_step(config.replace(size=min(map(int, args.sizes.split(",")))), net)

    print()
    for size in map(int, filter(None, args.memory_sizes.split(","))):
        mib = peak_memory_mib(size)
        figures[f"peak_memory_mib_{size}"] = round(mib)
        print(f"peak memory at {size} px (whole process, 2 L-BFGS steps): {mib:,.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
