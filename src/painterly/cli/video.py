"""`painterly video`: paint a clip without flicker (fast or optimising path).

``painterly video CLIP PAINTING [PAINTING ...] -o OUT.mp4`` (or .gif, or a folder name
for PNG frames). Frames are kept in ``OUT.frames/`` as they are done; after Ctrl-C,
``--resume`` carries on from the last finished frame. Heavy libraries (torch, PyAV,
OpenCV, onnxruntime) are imported inside the handler so ``painterly --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from painterly.cli import EXIT_INTERRUPTED, EXIT_OK, inputs
from painterly.cli.options import add_config_arguments, build_config, config_values
from painterly.cli.signals import PRELOAD_TORCH
from painterly.config import VideoConfig
from painterly.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "video",
        help="paint a video clip (mp4, mov, webm, mkv, GIF or a folder of frames) without flicker",
        description=(
            "Paint every frame of a clip, each tied to the previous output by optical flow so the "
            "strokes move with the scene (--temporal-weight 0: every frame on its own). --mode fast uses "
            "the feed-forward network (seconds per clip second); --mode optimise the Gatys engine "
            "(Ruder et al. 2016; minutes per second). The audio is copied into an mp4 output. "
            "Needs: pip install 'painterly[video,fast]'."
        ),
    )
    parser.add_argument("clip", metavar="CLIP", help="video file, animated GIF, or folder of numbered frames")
    parser.add_argument("styles", nargs="*", metavar="PAINTING", help="painting(s); several are blended")
    parser.add_argument(  # issue #18: paintings named explicitly, as in run and fast
        "--style",
        action="append",
        default=[],
        dest="style_options",
        metavar="PAINTING",
        help="a painting (file or library name); repeat for several",
    )
    parser.add_argument("-o", "--output", required=True, help="OUT.mp4, OUT.gif, or a folder for PNG frames")
    parser.add_argument("--overwrite", action="store_true", help="replace the output and earlier frames")
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its last finished frame"
    )
    parser.add_argument(
        "--keep-frames", action="store_true", help="keep OUT.frames/ (the PNG frames) after the video is made"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser, VideoConfig)
    parser.set_defaults(handler=handle, preload=PRELOAD_TORCH)


def handle(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from painterly.events import FrameProgress
    from painterly.video import stylize_video

    if args.resume and args.overwrite:
        raise ConfigError("--resume and --overwrite contradict each other: pick one")
    inputs.check_ambiguous(args.clip, list(args.styles), folder_ok=True)
    styles = [*args.styles, *args.style_options]
    if not styles:
        raise ConfigError("give at least one painting (positional or --style)")
    config = build_config(VideoConfig, config_values(args, VideoConfig))
    bars: list[tqdm] = []  # made on the first frame, so that an early error is one line alone

    def progress(event: FrameProgress) -> None:
        if not bars:
            bars.append(
                tqdm(
                    total=event.total_frames or None,
                    initial=event.frame - 1,
                    desc="painting",
                    unit="frame",
                    disable=args.quiet,
                    file=sys.stderr,
                    dynamic_ncols=True,
                )
            )
            if event.resumed:
                bars[0].write(f"resuming after frame {event.resumed}", file=sys.stderr)
        bar = bars[0]
        if event.total_frames and bar.total != event.total_frames:
            bar.total = event.total_frames
        bar.set_postfix({"fps": f"{event.fps:.2f}", "left": f"{event.seconds_left:.0f}s"}, refresh=False)
        bar.update(event.frame - bar.n)

    try:
        result = stylize_video(
            args.clip,
            styles,
            args.output,
            config,
            progress,
            resume=args.resume,
            overwrite=args.overwrite,
            keep_frames=args.keep_frames,
        )
    finally:
        for bar in bars:
            bar.close()
    if not result.ok:
        print(f"painterly: {result.message}; add --resume to the same command to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    what = "frames" if Path(args.output).suffix == "" else "video"
    extra = ", audio copied" if result.audio else ""
    print(
        f"wrote {what} {result.output} ({result.frames} frames, {result.size[0]}×{result.size[1]}, "
        f"{float(result.fps):.3g} fps{extra}; {result.timings.get('total', 0):.1f} s)"
    )
    if result.message:
        print(f"painterly: warning: {result.message}", file=sys.stderr)
    return EXIT_OK
