"""Batch timings (issue #12): 4 photos × 2 paintings with `painterly batch`, as a user runs it
(a fresh process each time, so start-up and network loading count):

* local, one worker with all the cores (``--workers 1``) vs ``--workers 2`` (the cores split,
  one thread each), interleaved over ``--rounds`` so that the machine's other work hits both
  alike; the ratio is the answer to "which split is best on this machine";
* the same batch on a local Ray cluster (``--ray``, 2 actors; its start-up shown apart);
* a batch killed (SIGKILL) part-way, then run again: only the unfinished pairs are painted,
  the half-done one resumed from its checkpoint.

    PYTHONPATH=src python bench/batch.py [--size 96] [--steps 30] [--rounds 2] [--no-ray]

Prints the load average beside each figure: on a shared machine, compare within a row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent.parent / "shared" / "images"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} {five:.1f} {fifteen:.1f}"


def make_inputs(folder: Path, size: int) -> tuple[Path, Path]:
    """4 photos and 2 paintings, from examples/ (or ../shared/images)."""
    photos, paintings = folder / "photos", folder / "paintings"
    photos.mkdir()
    paintings.mkdir()
    sources = sorted((ROOT / "examples" / "content").glob("*.*")) or sorted((SHARED / "content").glob("*.*"))
    styles = sorted((ROOT / "examples" / "styles").glob("*.*")) or sorted((SHARED / "styles").glob("*.*"))
    sources = [p for p in sources if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    styles = [p for p in styles if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    for i, src in enumerate((sources * 4)[:4]):
        im = Image.open(src).convert("RGB")
        im.thumbnail((size * 2, size * 2))
        im.save(photos / f"photo{i}.png")
    for i, src in enumerate(styles[:2]):
        im = Image.open(src).convert("RGB")
        im.thumbnail((size * 2, size * 2))
        im.save(paintings / f"painting{i}.png")
    return photos, paintings


def command(photos: Path, paintings: Path, out: Path, size: int, steps: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "painterly",
        "batch",
        str(photos),
        "-p",
        str(paintings),
        "-o",
        str(out),
        "-s",
        str(size),
        "-n",
        str(steps),
        "-q",
        *extra,
    ]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument(
        "--parts", default="split,ray,resume", help="which parts to run: split, ray, resume [default: all]"
    )
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("OMP_NUM_THREADS", None)  # the batch splits the threads itself
    cores = os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        photos, paintings = make_inputs(work, args.size)
        run = lambda out, *extra: command(photos, paintings, work / out, args.size, args.steps, *extra)  # noqa: E731
        print(
            f"4 photos x 2 paintings, {args.size} px, {args.steps} steps, {cores} cores; each run a fresh process"
        )
        print(f"{'run':<34}{'seconds':>9}   {'load (1, 5, 15 min)'}")
        parts = set(args.parts.split(","))
        times: dict[str, list[float]] = {"1x": [], "2x": []}
        for r in range(args.rounds if "split" in parts else 0):  # interleaved: A B, B A, ...
            order = [("1x", "--workers", "1"), ("2x", "--workers", "2")]
            for name, *extra in order if r % 2 == 0 else order[::-1]:
                shutil.rmtree(work / "out", ignore_errors=True)
                seconds, _ = timed(run("out", *extra), env)
                times[name].append(seconds)
                threads = cores if name == "1x" else max(1, cores // 2)
                label = f"local --workers {name[0]} ({threads} thread(s) each)"
                print(f"{label:<34}{seconds:>9.1f}   {load()}")
        best1, best2 = min(times["1x"], default=0), min(times["2x"], default=0)
        if "split" in parts:
            print(
                f"=> --workers 2 / --workers 1 time: {best2 / best1:.2f} (best of {args.rounds} each); "
                f"best split on this machine: {'2 workers x 1 thread' if best2 < best1 else '1 worker x all threads'}"
            )

        if not args.no_ray and "ray" in parts:
            # Beside the same split locally, so that both meet the same load.
            for name, extra in (
                ("local --workers 2 --threads 1", ()),
                ("Ray, local cluster, 2 actors", ("--ray",)),
            ):
                shutil.rmtree(work / "out", ignore_errors=True)
                seconds, _ = timed(run("out", "--workers", "2", "--threads", "1", *extra), env)
                note = "  (includes starting Ray)" if extra else ""
                print(f"{name:<34}{seconds:>9.1f}   {load()}{note}")

        if "resume" in parts:
            resume_after_kill(run, work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def resume_after_kill(run, work: Path, env: dict[str, str]) -> None:
    """Kill a batch (SIGKILL) once 3 pairs are done and a 4th has a checkpoint; run it again."""
    out = work / "killed"
    proc = subprocess.Popen(run("killed", "--checkpoint-every", "5"), env=env)
    while len(list(out.glob("*__*[0-9].png"))) < 3 and proc.poll() is None:
        time.sleep(0.05)

    def unfinished() -> list[Path]:
        """Checkpoints whose manifest says running (the picture is not made yet)."""
        found = []
        for p in out.glob("*.partial.png"):
            try:
                status = json.loads(p.with_name(p.name.replace(".partial.png", ".json")).read_text())[
                    "status"
                ]
            except (OSError, ValueError, KeyError):
                continue
            if status == "running":
                found.append(p)
        return found

    while not unfinished() and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(p.name for p in out.glob("*__*[0-9].png"))
    partial = sorted(p.name for p in out.glob("*.partial.png"))
    print(f"killed (SIGKILL) with {len(finished)} pairs finished ({', '.join(finished)}), partial: {partial}")
    seconds, done = timed(run("killed", "--checkpoint-every", "5"), env)
    summary = json.loads((out / "batch.json").read_text())
    resumed = [
        (Path(r["output"]).name, r.get("resumed_from_step", 0))
        for r in summary["results"]
        if r["status"] == "finished"
    ]
    print(f"re-run: {done.stderr.strip().splitlines()[0]}")
    print(f"re-run: {summary['counts']} in {seconds:.1f} s; painted: {resumed} (name, resumed from step)")


if __name__ == "__main__":
    main()
