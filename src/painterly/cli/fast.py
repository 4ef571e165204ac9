"""`painterly fast`: a painting in about a second (Magenta's arbitrary-style networks).

``painterly fast PHOTO STYLE [STYLE ...] -o OUT`` paints one photo;
``painterly fast PHOTOS_DIR STYLE -o OUT_DIR`` paints every image in a folder with
one set of sessions, warns about files it cannot read, and exits 1 at the end if
any failed. Each output gets its manifest (.json) beside it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from painterly.cli import EXIT_FAILED, EXIT_OK, inputs, portrait_io
from painterly.cli.options import add_config_arguments, config_values
from painterly.cli.progress import ProgressBar
from painterly.config import FastConfig
from painterly.errors import ConfigError, OutputError, PainterlyError
from painterly.events import Progress
from painterly.images import WRITABLE_SUFFIXES, check_output_path, open_image, save_image
from painterly.library.resolve import resolve_run_styles
from painterly.records import RunPaths, fast_manifest, write_manifest

if TYPE_CHECKING:
    from painterly.fast import FastResult, FastStylizer

#: Files a folder run tries to read; anything else in the folder is left alone.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fast",
        help="paint a photo (or a folder of photos) in about a second with a feed-forward network",
        description=(
            "Feed-forward arbitrary style transfer (Ghiasi et al. 2017, Magenta's networks via "
            "onnxruntime): the painting becomes a 100-d style vector and a transform network paints "
            "the photo with it at the photo's own size (up to --size). Several paintings are blended "
            "by --style-weights. With a folder as CONTENT, OUT is a folder and every image is painted. "
            "Needs: pip install 'painterly[fast]'."
        ),
    )
    parser.add_argument(
        "images",
        nargs="*",
        metavar="CONTENT STYLE [STYLE ...]",
        help="photo (or folder of photos), then painting(s)",
    )
    inputs.add_arguments(parser, "the photo, or a folder of photos")  # issue #18
    parser.add_argument("-o", "--output", required=True, help="output image, or output folder in folder mode")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    parser.add_argument(
        "--skip-existing",
        action="store_true",
        help="folder mode: leave photos whose output exists alone (and paint the rest)",
    )
    parser.add_argument(
        "--format",
        default="png",
        choices=sorted({s.lstrip(".") for s in WRITABLE_SUFFIXES}),
        help="file type of the outputs in folder mode [default: png]",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    portrait_io.add_arguments(parser)
    add_config_arguments(parser, FastConfig)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from painterly.fast import FastStylizer

    photo, styles = inputs.split_inputs(args, list(args.images), folder_ok=True)  # issue #18
    if photo is None or not styles:
        raise ConfigError("give a content image (or folder) and at least one style image")
    if args.skip_existing and args.overwrite:
        raise ConfigError("--skip-existing and --overwrite contradict each other: pick one")
    # The flags are already typed and range-checked by argparse, and FastConfig validates
    # itself; skipping the pydantic layer (for manifests and forms) saves importing
    # pydantic, about 0.3 s of a command that should answer in about a second (issue #16).
    config = FastConfig(**config_values(args, FastConfig))
    content = Path(photo)
    styles, config, library = resolve_run_styles(styles, config)  # issue #10: library names → files
    paintings = [open_image(s) for s in styles]  # a bad painting fails before anything loads
    portrait_io.check_inputs(config)
    if content.is_dir():
        jobs = plan_folder(
            content, Path(args.output), args.format, args.overwrite, styles, skip_existing=args.skip_existing
        )
        if not jobs:
            print(f"nothing to do: every photo in {content} already has its output in {args.output}")
            return EXIT_OK
    else:
        open_image(content)
        if args.skip_existing and Path(args.output).is_file():
            print(f"skipped: {args.output} exists (--skip-existing)")
            return EXIT_OK
        jobs = [(content, check_output_path(args.output, args.overwrite, inputs=[content, *styles]))]
    stylizer = FastStylizer(config.threads)
    if not content.is_dir():
        source, target = jobs[0]
        result = paint_one(
            source,
            target,
            styles,
            paintings,
            config,
            stylizer,
            library,
            show_masks=getattr(args, "show_masks", False),
        )
        for warning in result.warnings:
            print(f"painterly: warning: {warning}", file=sys.stderr)
        print(
            f"wrote {target} ({result.size[0]}×{result.size[1]}, {result.timings['total']:.2f} s; "
            f"networks loaded in {stylizer.load_seconds:.2f} s)"
        )
        return EXIT_OK
    return paint_folder(
        jobs,
        styles,
        paintings,
        config,
        stylizer,
        quiet=args.quiet,
        library=library,
        show_masks=getattr(args, "show_masks", False),
    )


def plan_folder(
    folder: Path,
    out_dir: Path,
    fmt: str,
    overwrite: bool,
    styles: list[str],
    *,
    skip_existing: bool = False,
) -> list[tuple[Path, Path]]:
    """(photo, output) pairs for every image file in ``folder``, checked before any work;
    with ``skip_existing`` a photo whose output exists is left out (a re-run carries on)."""
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise ConfigError(f"{folder}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file; in folder mode the output must be a folder")
    if not out_dir.parent.is_dir():
        raise OutputError(f"{out_dir}: folder {out_dir.parent} does not exist")
    out_dir.mkdir(exist_ok=True)
    stems = [p.stem for p in photos]
    jobs = []
    for photo in photos:
        # Two photos with one stem (a.jpg, a.png) keep their suffix in the name.
        stem = photo.stem if stems.count(photo.stem) == 1 else f"{photo.stem}_{photo.suffix.lstrip('.')}"
        if skip_existing and (out_dir / f"{stem}.{fmt}").is_file():
            continue  # issue #18: a finished photo of an earlier run
        target = check_output_path(out_dir / f"{stem}.{fmt}", overwrite, inputs=[photo, *styles])
        jobs.append((photo, target))
    return jobs


def paint_one(
    source: Path,
    target: Path,
    styles: list[str],
    paintings: list[Image.Image],
    config: FastConfig,
    stylizer: FastStylizer,
    library: list[dict] | None = None,
    *,
    show_masks: bool = False,
    detector: Any = None,
) -> FastResult:
    """Paint one photo, save it and its manifest (portrait mode: and --show-masks files)."""
    from painterly.fast import fast_stylize

    maps = None
    if config.portrait:  # issue #9
        from painterly.portrait import fast_portrait

        portrait = fast_portrait(
            source, paintings, config, stylizer=stylizer, detector=detector, notice=portrait_io.warn
        )
        result, maps = portrait.result, portrait.maps
    else:
        result = fast_stylize(source, paintings, config, stylizer=stylizer)
    save_image(result.image, target)
    if maps is not None and show_masks:
        portrait_io.write_masks(target, open_image(source), maps)
    manifest = fast_manifest(config, str(source), styles, target, result, stylizer.threads, library=library)
    write_manifest(RunPaths(target).manifest, manifest)
    return result


def paint_folder(
    jobs: list[tuple[Path, Path]],
    styles: list[str],
    paintings: list[Image.Image],
    config: FastConfig,
    stylizer: FastStylizer,
    quiet: bool,
    library: list[dict] | None = None,
    show_masks: bool = False,
) -> int:
    """Paint every photo; a file that fails is reported and skipped, and the exit code says so."""
    failed: list[str] = []
    warned: set[str] = set()
    detector = None
    if config.portrait:  # one set of portrait models for the whole folder
        from painterly.portrait import Detector

        detector = Detector.load()
    start = time.perf_counter()
    with ProgressBar(len(jobs), description="painting", enabled=not quiet) as bar:
        bar.bar.unit = "image"
        for index, (source, target) in enumerate(jobs, 1):
            try:
                result = paint_one(
                    source,
                    target,
                    styles,
                    paintings,
                    config,
                    stylizer,
                    library,
                    show_masks=show_masks,
                    detector=detector,
                )
                for warning in result.warnings:
                    if warning not in warned:  # once per message, not once per photo
                        warned.add(warning)
                        bar.bar.write(f"painterly: warning: {source.name}: {warning}", file=sys.stderr)
            except PainterlyError as exc:
                failed.append(str(source))
                bar.bar.write(f"painterly: warning: skipped {exc}", file=sys.stderr)
            bar.update(
                Progress(step=index, total_steps=len(jobs), losses={}, elapsed=time.perf_counter() - start)
            )
    done = len(jobs) - len(failed)
    out_dir = jobs[0][1].parent
    print(f"wrote {done} of {len(jobs)} images to {out_dir} in {time.perf_counter() - start:.1f} s")
    if failed:
        print(f"painterly: {len(failed)} file(s) could not be painted: {', '.join(failed)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
