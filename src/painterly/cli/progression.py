"""`painterly progression`: a run's intermediate images as a captioned MP4 or GIF."""

from __future__ import annotations

import argparse

from painterly.cli import EXIT_OK
from painterly.errors import ConfigError
from painterly.lab.progression import ACCEPTS, build_frames, check_video_path, find_run, write_video


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "progression",
        help="a video (MP4 or GIF) of a run's intermediate images, captioned with step and losses",
        description=(
            f"RUN is {ACCEPTS}. Its intermediate images come from `painterly run --save-every N`; "
            "each frame is captioned with its step and the losses from OUT.losses.csv, and the "
            "final image closes the video."
        ),
    )
    parser.add_argument("run", metavar="RUN", help="OUT.png, OUT.steps or OUT.json of a run")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.mp4|OUT.gif", help="video to write")
    parser.add_argument("--fps", type=float, default=8.0, help="frames per second [default: 8]")
    parser.add_argument(
        "--hold", type=float, default=1.5, help="seconds to hold the last frame [default: 1.5]"
    )
    parser.add_argument("--max-side", type=int, default=512, help="longest side of the frames [default: 512]")
    parser.add_argument("--overwrite", action="store_true", help="replace the video if it exists")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if not 0.1 <= args.fps <= 120 or not 0 <= args.hold <= 60 or not 16 <= args.max_side <= 4096:
        raise ConfigError("--fps must be in 0.1..120, --hold in 0..60 s, --max-side in 16..4096")
    run = find_run(args.run)
    output = check_video_path(args.output, args.overwrite, [f for _, f in run.frames])
    frames = build_frames(run, args.max_side)
    write_video(frames, output, fps=args.fps, hold=args.hold)
    print(f"wrote {output} ({len(frames)} frames from {run.steps_dir})")
    return EXIT_OK
