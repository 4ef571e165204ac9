"""Threads under contention (issue #16): torch's thread count and OpenMP wait policy,
measured on the machine as it is and with a second process spinning on one core.

    .venv/bin/python bench/threads.py [--size 192] [--steps 6] [--rounds 3]

Each configuration (threads × OMP_WAIT_POLICY) runs in a fresh process (the wait policy
is read when OpenMP starts, so it cannot change inside one process) that times
``--steps`` bare VGG19 passes (forward to conv5_1, backward to the pixels: what one
optimisation step costs) and prints the median wall and CPU time per pass. The
configurations are interleaved over ``--rounds`` rounds so that they all see the same
machine; the spinner is this script's own child (a Python busy loop) and is stopped
at the end. The load average is printed beside the figures: on a shared machine the
"idle" column is only as idle as the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, statistics, sys, time
import torch
torch.set_num_threads({threads})
from painterly.backbones import VGG19Features
from painterly.backbones.weights import random_vgg19_weights
net = VGG19Features(random_vgg19_weights(torch.Generator().manual_seed(0), width=1.0, last="conv5_1"), last_tap="conv5_1").eval()
x = torch.rand(1, 3, {size}, {size}, requires_grad=True)
walls, cpus = [], []
for i in range({steps} + 1):
    w, c = time.perf_counter(), time.process_time()
    net(x, ["conv5_1"])["conv5_1"].sum().backward()
    x.grad = None
    if i:
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
print(json.dumps([statistics.median(walls), statistics.median(cpus)]))
"""

CONFIGS = [(1, "default"), (1, "PASSIVE"), (2, "default"), (2, "PASSIVE")]


def run_child(threads: int, policy: str, size: int, steps: int) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    code = CHILD.format(threads=threads, size=size, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    loads = {}
    for machine in ("as is", "+1 spinner"):
        spinner = None
        if machine != "as is":
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            loads[machine] = [load()]
            for _ in range(args.rounds):
                for threads, policy in CONFIGS:
                    key = (machine, threads, policy)
                    results.setdefault(key, []).append(run_child(threads, policy, args.size, args.steps))
            loads[machine].append(load())
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    print(f"{os.cpu_count()} cores; bare VGG19 pass at {args.size}² px, median of {args.rounds} processes")
    for machine, (before, after) in loads.items():
        print(f"  load average during '{machine}': {before} -> {after}")
    print(
        f"\n{'machine':<11} {'threads':>7} {'OMP_WAIT_POLICY':>15} {'wall s':>8} {'CPU s':>7} {'vs 1 thr.':>9}"
    )
    for machine in loads:
        base = statistics.median(w for w, _ in results[(machine, 1, "default")])
        for threads, policy in CONFIGS:
            runs = results[(machine, threads, policy)]
            wall, cpu = statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)
            print(f"{machine:<11} {threads:>7} {policy:>15} {wall:>8.3f} {cpu:>7.3f} {wall / base:>9.2f}")


if __name__ == "__main__":
    main()
