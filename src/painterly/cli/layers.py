"""`painterly layers`: the names of a backbone's taps usable as content or style layers."""

from __future__ import annotations

import argparse

from painterly.taps import BACKBONES, DEFAULT_LAYERS, VGG_CHANNELS, tap_names, tap_scale

ALEXNET_CHANNELS = {"1": 64, "2": 192, "3": 384, "4": 256, "5": 256}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "layers", help="list a backbone's layer names", description="List a backbone's taps by block."
    )
    parser.add_argument(
        "--backbone", choices=list(BACKBONES), default="vgg19", help="the network (default: vgg19)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    backbone = args.backbone
    names = tap_names(backbone)
    title = backbone.upper().replace("ALEXNET", "AlexNet")
    print(f"{title} taps (conv: before the activation; relu: after it; pool: end of block)")
    if backbone == "alexnet":
        for stage in "12345":
            taps = [n for n in names if n[-1] == stage]
            scale = tap_scale(taps[0], backbone)
            print(f"stage {stage}  {ALEXNET_CHANNELS[stage]:>3} channels  1/{scale} size:  {' '.join(taps)}")
    else:
        for block in range(1, 6):
            taps = [n for n in names if int(n[4]) == block]
            scale = tap_scale(taps[0], backbone)
            print(f"block {block}  {VGG_CHANNELS[block - 1]:>3} channels  1/{scale} size:  {' '.join(taps)}")
    content, style = DEFAULT_LAYERS[backbone]
    print(f"defaults: content {','.join(content)}; style {','.join(style)}")
    if backbone != "vgg19":
        print(
            f"weights: not shipped; see `painterly models list` (e.g. painterly models download {backbone})"
        )
    return 0
