"""GPU figures for issue #16: the optimisation step on CUDA, its precision and layout knobs.

    python bench/gpu.py                      # everything below, on cuda:0
    python bench/gpu.py --parts overhead     # only the bare pass against a loss evaluation

What it measures (CUDA events around each call, after warm-up; medians):
  overhead   the bare VGG19 pass (forward to conv5_1, backward to the pixels) against one
             loss evaluation (forward to the taps, Grams and losses, backward), per
             precision and size, and the bare pass's TFLOP/s
  layout     the bare pass in the default layout against channels_last, per precision
  end2end    whole `balanced` runs at --e2e-size under each precision: wall seconds, and the
             final picture's loss judged by one strict-float32 evaluation (the issue's
             criterion: equal within 1 % at the same step count)
  compile    torch.compile of the network's forward: compile seconds, then a loss
             evaluation's time against eager

Precisions, through the engine's own `--precision` (painterly.precision): "fp32" (strict:
no TF32 anywhere), "tf32" (`--precision auto` on CUDA: TF32 tensor cores for convolutions
and matmuls), "bf16" (the network under torch.autocast(bfloat16), its features cast back to
float32 before the Gram matrices, whose differences bfloat16's 8 bits cannot hold).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import torch

import painterly.transfer as engine
from engine import vgg_flops  # bench/engine.py's bare-pass FLOPs (bench/ is on the path)
from painterly import TransferConfig, stylize
from painterly.images import load_tensor
from painterly.precision import run_precision
from painterly.presets import preset_config

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "content" / "coffee.jpg"
STYLE = ROOT / "examples" / "styles" / "starry_night.jpg"
PRECISIONS = ("fp32", "tf32", "bf16")
#: bench row -> TransferConfig.precision
PRECISION_KNOB = {"fp32": "fp32", "tf32": "auto", "bf16": "bf16"}
DEVICE = "cuda"


def precision(kind: str) -> AbstractContextManager[None]:
    """The engine's own --precision switches (painterly.precision) for a bench row."""
    return run_precision(PRECISION_KNOB[kind], torch.device(DEVICE))


def bare_pass(model: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """The bare VGG19 pass: forward to conv5_1, backward to the pixels."""

    def run() -> None:
        model(x, ["conv5_1"])["conv5_1"].sum().backward()
        x.grad = None

    return run


def loss_evaluation(
    model: torch.nn.Module, x: torch.Tensor, targets: engine.Targets, config: TransferConfig
) -> Callable[[], None]:
    """One engine loss evaluation (taps, Grams, losses) and its backward."""

    def run() -> None:
        engine.compute_losses(model, x, targets, config)["total"].backward()  # type: ignore[arg-type]
        x.grad = None

    return run


def cuda_ms(run: Callable[[], None], repeats: int) -> float:
    """Median milliseconds of ``run`` on the GPU (CUDA events), after three warm-ups
    (wall clock when --device cpu, for a smoke test of this script)."""
    for _ in range(3):
        run()
    if DEVICE == "cpu":
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def setup(size: int, config: TransferConfig) -> tuple[torch.nn.Module, engine.Targets, torch.Tensor]:
    device = torch.device(DEVICE)
    net = engine.build_network(config, device)
    content = load_tensor(CONTENT, size).to(device)
    targets = engine.compute_targets(net, content, [load_tensor(STYLE, size).to(device)], config)
    return net, targets, content.clone().requires_grad_(True)


def overhead(sizes: list[int], repeats: int) -> None:
    print("\n== overhead: bare pass vs loss evaluation (median ms, CUDA events)")
    for size in sizes:
        overhead_at(size, repeats)


def overhead_at(size: int, repeats: int) -> None:
    config = TransferConfig(size=size, device=DEVICE)
    net, targets, x = setup(size, config)
    h, w = x.shape[-2:]
    for kind in PRECISIONS:
        with precision(kind):
            b = cuda_ms(bare_pass(net, x), repeats)
            e = cuda_ms(loss_evaluation(net, x, targets, config), repeats)
        tflops = vgg_flops(w, h) / (b / 1e3) / 1e12
        print(
            f"  {size:5d} px {w}x{h}  {kind:4s}  bare {b:8.2f} ms ({tflops:5.1f} TFLOP/s)  "
            f"evaluation {e:8.2f} ms  overhead {e / b * 100 - 100:+6.1f}%"
        )


def layout(sizes: list[int], repeats: int) -> None:
    print("\n== layout: bare pass, default vs channels_last (median ms)")
    for size in sizes:
        config = TransferConfig(size=size, device=DEVICE)
        net, _, x = setup(size, config)
        for kind in PRECISIONS:
            row = []
            for last in (False, True):
                model = net.to(memory_format=torch.channels_last if last else torch.contiguous_format)
                inp = x.detach().contiguous(
                    memory_format=torch.channels_last if last else torch.contiguous_format
                )
                inp.requires_grad_(True)
                with precision(kind):
                    row.append(cuda_ms(bare_pass(model, inp), repeats))
            print(
                f"  {size:5d} px  {kind:4s}  default {row[0]:8.2f} ms  channels_last {row[1]:8.2f} ms"
                f"  ({row[1] / row[0] * 100 - 100:+.1f}%)"
            )
            net.to(memory_format=torch.contiguous_format)


def end_to_end(size: int, preset: str) -> None:
    print(f"\n== end to end: {preset} at {size} px, each precision; judged in strict float32")
    config = preset_config(preset, size=size, device=DEVICE, cache=False)
    judge_net = engine.build_network(config, torch.device(DEVICE))
    results = {}
    for kind in PRECISIONS:
        net = engine.build_network(config, torch.device(DEVICE))
        sync()
        start = time.perf_counter()
        result = stylize(CONTENT, STYLE, config.replace(precision=PRECISION_KNOB[kind]), network=net)
        sync()
        seconds = time.perf_counter() - start
        results[kind] = (result, seconds)
    with precision("fp32"):
        image = results["fp32"][0].tensor
        content = load_tensor(CONTENT, max(image.shape[-2:])).to(DEVICE)
        content = torch.nn.functional.interpolate(content, size=image.shape[-2:], mode="bilinear")
        style = load_tensor(STYLE, max(image.shape[-2:])).to(DEVICE)
        targets = engine.compute_targets(judge_net, content, [style], config)
        judged = {}
        for kind, (result, _) in results.items():
            with torch.no_grad():
                loss = engine.compute_losses(judge_net, result.tensor.to(DEVICE), targets, config)["total"]
            judged[kind] = float(loss)
    base = judged["fp32"]
    for kind, (result, seconds) in results.items():
        print(
            f"  {kind:4s}  {result.status:9s} {result.steps:4d} steps  {seconds:7.2f} s"
            f"  ({seconds / results['fp32'][1] * 100 - 100:+6.1f}% time)"
            f"  judged loss {judged[kind]:.5g} ({judged[kind] / base * 100 - 100:+.2f}%)"
            f"  own final loss {result.losses.get('total', float('nan')):.5g}"
        )


def compile_ab(sizes: list[int], repeats: int) -> None:
    print("\n== torch.compile of the network (tf32), loss evaluation median ms")
    for size in sizes:
        compile_at(size, repeats)


def compile_at(size: int, repeats: int) -> None:
    config = TransferConfig(size=size, device=DEVICE)
    net, targets, x = setup(size, config)
    compiled = torch.compile(net)
    with precision("tf32"):
        eager = cuda_ms(loss_evaluation(net, x, targets, config), repeats)
        start = time.perf_counter()
        try:
            loss_evaluation(compiled, x, targets, config)()
            sync()
        except Exception as exc:  # a missing compiler is a result here
            print(f"  {size:5d} px  compile failed: {type(exc).__name__}: {exc}"[:300])
            return
        first = time.perf_counter() - start
        fast = cuda_ms(loss_evaluation(compiled, x, targets, config), repeats)
    print(
        f"  {size:5d} px  eager {eager:8.2f} ms  compiled {fast:8.2f} ms ({fast / eager * 100 - 100:+.1f}%)"
        f"  first call (compile) {first:6.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="overhead,layout,end2end,compile")
    parser.add_argument("--sizes", default="512,1024,2048")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--e2e-size", type=int, default=1024)
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke test of this script")
    args = parser.parse_args()
    global DEVICE, PRECISIONS
    DEVICE = args.device
    if DEVICE == "cpu":
        PRECISIONS = ("fp32", "tf32")  # bf16 is refused off a GPU
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench/gpu.py: no CUDA device here")
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {name}")
    sizes = [int(s) for s in args.sizes.split(",")]
    parts = args.parts.split(",")
    if "overhead" in parts:
        overhead(sizes, args.repeats)
    if "layout" in parts:
        layout(sizes, args.repeats)
    if "end2end" in parts:
        end_to_end(args.e2e_size, args.preset)
    if "compile" in parts:
        compile_ab(sizes[:2], args.repeats)


if __name__ == "__main__":
    main()
