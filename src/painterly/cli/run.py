"""`painterly run`: the Gatys optimisation from the command line.

Beside the output it writes the manifest, the loss history (CSV and plot) and,
with --save-every, intermediate images. While it runs it keeps a checkpoint
(``<out>.partial.png`` and the manifest) so that Ctrl-C, a NaN or a crash loses
at most a few steps, and ``--resume <out>.json`` carries on from there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from painterly import runner
from painterly.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, estimate_io, inputs, portrait_io, watch_io
from painterly.cli.options import add_config_arguments, build_config, config_values
from painterly.cli.progress import ProgressBar
from painterly.cli.signals import PRELOAD_TORCH, deferred
from painterly.config import TransferConfig
from painterly.errors import ConfigError
from painterly.events import Progress
from painterly.images import BIT_DEPTHS, HIGH_BIT_SUFFIXES, open_image
from painterly.presets import preset_values
from painterly.runner import DEFAULT_CHECKPOINT_EVERY, Job, naming, plan_job, read_run_manifest

__all__ = ["Job", "execute", "given_values", "handle", "plan_resume", "plan_run", "register"]

# The engine (torch) and the masks are imported where they are used, so that `--help`
# and the other commands never import torch (issue #16, tests/test_startup.py).
# The job itself (plan, checkpoints, manifest) is painterly.runner's, shared with `batch`.


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="repaint a photo in the style of one or more paintings (Gatys optimisation)",
        description=(
            "Optimise the pixels of an image so that its VGG19 features match the photo and its "
            "Gram matrices match the painting(s). Writes OUT, OUT's manifest (.json), loss history "
            "(.losses.csv, .losses.png) and, with --save-every, intermediate images (.steps/)."
        ),
    )
    parser.add_argument(
        "images", nargs="*", metavar="CONTENT STYLE [STYLE ...]", help="photo, then painting(s)"
    )
    inputs.add_arguments(parser)  # issue #18: --photo, repeatable --style
    parser.add_argument("-o", "--output", help="output image (.png, .jpg, .webp, ...)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument(  # issue #18: photographers print
        "--bit-depth",
        type=int,
        choices=BIT_DEPTHS,
        default=8,
        help="bits per colour channel of OUT: 16 for a .png or .tif with the optimiser's full "
        "precision (a 16-bit photo is read at 16 bits too) [default: 8]",
    )
    parser.add_argument(
        "--save-every", type=int, default=0, metavar="N", help="write the image every N steps to OUT.steps/"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=DEFAULT_CHECKPOINT_EVERY,
        metavar="N",
        help=f"keep OUT.partial + manifest up to date every N steps [default: {DEFAULT_CHECKPOINT_EVERY}]",
    )
    parser.add_argument(
        "--from-manifest", metavar="M.json", help="make the picture of a manifest again (flags override it)"
    )
    parser.add_argument("--resume", metavar="M.json", help="carry on an interrupted run from its manifest")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--mask",
        action="append",
        dest="mask_specs",
        metavar="CONTENT_MASK:STYLE[:WEIGHT]",
        help="a region of the photo (white in the mask image) that takes its own painting, or 'none' "
        "for content only; repeat for more regions (same as --masks A,B)",
    )
    portrait_io.add_arguments(parser)
    estimate_io.add_arguments(parser)  # issue #12
    watch_io.add_arguments(parser)  # issue #18: --watch
    add_config_arguments(parser, TransferConfig)
    parser.set_defaults(handler=handle, preload=PRELOAD_TORCH)


def given_values(args: argparse.Namespace) -> dict[str, Any]:
    """The config values set on the command line, with repeated --mask folded into masks."""
    given = config_values(args, TransferConfig)
    if getattr(args, "mask_specs", None):
        given["masks"] = (*given.get("masks", ()), *args.mask_specs)
    return given


def handle(args: argparse.Namespace) -> int:
    if args.save_every < 0 or args.checkpoint_every < 0:
        raise ConfigError("--save-every and --checkpoint-every must be ≥ 0")
    if args.resume and args.from_manifest:
        raise ConfigError("use either --resume or --from-manifest, not both")
    if args.bit_depth == 16 and args.output and Path(args.output).suffix.lower() not in HIGH_BIT_SUFFIXES:
        raise ConfigError(f"--bit-depth 16: {args.output} must be a .png or .tif file")
    job = plan_resume(args) if args.resume else plan_run(args)
    job.bit_depth = args.bit_depth
    if job.bit_depth == 16 and job.paths.output.suffix.lower() not in HIGH_BIT_SUFFIXES:
        raise ConfigError(f"--bit-depth 16: {job.paths.output} must be a .png or .tif file")
    if (code := estimate_io.before_run(job.content, job.styles, job.config, args)) is not None:
        return code  # issue #12: --estimate, or a run that would not fit (raises: exit 2)
    return execute(job, args)


def plan_run(args: argparse.Namespace) -> Job:
    base: dict[str, Any] = {}
    photo, paintings = inputs.split_inputs(args, list(args.images))  # issue #18
    if args.from_manifest:
        manifest = read_run_manifest(args.from_manifest)
        base = dict(manifest.config)
        photo = photo or manifest.inputs.content.path
        paintings = paintings or [s.path for s in manifest.inputs.styles]
    if photo is None or not paintings:
        raise ConfigError("give a content image and at least one style image (or --from-manifest)")
    images = [photo, *paintings]
    if not args.output:
        raise ConfigError("give the output image with -o OUT")
    given = given_values(args)
    with naming(args.from_manifest):
        config = build_config(TransferConfig, base, preset_values(given.get("preset", "none"), given), given)
    return plan_job(images[0], images[1:], config, args.output, overwrite=args.overwrite)


def plan_resume(args: argparse.Namespace) -> Job:
    return runner.plan_resume(
        args.resume, output=args.output, overwrite=args.overwrite, given=given_values(args), warn=_warn
    )


def execute(job: Job, args: argparse.Namespace) -> int:
    """Run the job with a progress bar; print what happened and how to carry on."""
    total = job.total_steps
    watch = watch_io.start(args, job.paths.output.name, total)  # issue #18: --watch
    if watch is not None and not (job.config.preview_every or args.save_every or args.checkpoint_every):
        job.config = job.config.replace(preview_every=watch_io.preview_every(total))

    with ProgressBar(total, enabled=not args.quiet) as bar:
        bar.bar.update(job.steps_before)

        def on_progress(event: Progress) -> None:
            bar.update(event)
            if watch is not None:
                left = event.seconds_left  # issue #18: from the schedule (the engine's eta)
                watch.update(event.step, total, event.losses, event.elapsed, left, event.image)

        outcome = runner.execute(
            job,
            save_every=args.save_every,
            checkpoint_every=args.checkpoint_every,
            on_progress=on_progress,
            guard=deferred,
            final_guard=lambda: deferred(reraise=False),
            warn=_warn,
            notice=portrait_io.warn,
        )
    paths = outcome.paths
    watch_io.end(watch, outcome.status, outcome.message, outcome.result.image if outcome.result else None)
    if outcome.finished and outcome.maps is not None and getattr(args, "show_masks", False):  # issue #9
        with deferred(reraise=False):
            try:
                portrait_io.write_masks(paths.output, open_image(job.content), outcome.maps)
            except OSError as exc:
                _warn(f"could not write the portrait masks beside {paths.output} ({exc.strerror or exc})")
    if outcome.finished:
        print(
            f"wrote {paths.output} ({outcome.steps} steps, {outcome.timings['total']:.1f} s, "
            f"loss {outcome.losses.get('total', float('nan')):.4g}); manifest {paths.manifest}"
        )
        return EXIT_OK
    print(f"painterly: {outcome.message}; latest image saved to {paths.partial}")
    print(f"painterly: resume with: painterly run --resume {paths.manifest}")
    return EXIT_INTERRUPTED if outcome.status == "interrupted" else EXIT_FAILED


def _warn(message: str) -> None:
    print(f"painterly: warning: {message}", file=sys.stderr)
