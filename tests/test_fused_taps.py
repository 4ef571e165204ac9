"""fused_taps: a pre-ReLU tap's loss gradients added inside its ReLU's backward (issue #16).
The values and gradients must be autograd's own: float64 to 1e-12 / 1e-10, gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import painterly.transfer as engine
from painterly import fused_taps, losses, syrk
from painterly.backbones.vgg import VGG19Features
from painterly.backbones.weights import random_vgg19_weights
from painterly.config import TransferConfig


def _inputs(channels_last: bool, gen: torch.Generator):
    x = torch.randn(1, 3, 7, 9, generator=gen, dtype=torch.float64)
    w1 = torch.randn(6, 3, 3, 3, generator=gen, dtype=torch.float64)
    w2 = torch.randn(4, 6, 3, 3, generator=gen, dtype=torch.float64)
    target_gram = losses.gram_matrix(torch.randn(1, 6, 5, 5, generator=gen, dtype=torch.float64))
    target_map = torch.randn(1, 6, 7, 9, generator=gen, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        w1, w2 = (w.contiguous(memory_format=torch.channels_last) for w in (w1, w2))
        target_map = target_map.contiguous(memory_format=torch.channels_last)
    return x, w1, w2, target_gram, target_map


def _loss(x, w1, w2, target_gram, target_map, linked: bool) -> torch.Tensor:
    """A conv tap with a Gram loss and a content loss on it, then its ReLU and one more conv
    whose output is summed: the shape of an engine tap (conv3_1 as style and content layer)."""
    pre = F.conv2d(x, w1, padding=1)
    if linked:
        post, link = fused_taps.linked_relu(pre)
        style = losses.style_loss(pre, target_gram, link=link)
        content = losses.content_loss(pre, target_map, link=link)
    else:  # autograd's own chain
        post = torch.relu(pre)
        style = losses.distance(losses.gram_matrix(pre), target_gram)
        content = losses.distance(pre, target_map)
    return 3.0 * style + 0.5 * content + F.conv2d(post, w2, padding=1).square().sum()


@pytest.mark.parametrize("use_syrk", [True, False], ids=["syrk", "torch-products"])
@pytest.mark.parametrize("channels_last", [True, False], ids=["nhwc", "nchw"])
def test_linked_tap_equals_autograd_in_float64(
    channels_last: bool, use_syrk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syrk, "ENABLED", use_syrk)
    x, *rest = _inputs(channels_last, torch.Generator().manual_seed(0))
    results = []
    for linked in (True, False):
        image = x.clone().requires_grad_()
        value = _loss(image, *rest, linked=linked)
        value.backward()
        results.append((value.item(), image.grad))
    (ours, ours_grad), (plain, plain_grad) = results
    assert ours == pytest.approx(plain, rel=1e-12)
    assert torch.allclose(ours_grad, plain_grad, rtol=1e-10, atol=1e-12 * plain_grad.abs().max().item())


@pytest.mark.parametrize("channels_last", [True, False], ids=["nhwc", "nchw"])
def test_linked_tap_gradcheck(channels_last: bool) -> None:
    x, *rest = _inputs(channels_last, torch.Generator().manual_seed(1))
    image = x[..., :4, :5].clone().requires_grad_()
    target_map = rest[3][..., :4, :5]
    assert torch.autograd.gradcheck(lambda i: _loss(i, *rest[:3], target_map, linked=True), (image,))


def test_add_product_in_any_gradient_layout() -> None:
    """The ReLU's gradient may come in another layout than the tap's: still the same sum."""
    gen = torch.Generator().manual_seed(2)
    f = torch.randn(1, 5, 3, 4, generator=gen, dtype=torch.float64)
    sym = torch.randn(1, 5, 5, generator=gen, dtype=torch.float64)
    grad = torch.randn(1, 5, 3, 4, generator=gen, dtype=torch.float64)
    expected = grad + torch.einsum("nchw,ncd->ndhw", f, sym)
    nhwc = f.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(1, 12, 5)
    nchw = f.reshape(1, 5, 12)
    for flat, first, sym_ in ((nhwc, True, sym), (nchw, False, sym.transpose(1, 2))):
        for layout in (torch.channels_last, torch.contiguous_format):
            out = grad.clone(memory_format=layout)
            fused_taps.add_product(out, flat, sym_, first)
            assert torch.allclose(out, expected, rtol=1e-12), (first, layout)


def test_content_loss_without_a_link_equals_the_chain() -> None:
    gen = torch.Generator().manual_seed(3)
    f = torch.randn(1, 4, 5, 6, generator=gen, dtype=torch.float64)
    target = torch.randn(1, 4, 5, 6, generator=gen, dtype=torch.float64)
    a, b = f.clone().requires_grad_(), f.clone().requires_grad_()
    ours, plain = losses.content_loss(a, target), losses.distance(b, target)
    (2 * ours).backward()
    (2 * plain).backward()
    assert ours.item() == pytest.approx(plain.item(), rel=1e-12)
    assert torch.allclose(a.grad, b.grad, rtol=1e-12)
    small = target[..., :2, :3].clone()
    assert torch.autograd.gradcheck(
        lambda t: losses.content_loss(t, small), (f[..., :2, :3].clone().requires_grad_(),)
    )


def _engine(dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch, linked: bool):
    weights = random_vgg19_weights(torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(2)
    for name in [k for k in weights if k.endswith(".bias")]:  # the real biases are not zero
        weights[name] = 0.1 * torch.randn(weights[name].shape, generator=gen)
    net = engine.in_fast_layout(VGG19Features(weights, pooling="avg").to(dtype), torch.device("cpu"))
    # conv3_1 is a style and a content layer: two terms on one link
    config = TransferConfig(size=48, content_layers=("conv3_1", "conv4_2"))
    gen = torch.Generator().manual_seed(1)
    content = torch.rand(1, 3, 40, 48, generator=gen, dtype=dtype)
    targets = engine.compute_targets(
        net, content, [torch.rand(1, 3, 44, 48, generator=gen, dtype=dtype)], config
    )
    made: list[fused_taps.TapLink] = []

    def spy(pre: torch.Tensor):
        post, link = real(pre)
        made.append(link)
        return post, link

    real = fused_taps.linked_relu
    with monkeypatch.context() as m:
        m.setattr(fused_taps, "ENABLED", linked)
        m.setattr("painterly.backbones.common.linked_relu", spy)
        image = (content * 0.7 + 0.1).requires_grad_()
        parts = engine.compute_losses(net, image, targets, config)
        parts["total"].backward()
    assert all(not link.terms for link in made)  # every term was added
    return {k: float(v.detach()) for k, v in parts.items()}, image.grad, len(made)


def test_engine_with_linked_taps_equals_without_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, ours_grad, links = _engine(torch.float64, monkeypatch, linked=True)
    plain, plain_grad, none = _engine(torch.float64, monkeypatch, linked=False)
    assert links == 4 and none == 0  # conv2_1, conv3_1, conv4_1, conv4_2: all but conv5_1 (no ReLU)
    assert ours.keys() == plain.keys()
    for name, value in plain.items():
        assert ours[name] == pytest.approx(value, rel=1e-12), name
    assert torch.allclose(ours_grad, plain_grad, rtol=1e-10, atol=1e-12 * plain_grad.abs().max().item())


def test_no_links_without_gradients() -> None:
    """Targets are computed without autograd: plain ReLUs, no links."""
    net = VGG19Features(random_vgg19_weights(torch.Generator().manual_seed(0)), pooling="avg")
    links: dict[str, fused_taps.TapLink] = {}
    with torch.no_grad():
        net(torch.rand(1, 3, 32, 32), ["conv2_1", "conv3_1"], links=links)
    assert links == {}
    net(torch.rand(1, 3, 32, 32, requires_grad=True), ["conv2_1", "conv3_1"], links=links)
    assert set(links) == {"conv2_1"}  # conv3_1 is the deepest tap: its ReLU never runs


def test_runs_leave_no_tensors_behind(tiny_net, example_content, example_style) -> None:
    """A link held the ReLU's output and the ReLU's node held the link: a tensor–node cycle
    that Python's collector cannot see, so every tap's maps of every run stayed in memory
    (a GPU ran out after three 512 px runs in one process)."""
    import gc

    from painterly import TransferConfig, stylize

    def live() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, torch.Tensor))

    config = TransferConfig(size=48, iterations=3)
    stylize(example_content, example_style, config, network=tiny_net)
    first = live()
    for _ in range(2):
        stylize(example_content, example_style, config, network=tiny_net)
    assert live() <= first
