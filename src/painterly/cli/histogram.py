"""`painterly histogram`: luminance and RGB histograms of pictures, overlaid."""

from __future__ import annotations

import argparse

from painterly.cli import EXIT_OK
from painterly.cli.signals import PRELOAD_TORCH
from painterly.errors import ConfigError
from painterly.images import check_output_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "histogram",
        help="luminance and per-channel RGB histograms of images, overlaid in one figure",
        description=(
            "Plot the luminance and red, green and blue histograms of each IMAGE on shared axes. "
            "An IMAGE may be a run's manifest (OUT.json): it stands for that run's content, "
            "style(s) and output, labelled as such."
        ),
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="images or run manifests (.json)")
    parser.add_argument("-o", "--output", required=True, metavar="FIG.png", help="figure to write")
    parser.add_argument("--labels", metavar="A,B,...", help="one label per image, same order")
    parser.add_argument("--bins", type=int, default=64, help="bins per histogram [default: 64]")
    parser.add_argument("--title", default="", help="figure title")
    parser.add_argument("--overwrite", action="store_true", help="replace FIG.png if it exists")
    parser.set_defaults(handler=handle, preload=PRELOAD_TORCH)


def handle(args: argparse.Namespace) -> int:
    from painterly.lab.histograms import expand_inputs, histogram_figure, load_labelled  # numpy

    if not 2 <= args.bins <= 256:
        raise ConfigError(f"--bins must be between 2 and 256, got {args.bins}")
    items = expand_inputs(args.images)
    if args.labels:
        labels = [t.strip() for t in args.labels.split(",")]
        if len(labels) != len(items):
            raise ConfigError(f"--labels has {len(labels)} labels for {len(items)} images")
        items = [(label, p) for label, (_, p) in zip(labels, items)]
    if not args.output.lower().endswith((".png", ".jpg", ".jpeg")):
        raise ConfigError(f"{args.output}: write the figure as .png or .jpg")
    output = check_output_path(args.output, args.overwrite, inputs=[p for _, p in items])
    histogram_figure(load_labelled(items), output, title=args.title, bins=args.bins)
    print(f"wrote {output}")
    return EXIT_OK
