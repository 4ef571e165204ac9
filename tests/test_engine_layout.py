"""The engine's CPU layout (issue #16): VGG19 weights in channels_last, Gram matrices of
NHWC features without a copy; same numbers as the default layout."""

from __future__ import annotations

from pathlib import Path

import torch

import painterly
from painterly.config import TransferConfig
from painterly.losses import gram_matrix
from painterly.transfer import in_fast_layout


def test_gram_of_channels_last_features_matches_and_backpropagates() -> None:
    f = torch.randn(2, 8, 5, 7, dtype=torch.float64)
    plain = f.clone().requires_grad_()
    nhwc = f.contiguous(memory_format=torch.channels_last).requires_grad_()
    weights = torch.randn(2, 8, 8, dtype=torch.float64)
    (gram_matrix(plain) * weights).sum().backward()
    (gram_matrix(nhwc) * weights).sum().backward()
    assert torch.allclose(gram_matrix(plain), gram_matrix(nhwc))
    assert torch.allclose(plain.grad, nhwc.grad)
    assert torch.autograd.gradcheck(gram_matrix, (nhwc.detach().clone().requires_grad_(),))


def test_fast_layout_gives_the_same_picture(photo: Path, painting: Path, tiny_net) -> None:
    config = TransferConfig(size=48, iterations=3)
    before = painterly.stylize(photo, painting, config, network=tiny_net)
    fast = in_fast_layout(tiny_net, torch.device("cpu"))  # in place: the fixture is per test
    assert fast.convs["conv1_1"].weight.is_contiguous(memory_format=torch.channels_last)
    after = painterly.stylize(photo, painting, config, network=fast)
    assert (after.tensor - before.tensor).abs().max() < 1e-3
    assert abs(after.losses["total"] / before.losses["total"] - 1) < 1e-3
