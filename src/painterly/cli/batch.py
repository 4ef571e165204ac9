"""`painterly batch`: photos × paintings (or a CSV of pairs), resumable, on local workers
or a Ray cluster (issue #12).

``painterly batch photos/ -p paintings/ movement:fauvism -o out/ --preset fast`` paints
every pair into ``out/<photo>__<painting>.png`` with its manifest, then writes
``out/batch.json``, ``out/batch.csv`` and ``out/contact_sheet.png``. Running it again skips
the pairs already finished with the same settings and inputs and resumes the unfinished
ones from their checkpoints. Exit 0: every pair done; 1: some failed (see batch.csv);
130: interrupted (finished pairs are kept); 2: bad usage.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from painterly.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from painterly.cli.options import add_config_arguments, build_config, config_values
from painterly.cli.progress import ProgressBar
from painterly.cli.signals import PRELOAD_TORCH, deferred
from painterly.config import FastConfig, TransferConfig
from painterly.errors import ConfigError
from painterly.presets import preset_values


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="paint every photo × painting pair (folders, globs, library names, a CSV); resumable",
        description=(
            "Paint each photo in the style of each painting: OUT/<photo>__<painting>.<format> with "
            "its manifest, and OUT/batch.json, batch.csv, contact_sheet.png. Re-running skips pairs "
            "finished with the same settings and inputs and resumes unfinished ones. --workers N "
            "runs N local processes (the cores shared between them); --ray runs on a Ray cluster "
            "(pip install 'painterly[cluster]'). Exit 1 if any pair failed."
        ),
    )
    parser.add_argument("photos", nargs="*", metavar="PHOTO", help="photos: files, folders or globs")
    parser.add_argument(
        "-p",
        "--paintings",
        nargs="+",
        default=[],
        metavar="PAINTING",
        help="paintings: files, folders, globs or library names (movement:fauvism, artist:van_gogh, ids)",
    )
    parser.add_argument(
        "--pairs", metavar="PAIRS.csv", help="explicit pairs: photo,painting[,output] per row"
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    parser.add_argument("--fast", action="store_true", help="feed-forward networks instead of the optimiser")
    parser.add_argument("--format", default="png", help="file type of the outputs [default: png]")
    parser.add_argument(
        "--workers", type=int, default=0, metavar="N", help="parallel workers [default: 1; Ray: its CPUs]"
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: no value starts a local cluster, 'auto' joins the one `ray start` made, "
        "or give ray://host:10001 / host:6379",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=20,
        metavar="N",
        help="keep each pair's checkpoint every N steps",
    )
    parser.add_argument(
        "--retries", type=int, default=2, metavar="N", help="retries of a pair whose worker died"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser, TransferConfig)
    fast_only = tuple(
        f for f in FastConfig.__dataclass_fields__ if f not in TransferConfig.__dataclass_fields__
    )
    add_config_arguments(
        parser,
        FastConfig,
        skip=tuple(f for f in FastConfig.__dataclass_fields__ if f not in fast_only),
        title="fast mode only",
    )
    parser.set_defaults(handler=handle, preload=_preload)


def _preload(args: argparse.Namespace) -> tuple[str, ...]:
    """torch for the optimiser only: --fast runs on onnxruntime, numpy and Pillow (issue #16)."""
    return () if args.fast else PRELOAD_TORCH


def _config(args: argparse.Namespace) -> Any:
    if args.fast:
        given = config_values(args, FastConfig)
        ignored = sorted(set(config_values(args, TransferConfig)) - set(given))
        if ignored:
            raise ConfigError(f"--fast: these settings are for the optimiser only: {', '.join(ignored)}")
        return build_config(FastConfig, given)
    given = config_values(args, TransferConfig)
    fast_only = sorted(set(config_values(args, FastConfig)) - set(given))
    if fast_only:
        raise ConfigError(f"{', '.join(fast_only)}: only with --fast")
    return build_config(TransferConfig, preset_values(given.get("preset", "none"), given), given)


def handle(args: argparse.Namespace) -> int:
    from painterly.batch import expand_images, plan_batch, read_pairs, run_tasks, write_summary

    if args.workers < 0 or args.checkpoint_every < 0 or args.retries < 0:
        raise ConfigError("--workers, --checkpoint-every and --retries must be ≥ 0")
    if args.pairs:
        if args.photos or args.paintings:
            raise ConfigError("give either --pairs CSV or photos and --paintings, not both")
        pairs = read_pairs(args.pairs)
    else:
        if not args.photos or not args.paintings:
            raise ConfigError("give photos and --paintings (or --pairs CSV)")
        photos = expand_images(args.photos, "photo")
        paintings = expand_images(args.paintings, "painting")
        pairs = [(p, s, "") for p in photos for s in paintings]
    config = _config(args)
    mode = "fast" if args.fast else "optimise"
    plan = plan_batch(pairs, args.output, mode, config, args.format.lstrip("."), args.checkpoint_every)
    tasks = plan.to_run
    for row in plan.failed:
        print(f"painterly: warning: pair {row['index'] + 1} fails: {row['reason']}", file=sys.stderr)

    backend, workers, started_ray = "local", max(1, args.workers), False
    threads = int(getattr(config, "threads", 0) or 0)
    if args.ray is not None and tasks:
        from painterly.batch.cluster import cluster_cpus, connect

        started_ray = connect(None if args.ray == "local" else args.ray)
        backend = f"ray ({args.ray})"
        threads = threads or 1
        workers = args.workers or max(1, cluster_cpus() // threads)

    skipped = len(plan.tasks) - len(tasks)
    resumed = sum(1 for t in tasks if plan.states[t.index] == "resume")
    print(
        f"batch: {plan.size} pairs: {len(tasks)} to paint ({resumed} resumed), {skipped} already done, "
        f"{len(plan.failed)} failed; {backend}, {workers} worker(s)",
        file=sys.stderr,
    )
    # One bar over every step of the batch; time left from this run's own pace.
    done = {t.index: plan.done_before[t.index] for t in tasks}
    total = sum(plan.totals[t.index] for t in tasks)
    records: list[dict[str, Any]] = []
    start = time.perf_counter()
    interrupted = False
    with ProgressBar(total, description="batch", enabled=not args.quiet) as bar:
        bar.bar.unit = "image" if args.fast else "step"
        bar.bar.smoothing = 0  # the whole run's pace, per-pair overheads (targets, files) included
        # Resumed steps count as done but not as this run's pace (tqdm's rate).
        bar.bar.initial = bar.bar.n = bar.bar.last_print_n = sum(done.values())
        finished = {"n": 0}

        def on_step(index: int, step: int, total_steps: int) -> None:
            done[index] = max(done.get(index, 0), step)
            bar.bar.update(sum(done.values()) - bar.bar.n)

        def on_record(record: dict[str, Any]) -> None:
            finished["n"] += 1
            if record["status"] in ("finished", "skipped"):
                done[record["index"]] = plan.totals[record["index"]]
            bar.bar.set_postfix({"pairs": f"{finished['n']}/{len(tasks)}"}, refresh=False)
            bar.bar.update(sum(done.values()) - bar.bar.n)
            if record["status"] not in ("finished", "skipped", "interrupted"):
                bar.bar.write(
                    f"painterly: warning: {record['output']}: {record.get('reason', '')}", file=sys.stderr
                )

        try:
            records = run_tasks(
                tasks,
                workers=workers,
                threads=threads,
                ray=args.ray is not None,
                on_step=on_step,
                on_record=lambda r: (records.append(r), on_record(r)),
                retries=args.retries,
                guard=deferred,
            )
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if started_ray:
                import ray

                ray.shutdown()
    skipped_records = [
        {
            "index": t.index,
            "photo": t.photo,
            "painting": t.painting,
            "output": t.output,
            "status": "skipped",
            "reason": "finished earlier with the same settings and inputs",
            "steps": plan.totals[t.index],
            "attempts": 0,
        }
        for t in plan.tasks
        if plan.states[t.index] == "skip"
    ]
    unique = {r["index"]: r for r in [*skipped_records, *records]}
    settings = {"mode": mode, "config": config.to_dict(), "workers": workers, "threads": threads}
    with deferred(reraise=False):  # a second Ctrl-C must not cost the summary
        summary = write_summary(plan, list(unique.values()), settings, time.perf_counter() - start, backend)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["counts"].items()))
    print(f"batch: {counts} in {summary['seconds']:.1f} s; summary {plan.out_dir / 'batch.json'}")
    if interrupted or any(r["status"] == "interrupted" for r in unique.values()):
        print("painterly: interrupted; run the same command again to carry on", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if summary["ok"] else EXIT_FAILED
