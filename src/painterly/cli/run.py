"""`painterly run`: the Gatys optimisation from the command line.

Beside the output it writes the manifest, the loss history (CSV and plot) and,
with --save-every, intermediate images. While it runs it keeps a checkpoint
(``<out>.partial.png`` and the manifest) so that Ctrl-C, a NaN or a crash loses
at most a few steps, and ``--resume <out>.json`` carries on from there.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from painterly.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, inputs, portrait_io, watch_io
from painterly.cli.options import add_config_arguments, build_config, config_values
from painterly.cli.progress import ProgressBar
from painterly.cli.signals import PRELOAD_OPTIMISER, deferred
from painterly.config import INIT_KEYWORDS, TransferConfig
from painterly.errors import ConfigError, InputError, OutputError
from painterly.events import Progress
from painterly.images import (
    BIT_DEPTHS,
    HIGH_BIT_SUFFIXES,
    check_output_path,
    open_image,
    save_image,
    save_image_16bit,
)
from painterly.library.resolve import resolve_run_styles
from painterly.presets import preset_values
from painterly.records import (
    RunPaths,
    build_manifest,
    plot_history,
    read_history_csv,
    read_manifest,
    write_history_csv,
    write_manifest,
)

if TYPE_CHECKING:
    from painterly.transfer import TransferResult

# The engine (torch) and the masks are imported where they are used, so that `--help`
# and the other commands never import torch (issue #16, tests/test_startup.py).

DEFAULT_CHECKPOINT_EVERY = 20


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
    watch_io.add_arguments(parser)  # issue #18: --watch
    add_config_arguments(parser, TransferConfig)
    parser.set_defaults(handler=handle, preload=PRELOAD_OPTIMISER)


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
    return execute(job, args)


class Job:
    """Everything a run needs, gathered and checked before any long work starts."""

    def __init__(
        self,
        content: str,
        styles: list[str],
        config: TransferConfig,
        paths: RunPaths,
        steps_before: int = 0,
        history_before: list[dict[str, float]] | None = None,
        resumed_from: str | None = None,
        original_init: str | None = None,
        original_config: TransferConfig | None = None,
    ) -> None:
        self.content, self.styles, self.config, self.paths = content, styles, config, paths
        self.steps_before = steps_before
        self.history_before = history_before or []
        self.resumed_from = resumed_from
        self.original_init = original_init or config.init
        self.original_config = original_config
        #: What library names became (issue #10), for the manifest.
        self.library: list[dict[str, Any]] = []
        #: Bits per channel of the picture (issue #18).
        self.bit_depth = 8


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
    content, styles = images[0], images[1:]
    styles, config, library = resolve_run_styles(styles, config)  # issue #10: library names → files
    _check_inputs(content, styles, config)
    output = check_output_path(args.output, args.overwrite, inputs=[content, *styles, *_init_file(config)])
    job = Job(content, styles, config, RunPaths(output))
    job.library = library
    return job


def plan_resume(args: argparse.Namespace) -> Job:
    manifest = read_run_manifest(args.resume)
    if manifest.status == "finished":
        raise InputError(f"{args.resume}: this run already finished; nothing to resume")
    if not args.output and not manifest.output:
        raise InputError(f"{args.resume}: output: missing (give -o OUT)")
    paths = RunPaths(Path(args.output or manifest.output or ""))
    if not args.output and paths.manifest.resolve() != Path(args.resume).resolve():
        # A run's files sit beside each other; a manifest whose output points elsewhere was
        # moved or edited, and resuming it would write over files it never made.
        raise InputError(
            f"{args.resume}: output: {paths.output} is not this manifest's picture (that would be "
            f"{Path(args.resume).with_suffix(paths.output.suffix or '.png')}); give -o OUT to choose"
        )
    if not paths.partial.is_file():
        raise InputError(f"{args.resume}: its latest image {paths.partial} is missing; cannot resume")
    from painterly.transfer import remaining_schedule

    with naming(args.resume):
        original = build_config(TransferConfig, manifest.config, given_values(args))
    done = manifest.steps_done
    config = remaining_schedule(original, done).replace(init=str(paths.partial))
    content = manifest.inputs.content.path
    styles = [s.path for s in manifest.inputs.styles]
    _check_inputs(content, styles, config)
    history = _history_until(paths.history_csv, done)
    # An unfinished run has not written its picture: a file there is someone else's.
    check_output_path(paths.output, overwrite=args.overwrite, inputs=[content, *styles])
    return Job(
        content,
        styles,
        config,
        paths,
        done,
        history,
        resumed_from=str(Path(args.resume).resolve()),
        original_init=original.init,
        original_config=original,
    )


def read_run_manifest(path: str) -> Any:
    """A run's manifest, checked by the one schema (InputError naming file and field)."""
    from painterly.schema import check_run_manifest, check_settings

    data = read_manifest(path)
    manifest = check_run_manifest(data, path)
    with naming(path):
        check_settings(TransferConfig, manifest.config, "config.")
    return manifest


@contextlib.contextmanager
def naming(source: str | None) -> Iterator[None]:
    """Prefix a ConfigError with the manifest it came from."""
    try:
        yield
    except ConfigError as exc:
        if source and not str(exc).startswith(source):
            raise ConfigError(f"{source}: {exc}") from None
        raise


def _history_until(path: Path, done: int) -> list[dict[str, float]]:
    """The loss rows of the steps a resumed run keeps (a checkpoint may trail the CSV)."""
    if not path.is_file():
        return []
    try:
        rows = read_history_csv(path)
    except (OSError, ValueError, KeyError):
        print(f"painterly: warning: {path} is unreadable; the loss history starts afresh", file=sys.stderr)
        return []
    return [row for row in rows if row.get("step", 0) <= done]


def _init_file(config: TransferConfig) -> list[str]:
    return [] if config.init in INIT_KEYWORDS else [config.init]


def _check_inputs(content: str, styles: list[str], config: TransferConfig) -> None:
    """Open every input once so that a bad file fails now, not after the network loads."""
    from painterly.masks import check_mask_files, parse_mask_spec

    for path in [content, *styles, *_init_file(config)]:
        open_image(path)
    check_mask_files([parse_mask_spec(spec) for spec in config.masks])
    if config.color_reference:
        open_image(config.color_reference)
    from painterly.backbones.store import resolve_weights  # issue #14: a missing backbone fails now

    resolve_weights(config.backbone, config.weights_file)
    portrait_io.check_inputs(config)
    from painterly.devices import resolve_device  # issue #18: cuda:7 on a 1-GPU machine fails now

    resolve_device(config.device)


def execute(job: Job, args: argparse.Namespace) -> int:
    from painterly.transfer import stylize

    paths, config = job.paths, job.config
    intervals = [n for n in (args.save_every, args.checkpoint_every) if n]
    if intervals and not config.preview_every:
        config = config.replace(preview_every=math.gcd(*intervals))
    total = job.steps_before + config.total_steps()
    watch = watch_io.start(args, paths.output.name, total)  # issue #18: --watch
    if watch is not None and not config.preview_every:
        config = config.replace(preview_every=watch_io.preview_every(total))

    def manifest_for(
        result: TransferResult | None, status: str, steps: int, losses: dict[str, float]
    ) -> dict:
        return build_manifest(
            kind="transfer",
            config={**config.to_dict(), **_schedule_of(job), "init": job.original_init},
            inputs={"content": job.content, "styles": job.styles, "init": (_init_file(config) or [None])[0]},
            output=paths.output,
            status=status,
            steps=steps,
            device=result.device if result else config.device,
            timings=result.timings if result else {},
            losses=losses,
            message=result.message if result else "",
            extra=_extra(job),
        )

    if args.save_every:
        paths.steps_dir.mkdir(exist_ok=True)
    # Rows of this run as they arrive, so a checkpoint keeps the loss history too: after a
    # crash (even SIGKILL) --resume finds the steps before it in OUT.losses.csv (issue #15).
    live: list[dict[str, float]] = []
    warned: set[str] = set()

    def side_file(what: str, write: Callable[[], object]) -> bool:
        """Write a side file; its failure (a full disk) is a warning, never the run's end."""
        try:
            write()
            return True
        except OSError as exc:
            if what not in warned:
                warned.add(what)
                reason = exc.strerror or str(exc)
                print(f"painterly: warning: could not write {what} ({reason})", file=sys.stderr)
            return False

    def on_progress(event: Progress) -> None:
        bar.update(_offset(event, job.steps_before))
        step = event.step + job.steps_before
        live.append({"step": step, "scale": event.scale, "elapsed": event.elapsed, **event.losses})
        if watch is not None:
            watch.update(step, total, event.losses, event.elapsed, event.seconds_left, event.image)
        if event.image is None:
            return
        if args.save_every and step % args.save_every == 0:
            side_file("intermediate images", lambda: save_image(event.image, paths.step_image(step)))
        if args.checkpoint_every and step % args.checkpoint_every == 0:
            with deferred():
                if side_file("the checkpoint", lambda: save_image(event.image, paths.partial)):
                    side_file(
                        "the checkpoint",
                        lambda: write_manifest(
                            paths.manifest, manifest_for(None, "running", step, event.losses)
                        ),
                    )
                    side_file(
                        "the loss history",
                        lambda: write_history_csv(paths.history_csv, job.history_before + live),
                    )

    maps = None
    with ProgressBar(total, enabled=not args.quiet) as bar:
        bar.bar.update(job.steps_before)
        if config.portrait:  # issue #9: masks and weight maps from painterly.portrait
            from painterly.portrait import stylize_portrait

            portrait = stylize_portrait(job.content, job.styles, config, on_progress, notice=portrait_io.warn)
            result, maps = portrait.result, portrait.maps
        else:
            result = stylize(job.content, job.styles, config, on_progress)

    steps = job.steps_before + result.steps
    history = job.history_before + [{**row, "step": row["step"] + job.steps_before} for row in result.history]
    # An interrupt can land between a step's loss row and its count: keep the two in step.
    history = [row for row in history if row["step"] <= steps]
    finished = result.status == "finished"
    picture = paths.output if finished else paths.partial
    with deferred(reraise=False):  # a second Ctrl-C or SIGTERM must not cut the picture in half
        # The picture first: side files failing (a full disk) must never cost it.
        try:
            if finished and getattr(args, "bit_depth", 8) == 16:  # issue #18
                save_image_16bit(result.tensor, picture)
            else:
                save_image(result.image, picture)
        except OSError as exc:
            raise OutputError(f"{picture}: could not write the picture ({exc.strerror or exc})") from None
        status = result.status
        side_file(
            f"the manifest {paths.manifest}",
            lambda: write_manifest(paths.manifest, manifest_for(result, status, steps, result.losses)),
        )
        if history:
            side_file(
                f"the loss history {paths.history_csv}", lambda: write_history_csv(paths.history_csv, history)
            )
            side_file(
                f"the loss plot {paths.history_plot}",
                lambda: plot_history(paths.history_plot, history, title=paths.output.name),
            )
        if finished:
            paths.partial.unlink(missing_ok=True)
        if finished and maps is not None and getattr(args, "show_masks", False):  # issue #9
            side_file(
                f"the portrait masks beside {paths.output}",
                lambda: portrait_io.write_masks(paths.output, open_image(job.content), maps),
            )
    watch_io.end(watch, result.status, result.message, result.image)
    if finished:
        print(
            f"wrote {paths.output} ({steps} steps, {result.timings['total']:.1f} s, "
            f"loss {result.losses.get('total', float('nan')):.4g}); manifest {paths.manifest}"
        )
        return EXIT_OK
    print(f"painterly: {result.message}; latest image saved to {paths.partial}")
    print(f"painterly: resume with: painterly run --resume {paths.manifest}")
    return EXIT_INTERRUPTED if result.status == "interrupted" else EXIT_FAILED


def _extra(job: Job) -> dict[str, Any] | None:
    """Side facts for the manifest: where a resumed run came from, what library names became."""
    extra: dict[str, Any] = {}
    if job.resumed_from:
        extra["resumed_from"] = job.resumed_from
    if job.library:
        extra["library"] = job.library
    if job.bit_depth != 8:  # issue #18
        extra["bit_depth"] = job.bit_depth
    return extra or None


def _schedule_of(job: Job) -> dict[str, Any]:
    """The scale schedule to record: the original run's, also when resuming."""
    names = ("iterations", "scales", "multiscale", "scale_iterations")
    if job.resumed_from is None:
        return {}
    original = job.original_config or job.config
    return {k: v for k, v in original.to_dict().items() if k in names}


def _offset(event: Progress, steps_before: int) -> Progress:
    if not steps_before:
        return event
    return Progress(
        event.step + steps_before,
        event.total_steps + steps_before,
        event.losses,
        event.elapsed,
        event.scale,
        event.scale_count,
    )
