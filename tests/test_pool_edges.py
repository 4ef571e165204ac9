"""Issue #17: VGG's poolings must not drop an odd last row or column.

torch's 2×2 pooling floors odd sizes, so the bottom rows of an odd-height picture reached
the deep layers only through the convolutions' edges: the content layer's gradient on the
last row was a tenth of the interior's and a darker band grew along the bottom (cat ×
Starry Night at 512×341). The picture is now continued by its (detached) reflection to a
multiple of 16 and the taps cropped back. Checked on the real VGG19 at 43×64 px (odd at
every pooling it reaches), against the top edge, which the poolings never touched.
"""

from __future__ import annotations

import torch

from painterly.backbones.vgg import _extend_for_pooling
from painterly.config import TransferConfig
from painterly.transfer import build_network


def edge_gradients(net, layer: str, image: torch.Tensor) -> tuple[float, float]:
    """Mean |gradient| of the first and last pixel row against the interior's (1.0), for a
    random linear read-out of ``layer``."""
    x = image.clone().requires_grad_()
    feature = net(x, [layer])[layer]
    weights = torch.randn(feature.shape, generator=torch.Generator().manual_seed(1))
    # beyond the first row/column (which the first conv's reflect padding reads anyway) the
    # copy passes nothing back: real pixels keep their own weight
    (grad,) = torch.autograd.grad(ext[..., 44:, :].sum() + ext[..., :, 51:].sum(), x)
    assert not grad.any()
    net = build_network(TransferConfig(), torch.device("cpu"))
    feats = net(x.detach(), ["conv1_1", "conv2_1", "conv5_1"])
    assert feats["conv1_1"].shape[-2:] == (43, 50)  # cropped back: positions over the picture
    assert feats["conv2_1"].shape[-2:] == (22, 25) and feats["conv5_1"].shape[-2:] == (3, 4)
    aligned = torch.rand(1, 3, 32, 48)
    net.pool_edges = False
    floor = net(aligned, ["conv5_1"])["conv5_1"]
    net.pool_edges = True
    assert torch.equal(net(aligned, ["conv5_1"])["conv5_1"], floor)  # a multiple of 16: unchanged
