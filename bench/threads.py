"""Threads under contention (issue #16): torch's thread count and OpenMP wait policy,
measured on the machine as it is and with a second process spinning on one core.

    .venv/bin/python bench/threads.py [--size 192] [--steps 6] [--rounds 3]

Each configuration (threads × OMP_WAIT_POLICY) runs in a fresh process (the wait policy
is read when OpenMP starts, so it cannot change inside one process) that times bare
VGG19 passes (forward to conv5_1, backward to the pixels: what one optimisation step
costs) with the machine as it is and with a spinner (a Python busy loop, started and
killed by that process), alternating the two ``--cycles`` times, and prints the median
wall and CPU time per pass. The load average is printed beside the figures: on a shared machine the
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
import json, statistics, subprocess, sys, time
import torch
torch.set_num_threads({threads})
from painterly.backbones import VGG19Features
from painterly.backbones.weights import random_vgg19_weights
weights = random_vgg19_weights(torch.Generator().manual_seed(0), width=1.0, last="conv5_1")
net = VGG19Features(weights, last_tap="conv5_1").eval()
x = torch.rand(1, 3, {size}, {size}, requires_grad=True)

def passes(count):
    walls, cpus = [], []
    for _ in range(count):
        w, c = time.perf_counter(), time.process_time()
        net(x, ["conv5_1"])["conv5_1"].sum().backward()
        x.grad = None
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return walls, cpus

passes(1)  # warm-up
out = {{"as is": ([], []), "+1 spinner": ([], [])}}
for _ in range({cycles}):  # the two machine states alternate, so both see the same load
    for state in out:
        spinner = None
        if state != "as is":
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.2)
        try:
            w, c = passes({steps})
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
        out[state][0].extend(w)
        out[state][1].extend(c)
print(json.dumps({{k: [statistics.median(w), statistics.median(c)] for k, (w, c) in out.items()}}))
"""

CONFIGS = [(1, "default"), (1, "PASSIVE"), (2, "default"), (2, "PASSIVE")]
STATES = ("as is", "+1 spinner")


def run_child(threads: int, policy: str, size: int, steps: int, cycles: int) -> dict[str, list[float]]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    code = CHILD.format(threads=threads, size=size, steps=steps, cycles=cycles)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3, help="passes per machine state and cycle")
    parser.add_argument("--cycles", type=int, default=2, help="alternations of the two machine states")
    parser.add_argument("--rounds", type=int, default=1, help="processes per configuration")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; bare VGG19 pass at {args.size}² px; load average {load()}", flush=True)
    print(f"{'threads':>7} {'OMP_WAIT_POLICY':>15} {'state':>11} {'wall s':>8} {'CPU s':>7}", flush=True)
    results: dict[tuple[int, str, str], list[list[float]]] = {}
    for _ in range(args.rounds):
        for threads, policy in CONFIGS:
            figures = run_child(threads, policy, args.size, args.steps, args.cycles)
            for state in STATES:
                results.setdefault((threads, policy, state), []).append(figures[state])
                wall, cpu = figures[state]
                print(f"{threads:>7} {policy:>15} {state:>11} {wall:>8.3f} {cpu:>7.3f}", flush=True)
    print(f"\nmedians over {args.rounds} round(s); load average now {load()}")
    print(
        f"{'threads':>7} {'OMP_WAIT_POLICY':>15} "
        + " ".join(f"{s + ' s':>13} {'vs 1 thr.':>9}" for s in STATES)
    )
    base = {s: statistics.median(r[0] for r in results[(1, "default", s)]) for s in STATES}
    for threads, policy in CONFIGS:
        cells = []
        for state in STATES:
            wall = statistics.median(r[0] for r in results[(threads, policy, state)])
            cells.append(f"{wall:>13.3f} {wall / base[state]:>9.2f}")
        print(f"{threads:>7} {policy:>15} " + " ".join(cells))


if __name__ == "__main__":
    main()
