"""`painterly layers`: the names of the VGG19 taps usable as content or style layers."""

from __future__ import annotations

import argparse

from painterly.taps import VGG19_BLOCKS, tap_downsampling, vgg19_tap_names

CHANNELS = (64, 128, 256, 512, 512)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "layers", help="list the VGG19 layer names", description="List the VGG19 taps by block."
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    names = vgg19_tap_names()
    print("VGG19 taps (conv: before the activation; relu: after it; pool: end of block)")
    for block in range(1, len(VGG19_BLOCKS) + 1):
        taps = [n for n in names if int(n[4]) == block]
        scale = 2 ** tap_downsampling(taps[0])
        print(f"block {block}  {CHANNELS[block - 1]:>3} channels  1/{scale} size:  {' '.join(taps)}")
    print("defaults: content conv4_2; style conv1_1,conv2_1,conv3_1,conv4_1,conv5_1")
    return 0
