"""VGG's first convolution with its pixel gradient as one product and a fold (issue #16):
the same gradient as torch's convolution, taken by the network only where it applies."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import painterly.transfer as engine
from painterly import first_conv
from painterly.backbones.vgg import VGG19Features
from painterly.backbones.weights import random_vgg19_weights
from painterly.threads import torch_threads


def _weights(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(64, 3, 3, 3, generator=gen, dtype=dtype), torch.randn(64, generator=gen, dtype=dtype)


def test_the_gradient_passes_gradcheck_in_float64() -> None:
    weight, bias = _weights(torch.float64)
    x = torch.rand(2, 3, 7, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.autograd.gradcheck(lambda p: first_conv.conv(p, weight, bias), (x.requires_grad_(),))


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_gradient_equals_torchs_convolution(layout: torch.memory_format) -> None:
    """Whatever layout the gradient arrives in (the network's is channels_last)."""
    weight, bias = _weights(torch.float64)
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 12, 17, dtype=torch.float64, generator=gen)
    upstream = torch.randn(2, 64, 10, 15, dtype=torch.float64, generator=gen).contiguous(memory_format=layout)
    grads = []
    for fn in (first_conv.conv, F.conv2d):
        p = x.clone().requires_grad_()
        out = fn(p, weight, bias)
        out.backward(upstream)
        grads.append((out.detach(), p.grad))
    assert torch.equal(grads[0][0], grads[1][0])
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_float32_product_on_one_thread_and_more(threads: int, layout: torch.memory_format) -> None:
    """One thread: numpy's OpenBLAS makes the product (where it is found); more: torch."""
    weight, bias = _weights(torch.float32)
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 12, 17, generator=gen)
    upstream = torch.randn(2, 64, 10, 15, generator=gen).contiguous(memory_format=layout)
    grads = []
    with torch_threads(threads):
        for fn in (first_conv.conv, F.conv2d):
            p = x.clone().requires_grad_()
            fn(p, weight, bias).backward(upstream)
            grads.append(p.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-5, atol=1e-4)


def _network(padding: str) -> VGG19Features:
    weights = random_vgg19_weights(torch.Generator().manual_seed(0))
    net = VGG19Features(weights, pooling="avg", padding=padding)
    return engine.in_fast_layout(net, torch.device("cpu"))


@pytest.mark.parametrize("padding", ["zeros", "reflect", "replicate", "circular"])
def test_the_network_takes_it_with_the_same_features_and_gradient(padding: str, monkeypatch) -> None:
    net = _network(padding)
    image = torch.rand(2, 3, 20, 27, generator=torch.Generator().manual_seed(3))
    results = []
    for enabled in (True, False):
        monkeypatch.setattr(first_conv, "ENABLED", enabled)
        x = image.clone().requires_grad_()
        feats = net(x, ["conv1_1", "conv2_1"])
        assert (type(feats["conv1_1"].grad_fn).__name__ == "_FirstConvBackward") is enabled
        feats["conv2_1"].square().sum().backward()
        results.append((feats["conv2_1"].detach(), x.grad))
    (ours, ours_grad), (plain, plain_grad) = results
    assert torch.equal(ours, plain)  # the forward is torch's convolution
    assert (ours_grad - plain_grad).abs().max() <= 1e-5 * plain_grad.abs().max()


def test_only_where_the_pixels_need_a_gradient_on_the_cpu_in_float32() -> None:
    weight, _ = _weights(torch.float32)
    x = torch.rand(1, 3, 8, 8)
    assert first_conv.applies(x.clone().requires_grad_(), weight)
    assert not first_conv.applies(x, weight)  # nothing to differentiate: torch's convolution
    with torch.no_grad():
        assert not first_conv.applies(x.clone().requires_grad_(), weight)
    assert not first_conv.applies(x.double().requires_grad_(), weight.double())
    assert not first_conv.applies(x.clone().requires_grad_(), weight.clone().requires_grad_())
    wide = torch.randn(64, 64, 3, 3)  # a later layer: oneDNN's job
    assert not first_conv.applies(torch.rand(1, 64, 8, 8, requires_grad=True), wide)


@pytest.mark.parametrize("shape", [(1, 3, 10, 13), (2, 4, 5, 3)])
def test_shifted_unfold_and_fold_are_torchs(shape) -> None:
    """issue #16 (whole step): the patches made and folded by shifted copies equal torch's
    im2col and col2im (unfold bit for bit, fold to rounding), in NCHW and channels_last."""
    gen = torch.Generator().manual_seed(shape[2])
    x = torch.rand(shape, dtype=torch.float64, generator=gen)
    for layout in (torch.contiguous_format, torch.channels_last):
        assert torch.equal(first_conv.unfold3(x.contiguous(memory_format=layout)), F.unfold(x, 3))
    p = torch.rand(F.unfold(x, 3).shape, dtype=torch.float64, generator=gen)
    assert torch.allclose(first_conv.fold3(p, shape[-2:]), F.fold(p, shape[-2:], 3), rtol=1e-13, atol=1e-13)
