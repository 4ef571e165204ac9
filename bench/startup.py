"""Start-up benchmark (issue #16): whole-process wall times, as a user meets them.

    .venv/bin/python bench/startup.py [--repeats 5] [--size 1024] [--threads 0]

Times fresh processes of ``python -c pass`` (the floor), ``painterly --help``,
``painterly layers``, ``painterly fast --help`` and ``painterly fast`` on a SIZE px
photo (written to a temp folder, output PNG and manifest included), and prints the
medians, their ratio to ``python -c pass``, and the modules with the largest
cumulative import time (``-X importtime``). Byte-code caching is on (a private
PYTHONPYCACHEPREFIX, warmed once), as it is for an installed package, whatever
PYTHONDONTWRITEBYTECODE says here; the fast-mode graph cache is warmed once too.
Other work on the machine shows in the figures: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "content" / "chelsea.jpg"
STYLE = ROOT / "examples" / "styles" / "starry_night.jpg"


def environment(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.setdefault("PAINTERLY_CACHE_DIR", str(cache / "painterly-cache"))
    return env


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def top_imports(command: list[str], env: dict[str, str], count: int = 6) -> list[tuple[str, float]]:
    """The top-level modules with the largest cumulative import time, in ms."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], env=env, capture_output=True, text=True, check=True
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and not parts[2].startswith("  "):
            name = parts[2].strip()
            if parts[1].strip().isdigit():
                rows.append((name, int(parts[1]) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=0, help="fast mode's --threads (0: its default)")
    args = parser.parse_args()
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = environment(folder)
        photo = folder / f"photo{args.size}.jpg"
        Image.open(PHOTO).convert("RGB").resize((args.size, args.size)).save(photo, quality=92)
        py = sys.executable
        threads = ["--threads", str(args.threads)] if args.threads else []
        fast = [py, "-m", "painterly", "fast", str(photo), str(STYLE), "-o", str(folder / "out.png")]
        fast += ["--overwrite", *threads]
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "painterly --help": [py, "-m", "painterly", "--help"],
            "painterly layers": [py, "-m", "painterly", "layers"],
            "painterly fast --help": [py, "-m", "painterly", "fast", "--help"],
            f"painterly fast ({args.size}² photo)": fast,
        }
        for command in commands.values():  # warm byte-code and graph caches, page cache
            wall(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        load_before = load()
        for _ in range(args.repeats):  # interleaved, so that all commands see the same machine
            for name, command in commands.items():
                times[name].append(wall(command, env))
        floor = statistics.median(times["python -c pass"])
        print(f"{os.cpu_count()} cores; load average before {load_before}, after {load()}")
        print(f"medians of {args.repeats} fresh processes, interleaved\n")
        print(f"{'command':<32} {'median s':>9} {'min s':>7} {'× python -c pass':>17}")
        for name, values in times.items():
            median = statistics.median(values)
            print(f"{name:<32} {median:>9.3f} {min(values):>7.3f} {median / floor:>17.1f}")
        for name in ("painterly --help", f"painterly fast ({args.size}² photo)"):
            top = ", ".join(f"{m} {ms:.0f} ms" for m, ms in top_imports(commands[name], env))
            print(f"\nlargest imports of `{name}`: {top}")


if __name__ == "__main__":
    main()
