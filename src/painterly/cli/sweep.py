"""`painterly sweep`: run every combination of some settings and compare them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from painterly.cli import EXIT_INTERRUPTED, EXIT_OK, estimate, inputs
from painterly.cli.options import add_config_arguments, config_values
from painterly.cli.progress import ProgressBar
from painterly.cli.signals import PRELOAD_TORCH
from painterly.config import TransferConfig
from painterly.lab.specs import SweepSpec, combine, load_spec, parse_grid_option, plan_runs

if TYPE_CHECKING:
    from painterly.lab.sweep import SweepProgress


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a grid of settings and write a contact sheet, loss plot and report",
        description=(
            "Run every combination of the --grid axes (and/or a TOML --spec, see examples/sweeps/) "
            "into DIR: each output with its manifest and loss CSV under DIR/runs/, a labelled "
            "contact sheet (DIR/sheet.png), all loss curves (DIR/losses.png) and a table of final "
            "losses and times (DIR/report.md). Running the same command again skips finished runs, "
            "so an interrupted sweep carries on. Setting flags (--size, --iterations, ...) hold a "
            "setting fixed in every run and override the spec's."
        ),
    )
    parser.add_argument(
        "images",
        nargs="*",
        metavar="CONTENT STYLE [STYLE ...]",
        help="photo, then painting(s) (optional with a spec that names them)",
    )
    inputs.add_arguments(parser)  # issue #18
    parser.add_argument("--spec", metavar="SPEC.toml", help="a sweep spec (see examples/sweeps/)")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="an axis of the grid, e.g. style_weight=1e2,1e3 or pooling=max,avg (repeatable); "
        "for list settings separate values with |: style_layer_weights=0.8,0.2,0.2,0.2,0.2|",
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the sweep")
    parser.add_argument(
        "--rerun", action="store_true", help="run every combination again, even finished ones"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check the spec and list the runs, run nothing"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser, TransferConfig, title="settings held fixed in every run")
    parser.set_defaults(handler=handle, preload=PRELOAD_TORCH)


def build_spec(args: argparse.Namespace) -> SweepSpec:
    """The spec file (if any) with the command line's images, axes and settings over it."""
    spec = load_spec(args.spec) if args.spec else SweepSpec()
    photo, paintings = inputs.split_inputs(args, list(args.images))  # issue #18
    return combine(
        spec,
        content=photo,
        styles=tuple(paintings),
        axes=tuple(parse_grid_option(g) for g in args.grid),
        overrides=config_values(args, TransferConfig),
    )


def handle(args: argparse.Namespace) -> int:
    from painterly.lab.sweep import prepare, run_sweep  # torch: only when a sweep runs

    spec = build_spec(args)
    if args.dry_run:
        runs = plan_runs(spec)
        for run in runs:
            print(f"{run.name}: {run.label}")
        print(f"{len(runs)} run(s); all settings valid")
        estimate.warn_if_long(  # issue #18: the same warning a real sweep gives
            "sweep", [r.config for r in runs], estimate.aspect_of(spec.content), "--size 128 --iterations 60"
        )
        return EXIT_OK
    runs, out = prepare(spec, args.output)  # every config, input and the folder, before the bar
    warn_long(spec, runs, out, args.rerun)
    total = sum(r.config.total_steps() for r in runs)
    done_before = 0
    with ProgressBar(total, description="sweep", enabled=not args.quiet) as progress:
        bar = progress.bar

        def on_event(event: SweepProgress) -> None:
            nonlocal done_before
            bar.set_description(f"sweep {event.number}/{event.count}", refresh=False)
            if event.state == "running" and event.progress is not None:
                losses = event.progress.losses
                bar.set_postfix({"total": f"{losses.get('total', float('nan')):.3g}"}, refresh=False)
                bar.update(done_before + event.progress.step - bar.n)
            elif event.state in ("skipped", "done"):
                done_before += event.run.config.total_steps()
                bar.update(done_before - bar.n)

        outcome = run_sweep(spec, args.output, on_event, rerun=args.rerun)
    print(
        f"sweep: {outcome.ran} run(s) done, {outcome.skipped} already finished; "
        f"sheet {outcome.sheet}, losses {outcome.plot}, report {outcome.report}"
    )
    for message in dict.fromkeys(r.message for r in outcome.records if r.status == "missing"):
        print(f"skipped: {message}")  # issue #14: a backbone whose weights are not installed
    if not outcome.complete:
        print("painterly: the sweep stopped early; run the same command again to carry on")
        return EXIT_INTERRUPTED
    return EXIT_OK


def warn_long(spec: SweepSpec, runs: list, out: Path, rerun: bool) -> None:
    """Issue #18: say so before an hour of CPU work (finished runs are skipped, so not counted)."""
    from painterly.lab.sweep import is_done
    from painterly.records import RunPaths

    todo = [r for r in runs if rerun or not is_done(r, RunPaths(out / "runs" / f"{r.name}.png"))]
    estimate.warn_if_long(
        "sweep", [r.config for r in todo], estimate.aspect_of(spec.content), "--size 128 --iterations 60"
    )
