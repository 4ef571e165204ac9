"""AlexNet as a frozen feature extractor with named taps (conv1 … conv5, relu1 …, pool1/2/5).

The layout is torchvision's (Krizhevsky's 2014 "one weird trick" variant: 64-192-384-256-256
channels, no grouping, no local response normalisation), the one ``alexnet-owt-*.pth`` holds.
The pooling and activation swaps are VGG's: 3×3 stride-2 windows, max as trained or average.
Like :class:`~painterly.backbones.vgg.VGG19Features` it takes RGB 0–1, does the weights' own
preprocessing, and runs no deeper than the deepest tap asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from painterly.backbones import common
from painterly.backbones.weights import StateDict
from painterly.config import parse_activation
from painterly.errors import ConfigError
from painterly.taps import ALEXNET_LAYERS, check_backbone_tap, tap_names


class AlexNetFeatures(nn.Module):
    """Frozen AlexNet trunk; ``forward(x, taps)`` returns ``{tap: feature}``."""

    arch = "alexnet"

    def __init__(
        self,
        weights: StateDict,
        pooling: str = "max",
        activation: str = "relu",
        last_tap: str | None = None,
        *,
        input_format: str = "torchvision",
    ) -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ConfigError(f"unknown pooling {pooling!r}; use max or avg")
        self.pooling, self.input_format = pooling, input_format
        self.activation, self.slope = parse_activation(activation)
        names = tap_names("alexnet")
        if last_tap is None:
            convs = [n for n in names if n.startswith("conv") and f"{n}.weight" in weights]
            last_tap = "pool5" if convs[-1] == "conv5" else f"relu{convs[-1][4:]}"
        try:
            check_backbone_tap(last_tap, "alexnet")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.tap_names: tuple[str, ...] = names[: names.index(last_tap) + 1]
        self.specs = {name: (kernel, stride, pad) for name, kernel, stride, pad in ALEXNET_LAYERS}
        self.convs = nn.ModuleDict()
        for name in self.tap_names:
            if name.startswith("conv"):
                weight = weights[f"{name}.weight"]
                kernel, stride, pad = self.specs[name]
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], kernel, stride=stride, padding=pad)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(weights[f"{name}.bias"])
                self.convs[name] = conv
        mean, std = common.input_stats(input_format)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0–1 → the weights' input (torchvision: RGB, ImageNet mean/std; caffe: BGR 0–255 − mean)."""
        return common.preprocess(image, self.input_format, self.mean, self.std)

    def forward(self, image: torch.Tensor, taps: Sequence[str]) -> dict[str, torch.Tensor]:
        """Features at each requested tap, computing no deeper than the deepest one."""

        def pool(name: str, x: torch.Tensor) -> torch.Tensor:
            kernel, stride, _ = self.specs[name]
            return common.pool(x, self.pooling, kernel, stride)

        return common.run_taps(
            self.preprocess(image),
            self.tap_names,
            taps,
            lambda name, x: self.convs[name](x),
            lambda x, inplace: common.activate(x, self.activation, self.slope, inplace),
            pool,
        )
